import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadEventsConfig } from '#core/config';
import { EVENT_DETAIL_TYPE, EVENT_SOURCE } from '#core/events/execution-event';
import { JOB_HEALTH_DETAIL_TYPE, type JobHealthEventDetail } from '#core/events/job-health-event';
import { commonEnvironment, type Synthesized, synthesize } from './support/synth';
import { sortStatements, TemplateView } from './support/template-view';

let synth: Synthesized;
let view: TemplateView;
let alerting: Synthesized;
let alertingView: TemplateView;
type Props = Record<string, unknown>;

const ALERT_EMAILS = ['ops@example.com', 'data@example.com'];

// Synthesizing the app takes a few seconds (longer on a busy machine): once with the defaults, once with
// alerts on.
beforeAll(() => {
  synth = synthesize();
  view = new TemplateView(synth);
  alerting = synthesize({ context: { alertEmails: JSON.stringify(ALERT_EMAILS) } });
  alertingView = new TemplateView(alerting);
}, 120_000);

const eventsFunction = () =>
  view.statelessResource(synth.stateless.events.handler.function).Properties as Props;
const DEFAULT_BUS = 'arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:event-bus/default';

/** The events function's stream event source mapping (the callbacks function has one of its own). */
function streamMapping(template: Synthesized['statelessTemplate']): Props {
  const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')) as {
    Properties: Props;
  }[];
  const streams = mappings.filter(
    (mapping) =>
      mapping.Properties.StartingPosition !== undefined &&
      (mapping.Properties.FunctionName as { Ref?: string }).Ref ===
        view.logicalId(synth.stateless.events.handler.function),
  );
  expect(streams).toHaveLength(1);
  return streams[0]?.Properties ?? {};
}

describe('events function', () => {
  it('runs Node.js 22 on arm64, traced, with its own log group, timeout and memory', () => {
    expect(eventsFunction()).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 60,
      MemorySize: 256,
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogGroup: { Ref: view.logicalId(synth.stateless.events.handler.logGroup) } },
    });
  });

  it('gets exactly the configuration the events handler reads, and passes its own check', () => {
    const environment = view.environmentOf(synth.stateless.events.handler.function);
    expect(environment).toEqual({
      EVENT_BUS_NAME: 'default',
      ...commonEnvironment('events'),
    });
    expect(loadEventsConfig(environment)).toEqual({ eventBusName: 'default' });
  });

  it('keeps its logs for the configured retention', () => {
    expect(view.statelessResource(synth.stateless.events.handler.logGroup).Properties).toMatchObject({
      RetentionInDays: 90,
    });
  });
});

describe('executions stream to the events function', () => {
  it('reads the stream of the executions table, from its oldest record', () => {
    const mapping = streamMapping(synth.statelessTemplate);
    expect(view.describe(mapping.EventSourceArn as never, 'stateless')).toBe('ExecutionsTable.StreamArn');
    expect(mapping).toMatchObject({
      FunctionName: { Ref: view.logicalId(synth.stateless.events.handler.function) },
      StartingPosition: 'TRIM_HORIZON',
    });
  });

  it('keeps the order per execution and retries a bounded number of times, halving failing batches', () => {
    expect(streamMapping(synth.statelessTemplate)).toMatchObject({
      BatchSize: 100,
      ParallelizationFactor: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 12 * 3600,
    });
  });

  it('describes the batches it gives up on in an encrypted, TLS-only queue kept 14 days', () => {
    const mapping = streamMapping(synth.statelessTemplate);
    const queueId = view.logicalId(synth.stateless.events.failureQueue);
    expect(mapping.DestinationConfig).toEqual({
      OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } },
    });
    expect(view.statelessResource(synth.stateless.events.failureQueue).Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    synth.statelessTemplate.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('events function permissions', () => {
  it('grants exactly the stream reads, PutEvents of its own source on the bus, the failure queue and logs', () => {
    expect(view.statementsOf(synth.stateless.events.handler.role)).toEqual(
      sortStatements([
        { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: ['EventsLogGroup.Arn'] },
        { actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], resources: ['*'] },
        {
          actions: [
            'dynamodb:DescribeStream',
            'dynamodb:GetRecords',
            'dynamodb:GetShardIterator',
            'dynamodb:ListStreams',
          ],
          resources: ['ExecutionsTable.StreamArn'],
        },
        {
          actions: ['events:PutEvents'],
          resources: [DEFAULT_BUS],
          condition: { StringEquals: { 'events:source': EVENT_SOURCE } },
        },
        {
          actions: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
          resources: ['EventsFailureQueue.Arn'],
        },
      ]),
    );
  });

  it('can neither write the tables nor touch S3, and uses no managed policy', () => {
    const actions = view.statementsOf(synth.stateless.events.handler.role).flatMap((s) => s.actions);
    expect(actions.filter((action) => action.startsWith('s3:'))).toEqual([]);
    expect(
      actions.filter(
        (action) => action.startsWith('dynamodb:') && !/Stream|GetRecords|GetShardIterator/.test(action),
      ),
    ).toEqual([]);
    const role = view.statelessResource(synth.stateless.events.handler.role).Properties as Props;
    expect(role.ManagedPolicyArns).toBeUndefined();
  });

  it('publishes to the bus named by eventBusName', () => {
    const custom = synthesize({ context: { eventBusName: 'product-live' } });
    const customView = new TemplateView(custom);
    expect(customView.environmentOf(custom.stateless.events.handler.function).EVENT_BUS_NAME).toBe(
      'product-live',
    );
    const putEvents = customView
      .statementsOf(custom.stateless.events.handler.role)
      .filter((statement) => statement.actions.includes('events:PutEvents'));
    expect(putEvents).toEqual([
      {
        actions: ['events:PutEvents'],
        resources: ['arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:event-bus/product-live'],
        condition: { StringEquals: { 'events:source': EVENT_SOURCE } },
      },
    ]);
  });

  it('turns tracing off, in Lambda and in the Powertools Tracer, with tracing=false', () => {
    const untraced = synthesize({ context: { tracing: 'false' } });
    const untracedView = new TemplateView(untraced);
    const { sync, launch, lake, events } = untraced.stateless;
    for (const service of [sync, launch, lake, events]) {
      const fn = service.handler.function;
      const properties = untracedView.statelessResource(fn).Properties as Props;
      expect(properties.TracingConfig, fn.node.path).toBeUndefined();
      expect(untracedView.environmentOf(fn).POWERTOOLS_TRACE_ENABLED, fn.node.path).toBe('false');
      const actions = untracedView.statementsOf(service.handler.role).flatMap((s) => s.actions);
      expect(
        actions.filter((action) => action.startsWith('xray:')),
        fn.node.path,
      ).toEqual([]);
    }
  });
});

describe('failure alerts', () => {
  const alerts = () => {
    const built = alerting.stateless.alerts;
    if (!built) throw new Error('no alerts synthesized');
    return built;
  };

  it('creates no rule, topic or subscription when no alert e-mail is given', () => {
    expect(synth.stateless.alerts).toBeUndefined();
    expect(synth.statelessTemplate.findResources('AWS::Events::Rule')).toEqual({});
    expect(Object.keys(synth.statelessTemplate.findResources('AWS::SNS::Topic'))).toEqual([
      view.logicalId(synth.stateless.monitoring.topic),
    ]);
    expect(synth.statelessTemplate.findResources('AWS::SNS::Subscription')).toEqual({});
    expect((synth.statelessTemplate.toJSON().Outputs as Props).AlertTopicArn).toBeUndefined();
  });

  it('matches the status changes of this application that end FAILED or TIMEDOUT, on the default bus', () => {
    const rule = alertingView.statelessResource(alerts().rule).Properties as Props;
    expect(rule.EventPattern).toEqual({
      source: [EVENT_SOURCE],
      'detail-type': [EVENT_DETAIL_TYPE],
      detail: { status: ['FAILED', 'TIMEDOUT'] },
    });
    expect(rule.EventBusName).toBeUndefined();
    expect(rule.State).toBe('ENABLED');
  });

  it('matches the statuses of alertStatuses, on the bus of eventBusName', () => {
    const custom = synthesize({
      context: {
        alertEmails: 'ops@example.com',
        alertStatuses: 'user_error,TERMINATED',
        eventBusName: 'product-live',
      },
    });
    const rule = new TemplateView(custom).statelessResource(custom.stateless.alerts?.rule as never)
      .Properties as Props;
    expect(rule.EventPattern).toMatchObject({ detail: { status: ['USER_ERROR', 'TERMINATED'] } });
    expect(rule.EventBusName).toBe('product-live');
  });

  it('subscribes each address once to its topic', () => {
    const subscriptions = Object.values(
      alerting.statelessTemplate.findResources('AWS::SNS::Subscription'),
    ).map((resource) => (resource as { Properties: Props }).Properties);
    expect(subscriptions).toEqual(
      ALERT_EMAILS.map((address) => ({
        Protocol: 'email',
        Endpoint: address,
        TopicArn: { Ref: alertingView.logicalId(alerts().topic) },
      })),
    );
  });

  it('encrypts the topic with a rotated customer-managed key that EventBridge may use', () => {
    const topic = alertingView.statelessResource(alerts().topic).Properties as Props;
    expect(topic.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [alertingView.logicalId(alerts().key), 'Arn'] });
    const key = alertingView.statelessResource(alerts().key).Properties as Props;
    expect(key.EnableKeyRotation).toBe(true);
    expect(key.KeyPolicy).toMatchObject({
      Statement: expect.arrayContaining([
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        }),
      ]),
    });
  });

  // biome-ignore lint/suspicious/useExpect: its assertion is hasResourceProperties, which throws on a mismatch
  it('refuses publishing without TLS and lets only the alert rules publish', () => {
    const topicRef = { Ref: alertingView.logicalId(alerts().topic) };
    alerting.statelessTemplate.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [topicRef],
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
            Principal: { Service: 'events.amazonaws.com' },
          }),
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Principal: { Service: 'events.amazonaws.com' },
            Condition: {
              ArnNotEqualsIfExists: {
                'aws:SourceArn': [
                  { 'Fn::GetAtt': [alertingView.logicalId(alerts().rule), 'Arn'] },
                  { 'Fn::GetAtt': [alertingView.logicalId(alerts().healthRule as never), 'Arn'] },
                ],
              },
            },
          }),
        ]),
      },
    });
  });

  it('sends a readable message: status, job, execution, when, duration and the S3 prefix of its files', () => {
    const rule = alertingView.statelessResource(alerts().rule).Properties as Props;
    const [target] = rule.Targets as Array<{
      Arn: unknown;
      InputTransformer: { InputPathsMap: Record<string, string>; InputTemplate: never };
    }>;
    expect(target?.Arn).toEqual({ Ref: alertingView.logicalId(alerts().topic) });
    const transformer = target?.InputTransformer;
    expect(transformer?.InputPathsMap).toEqual({
      'detail-status': '$.detail.status',
      'detail-previousStatus': '$.detail.previousStatus',
      'detail-title': '$.detail.title',
      'detail-jobId': '$.detail.jobId',
      'detail-executionId': '$.detail.executionId',
      'detail-endedAt': '$.detail.endedAt',
      'detail-durationMs': '$.detail.durationMs',
      time: '$.time',
    });
    // One JSON string per line (the way EventBridge gives SNS plain text), the bucket name filled in.
    const lines = alertingView
      .describe(transformer?.InputTemplate as never, 'stateless')
      .split('\n')
      .map((line) => JSON.parse(line) as string);
    expect(lines).toEqual([
      'Product-Live job execution <detail-status> (was <detail-previousStatus>)',
      'Job: <detail-title> (<detail-jobId>)',
      'Execution: <detail-executionId>',
      'Ended at: <detail-endedAt> (event time <time>)',
      'Duration: <detail-durationMs> ms',
      'Files: s3://FilesBucket/executions/<detail-jobId>/<detail-executionId>/',
    ]);
  });

  it('alerts on jobs that become late or failing (alertHealthStates by default), on the same topic', () => {
    const healthRule = alerts().healthRule;
    if (!healthRule) throw new Error('no health alert rule');
    const rule = alertingView.statelessResource(healthRule).Properties as Props;
    expect(rule.EventPattern).toEqual({
      source: [EVENT_SOURCE],
      'detail-type': [JOB_HEALTH_DETAIL_TYPE],
      detail: { state: ['late', 'failing'] },
    });
    expect(rule.EventBusName).toBeUndefined();
    const [target] = rule.Targets as Array<{
      Arn: unknown;
      InputTransformer: { InputPathsMap: Record<string, string>; InputTemplate: never };
    }>;
    expect(target?.Arn).toEqual({ Ref: alertingView.logicalId(alerts().topic) });
    // Every field the message reads is one the event carries.
    const paths = Object.values(target?.InputTransformer.InputPathsMap ?? {});
    const detail: JobHealthEventDetail = {
      eventId: 'j:late:t',
      jobId: 'j',
      title: null,
      state: 'late',
      previousState: 'healthy',
      reasons: ['r'],
      reason: 'r',
      lastRunAt: null,
      lastSuccessAt: null,
      expectedBy: null,
      consecutiveFailures: 0,
      usualIntervalMs: null,
      stateSince: 't',
    };
    for (const path of paths) expect(Object.keys(detail)).toContain(path.replace('$.detail.', ''));
    const lines = alertingView
      .describe(target?.InputTransformer.InputTemplate as never, 'stateless')
      .split('\n')
      .map((line) => JSON.parse(line) as string);
    expect(lines).toEqual([
      'Product-Live job <detail-title> is <detail-state> (was <detail-previousState>)',
      'Job: <detail-title> (<detail-jobId>)',
      'Why: <detail-reason>',
      'Last run: <detail-lastRunAt>; last success: <detail-lastSuccessAt>',
      'Expected by: <detail-expectedBy>; failures in a row: <detail-consecutiveFailures>',
      'Since: <detail-stateSince> (npm run history -- health --job <detail-jobId> --stack ...)',
    ]);
  });

  it('alerts on the health states of alertHealthStates, and on none with an empty list', () => {
    const slow = synthesize({
      context: {
        alertEmails: 'ops@example.com',
        alertHealthStates: 'Slow,late',
        eventBusName: 'product-live',
      },
    });
    const rule = new TemplateView(slow).statelessResource(slow.stateless.alerts?.healthRule as never)
      .Properties as Props;
    expect(rule.EventPattern).toMatchObject({ detail: { state: ['slow', 'late'] } });
    expect(rule.EventBusName).toBe('product-live');
    const none = synthesize({ context: { alertEmails: 'ops@example.com', alertHealthStates: '[]' } });
    expect(none.stateless.alerts?.healthRule).toBeUndefined();
    expect(Object.keys(none.statelessTemplate.findResources('AWS::Events::Rule'))).toHaveLength(1);
  });

  it('outputs the alert topic ARN', () => {
    const outputs = alerting.statelessTemplate.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.AlertTopicArn?.Value).toEqual({ Ref: alertingView.logicalId(alerts().topic) });
  });
});
