// Layer flow: a user's state machine (in the same CDK app) -> this task state -> `sqs:sendMessage.waitForTaskToken`
// on the launch queue -> the launch function (functions/launch) -> ... -> the callbacks function's SendTaskSuccess
// (COMPLETED) or SendTaskFailure (`ProductLive.<STATUS>`, `ProductLive.Rejected`); the follow function's
// heartbeats meanwhile. The message is the launch request of docs/launches.md with the task token in it.
import type { Duration } from 'aws-cdk-lib';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import {
  IntegrationPattern,
  JsonPath,
  TaskInput,
  type TaskStateJsonPathBaseProps,
  Timeout,
} from 'aws-cdk-lib/aws-stepfunctions';
import { SqsSendMessage } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';

/**
 * The default idempotency key: `sfn:` and the SHA-256 of the state machine execution's ARN and the state's name.
 * A retry of the state (or a redrive of the execution) sends the same key, so it reattaches to the job it
 * started instead of starting another; fits the launch queue's 256 characters whatever the names' lengths.
 */
const DEFAULT_TASK_IDEMPOTENCY_KEY = JsonPath.format(
  'sfn:{}',
  JsonPath.hash(
    JsonPath.format('{}#{}', JsonPath.executionId, JsonPath.stringAt('$$.State.Name')),
    'SHA-256',
  ),
);

export interface ProductLiveJobTaskProps
  extends Omit<
    TaskStateJsonPathBaseProps,
    'integrationPattern' | 'heartbeat' | 'heartbeatTimeout' | 'timeout'
  > {
  /** The stack's launch queue (`StatelessStack.launch.queue`, or `Queue.fromQueueArn` with the LaunchQueueUrl output). */
  readonly queue: IQueue;
  /** The Product-Live job to run: 24 hexadecimal characters, or a JSON path (`JsonPath.stringAt('$.jobId')`). */
  readonly jobId: string;
  /**
   * The execution's input. Any value may be a JSON path; an `{"object": "s3_object", "uri": "s3://bucket/key"}`
   * at any depth is uploaded to Product-Live first (docs/launches.md "Launching with files").
   */
  readonly input?: Record<string, unknown>;
  /**
   * Requests with the same key start at most one execution. Default: derived from the state machine execution
   * and this state's name (ProductLiveJobTask.DEFAULT_IDEMPOTENCY_KEY). Inside a Map state, add the item's index
   * (`JsonPath.format('{}:{}', ProductLiveJobTask.DEFAULT_IDEMPOTENCY_KEY, JsonPath.stringAt('$$.Map.Item.Index'))`):
   * every iteration is its own launch.
   */
  readonly idempotencyKey?: string;
  /**
   * Fail the task with States.HeartbeatTimeout when no heartbeat came for this long. The follow function sends
   * one every `followRate` while the execution is open: give at least twice that.
   */
  readonly heartbeat?: Duration;
  /** Fail the task with States.Timeout after this long (the job, its files' copies and the callback). */
  readonly timeout?: Duration;
}

/**
 * Launches a Product-Live job and waits for its result: the state's output is the SendTaskSuccess output of a
 * COMPLETED execution (`executionId`, `status`, `output`, `files` with their S3 URIs…); any other end fails the
 * state with `ProductLive.<STATUS>`, a refused request with `ProductLive.Rejected` (Catch them by name).
 */
export class ProductLiveJobTask extends SqsSendMessage {
  /** The key used when none is given: derived from the state machine execution and the state's name. */
  static readonly DEFAULT_IDEMPOTENCY_KEY = DEFAULT_TASK_IDEMPOTENCY_KEY;

  constructor(scope: Construct, id: string, props: ProductLiveJobTaskProps) {
    const { queue, jobId, input, idempotencyKey, heartbeat, timeout, ...state } = props;
    super(scope, id, {
      ...state,
      queue,
      integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      messageBody: TaskInput.fromObject({
        jobId,
        ...(input === undefined ? {} : { input }),
        idempotencyKey: idempotencyKey ?? DEFAULT_TASK_IDEMPOTENCY_KEY,
        taskToken: JsonPath.taskToken,
      }),
      ...(heartbeat ? { heartbeatTimeout: Timeout.duration(heartbeat) } : {}),
      ...(timeout ? { taskTimeout: Timeout.duration(timeout) } : {}),
    });
  }
}
