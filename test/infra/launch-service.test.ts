import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadLaunchConfig } from '#core/config';
import { commonEnvironment, type Synthesized, synthesize } from './support/synth';
import { sortStatements, TemplateView } from './support/template-view';

let synth: Synthesized;
let view: TemplateView;
type Props = Record<string, unknown>;

// Synthesizing the app once per file takes a few seconds (longer on a busy machine).
beforeAll(() => {
  synth = synthesize();
  view = new TemplateView(synth);
}, 120_000);

const launchFunction = () =>
  view.statelessResource(synth.stateless.launch.handler.function).Properties as Props;
const SECRET =
  'arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:product-live/api-key-??????';

describe('launch function', () => {
  it('runs Node.js 22 on arm64 with its own timeout and memory, without reserved concurrency', () => {
    expect(launchFunction()).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 240,
      MemorySize: 512,
      LoggingConfig: { LogGroup: { Ref: view.logicalId(synth.stateless.launch.handler.logGroup) } },
    });
    expect(launchFunction().ReservedConcurrentExecutions).toBeUndefined();
  });

  it('gets exactly the configuration the launcher reads, and a reference to the API key secret', () => {
    expect(view.environmentOf(synth.stateless.launch.handler.function)).toEqual({
      PRODUCT_LIVE_API_URL: 'https://api.product-live.com',
      PRODUCT_LIVE_FIND_PATH: '/v1/job_executions/find',
      PRODUCT_LIVE_API_KEY_SECRET_ID: 'product-live/api-key',
      PRODUCT_LIVE_TIMEOUT_SECONDS: '30',
      EXECUTIONS_TABLE_NAME: 'ExecutionsTable',
      STATE_TABLE_NAME: 'StateTable',
      IDEMPOTENCY_TABLE_NAME: 'IdempotencyTable',
      LAUNCH_QUEUE_URL: 'LaunchQueue',
      LAUNCH_DLQ_URL: 'LaunchDeadLetterQueue',
      // The 10 requests/minute of the launch share, less the follow function's 2, split over the 2 instances
      // the event source may run.
      LAUNCH_REQUESTS_PER_MINUTE: '4',
      LAUNCH_INPUT_BUCKETS: '[]',
      LAUNCH_INBOX_RULES: '[]',
      LAUNCH_INBOX_BUCKET: 'InboxBucket',
      LAUNCH_IDEMPOTENCY_TTL_SECONDS: String(30 * 24 * 3600),
      LAUNCH_MAX_RECEIVE_COUNT: '10',
      ...commonEnvironment('launch'),
    });
  });

  it("passes the function's own configuration check, as a Lambda would run it", () => {
    const config = loadLaunchConfig({
      ...view.environmentOf(synth.stateless.launch.handler.function),
      AWS_LAMBDA_FUNCTION_NAME: 'launch',
    });
    expect(config).toMatchObject({
      apiKey: { kind: 'secret', secretId: 'product-live/api-key' },
      requestsPerMinute: 4,
      idempotencyTtlSeconds: 30 * 24 * 3600,
      maxReceiveCount: 10,
    });
  });

  it('keeps all launch instances and the sync together within 50 requests/minute', () => {
    const launch = Number(
      view.environmentOf(synth.stateless.launch.handler.function).LAUNCH_REQUESTS_PER_MINUTE,
    );
    const sync = Number(view.environmentOf(synth.stateless.sync.handler.function).SYNC_REQUESTS_PER_MINUTE);
    const mapping = synth.statelessTemplate.findResources('AWS::Lambda::EventSourceMapping');
    const [esm] = Object.values(mapping) as {
      Properties: { ScalingConfig: { MaximumConcurrency: number } };
    }[];
    expect(
      sync + launch * (esm?.Properties.ScalingConfig.MaximumConcurrency ?? Number.NaN),
    ).toBeLessThanOrEqual(50);
  });
});

describe('launch queues', () => {
  const queue = () => view.statelessResource(synth.stateless.launch.queue).Properties as Props;
  const dlq = () => view.statelessResource(synth.stateless.launch.deadLetterQueue).Properties as Props;

  it('keeps a message invisible for at least 6 × the function timeout', () => {
    expect(queue().VisibilityTimeout).toBeGreaterThanOrEqual(6 * Number(launchFunction().Timeout));
    expect(queue().VisibilityTimeout).toBe(1440);
  });

  it('moves a message to the DLQ after 10 deliveries; the DLQ keeps it for 14 days', () => {
    expect(queue().RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [view.logicalId(synth.stateless.launch.deadLetterQueue), 'Arn'] },
      maxReceiveCount: 10,
    });
    expect(dlq().MessageRetentionPeriod).toBe(14 * 24 * 3600);
    expect(Number(queue().MessageRetentionPeriod)).toBeLessThan(Number(dlq().MessageRetentionPeriod));
  });

  it('takes maxReceiveCount from context, and tells the function the same number', () => {
    const custom = synthesize({ context: { launchMaxReceiveCount: '4' } });
    custom.statelessTemplate.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 4 }),
    });
    const customView = new TemplateView(custom);
    expect(customView.environmentOf(custom.stateless.launch.handler.function).LAUNCH_MAX_RECEIVE_COUNT).toBe(
      '4',
    );
  });

  it.each([
    ['launch queue', () => synth.stateless.launch.queue],
    ['dead-letter queue', () => synth.stateless.launch.deadLetterQueue],
  ])('encrypts the %s and refuses requests without TLS', (_name, construct) => {
    const id = view.logicalId(construct());
    expect((view.statelessResource(construct()).Properties as Props).SqsManagedSseEnabled).toBe(true);
    synth.statelessTemplate.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: id }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });
});

describe('launch event source', () => {
  // biome-ignore lint/suspicious/useExpect: its assertion is hasResourceProperties, which throws on a mismatch
  it('reads batches of 10 within 5 s, reports partial batch failures, at most 2 at a time', () => {
    synth.statelessTemplate.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [view.logicalId(synth.stateless.launch.queue), 'Arn'] },
      FunctionName: { Ref: view.logicalId(synth.stateless.launch.handler.function) },
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  it('takes batch size, window and concurrency from context and re-splits the budget', () => {
    const custom = synthesize({
      context: {
        launchBatchSize: '4',
        launchMaxBatchingWindowSeconds: '20',
        launchMaxConcurrency: '5',
        launchRequestsPerMinute: '10',
        launchTimeoutSeconds: '300',
      },
    });
    custom.statelessTemplate.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 4,
      MaximumBatchingWindowInSeconds: 20,
      ScalingConfig: { MaximumConcurrency: 5 },
    });
    expect(
      new TemplateView(custom).environmentOf(custom.stateless.launch.handler.function)
        .LAUNCH_REQUESTS_PER_MINUTE,
    ).toBe('1');
  });
});

describe('launch permissions', () => {
  it('grants exactly the table, queue, secret and log actions the launch code uses', () => {
    expect(view.statementsOf(synth.stateless.launch.handler.role)).toEqual(
      sortStatements([
        { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: ['LaunchLogGroup.Arn'] },
        // Active tracing (on by default): X-Ray has no resource-level permissions.
        { actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], resources: ['*'] },
        {
          actions: [
            'dynamodb:BatchGetItem',
            'dynamodb:DeleteItem',
            'dynamodb:GetItem',
            'dynamodb:PutItem',
            'dynamodb:UpdateItem',
          ],
          resources: ['IdempotencyTable.Arn'],
        },
        { actions: ['dynamodb:UpdateItem'], resources: ['ExecutionsTable.Arn'] },
        // The lake's day marks (LakeMarks.mark).
        { actions: ['dynamodb:UpdateItem'], resources: ['StateTable.Arn'] },
        { actions: ['sqs:SendMessage'], resources: ['LaunchDeadLetterQueue.Arn'] },
        { actions: ['sqs:ChangeMessageVisibility'], resources: ['LaunchQueue.Arn'] },
        // The event source mapping polls with the function's role (granted by the CDK's SqsEventSource).
        {
          actions: [
            'sqs:ChangeMessageVisibility',
            'sqs:DeleteMessage',
            'sqs:GetQueueAttributes',
            'sqs:GetQueueUrl',
            'sqs:ReceiveMessage',
          ],
          resources: ['LaunchQueue.Arn'],
        },
        { actions: ['secretsmanager:GetSecretValue'], resources: [SECRET] },
        // The objects requests may reference: the inbox (and the buckets of launchInputBuckets, none here).
        { actions: ['s3:GetObject', 's3:GetObjectVersion'], resources: ['InboxBucket.Arn/*'] },
        // A refused request's task token (ProductLive.Rejected), a retried one's heartbeat: no resource scoping.
        { actions: ['states:SendTaskFailure', 'states:SendTaskHeartbeat'], resources: ['*'] },
      ]),
    );
  });

  it('may read exactly the objects of launchInputBuckets and the inbox, and routes the inbox to the queue only with rules', () => {
    const custom = synthesize({
      context: {
        launchInputBuckets: 'acme-exports/erp/,acme-drops',
        launchInbox: JSON.stringify([{ prefix: 'imports/', jobId: '65819ba43ad5b963658ab35d' }]),
      },
    });
    const customView = new TemplateView(custom);
    const read = customView
      .statementsOf(custom.stateless.launch.handler.role)
      .find((statement) => statement.actions.includes('s3:GetObject'));
    expect(read?.resources).toEqual([
      'InboxBucket.Arn/*',
      'arn:<AWS::Partition>:s3:::acme-drops/*',
      'arn:<AWS::Partition>:s3:::acme-exports/erp/*',
    ]);
    custom.statelessTemplate.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.s3'], 'detail-type': ['Object Created'] },
    });
    expect(
      synth.statelessTemplate.findResources('AWS::Events::Rule', {
        Properties: { EventPattern: { source: ['aws.s3'] } },
      }),
    ).toEqual({});
  });

  it.each([
    ['none configured', undefined, []],
    [
      'buckets and prefixes, comma-separated',
      'acme-exports/erp/,acme-drops',
      ['acme-exports/erp/', 'acme-drops/'],
    ],
    [
      'a JSON list with s3:// and a deep prefix',
      '["s3://acme-exports/erp/2026/", "acme.drops.eu"]',
      ['acme-exports/erp/2026/', 'acme.drops.eu/'],
    ],
  ])(
    'reads objects in exactly launchInputBuckets and the inbox, nothing else, as its own check does (%s)',
    (_name, context, configured) => {
      const custom = context === undefined ? synth : synthesize({ context: { launchInputBuckets: context } });
      const customView = context === undefined ? view : new TemplateView(custom);
      const statements = customView.statementsOf(custom.stateless.launch.handler.role);
      // Every S3 permission of the role, wherever it is granted: only object reads, only of these.
      const s3Statements = statements.filter((statement) =>
        statement.actions.some((action) => action === '*' || action.startsWith('s3:')),
      );
      expect(s3Statements.map((statement) => statement.actions)).toEqual([
        ['s3:GetObject', 's3:GetObjectVersion'],
      ]);
      const expected = ['InboxBucket/', ...configured].map((location) =>
        location.startsWith('InboxBucket/') ? 'InboxBucket.Arn/*' : `arn:<AWS::Partition>:s3:::${location}*`,
      );
      expect(s3Statements[0]?.resources).toEqual([...expected].sort());
      // No bucket-level permission (no ListBucket): a missing key answers 403, which the launcher reports as such.
      expect(
        s3Statements[0]?.resources.every((resource) => resource.endsWith('*') && resource.includes('/')),
      ).toBe(true);
      // The function refuses, before reading, every reference outside the same locations (file-references.ts).
      const config = loadLaunchConfig({
        ...customView.environmentOf(custom.stateless.launch.handler.function),
        AWS_LAMBDA_FUNCTION_NAME: 'launch',
      });
      expect(config.readable.map((location) => `${location.bucket}/${location.prefix}`).sort()).toEqual(
        ['InboxBucket/', ...configured].sort(),
      );
    },
  );

  it('uses no managed policy (not even AWSLambdaBasicExecutionRole)', () => {
    const role = view.statelessResource(synth.stateless.launch.handler.role).Properties as Props;
    expect(role.ManagedPolicyArns).toBeUndefined();
  });
});
