import { beforeAll, describe, expect, it } from 'vitest';
import { loadSyncConfig } from '#core/config';
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

const syncFunction = () => view.statelessResource(synth.stateless.sync.handler.function).Properties as Props;
const SECRET =
  'arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:product-live/api-key-??????';

describe('sync function', () => {
  it('runs Node.js 22 on arm64, sized for a 15-minute run, one at a time', () => {
    expect(syncFunction()).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 900,
      MemorySize: 1024,
      ReservedConcurrentExecutions: 1,
      LoggingConfig: { LogGroup: { Ref: view.logicalId(synth.stateless.sync.handler.logGroup) } },
    });
  });

  it('gets exactly the configuration the sync reads, and a reference to the API key secret', () => {
    expect(view.environmentOf(synth.stateless.sync.handler.function)).toEqual({
      PRODUCT_LIVE_API_URL: 'https://api.product-live.com',
      PRODUCT_LIVE_FIND_PATH: '/v1/job_executions/find',
      PRODUCT_LIVE_API_KEY_SECRET_ID: 'product-live/api-key',
      PRODUCT_LIVE_TIMEOUT_SECONDS: '30',
      EXECUTIONS_TABLE_NAME: 'ExecutionsTable',
      STATE_TABLE_NAME: 'StateTable',
      FILES_BUCKET_NAME: 'FilesBucket',
      SYNC_START_DATE: '1970-01-01T00:00:00.000Z',
      SYNC_PAGE_SIZE: '1000',
      SYNC_REQUESTS_PER_MINUTE: '40',
      SYNC_LOOKBACK_SECONDS: '600',
      SYNC_AUDIT_INTERVAL_SECONDS: '86400',
      FILE_COPY_RETRY_DELAY_SECONDS: '300',
      SYNC_TIME_MARGIN_SECONDS: '180',
      SYNC_LEASE_SECONDS: '960',
      EVENT_BUS_NAME: 'default',
      JOB_EXPECTATIONS: '{}',
      SYNC_RUN_RETENTION_DAYS: '400',
      ...commonEnvironment('sync'),
    });
  });

  it('passes jobExpectations, syncRunRetentionDays and eventBusName to the sync, as its loader reads them', () => {
    const custom = synthesize({
      context: {
        jobExpectations: JSON.stringify({
          '65819BA43AD5B963658AB35D': { every: '24h', maxConsecutiveFailures: 1, maxDuration: '30m' },
          '*': { maxConsecutiveFailures: 3, every: 'never' },
        }),
        syncRunRetentionDays: '30',
        eventBusName: 'product-live',
      },
    });
    const env = new TemplateView(custom).environmentOf(custom.stateless.sync.handler.function);
    expect(env).toMatchObject({ SYNC_RUN_RETENTION_DAYS: '30', EVENT_BUS_NAME: 'product-live' });
    const config = loadSyncConfig({ ...env, AWS_LAMBDA_FUNCTION_NAME: 'sync' });
    expect(config.jobExpectations).toEqual({
      '65819ba43ad5b963658ab35d': {
        everyMs: 86_400_000,
        maxConsecutiveFailures: 1,
        maxDurationMs: 1_800_000,
      },
      '*': { maxConsecutiveFailures: 3, everyMs: null },
    });
    expect(config.syncRunRetentionDays).toBe(30);
    expect(config.eventBusName).toBe('product-live');
  });

  it("passes the function's own configuration check, as a Lambda would run it", () => {
    const config = loadSyncConfig({
      ...view.environmentOf(synth.stateless.sync.handler.function),
      AWS_LAMBDA_FUNCTION_NAME: 'sync',
    });
    expect(config).toMatchObject({
      apiKey: { kind: 'secret', secretId: 'product-live/api-key' },
      timeMarginMs: 180_000,
      leaseMs: 960_000,
      requestsPerMinute: 40,
      allowedFileHosts: ['api.product-live.com', '*.product-live.com'],
    });
    // The lease outlives the longest run by a minute; the margin leaves most of the run for work.
    expect(config.leaseMs).toBeGreaterThanOrEqual(900_000 + 60_000);
    expect(config.timeMarginMs).toBeLessThan(900_000 / 2);
  });

  it('passes context settings through, and derives the time budget from a shorter timeout', () => {
    const custom = synthesize({
      context: {
        syncTimeoutMinutes: '10',
        syncMemoryMb: '2048',
        syncStartDate: '2024-06-01',
        syncPageSize: '250',
        syncRequestsPerMinute: '35',
        fileAllowedHosts: 'files.example.com,*.product-live.com',
        productLiveApiUrl: 'https://api.example.com',
        apiKeySecret: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/plkey-AbC123',
        logLevel: 'DEBUG',
      },
    });
    const customView = new TemplateView(custom);
    const env = customView.environmentOf(custom.stateless.sync.handler.function);
    expect(env).toMatchObject({
      PRODUCT_LIVE_API_URL: 'https://api.example.com',
      PRODUCT_LIVE_API_KEY_SECRET_ID:
        'arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/plkey-AbC123',
      SYNC_START_DATE: '2024-06-01T00:00:00.000Z',
      SYNC_PAGE_SIZE: '250',
      SYNC_REQUESTS_PER_MINUTE: '35',
      SYNC_TIME_MARGIN_SECONDS: '120',
      SYNC_LEASE_SECONDS: '660',
      FILE_ALLOWED_HOSTS: 'files.example.com,*.product-live.com',
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
    });
    expect(customView.statelessResource(custom.stateless.sync.handler.function).Properties).toMatchObject({
      Timeout: 600,
      MemorySize: 2048,
    });
    expect(loadSyncConfig({ ...env, AWS_LAMBDA_FUNCTION_NAME: 'sync' }).allowedFileHosts).toEqual([
      'files.example.com',
      '*.product-live.com',
    ]);
  });

  // biome-ignore lint/suspicious/useExpect: its assertion is hasResourceProperties, which throws on a mismatch
  it('does not retry a failed or late run: the next scheduled run resumes from the checkpoint', () => {
    synth.statelessTemplate.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: view.logicalId(synth.stateless.sync.handler.function) },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
    });
  });

  it('keeps its logs for the configured retention', () => {
    expect(view.statelessResource(synth.stateless.sync.handler.logGroup)).toMatchObject({
      Type: 'AWS::Logs::LogGroup',
      Properties: { RetentionInDays: 90 },
    });
  });
});

describe('sync schedule', () => {
  const schedule = () => view.statelessResource(synth.stateless.sync.schedule).Properties as Props;

  it('invokes the sync function every 5 minutes with an empty object, without retries', () => {
    expect(schedule()).toMatchObject({
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: { 'Fn::GetAtt': [view.logicalId(synth.stateless.sync.handler.function), 'Arn'] },
        Input: '{}',
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
        RoleArn: { 'Fn::GetAtt': [view.logicalId(synth.stateless.sync.schedulerRole), 'Arn'] },
      },
    });
  });

  // biome-ignore lint/suspicious/useExpect: its assertion is hasResourceProperties, which throws on a mismatch
  it('takes its rate from context', () => {
    const hourly = synthesize({ context: { syncSchedule: '1 hour', syncLagAlarmMinutes: '120' } });
    hourly.statelessTemplate.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 hour)',
    });
  });

  it('lets only EventBridge Scheduler of this account invoke the sync function, and nothing else', () => {
    const role = view.statelessResource(synth.stateless.sync.schedulerRole).Properties as Props;
    expect(role.AssumeRolePolicyDocument).toMatchObject({
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'scheduler.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        },
      ],
    });
    expect(view.statementsOf(synth.stateless.sync.schedulerRole)).toEqual([
      { actions: ['lambda:InvokeFunction'], resources: ['SyncFunction.Arn', 'SyncFunction.Arn:*'] },
    ]);
  });
});

describe('sync permissions', () => {
  it('grants exactly the table, index, bucket, secret and log actions the sync code uses', () => {
    expect(view.statementsOf(synth.stateless.sync.handler.role)).toEqual(
      sortStatements([
        { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: ['SyncLogGroup.Arn'] },
        // Active tracing (on by default): X-Ray has no resource-level permissions.
        { actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], resources: ['*'] },
        {
          actions: [
            'dynamodb:BatchGetItem',
            'dynamodb:BatchWriteItem',
            'dynamodb:GetItem',
            'dynamodb:UpdateItem',
          ],
          resources: ['ExecutionsTable.Arn'],
        },
        {
          actions: ['dynamodb:Query'],
          resources: [
            'ExecutionsTable.Arn/index/byFilesDue',
            'ExecutionsTable.Arn/index/byFilesFailed',
            'ExecutionsTable.Arn/index/byJob',
            'ExecutionsTable.Arn/index/byMonth',
            'ExecutionsTable.Arn/index/byOpen',
            'ExecutionsTable.Arn/index/byStatus',
          ],
        },
        {
          actions: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
          resources: ['StateTable.Arn'],
        },
        // The job health records, by the state table's sparse index.
        { actions: ['dynamodb:Query'], resources: ['StateTable.Arn/index/byKind'] },
        // The job health changes, on the configured bus, as this application's source only.
        {
          actions: ['events:PutEvents'],
          resources: ['arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:event-bus/default'],
          condition: { StringEquals: { 'events:source': 'product-live.job-executions' } },
        },
        {
          actions: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
          resources: ['FilesBucket.Arn/executions/*'],
        },
        { actions: ['s3:ListBucket'], resources: ['FilesBucket.Arn'] },
        { actions: ['secretsmanager:GetSecretValue'], resources: [SECRET] },
      ]),
    );
  });

  it('uses no managed policy (not even AWSLambdaBasicExecutionRole)', () => {
    const role = view.statelessResource(synth.stateless.sync.handler.role).Properties as Props;
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(role.Policies).toBeUndefined();
  });

  it('scopes the secret to the exact ARN when given a complete ARN, and adds kms:Decrypt for its key', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:product-live/api-key-AbC123';
    const key = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const custom = synthesize({ context: { apiKeySecret: arn, apiKeySecretKmsKeyArn: key } });
    const statements = new TemplateView(custom).statementsOf(custom.stateless.sync.handler.role);
    expect(statements).toContainEqual({ actions: ['secretsmanager:GetSecretValue'], resources: [arn] });
    expect(statements).toContainEqual({
      actions: ['kms:Decrypt'],
      resources: [key],
      condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.<AWS::Region>.amazonaws.com' } },
    });
  });

  it('matches the random suffix of a secret given by partial ARN with exactly six characters', () => {
    const partial = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:product-live/api-key';
    const custom = synthesize({ context: { apiKeySecret: partial } });
    expect(new TemplateView(custom).statementsOf(custom.stateless.sync.handler.role)).toContainEqual({
      actions: ['secretsmanager:GetSecretValue'],
      resources: [`${partial}-??????`],
    });
  });
});
