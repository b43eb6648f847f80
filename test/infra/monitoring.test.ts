import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { HEALTH_STATES } from '#core/health/health-states';
import { type Synthesized, synthesize } from './support/synth';
import { TemplateView } from './support/template-view';

let synth: Synthesized;
let view: TemplateView;
type Props = Record<string, unknown>;

// Synthesizing the app once per file takes a few seconds (longer on a busy machine).
beforeAll(() => {
  synth = synthesize();
  view = new TemplateView(synth);
}, 120_000);

const alarm = (name: keyof Synthesized['stateless']['monitoring']['alarms']) =>
  view.statelessResource(synth.stateless.monitoring.alarms[name]).Properties as Props;
const topicRef = () => ({ Ref: view.logicalId(synth.stateless.monitoring.topic) });

describe('alarms', () => {
  it('alarms on any sync function error (crash, timeout, bad configuration)', () => {
    expect(alarm('syncErrors')).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [
        { Name: 'FunctionName', Value: { Ref: view.logicalId(synth.stateless.sync.handler.function) } },
      ],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms on a sync run that stopped on an error (the RunsFailed metric of the handler)', () => {
    expect(alarm('syncRunsFailed')).toMatchObject({
      Namespace: 'ProductLiveSync',
      MetricName: 'RunsFailed',
      Dimensions: [{ Name: 'service', Value: 'sync' }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms when an audit recovers executions, telling which setting to raise', () => {
    const properties = alarm('auditRecoveredExecutions');
    expect(properties).toMatchObject({
      Namespace: 'ProductLiveSync',
      MetricName: 'AuditExecutionsRecovered',
      Dimensions: [{ Name: 'service', Value: 'sync' }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [topicRef()],
    });
    expect(properties.AlarmDescription).toMatch(
      /later than the\s+lookback .*raise the CDK context value syncLookbackSeconds/s,
    );
  });

  it('alarms when the freshest run of the hour lags more than the threshold, or no run reported', () => {
    expect(alarm('syncLag')).toMatchObject({
      Namespace: 'ProductLiveSync',
      MetricName: 'LagSeconds',
      Dimensions: [{ Name: 'service', Value: 'sync' }],
      Statistic: 'Minimum',
      Period: 3600,
      Threshold: 3600,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      // A sync that stopped running publishes nothing: silence is a lag too.
      TreatMissingData: 'breaching',
    });
  });

  it('takes the lag threshold from context and widens the period for a slower schedule', () => {
    const custom = synthesize({ context: { syncLagAlarmMinutes: '240', syncSchedule: '1 hour' } });
    const lag = new TemplateView(custom).statelessResource(custom.stateless.monitoring.alarms.syncLag);
    expect(lag.Properties).toMatchObject({ MetricName: 'LagSeconds', Threshold: 240 * 60, Period: 150 * 60 });
  });

  it('alarms as soon as a launch request waits in the dead-letter queue', () => {
    expect(alarm('deadLetterQueueNotEmpty')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [view.logicalId(synth.stateless.launch.deadLetterQueue), 'QueueName'] },
        },
      ],
      Statistic: 'Maximum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms on any launch function error', () => {
    expect(alarm('launchErrors')).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [
        { Name: 'FunctionName', Value: { Ref: view.logicalId(synth.stateless.launch.handler.function) } },
      ],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('alarms on any events function error', () => {
    expect(alarm('eventsErrors')).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [
        { Name: 'FunctionName', Value: { Ref: view.logicalId(synth.stateless.events.handler.function) } },
      ],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms as soon as the stream gives up on a batch of events (the failure queue has a message)', () => {
    const properties = alarm('eventsFailureQueueNotEmpty');
    expect(properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [view.logicalId(synth.stateless.events.failureQueue), 'QueueName'] },
        },
      ],
      Statistic: 'Maximum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(properties.AlarmDescription).toMatch(/shard and sequence numbers/);
  });

  it('alarms on any follow or callbacks function error', () => {
    for (const [name, service] of [
      ['followErrors', synth.stateless.follow],
      ['callbacksErrors', synth.stateless.callbacks],
    ] as const) {
      expect(alarm(name), name).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: view.logicalId(service.handler.function) } }],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('alarms when three follow passes in a row stopped on an error', () => {
    expect(alarm('followPassesFailed')).toMatchObject({
      MetricName: 'PassesFailed',
      Statistic: 'Sum',
      Threshold: 1,
      EvaluationPeriods: 3,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms as soon as the stream gives up on a batch of task callbacks', () => {
    const properties = alarm('callbacksFailureQueueNotEmpty');
    expect(properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [view.logicalId(synth.stateless.callbacks.failureQueue), 'QueueName'] },
        },
      ],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(properties.AlarmDescription).toMatch(/Step Functions tasks/);
  });

  it('notifies the topic when any alarm fires and when it recovers', () => {
    for (const name of Object.keys(
      synth.stateless.monitoring.alarms,
    ) as (keyof typeof synth.stateless.monitoring.alarms)[]) {
      expect(alarm(name).AlarmActions, name).toEqual([topicRef()]);
      expect(alarm(name).OKActions, name).toEqual([topicRef()]);
      expect(String(alarm(name).AlarmDescription), name).not.toBe('');
    }
    // And no alarm of the stack is left without a notification.
    for (const resource of Object.values(synth.statelessTemplate.findResources('AWS::CloudWatch::Alarm'))) {
      expect((resource as { Properties: Props }).Properties.AlarmActions).toEqual([topicRef()]);
    }
  });
});

describe('alarm topic', () => {
  it('is encrypted with a rotated customer-managed key that CloudWatch alarms of this account may use', () => {
    const topic = view.statelessResource(synth.stateless.monitoring.topic).Properties as Props;
    const keyId = (topic.KmsMasterKeyId as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const key = synth.statelessTemplate.toJSON().Resources[keyId] as { Type: string; Properties: Props };
    expect(key.Type).toBe('AWS::KMS::Key');
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.Properties.KeyPolicy).toMatchObject({
      Statement: expect.arrayContaining([
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          Condition: expect.objectContaining({
            StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          }),
        }),
      ]),
    });
  });

  // biome-ignore lint/suspicious/useExpect: its assertion is hasResourceProperties, which throws on a mismatch
  it('refuses publishing without TLS and lets only this account’s CloudWatch alarms publish', () => {
    synth.statelessTemplate.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [topicRef()],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sns:Publish',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Condition: Match.objectLike({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }),
          }),
        ]),
      },
    });
  });

  it('subscribes the alarm e-mail only when one is configured', () => {
    expect(synth.statelessTemplate.findResources('AWS::SNS::Subscription')).toEqual({});
    const custom = synthesize({ context: { alarmEmail: 'ops@example.com' } });
    custom.statelessTemplate.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: { Ref: new TemplateView(custom).logicalId(custom.stateless.monitoring.topic) },
    });
  });
});

describe('dashboard', () => {
  type Widget = { type: string; width: number; properties: Record<string, unknown> };
  /** The dashboard body as CloudWatch receives it, references replaced by what they point at. */
  const body = () => {
    const properties = view.statelessResource(synth.stateless.dashboard.dashboard).Properties as Props;
    return JSON.parse(view.describe(properties.DashboardBody as never, 'stateless')) as { widgets: Widget[] };
  };
  /** Every [namespace, metric name, dimension name, dimension value] the dashboard graphs. */
  const graphed = () =>
    body()
      .widgets.flatMap((widget) => (widget.properties.metrics ?? []) as unknown[][])
      .filter((metric) => typeof metric[0] === 'string')
      .map((metric) => metric.slice(0, 4).join(' '));

  it('has one page, named after the stack prefix and the region', () => {
    const properties = view.statelessResource(synth.stateless.dashboard.dashboard).Properties as Props;
    expect(view.describe(properties.DashboardName as never, 'stateless')).toBe(
      'ProductLiveSync-<AWS::Region>',
    );
    for (const widget of body().widgets) expect(widget.width).toBeLessThanOrEqual(24);
  });

  it('starts with the status of every alarm', () => {
    const [, alarms] = body().widgets;
    expect(alarms?.type).toBe('alarm');
    const names = Object.values(synth.stateless.monitoring.alarms).map(
      (construct) => `${view.logicalId(construct)}.Arn`,
    );
    expect(alarms?.properties.alarms).toEqual(names);
    expect(names).toHaveLength(14);
  });

  it('graphs the sync: runs, lag, API requests, 429s, executions, audits and file copies', () => {
    const metrics = graphed();
    for (const name of [
      'RunsFailed',
      'RunsSkipped',
      'MoreRemaining',
      'LagSeconds',
      'ApiRequests',
      'Throttled',
      'ExecutionsNew',
      'ExecutionsUpdated',
      'OpenExecutionsRefreshed',
      'AuditRuns',
      'AuditExecutionsRecovered',
      'AuditExecutionsRemovedFromApi',
      'AuditMonthsDiffering',
      'FilesCopied',
      'FilesPending',
      'FilesFailed',
    ]) {
      expect(metrics, name).toContain(`ProductLiveSync ${name} service sync`);
    }
    expect(metrics).toContain('AWS/Lambda Invocations FunctionName SyncFunction');
  });

  it('shows the API requests of both functions against the 50 requests/minute budget', () => {
    const widget = body().widgets.find((w) =>
      String(w.properties.title).startsWith('Product-Live API requests'),
    );
    if (!widget) throw new Error('no API requests widget');
    const annotations = (widget.properties.annotations as { horizontal: { value: number; label: string }[] })
      .horizontal;
    expect(annotations).toContainEqual(
      expect.objectContaining({ value: 50, label: expect.stringMatching(/50/) }),
    );
    const metrics = widget.properties.metrics as unknown[][];
    expect(metrics.map((metric) => metric.slice(0, 4).join(' '))).toEqual(
      expect.arrayContaining([
        'ProductLiveSync ApiRequests service sync',
        'ProductLiveSync ApiRequests service launch',
      ]),
    );
    expect(JSON.stringify(metrics)).toContain('FILL(sync, 0) + FILL(launch, 0)');
  });

  it('graphs launches, the lake and the events with the names their handlers publish', () => {
    const metrics = graphed();
    for (const [service, names] of [
      [
        'launch',
        ['LaunchesStarted', 'LaunchesAdopted', 'LaunchDuplicates', 'LaunchRetries', 'LaunchesDeadLettered'],
      ],
      ['launch', ['Throttled', 'ApiRequests']],
      ['lake', ['LakeDaysWritten', 'LakeDaysFailed', 'LakeDaysLeft', 'LakeRowsWritten', 'LakeBytesWritten']],
      ['events', ['EventsPublished', 'EventsUnchanged', 'EventsRetried', 'EventsFailed']],
    ] as const) {
      for (const name of names) expect(metrics, name).toContain(`ProductLiveSync ${name} service ${service}`);
    }
    for (const queue of ['LaunchQueue', 'LaunchDeadLetterQueue', 'EventsFailureQueue']) {
      expect(metrics).toContain(`AWS/SQS ApproximateNumberOfMessagesVisible QueueName ${queue}.QueueName`);
    }
    expect(metrics).toContain('AWS/Lambda IteratorAge FunctionName EventsFunction');
  });

  it('graphs the jobs in each health state, and the health changes, with the names the sync publishes', () => {
    const metrics = graphed();
    for (const state of HEALTH_STATES) {
      const name = `Jobs${state.charAt(0).toUpperCase()}${state.slice(1)}`;
      expect(metrics, name).toContain(`ProductLiveSync ${name} service sync`);
    }
    for (const name of [
      'HealthChanges',
      'HealthEventsPublished',
      'HealthEventsPending',
      'HealthEvaluationsFailed',
    ]) {
      expect(metrics, name).toContain(`ProductLiveSync ${name} service sync`);
    }
    const widget = body().widgets.find((w) => String(w.properties.title).startsWith('Jobs per health state'));
    // A level after each run: its maximum, never a sum of runs.
    expect(JSON.stringify(widget?.properties.metrics)).toContain('"stat":"Maximum"');
  });

  it('graphs errors, durations and throttles of all four functions', () => {
    const metrics = graphed();
    for (const fn of ['SyncFunction', 'LaunchFunction', 'LakeFunction', 'EventsFunction']) {
      for (const name of ['Errors', 'Duration', 'Throttles']) {
        expect(metrics).toContain(`AWS/Lambda ${name} FunctionName ${fn}`);
      }
    }
  });
});

describe('stateless stack outputs', () => {
  it('outputs the queue URLs, topic ARN, function and log group names operators need', () => {
    const outputs = synth.statelessTemplate.toJSON().Outputs as Record<string, { Value: unknown }>;
    const ref = (construct: Parameters<TemplateView['logicalId']>[0]) => ({ Ref: view.logicalId(construct) });
    const { sync, launch, monitoring } = synth.stateless;
    expect(outputs.LaunchQueueUrl?.Value).toEqual(ref(launch.queue));
    expect(outputs.LaunchDeadLetterQueueUrl?.Value).toEqual(ref(launch.deadLetterQueue));
    expect(outputs.LaunchDeadLetterQueueArn?.Value).toEqual({
      'Fn::GetAtt': [view.logicalId(launch.deadLetterQueue), 'Arn'],
    });
    expect(outputs.AlarmTopicArn?.Value).toEqual(ref(monitoring.topic));
    expect(outputs.SyncFunctionName?.Value).toEqual(ref(sync.handler.function));
    expect(outputs.LaunchFunctionName?.Value).toEqual(ref(launch.handler.function));
    expect(outputs.SyncLogGroupName?.Value).toEqual(ref(sync.handler.logGroup));
    expect(outputs.LaunchLogGroupName?.Value).toEqual(ref(launch.handler.logGroup));
    const { events } = synth.stateless;
    expect(outputs.EventsFunctionName?.Value).toEqual(ref(events.handler.function));
    expect(outputs.EventsFailureQueueUrl?.Value).toEqual(ref(events.failureQueue));
    expect(outputs.EventsLogGroupName?.Value).toEqual(ref(events.handler.logGroup));
    expect(view.describe(outputs.DashboardName?.Value as never, 'stateless')).toBe(
      'ProductLiveSync-<AWS::Region>',
    );
    expect(view.describe(outputs.DashboardUrl?.Value as never, 'stateless')).toBe(
      'https://<AWS::Region>.console.aws.amazon.com/cloudwatch/home?region=<AWS::Region>' +
        '#dashboards/dashboard/ProductLiveSync-<AWS::Region>',
    );
  });
});
