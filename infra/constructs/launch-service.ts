// Layer flow: SQS launch queue -> event source mapping (batches, partial batch response) -> launch function
// (functions/launch/handler.ts) -> Product-Live API, the idempotency and executions tables, the DLQ.
// This construct wires the queues, the function, its environment and exactly the permissions it uses.
import { Duration } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LAUNCH_DEAD_LETTER_QUEUE, LAUNCH_QUEUE } from '../../functions/core/store/queue-definitions';
import type { InfraConfig } from '../config';
import type { ApiKeySecret } from './api-key-secret';
import { ProjectFunction } from './project-function';

export interface LaunchServiceProps {
  readonly config: InfraConfig;
  readonly executionsTable: ITableV2;
  readonly stateTable: ITableV2;
  readonly idempotencyTable: ITableV2;
  readonly apiKey: ApiKeySecret;
}

export class LaunchService extends Construct {
  readonly handler: ProjectFunction;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: LaunchServiceProps) {
    super(scope, id);
    const { config, executionsTable, stateTable, idempotencyTable, apiKey } = props;

    // SQS-managed encryption: senders (the AWS CLI, other services) need no KMS key grant to send.
    this.deadLetterQueue = new Queue(this, LAUNCH_DEAD_LETTER_QUEUE.logicalName, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(LAUNCH_DEAD_LETTER_QUEUE.retentionDays),
    });
    this.queue = new Queue(this, LAUNCH_QUEUE.logicalName, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(LAUNCH_QUEUE.retentionDays),
      visibilityTimeout: config.derived.launchVisibilityTimeout,
      deadLetterQueue: {
        queue: this.deadLetterQueue,
        // Transient failures (429, 5xx, network) are retried: the handler keeps the message invisible for
        // 30 s, 1, 2, 4, 8 min, then 15 min per delivery. After maxReceiveCount deliveries (10 by default,
        // about 75 minutes) SQS moves it here. Messages that can never succeed are sent here by the handler
        // at once, with a FailureReason attribute.
        maxReceiveCount: config.launchMaxReceiveCount,
      },
    });

    this.handler = new ProjectFunction(this, 'LaunchFunction', {
      name: 'launch',
      config,
      timeout: config.launchTimeout,
      memorySize: config.launchMemoryMb,
      // The configuration sets LAUNCH_REQUESTS_PER_MINUTE (the launch share split over the most instances the
      // event source runs at once, invariant 6) and LAUNCH_MAX_RECEIVE_COUNT (the queue's own redrive limit).
      environment: {
        PRODUCT_LIVE_API_KEY_SECRET_ID: apiKey.secretId,
        EXECUTIONS_TABLE_NAME: executionsTable.tableName,
        STATE_TABLE_NAME: stateTable.tableName,
        IDEMPOTENCY_TABLE_NAME: idempotencyTable.tableName,
        LAUNCH_QUEUE_URL: this.queue.queueUrl,
        LAUNCH_DLQ_URL: this.deadLetterQueue.queueUrl,
      },
    });
    const fn = this.handler.function;

    fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: config.launchBatchSize,
        maxBatchingWindow: config.launchMaxBatchingWindow,
        reportBatchItemFailures: true,
        maxConcurrency: config.launchMaxConcurrency,
      }),
    );

    const role = this.handler.role;
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'IdempotencyRecordsAndLaunchMarkers',
        // Powertools idempotency (Get/Put/Update/DeleteItem) and the attempt markers and execution claims
        // (UpdateItem, PutItem, BatchGetItem) of launch-attempt-repository.ts.
        actions: [
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:BatchGetItem',
        ],
        resources: [idempotencyTable.tableArn],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'RecordLaunchedExecution',
        // ExecutionRepository.insertIfAbsent: a conditional UpdateItem.
        actions: ['dynamodb:UpdateItem'],
        resources: [executionsTable.tableArn],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'MarkLakeDays',
        // LakeMarks.mark: the day of a recorded execution is marked for the lake (UpdateItem on one item).
        actions: ['dynamodb:UpdateItem'],
        resources: [stateTable.tableArn],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'DeadLetterWithReason',
        actions: ['sqs:SendMessage'],
        resources: [this.deadLetterQueue.queueArn],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'RetryBackoff',
        actions: ['sqs:ChangeMessageVisibility'],
        resources: [this.queue.queueArn],
      }),
    );
    apiKey.grantRead(role);
  }
}
