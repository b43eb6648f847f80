// Layer flow: SQS launch queue (requests, and the inbox's "Object Created" events routed by an EventBridge rule)
// -> event source mapping (batches, partial batch response) -> launch function (functions/launch/handler.ts) ->
// the referenced S3 objects, Product-Live API, the idempotency and executions tables, the DLQ. This construct
// wires the queues, the inbox rule, the function, its environment and exactly the permissions it uses.
import { Aws, Duration } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LAUNCH_DEAD_LETTER_QUEUE, LAUNCH_QUEUE } from '#core/store/queue-definitions';
import type { InfraConfig } from '../config';
import { acknowledgeWildcardResources, grantTaskCallbacks, TASK_CALLBACK_ACTIONS } from '../nag';
import type { ApiKeySecret } from './api-key-secret';
import { ProjectFunction } from './project-function';

export interface LaunchServiceProps {
  readonly config: InfraConfig;
  readonly executionsTable: ITableV2;
  readonly stateTable: ITableV2;
  readonly idempotencyTable: ITableV2;
  /** Its objects launch jobs by the `launchInbox` rules; requests may reference them. */
  readonly inboxBucket: IBucket;
  readonly apiKey: ApiKeySecret;
}

export class LaunchService extends Construct {
  readonly handler: ProjectFunction;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  /** Routes the inbox's "Object Created" events to the launch queue (none without inbox rules). */
  readonly inboxRule: Rule | undefined;

  constructor(scope: Construct, id: string, props: LaunchServiceProps) {
    super(scope, id);
    const { config, executionsTable, stateTable, idempotencyTable, inboxBucket, apiKey } = props;

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
        LAUNCH_INBOX_BUCKET: inboxBucket.bucketName,
      },
    });

    // The inbox: S3 sends every event of the bucket to EventBridge (stateful stack); this rule takes its
    // "Object Created" ones to the launch queue as they are. The function decodes the key and applies the
    // rules (which prefix launches which job); an object no rule claims is logged and left alone.
    this.inboxRule =
      config.launchInbox.length > 0
        ? new Rule(this, 'InboxObjectCreated', {
            description: 'Objects created in the inbox bucket become launch requests (launchInbox rules)',
            eventPattern: {
              source: ['aws.s3'],
              detailType: ['Object Created'],
              detail: { bucket: { name: [inboxBucket.bucketName] } },
            },
            targets: [
              new SqsQueue(this.queue, {
                // An event EventBridge cannot deliver lands beside the refused requests, and replays the same way.
                deadLetterQueue: this.deadLetterQueue,
                retryAttempts: 185,
                maxEventAge: Duration.hours(24),
              }),
            ],
          })
        : undefined;
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
        // Powertools idempotency (Get/Put/Update/DeleteItem), the attempt markers and execution claims
        // (UpdateItem, PutItem, BatchGetItem) of launch-attempt-repository.ts, and the task tokens attached to
        // the markers (UpdateItem) of task-token-repository.ts.
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
        // ExecutionRepository.insertIfAbsent, setLaunch and attachWaiter: conditional UpdateItems.
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
    const readableObjects = [
      ...config.launchInputBuckets.map(
        (location) => `arn:${Aws.PARTITION}:s3:::${location.bucket}/${location.prefix}*`,
      ),
      inboxBucket.arnForObjects('*'),
    ];
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ReadReferencedObjects',
        // The objects launch requests may reference (`launchInputBuckets`) and the inbox: HeadObject and
        // GetObject, of a given version too (the inbox is versioned). Nothing else is readable.
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: readableObjects,
      }),
    );
    acknowledgeWildcardResources(
      role,
      readableObjects,
      'S3 object permissions name objects by key, and the keys a launch request references are the ' +
        "user's: the wildcard is the inbox bucket's objects and each bucket (or bucket/prefix) the user " +
        'listed in launchInputBuckets, read only.',
    );
    // A refused request's task token gets SendTaskFailure (ProductLive.Rejected), a retried one's a heartbeat.
    grantTaskCallbacks(
      role,
      [...TASK_CALLBACK_ACTIONS.failure, ...TASK_CALLBACK_ACTIONS.heartbeat],
      'RefusalsAndRetriesToTaskTokens',
    );
    apiKey.grantRead(role);
  }
}
