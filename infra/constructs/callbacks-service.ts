// Layer flow: the executions table's DynamoDB stream, filtered to awaited executions -> event source mapping
// (partial batch responses, bounded retries, failures to an SQS queue) -> callbacks function
// (functions/callbacks/handler.ts) -> the task tokens on the launch markers (idempotency table) -> Step Functions
// SendTaskSuccess / SendTaskFailure. This construct wires the mapping, the function, its environment and exactly
// the permissions it uses.
import { Duration, Validations } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { FilterCriteria, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FILES_KEY_PREFIX } from '#core/defaults';
import type { InfraConfig } from '../config';
import { acknowledgeWildcardResources, grantTaskCallbacks, TASK_CALLBACK_ACTIONS } from '../nag';
import { EVENTS_FAILURE_RETENTION_DAYS, EVENTS_MAX_RECORD_AGE } from './events-service';
import { ProjectFunction } from './project-function';

/** Deliveries of a failing batch (halved each time) before its records go to the failure queue. */
export const CALLBACKS_RETRY_ATTEMPTS = 10;

/**
 * Only the writes of executions a task token waits on reach the function (Lambda's event filtering, before an
 * invocation): `launch.awaited` is true in the new image. The handler decides which of them make a result due.
 */
export const AWAITED_EXECUTIONS_FILTER = {
  dynamodb: { NewImage: { launch: { M: { awaited: { BOOL: [true] } } } } },
};

export interface CallbacksServiceProps {
  readonly config: InfraConfig;
  /** The executions table, with its stream (NEW_AND_OLD_IMAGES). */
  readonly executionsTable: ITableV2;
  /** Where the launch function keeps the task tokens, on the requests' attempt markers. */
  readonly idempotencyTable: ITableV2;
  /** The files' copies named in the task output, and executions too large for an item. */
  readonly filesBucket: IBucket;
}

export class CallbacksService extends Construct {
  readonly handler: ProjectFunction;
  /** Descriptions of the batches the stream gave up on: results that were not sent to their waiters. */
  readonly failureQueue: Queue;

  constructor(scope: Construct, id: string, props: CallbacksServiceProps) {
    super(scope, id);
    const { config, executionsTable, idempotencyTable, filesBucket } = props;

    this.failureQueue = new Queue(this, 'FailureQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(EVENTS_FAILURE_RETENTION_DAYS),
    });
    Validations.of(this.failureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue is a dead-letter queue: the stream event source mapping's on-failure destination, which " +
        'cdk-nag does not recognize as one. Nothing consumes it automatically, so it needs no DLQ of its own; ' +
        'the CallbacksFailureQueueNotEmpty alarm reports every message.',
    });

    this.handler = new ProjectFunction(this, 'CallbacksFunction', {
      name: 'callbacks',
      config,
      // A batch is a few DynamoDB reads and Step Functions calls per awaited result.
      timeout: Duration.minutes(1),
      memorySize: 256,
      environment: {
        IDEMPOTENCY_TABLE_NAME: idempotencyTable.tableName,
        FILES_BUCKET_NAME: filesBucket.bucketName,
      },
    });
    const fn = this.handler.function;
    fn.addEventSource(
      new DynamoEventSource(executionsTable, {
        // Results still in the stream on the first deployment are sent (at least once).
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        filters: [FilterCriteria.filter(AWAITED_EXECUTIONS_FILTER)],
        reportBatchItemFailures: true,
        bisectBatchOnError: true,
        retryAttempts: CALLBACKS_RETRY_ATTEMPTS,
        maxRecordAge: EVENTS_MAX_RECORD_AGE,
        onFailure: new SqsDlq(this.failureQueue),
      }),
    );

    const role = this.handler.role;
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'TaskTokens',
        // task-token-repository.ts: the tokens of a request (GetItem), each marked sent or rejected (UpdateItem).
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [idempotencyTable.tableArn],
      }),
    );
    const payloads = filesBucket.arnForObjects(`${FILES_KEY_PREFIX}*`);
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'LargeExecutions',
        // The output of an execution too large for its item is read from its copy (execution.json).
        actions: ['s3:GetObject'],
        resources: [payloads],
      }),
    );
    acknowledgeWildcardResources(
      role,
      [payloads],
      'S3 object permissions name objects by key; an execution too large for its item is kept under ' +
        `${FILES_KEY_PREFIX}<jobId>/<executionId>/execution.json, unknown in advance. Read only, that prefix only.`,
    );
    grantTaskCallbacks(role, TASK_CALLBACK_ACTIONS.result, 'SendTaskResults');
  }
}
