// Layer flow: CDK context `exampleStateMachine` -> this construct -> a Step Functions state machine whose one task
// is a ProductLiveJobTask: it launches an import with a file (an S3 URI in its input, e.g. an object of the inbox)
// and branches on the result. An example to copy, deployed only on request (docs/launches.md "Step Functions").
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import {
  DefinitionBody,
  Fail,
  JsonPath,
  LogLevel,
  StateMachine,
  Succeed,
} from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { REJECTED_ERROR } from '#core/callbacks/task-callbacks';
import { acknowledgeActionsOnWildcard } from '../nag';
import { ProductLiveJobTask } from './product-live-job-task';

/**
 * What Step Functions needs on "*" for a state machine's X-Ray tracing and its logs to CloudWatch: these actions
 * accept no resource-level permissions (docs: "IAM policies for logging to CloudWatch Logs").
 */
export const STATE_MACHINE_WILDCARD_ACTIONS = [
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  'xray:PutTelemetryRecords',
  'xray:PutTraceSegments',
  'logs:CreateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:DescribeLogGroups',
  'logs:DescribeResourcePolicies',
  'logs:GetLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:UpdateLogDelivery',
];

export interface ExampleStateMachineProps {
  readonly launchQueue: IQueue;
  /** How often the follow function sends heartbeats: the task's heartbeat timeout is a multiple of it. */
  readonly followRate: Duration;
}

export class ExampleStateMachine extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: ExampleStateMachineProps) {
    super(scope, id);
    const importFile = new ProductLiveJobTask(this, 'Import the file', {
      queue: props.launchQueue,
      jobId: JsonPath.stringAt('$.jobId'),
      input: { file: { object: 's3_object', uri: JsonPath.stringAt('$.file') } },
      heartbeat: Duration.minutes(Math.max(5, 3 * props.followRate.toMinutes())),
      timeout: Duration.hours(2),
      resultPath: '$.result',
      comment: 'Uploads the file to Product-Live, runs the job and waits for its end and its files',
    });
    const imported = new Succeed(this, 'Imported', {
      comment: "$.result: the execution, its output and its files' S3 copies",
    });
    const rejectedByJob = new Fail(this, 'The job rejected the file', {
      comment: 'USER_ERROR: the file did not pass the job (see the cause: the execution and its report)',
      causePath: '$.error.Cause',
      errorPath: '$.error.Error',
    });
    const refused = new Fail(this, 'The request was refused', {
      comment: 'ProductLive.Rejected: the launch request was dead-lettered (its reason is the cause)',
      causePath: '$.error.Cause',
      errorPath: '$.error.Error',
    });
    const failed = new Fail(this, 'The job did not complete', {
      comment: 'FAILED, TERMINATED, TIMEDOUT, or the task timed out',
      causePath: '$.error.Cause',
      errorPath: '$.error.Error',
    });
    importFile
      .addCatch(rejectedByJob, { errors: ['ProductLive.USER_ERROR'], resultPath: '$.error' })
      .addCatch(refused, { errors: [REJECTED_ERROR], resultPath: '$.error' })
      .addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' })
      .next(imported);

    this.stateMachine = new StateMachine(this, 'StateMachine', {
      comment:
        'Product-Live job execution sync example: launch an import with a file and wait for its result',
      definitionBody: DefinitionBody.fromChainable(importFile),
      tracingEnabled: true,
      logs: {
        destination: new LogGroup(this, 'Logs', {
          retention: RetentionDays.ONE_MONTH,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
        level: LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    acknowledgeActionsOnWildcard(
      this.stateMachine.role,
      STATE_MACHINE_WILDCARD_ACTIONS,
      'A state machine with X-Ray tracing and logging: Step Functions requires these X-Ray and CloudWatch ' +
        'Logs delivery actions on "*" (they accept no resource-level permissions); granted by the CDK for ' +
        'those actions only, any other action on "*" in this role is still reported.',
    );
  }
}
