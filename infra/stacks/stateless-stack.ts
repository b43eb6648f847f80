// Layer flow: app -> this stack (code and wiring: functions, schedule, queues, events, alerts, alarms, the
// dashboard; safe to delete and redeploy) -> the stateful stack's tables, stream and buckets, received as typed
// props.
import { CfnOutput, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { FUNCTION_NAMES, type FunctionName } from '#core/function-registry';
import { codeVersion } from '../code-version';
import type { InfraConfig } from '../config';
import { ApiKeySecret } from '../constructs/api-key-secret';
import { CallbacksService } from '../constructs/callbacks-service';
import { EventsService } from '../constructs/events-service';
import { ExampleStateMachine } from '../constructs/example-state-machine';
import { ExecutionAlerts } from '../constructs/execution-alerts';
import { FollowService } from '../constructs/follow-service';
import { LakeService } from '../constructs/lake-service';
import { LaunchService } from '../constructs/launch-service';
import { Monitoring } from '../constructs/monitoring';
import { OperationsDashboard } from '../constructs/operations-dashboard';
import type { ProjectFunction } from '../constructs/project-function';
import { SyncService } from '../constructs/sync-service';
import type { StatefulResources } from './stateful-stack';

export interface StatelessStackProps extends StackProps {
  readonly config: InfraConfig;
  readonly data: StatefulResources;
}

export class StatelessStack extends Stack {
  readonly sync: SyncService;
  readonly launch: LaunchService;
  readonly lake: LakeService;
  readonly events: EventsService;
  readonly follow: FollowService;
  readonly callbacks: CallbacksService;
  /** Every function of the registry, by name: the dashboard's function rows and the outputs derive from it. */
  readonly functions: Readonly<Record<FunctionName, ProjectFunction>>;
  /** Present when `alertEmails` names someone. */
  readonly alerts: ExecutionAlerts | undefined;
  readonly monitoring: Monitoring;
  readonly dashboard: OperationsDashboard;
  /** Present when `exampleStateMachine` is true. */
  readonly exampleStateMachine: ExampleStateMachine | undefined;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { config, data } = props;

    const apiKey = new ApiKeySecret(this, 'ApiKeySecret', {
      secret: config.apiKeySecret,
      ...(config.apiKeySecretKmsKeyArn ? { kmsKeyArn: config.apiKeySecretKmsKeyArn } : {}),
    });

    this.sync = new SyncService(this, 'Sync', {
      config,
      executionsTable: data.executionsTable,
      stateTable: data.stateTable,
      filesBucket: data.filesBucket,
      apiKey,
    });
    this.launch = new LaunchService(this, 'Launch', {
      config,
      executionsTable: data.executionsTable,
      stateTable: data.stateTable,
      idempotencyTable: data.idempotencyTable,
      inboxBucket: data.inboxBucket,
      apiKey,
    });
    this.lake = new LakeService(this, 'Lake', {
      config,
      executionsTable: data.executionsTable,
      stateTable: data.stateTable,
      filesBucket: data.filesBucket,
      lakeBucket: data.lakeBucket,
    });
    this.events = new EventsService(this, 'Events', { config, executionsTable: data.executionsTable });
    this.follow = new FollowService(this, 'Follow', {
      config,
      executionsTable: data.executionsTable,
      stateTable: data.stateTable,
      filesBucket: data.filesBucket,
      idempotencyTable: data.idempotencyTable,
      apiKey,
    });
    this.callbacks = new CallbacksService(this, 'Callbacks', {
      config,
      executionsTable: data.executionsTable,
      idempotencyTable: data.idempotencyTable,
      filesBucket: data.filesBucket,
    });
    this.functions = {
      sync: this.sync.handler,
      launch: this.launch.handler,
      lake: this.lake.handler,
      events: this.events.handler,
      follow: this.follow.handler,
      callbacks: this.callbacks.handler,
    };
    this.exampleStateMachine = config.exampleStateMachine
      ? new ExampleStateMachine(this, 'ExampleStateMachine', {
          launchQueue: this.launch.queue,
          followRate: config.followRate,
        })
      : undefined;
    this.alerts =
      config.alertEmails.length > 0
        ? new ExecutionAlerts(this, 'Alerts', { config, filesBucket: data.filesBucket })
        : undefined;
    this.monitoring = new Monitoring(this, 'Monitoring', {
      config,
      syncFunction: this.sync.handler,
      launchFunction: this.launch.handler,
      lakeFunction: this.lake.handler,
      eventsFunction: this.events.handler,
      followFunction: this.follow.handler,
      callbacksFunction: this.callbacks.handler,
      deadLetterQueue: this.launch.deadLetterQueue,
      eventsFailureQueue: this.events.failureQueue,
      callbacksFailureQueue: this.callbacks.failureQueue,
    });
    this.dashboard = new OperationsDashboard(this, 'Dashboard', {
      config,
      functions: this.functions,
      launchQueue: this.launch.queue,
      launchDeadLetterQueue: this.launch.deadLetterQueue,
      eventsFailureQueue: this.events.failureQueue,
      alarms: Object.values(this.monitoring.alarms),
    });

    const outputs: Record<string, { value: string; description: string }> = {
      LaunchQueueUrl: {
        value: this.launch.queue.queueUrl,
        description: 'Send launch requests here: {"jobId": "...", "input": {...}, "idempotencyKey": "..."}',
      },
      LaunchDeadLetterQueueUrl: {
        value: this.launch.deadLetterQueue.queueUrl,
        description: 'Launch requests that failed for good (attribute FailureReason tells why)',
      },
      LaunchDeadLetterQueueArn: {
        value: this.launch.deadLetterQueue.queueArn,
        description:
          'Source ARN for `aws sqs start-message-move-task` (replays the DLQ into the launch queue)',
      },
      AlarmTopicArn: { value: this.monitoring.topic.topicArn, description: 'SNS topic of the alarms' },
      EventsFailureQueueUrl: {
        value: this.events.failureQueue.queueUrl,
        description:
          'Stream batches whose status-change events were not published (shard and sequence numbers)',
      },
      CallbacksFailureQueueUrl: {
        value: this.callbacks.failureQueue.queueUrl,
        description: 'Stream batches whose task results were not sent to their Step Functions tasks',
      },
      DashboardName: { value: this.dashboard.dashboardName, description: 'CloudWatch dashboard' },
      DashboardUrl: { value: this.dashboard.url, description: 'The CloudWatch dashboard in the console' },
      ...(this.exampleStateMachine
        ? {
            ExampleStateMachineArn: {
              value: this.exampleStateMachine.stateMachine.stateMachineArn,
              description: 'Example: start it with {"jobId": "...", "file": "s3://bucket/key"}',
            },
          }
        : {}),
      ...(this.alerts
        ? {
            AlertTopicArn: {
              value: this.alerts.topic.topicArn,
              description: `SNS topic of the execution alerts (${config.alertStatuses.join(', ')})`,
            },
          }
        : {}),
      // What `npm run doctor -- --stack NAME` reads (docs/operations.md "Is it working?").
      SyncScheduleName: {
        value: this.sync.schedule.scheduleName,
        description: 'EventBridge Scheduler schedule (group default) that runs the sync',
      },
      LakeScheduleName: {
        value: this.lake.schedule.scheduleName,
        description: 'EventBridge Scheduler schedule (group default) that runs the lake function',
      },
      FollowScheduleName: {
        value: this.follow.schedule.scheduleName,
        description: 'EventBridge Scheduler schedule (group default) that runs the follow function',
      },
      EventsSourceMappingId: {
        value: this.events.streamSource.eventSourceMappingId,
        description: "The executions table stream's event source mapping (UUID) feeding the events function",
      },
      AlarmNames: {
        value: Fn.join(
          ',',
          Object.values(this.monitoring.alarms).map((alarm) => alarm.alarmName),
        ),
        description: 'The CloudWatch alarms of the deployment, comma-separated',
      },
      Version: {
        value: codeVersion(),
        description:
          "The deployed code: package.json's version + a digest of functions/, infra/ and the dependencies (npm run doctor compares it with the checkout's)",
      },
      // <Name>FunctionName and <Name>LogGroupName of every function.
      ...Object.fromEntries(
        FUNCTION_NAMES.flatMap((name) => {
          const { function: fn, logGroup } = this.functions[name];
          const title = `${name.charAt(0).toUpperCase()}${name.slice(1)}`;
          return [
            [`${title}FunctionName`, { value: fn.functionName, description: `${title} function` }],
            [`${title}LogGroupName`, { value: logGroup.logGroupName, description: `${title} function logs` }],
          ];
        }),
      ),
    };
    for (const [id, output] of Object.entries(outputs)) new CfnOutput(this, id, output);
  }
}
