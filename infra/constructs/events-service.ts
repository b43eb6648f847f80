// Layer flow: the executions table's DynamoDB stream -> event source mapping (in order per execution, partial
// batch responses, bounded retries, failures to an SQS queue) -> events function (functions/events/handler.ts)
// -> EventBridge PutEvents on one bus. This construct wires the mapping, the function, its environment and
// exactly the permissions it uses: the stream (granted by the event source), PutEvents, the failure queue.
import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EVENT_SOURCE } from '#core/events/execution-event';
import type { InfraConfig } from '../config';
import { ProjectFunction } from './project-function';

/** Records per invocation: at most 10 PutEvents calls of 10 entries each. */
const EVENTS_BATCH_SIZE = 100;
/** Deliveries of a failing batch (halved each time) before its records go to the failure queue. */
export const EVENTS_RETRY_ATTEMPTS = 10;
/**
 * Records older than this go to the failure queue instead of being retried: well within the stream's 24 hours,
 * so a long EventBridge outage leaves a trace in the queue rather than records silently trimmed.
 */
export const EVENTS_MAX_RECORD_AGE = Duration.hours(12);
/** Days the failure queue keeps a failed batch's description (the SQS maximum). */
export const EVENTS_FAILURE_RETENTION_DAYS = 14;

export interface EventsServiceProps {
  readonly config: InfraConfig;
  /** The executions table, with its stream (NEW_AND_OLD_IMAGES). */
  readonly executionsTable: ITableV2;
}

export class EventsService extends Construct {
  readonly handler: ProjectFunction;
  /** Descriptions of the batches the stream gave up on (shard, sequence numbers); a message means lost events. */
  readonly failureQueue: Queue;
  /** The ARN of the bus the events go to (the only resource of the function's PutEvents). */
  readonly eventBusArn: string;
  /** The stream's event source mapping (its id is an output: `npm run doctor` checks that it is enabled). */
  readonly streamSource: DynamoEventSource;

  constructor(scope: Construct, id: string, props: EventsServiceProps) {
    super(scope, id);
    const { config, executionsTable } = props;

    this.eventBusArn = Stack.of(this).formatArn({
      service: 'events',
      resource: 'event-bus',
      resourceName: config.eventBusName,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });

    // SQS-managed encryption, as the launch DLQ: Lambda sends the failure records without a KMS key grant.
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
        'the EventsFailureQueueNotEmpty alarm reports every message.',
    });

    this.handler = new ProjectFunction(this, 'EventsFunction', {
      name: 'events',
      config,
      // A batch is at most 10 PutEvents calls, each retried a few times in place (a few seconds in all).
      timeout: Duration.minutes(1),
      memorySize: 256,
    });
    const fn = this.handler.function;

    this.streamSource = new DynamoEventSource(executionsTable, {
      // Every change still in the stream on the first deployment is published (at least once, invariant 10).
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: EVENTS_BATCH_SIZE,
      // One batch per shard at a time: a shard holds the changes of its executions in order, and the
      // handler reports the first unpublished record, so an execution's events never overtake each other.
      parallelizationFactor: 1,
      reportBatchItemFailures: true,
      // A poison record is isolated by halving its batch, retried a bounded number of times, then described
      // in the failure queue; the shard moves on.
      bisectBatchOnError: true,
      retryAttempts: EVENTS_RETRY_ATTEMPTS,
      maxRecordAge: EVENTS_MAX_RECORD_AGE,
      onFailure: new SqsDlq(this.failureQueue),
    });
    fn.addEventSource(this.streamSource);

    // The event source granted the stream reads (DescribeStream, GetRecords, GetShardIterator, ListStreams on
    // the stream ARN) and sqs:SendMessage on the failure queue; the code itself only calls PutEvents.
    this.handler.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'PublishStatusChanges',
        actions: ['events:PutEvents'],
        resources: [this.eventBusArn],
        // Only events of this application's source: the role cannot speak for another producer on the bus.
        conditions: { StringEquals: { 'events:source': EVENT_SOURCE } },
      }),
    );
  }
}
