// `npm run doctor -- --stack NAME` over a deployment whose every AWS call is mocked (aws-sdk-client-mock):
// CloudFormation outputs, Lambda, EventBridge Scheduler, Secrets Manager, DynamoDB, SQS, CloudWatch, Glue, Athena.
// A healthy deployment passes every check; then each check is driven to ok, warn and fail by changing what one call
// answers. Product-Live is a fake responder passed as the client's fetch. The command sends read calls only.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  GetWorkGroupCommand,
  InvalidRequestException,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import { EntityNotFoundException, GetTableCommand, GlueClient, type Table } from '@aws-sdk/client-glue';
import {
  GetEventSourceMappingCommand,
  GetFunctionConcurrencyCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
} from '@aws-sdk/client-lambda';
import {
  GetScheduleCommand,
  type GetScheduleCommandOutput,
  ResourceNotFoundException as ScheduleNotFound,
  SchedulerClient,
} from '@aws-sdk/client-scheduler';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ResourceNotFoundException as SecretNotFound,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { SyncSummary } from '#functions/sync/sync-summary';
import { codeVersion } from '#infra/code-version';
import { runDoctor } from '#local/doctor/doctor';
import type { DoctorReport } from '#local/doctor/doctor-check';
import { fakeFetch, jsonReply } from '../../../builders/fetch-responder';
import { aJobExecution, aJobExecutionList } from '../../../builders/job-execution.builder';

const NOW = Date.parse('2026-12-07T12:00:00.000Z');
const ago = (ms: number) => new Date(NOW - ms).toISOString();
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const cloudFormation = mockClient(CloudFormationClient);
const dynamo = mockClient(DynamoDBDocumentClient);
const lambda = mockClient(LambdaClient);
const scheduler = mockClient(SchedulerClient);
const secrets = mockClient(SecretsManagerClient);
const sqs = mockClient(SQSClient);
const cloudwatch = mockClient(CloudWatchClient);
const glue = mockClient(GlueClient);
const athena = mockClient(AthenaClient);
const MOCKS = [cloudFormation, dynamo, lambda, scheduler, secrets, sqs, cloudwatch, glue, athena];

afterAll(() => {
  for (const mock of MOCKS) mock.restore();
});

const OUTPUTS = {
  stateful: {
    ExecutionsTableName: 'executions-table',
    StateTableName: 'state-table',
    IdempotencyTableName: 'idempotency-table',
    FilesBucketName: 'files-bucket',
    LakeBucketName: 'lake-bucket',
    GlueDatabaseName: 'product_live_sync',
    AthenaWorkGroupName: 'product-live-sync',
  },
  stateless: {
    LaunchQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/launch',
    LaunchDeadLetterQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/launch-dlq',
    LaunchDeadLetterQueueArn: 'arn:aws:sqs:eu-west-1:123456789012:launch-dlq',
    EventsFailureQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/events-failures',
    SyncFunctionName: 'sync-fn',
    SyncLogGroupName: '/aws/lambda/sync-fn',
    LakeFunctionName: 'lake-fn',
    LakeLogGroupName: '/aws/lambda/lake-fn',
    SyncScheduleName: 'sync-schedule',
    LakeScheduleName: 'lake-schedule',
    FollowScheduleName: 'follow-schedule',
    EventsSourceMappingId: 'esm-uuid',
    AlarmNames: 'alarm-sync-errors,alarm-sync-lag,alarm-dlq',
    Version: codeVersion(),
  } as Record<string, string>,
};

const SYNC_ENV = {
  PRODUCT_LIVE_API_URL: 'https://api.example.com',
  PRODUCT_LIVE_API_KEY_SECRET_ID: 'product-live/api-key',
  EXECUTIONS_TABLE_NAME: 'executions-table',
  STATE_TABLE_NAME: 'state-table',
  FILES_BUCKET_NAME: 'files-bucket',
  SYNC_LEASE_SECONDS: '960',
};

const summary = (overrides: Partial<SyncSummary> = {}): SyncSummary => ({
  executions: { new: 1, updated: 0, unchanged: 10, openRefreshed: 0 },
  files: { copied: 1, skipped: 0, failed: 0, pending: 0 },
  apiRequests: 2,
  throttled: 0,
  moreRemaining: false,
  watermark: ago(4 * MINUTE),
  durationMs: 3_000,
  skipped: false,
  error: null,
  health: null,
  audit: null,
  ...overrides,
});

/** What the state table holds, by item name. */
let stateItems: Record<string, Record<string, unknown> | undefined>;
/** What each index of the executions table answers. */
let indexItems: Record<string, Array<Record<string, unknown>>>;
/** What the state table's index byKind holds, by kind (`sync-run`, `job-health`), as the repositories write it. */
let kindItems: Record<string, Array<Record<string, unknown>>>;
let schedules: Record<string, Partial<GetScheduleCommandOutput> | undefined>;
let glueTables: Record<string, Table | undefined>;
let queueDepths: Record<string, Record<string, string>>;
let alarms: MetricAlarm[];
let productLive: ReturnType<typeof fakeFetch>;

function healthy(): void {
  stateItems = {
    checkpoint: { watermark: ago(4 * MINUTE), updatedAt: ago(4 * MINUTE) },
    'last-run': { finishedAt: ago(3 * MINUTE), summary: summary() },
    audit: { lastCompletedAt: ago(5 * HOUR) },
    'lake-marks': { initializedAt: ago(30 * 24 * HOUR), days: { '2026-12-07': `${NOW - 2 * MINUTE}:abcd` } },
    lease: undefined,
    'job-health-evaluated': { evaluatedAt: ago(3 * MINUTE), asOf: ago(4 * MINUTE), jobs: 2 },
  };
  indexItems = { byFilesDue: [], byFilesFailed: [], byOpen: [] };
  kindItems = {
    'sync-run': [syncRun(13), syncRun(8), syncRun(3)],
    'job-health': [
      jobHealth('65819ba43ad5b963658ab35d', 'Nightly export'),
      jobHealth('65819ba43ad5b963658ab35e', 'Feed'),
    ],
  };
  schedules = {
    'sync-schedule': {
      Name: 'sync-schedule',
      State: 'ENABLED',
      ScheduleExpression: 'rate(5 minutes)',
      Target: { Arn: 'arn:aws:lambda:eu-west-1:123456789012:function:sync-fn', RoleArn: 'role' },
    },
    'lake-schedule': { Name: 'lake-schedule', State: 'ENABLED', ScheduleExpression: 'rate(5 minutes)' },
    'follow-schedule': { Name: 'follow-schedule', State: 'ENABLED', ScheduleExpression: 'rate(1 minute)' },
  };
  const table = (name: string): Table => ({
    Name: name,
    PartitionKeys: [{ Name: 'day', Type: 'string' }],
    Parameters: { 'projection.enabled': 'true', 'projection.day.type': 'date' },
    StorageDescriptor: { Location: `s3://lake-bucket/lake/${name}/` },
  });
  glueTables = { executions: table('executions'), files: table('files'), sync_runs: table('sync_runs') };
  queueDepths = {
    [OUTPUTS.stateless.LaunchQueueUrl as string]: depth(0),
    [OUTPUTS.stateless.LaunchDeadLetterQueueUrl as string]: depth(0),
    [OUTPUTS.stateless.EventsFailureQueueUrl as string]: depth(0),
  };
  alarms = ['alarm-sync-errors', 'alarm-sync-lag', 'alarm-dlq'].map((AlarmName) => ({
    AlarmName,
    StateValue: 'OK',
  }));
  productLive = fakeFetch(() => jsonReply(aJobExecutionList([aJobExecution()], 1234)));

  for (const mock of MOCKS) mock.reset();
  cloudFormation.on(DescribeStacksCommand).callsFake((input: { StackName: string }) => ({
    Stacks: [
      {
        StackName: input.StackName,
        CreationTime: new Date(NOW),
        StackStatus: 'UPDATE_COMPLETE',
        Outputs: Object.entries(
          input.StackName.endsWith('-Stateful') ? OUTPUTS.stateful : OUTPUTS.stateless,
        ).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  }));
  dynamo.on(GetCommand).callsFake((input: { Key: { name: string } }) => {
    const item = stateItems[input.Key.name];
    return { Item: item ? { name: input.Key.name, ...item } : undefined };
  });
  dynamo
    .on(QueryCommand)
    .callsFake((input: QueryInput) =>
      input.TableName === 'state-table' && input.IndexName === 'byKind'
        ? { Items: byKind(input) }
        : { Items: indexItems[input.IndexName ?? ''] ?? [] },
    );
  lambda.on(GetFunctionConfigurationCommand).resolves({
    FunctionName: 'sync-fn',
    FunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:sync-fn',
    State: 'Active',
    LastUpdateStatus: 'Successful',
    Environment: { Variables: { ...SYNC_ENV } },
  });
  lambda.on(GetFunctionConcurrencyCommand).resolves({ ReservedConcurrentExecutions: 1 });
  lambda
    .on(GetEventSourceMappingCommand)
    .resolves({ UUID: 'esm-uuid', State: 'Enabled', LastProcessingResult: 'OK' });
  scheduler.on(GetScheduleCommand).callsFake((input: { Name: string }) => {
    const schedule = schedules[input.Name];
    if (!schedule)
      throw new ScheduleNotFound({
        message: 'Schedule not found',
        Message: 'Schedule not found',
        $metadata: {},
      });
    return schedule;
  });
  secrets.on(DescribeSecretCommand).resolves({
    Name: 'product-live/api-key',
    VersionIdsToStages: { v1: ['AWSCURRENT'] },
  });
  secrets.on(GetSecretValueCommand).resolves({ SecretString: 'the-real-key' });
  sqs.on(GetQueueAttributesCommand).callsFake((input: { QueueUrl: string }) => ({
    Attributes: queueDepths[input.QueueUrl] ?? depth(0),
  }));
  cloudwatch.on(DescribeAlarmsCommand).callsFake((input: { AlarmNames?: string[] }) => ({
    MetricAlarms: alarms.filter((alarm) => input.AlarmNames?.includes(alarm.AlarmName ?? '')),
  }));
  glue.on(GetTableCommand).callsFake((input: { Name: string }) => {
    const table = glueTables[input.Name];
    if (!table) throw new EntityNotFoundException({ message: 'Table not found', $metadata: {} });
    return { Table: table };
  });
  athena.on(GetWorkGroupCommand).resolves({ WorkGroup: { Name: 'product-live-sync', State: 'ENABLED' } });
  athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
  athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
  athena.on(GetQueryResultsCommand).resolves({
    ResultSet: {
      ResultSetMetadata: { ColumnInfo: [{ Name: 'executions', Type: 'bigint' }] },
      Rows: [{ Data: [{ VarCharValue: 'executions' }] }, { Data: [{ VarCharValue: '411' }] }],
    },
  });
}

type QueryInput = {
  TableName?: string;
  IndexName?: string;
  ScanIndexForward?: boolean;
  Limit?: number;
  ExpressionAttributeValues?: Record<string, unknown>;
};

/** The index byKind as DynamoDB answers it: one kind, sorted by sortKey, within `:from`..`:to` when given. */
function byKind(input: QueryInput): Array<Record<string, unknown>> {
  const values = input.ExpressionAttributeValues ?? {};
  const from = values[':from'] as string | undefined;
  const to = values[':to'] as string | undefined;
  const items = (kindItems[values[':kind'] as string] ?? [])
    .filter(
      (item) =>
        (from === undefined || String(item.sortKey) >= from) &&
        (to === undefined || String(item.sortKey) <= to),
    )
    .sort((a, b) => String(a.sortKey).localeCompare(String(b.sortKey)));
  if (input.ScanIndexForward === false) items.reverse();
  return input.Limit === undefined ? items : items.slice(0, input.Limit);
}

/** A sync run's item in the state table (SyncRunRepository.save), started `minutesAgo`. */
function syncRun(
  minutesAgo: number,
  result: 'ok' | 'failed' | 'skipped' = 'ok',
  error: string | null = null,
): Record<string, unknown> {
  const startedAt = ago(minutesAgo * MINUTE);
  const runId = `run-${minutesAgo}`;
  return {
    name: `sync-run#${startedAt}#${runId}`,
    kind: 'sync-run',
    sortKey: `${startedAt}#${runId}`,
    runId,
    startedAt,
    finishedAt: ago(minutesAgo * MINUTE - 3_000),
    durationMs: 3_000,
    result,
    error,
    apiRequests: 2,
  };
}

/** A job's health item in the state table (JobHealthRepository.put). */
function jobHealth(
  jobId: string,
  title: string,
  state: 'healthy' | 'late' | 'failing' | 'slow' | 'unknown' = 'healthy',
  reasons: string[] = [],
  consecutiveFailures = 0,
): Record<string, unknown> {
  return {
    name: `job-health#${jobId}`,
    kind: 'job-health',
    sortKey: jobId,
    jobId,
    facts: { title, lastRunAt: ago(HOUR), lastSuccessAt: ago(HOUR) },
    evaluation: { state, reasons, consecutiveFailures, maxConsecutiveFailures: 2 },
    previousState: null,
    stateSince: ago(24 * HOUR),
    evaluatedAt: ago(3 * MINUTE),
    asOf: ago(4 * MINUTE),
  };
}

function depth(waiting: number, inFlight = 0): Record<string, string> {
  return {
    ApproximateNumberOfMessages: String(waiting),
    ApproximateNumberOfMessagesNotVisible: String(inFlight),
    ApproximateNumberOfMessagesDelayed: '0',
  };
}

beforeEach(healthy);

async function doctor(options: { api?: boolean; athena?: boolean; stackName?: string | null } = {}) {
  return runDoctor(
    {
      store: {
        kind: 'aws',
        dataDir: '.local',
        ...(options.stackName === null
          ? { executionsTable: 'executions-table' }
          : { stackName: options.stackName ?? 'ProductLiveSync' }),
      },
      options: { api: options.api ?? true, athena: options.athena ?? false },
      apiUrl: undefined,
      key: undefined,
    },
    {
      env: {},
      now: () => NOW,
      fetch: productLive.fetch,
      clients: () => ({
        lambda: new LambdaClient({ region: 'eu-west-1' }),
        scheduler: new SchedulerClient({ region: 'eu-west-1' }),
        sqs: new SQSClient({ region: 'eu-west-1' }),
        cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }),
        glue: new GlueClient({ region: 'eu-west-1' }),
        athena: new AthenaClient({ region: 'eu-west-1' }),
        secrets: new SecretsManagerClient({ region: 'eu-west-1' }),
      }),
    },
  );
}

function check(report: DoctorReport, id: string) {
  const result = report.checks.find((entry) => entry.id === id);
  if (!result) throw new Error(`no check ${id} in ${report.checks.map((entry) => entry.id).join(', ')}`);
  return result;
}

/** Runs doctor and returns one check's result. */
async function outcome(id: string, options: Parameters<typeof doctor>[0] = {}) {
  return check(await doctor(options), id);
}

const DEPLOYED_CHECKS = [
  'version.code',
  'api.key',
  'sync.schedule',
  'sync.last-run',
  'sync.lag',
  'sync.lease',
  'sync.run-errors',
  'files.copies',
  'audit.recent',
  'lake.days',
  'lake.glue',
  'lake.athena',
  'events.stream',
  'events.failures',
  'events.follow',
  'launch.queues',
  'alarms.state',
  'jobs.health',
];

describe('doctor over a healthy deployment', () => {
  it('runs every deployed check, in order, and every one is ok', async () => {
    const report = await doctor();
    expect(report.checks.map((entry) => entry.id)).toEqual(DEPLOYED_CHECKS);
    expect(report.checks.filter((entry) => entry.status !== 'ok')).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checks.every((entry) => entry.fix === null)).toBe(true);
  });

  it('finds everything from the two stacks of --stack NAME', async () => {
    await doctor({ stackName: 'ProductLiveSync-Stateless' });
    expect(
      cloudFormation.commandCalls(DescribeStacksCommand).map((call) => call.args[0].input.StackName),
    ).toEqual(['ProductLiveSync-Stateful', 'ProductLiveSync-Stateless']);
    expect(scheduler.commandCalls(GetScheduleCommand).map((call) => call.args[0].input)).toEqual(
      expect.arrayContaining([
        { Name: 'sync-schedule', GroupName: 'default' },
        { Name: 'follow-schedule', GroupName: 'default' },
      ]),
    );
    expect(lambda).toHaveReceivedCommandWith(GetEventSourceMappingCommand, { UUID: 'esm-uuid' });
    expect(cloudwatch).toHaveReceivedCommandWith(DescribeAlarmsCommand, {
      AlarmNames: ['alarm-sync-errors', 'alarm-sync-lag', 'alarm-dlq'],
    });
  });

  it('sends no write call: every command is a read (Describe*, Get*, List*, Query, Scan)', async () => {
    await doctor();
    const sent = MOCKS.flatMap((mock) =>
      mock.calls().map((call) => (call.args[0] as object).constructor.name),
    );
    expect(sent.length).toBeGreaterThan(15);
    const writes = sent.filter(
      (name) => !/^(Describe\w+|Get\w*|List\w+|Query|Scan|BatchGet\w*)Command$/.test(name),
    );
    expect(writes).toEqual([]);
    // Not even a receive: the queues are read by their attributes (a receive hides a message for a while).
    expect(sent).not.toContain('ReceiveMessageCommand');
    // One Product-Live request: the key's list call.
    expect(productLive.requests.map((request) => `${request.method} ${request.url.pathname}`)).toEqual([
      'GET /v1/data_factory/job_executions',
    ]);
  });

  it('with --no-api sends no Product-Live request and reads no secret value', async () => {
    const report = await doctor({ api: false });
    expect(productLive.requests).toEqual([]);
    expect(secrets).not.toHaveReceivedCommand(GetSecretValueCommand);
    expect(check(report, 'api.key')).toMatchObject({
      status: 'ok',
      summary: expect.stringContaining('--no-api'),
    });
  });

  it('with --athena runs one count(*) through the workgroup, and otherwise none', async () => {
    await doctor();
    expect(athena).not.toHaveReceivedCommand(StartQueryExecutionCommand);
    const report = await doctor({ athena: true });
    expect(athena).toHaveReceivedCommandTimes(StartQueryExecutionCommand, 1);
    expect(athena).toHaveReceivedCommandWith(StartQueryExecutionCommand, {
      QueryString: 'SELECT count(*) AS executions FROM executions',
      WorkGroup: 'product-live-sync',
      QueryExecutionContext: { Database: 'product_live_sync', Catalog: 'AwsDataCatalog' },
    });
    expect(check(report, 'lake.athena')).toMatchObject({
      status: 'ok',
      summary: expect.stringContaining('411'),
    });
  });

  it('with the table names only, checks the data and says which checks need --stack', async () => {
    const report = await doctor({ stackName: null });
    expect(check(report, 'files.copies').status).toBe('ok');
    expect(check(report, 'sync.lease')).toMatchObject({
      status: 'warn',
      summary: expect.stringContaining('state table'),
    });
    expect(check(report, 'sync.schedule')).toMatchObject({
      status: 'warn',
      summary: "not checked: needs the stacks' output SyncScheduleName",
      fix: expect.stringContaining('--stack NAME'),
    });
    expect(report.checks.every((entry) => entry.status !== 'fail')).toBe(true);
  });
});

describe('version.code', () => {
  it('ok: deployed from this checkout', async () => {
    expect(await outcome('version.code')).toMatchObject({ status: 'ok' });
  });

  it('warn: deployed from older code, with the deploy command', async () => {
    OUTPUTS.stateless.Version = '0.0.9+0123456789ab';
    try {
      expect(await outcome('version.code')).toMatchObject({
        status: 'warn',
        summary: expect.stringMatching(/^deployed from older code \(0\.0\.9\+0123456789ab\)/),
        fix: expect.stringContaining('npx cdk deploy --all'),
      });
    } finally {
      OUTPUTS.stateless.Version = codeVersion();
    }
  });

  it('warn, never fail: stacks without a Version output predate this check', async () => {
    const version = OUTPUTS.stateless.Version;
    delete OUTPUTS.stateless.Version;
    try {
      expect(await outcome('version.code')).toMatchObject({
        status: 'warn',
        summary: expect.stringContaining('no output Version'),
      });
    } finally {
      OUTPUTS.stateless.Version = version as string;
    }
  });
});

describe('api.key', () => {
  it('ok: the secret holds a key Product-Live accepts, sent with the request', async () => {
    expect(await outcome('api.key')).toMatchObject({
      status: 'ok',
      summary: expect.stringContaining('accepted the key of the secret product-live/api-key'),
    });
    expect(productLive.requests[0]?.headers['x-api-key']).toBe('the-real-key');
    expect(secrets).toHaveReceivedCommandWith(DescribeSecretCommand, { SecretId: 'product-live/api-key' });
  });

  it('warn: Product-Live does not answer, so the key could not be tried', async () => {
    productLive = fakeFetch(() => jsonReply({ message: 'down' }, 503));
    expect(await outcome('api.key')).toMatchObject({
      status: 'warn',
      summary: expect.stringContaining('could not be tried'),
    });
  });

  it('fail: a 401 names the secret to update', async () => {
    productLive = fakeFetch(() => jsonReply({ message: 'Unauthorized' }, 401));
    expect(await outcome('api.key')).toMatchObject({
      status: 'fail',
      summary: expect.stringContaining('refused the key of the secret product-live/api-key (HTTP 401)'),
      fix: expect.stringContaining('aws secretsmanager put-secret-value --secret-id product-live/api-key'),
    });
  });

  it('fail: the secret does not exist, or holds no value', async () => {
    secrets.on(DescribeSecretCommand).rejects(new SecretNotFound({ message: 'no', $metadata: {} }));
    expect(await outcome('api.key')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('aws secretsmanager create-secret --name product-live/api-key'),
    });
    secrets.on(DescribeSecretCommand).resolves({ Name: 'product-live/api-key', VersionIdsToStages: {} });
    expect(await outcome('api.key', { api: false })).toMatchObject({
      status: 'fail',
      summary: "the API key's secret product-live/api-key holds no value",
    });
    secrets.on(DescribeSecretCommand).resolves({ VersionIdsToStages: { v1: ['AWSCURRENT'] } });
    secrets.on(GetSecretValueCommand).resolves({ SecretString: '{"key": "x"}' });
    expect(await outcome('api.key')).toMatchObject({
      status: 'fail',
      summary: expect.stringContaining('holds no usable key'),
    });
  });
});

describe('sync.schedule', () => {
  it('ok: enabled, invoking the sync function', async () => {
    expect(await outcome('sync.schedule')).toMatchObject({
      status: 'ok',
      summary: 'the schedule sync-schedule is enabled (every 5 min) and invokes sync-fn',
    });
  });

  it('warn: the function is not Active yet', async () => {
    lambda.on(GetFunctionConfigurationCommand).resolves({
      FunctionName: 'sync-fn',
      State: 'Pending',
      Environment: { Variables: { ...SYNC_ENV } },
    });
    expect(await outcome('sync.schedule')).toMatchObject({
      status: 'warn',
      summary: expect.stringContaining('Pending'),
    });
  });

  it('fail: disabled, missing, paused, or a configuration that fails the cold start', async () => {
    (schedules['sync-schedule'] as { State: string }).State = 'DISABLED';
    expect(await outcome('sync.schedule')).toMatchObject({
      status: 'fail',
      summary: expect.stringContaining('is disabled'),
    });
    schedules['sync-schedule'] = undefined;
    expect(await outcome('sync.schedule')).toMatchObject({
      status: 'fail',
      summary: expect.stringContaining('does not exist'),
    });
    healthy();
    lambda.on(GetFunctionConcurrencyCommand).resolves({ ReservedConcurrentExecutions: 0 });
    expect(await outcome('sync.schedule')).toMatchObject({
      status: 'fail',
      summary: expect.stringContaining('paused (reserved concurrency 0)'),
      fix: expect.stringContaining(
        'aws lambda put-function-concurrency --function-name sync-fn --reserved-concurrent-executions 1',
      ),
    });
    healthy();
    lambda.on(GetFunctionConfigurationCommand).resolves({
      FunctionName: 'sync-fn',
      State: 'Active',
      Environment: { Variables: { ...SYNC_ENV, SYNC_PAGE_SIZE: 'lots' } },
    });
    expect(await outcome('sync.schedule')).toMatchObject({
      status: 'fail',
      summary: expect.stringContaining('SYNC_PAGE_SIZE: expected an integer'),
    });
  });
});

describe('sync.last-run', () => {
  it('ok: the last run ended ok within its schedule', async () => {
    expect(await outcome('sync.last-run')).toMatchObject({ status: 'ok' });
  });

  it('warn: no run for longer than the schedule and a run take', async () => {
    stateItems['last-run'] = { finishedAt: ago(40 * MINUTE), summary: summary() };
    expect(await outcome('sync.last-run')).toMatchObject({
      status: 'warn',
      summary: expect.stringContaining('no sync run ended since'),
    });
  });

  it('fail: no run for hours, or the last run stopped on an error', async () => {
    stateItems['last-run'] = { finishedAt: ago(3 * HOUR), summary: summary() };
    expect(await outcome('sync.last-run')).toMatchObject({ status: 'fail' });
    stateItems['last-run'] = {
      finishedAt: ago(2 * MINUTE),
      summary: summary({ error: 'ProductLiveAuthError: Product-Live GET /v1/… answered HTTP 401' }),
    };
    expect(await outcome('sync.last-run')).toMatchObject({
      status: 'fail',
      summary: expect.stringContaining('stopped on an error: ProductLiveAuthError'),
      fix: expect.stringMatching(/see api\.key.*aws logs tail \/aws\/lambda\/sync-fn/),
    });
  });
});

describe('sync.lag', () => {
  it('ok: a few minutes behind', async () => {
    expect(await outcome('sync.lag')).toMatchObject({
      status: 'ok',
      summary: expect.stringContaining('4 min behind'),
    });
  });

  it('warn: far behind but catching up (the last run had more to do)', async () => {
    stateItems.checkpoint = { watermark: ago(30 * 24 * HOUR), updatedAt: ago(MINUTE) };
    stateItems['last-run'] = { finishedAt: ago(MINUTE), summary: summary({ moreRemaining: true }) };
    expect(await outcome('sync.lag')).toMatchObject({
      status: 'warn',
      summary: expect.stringContaining('catching up'),
    });
  });

  it('fail: hours behind, not catching up', async () => {
    stateItems.checkpoint = { watermark: ago(5 * HOUR), updatedAt: ago(5 * HOUR) };
    expect(await outcome('sync.lag')).toMatchObject({
      status: 'fail',
      summary: expect.stringContaining('5 h behind'),
    });
  });
});

describe('sync.lease', () => {
  it('ok: free, or held by a run going on', async () => {
    expect(await outcome('sync.lease')).toMatchObject({
      status: 'ok',
      summary: 'free: no sync run holds it',
    });
    stateItems.lease = { owner: 'run-1', acquiredAt: NOW - MINUTE, expiresAt: NOW + 15 * MINUTE };
    expect(await outcome('sync.lease')).toMatchObject({
      status: 'ok',
      summary: expect.stringContaining('a run'),
    });
  });

  it('warn: a deployed store without its state table is not checked', async () => {
    expect(await outcome('sync.lease', { stackName: null })).toMatchObject({
      status: 'warn',
      fix: expect.stringContaining('--state-table NAME'),
    });
  });

  it('fail: held for longer than any run takes, with the delete-item command', async () => {
    stateItems.lease = { owner: 'run-0', acquiredAt: NOW - 3 * HOUR, expiresAt: NOW + 20 * HOUR };
    expect(await outcome('sync.lease')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('aws dynamodb delete-item --table-name state-table'),
    });
  });
});

describe('files.copies', () => {
  const execution = (files: Array<Record<string, unknown>>) => ({
    id: '6602a1b2c3d4e5f6a7b8c9d0',
    jobId: '65819ba43ad5b963658ab35d',
    createdAt: ago(HOUR),
    files,
  });

  it('ok: nothing pending or failed', async () => {
    expect(await outcome('files.copies')).toMatchObject({ status: 'ok' });
  });

  it('warn: copies pending, retried by later runs', async () => {
    indexItems.byFilesDue = [
      execution([
        {
          path: 'output.report',
          s3Key: 'k',
          status: 'pending',
          attempts: 3,
          nextAttemptAt: ago(-5 * MINUTE),
        },
      ]),
    ];
    expect(await outcome('files.copies')).toMatchObject({
      status: 'warn',
      summary: expect.stringContaining('1 file copy pending'),
    });
  });

  it('fail: a copy failed for good, with the commands that show and retry it', async () => {
    indexItems.byFilesFailed = [
      execution([
        { path: 'output.report', s3Key: 'k', status: 'failed', attempts: 1, lastError: 'HTTP 404' },
      ]),
    ];
    const result = await outcome('files.copies');
    expect(result).toMatchObject({
      status: 'fail',
      summary: expect.stringContaining('1 file copy failed for good'),
    });
    expect(result.fix).toContain('npm run history -- files --status failed --stack ProductLiveSync');
    expect(result.fix).toContain(
      `aws lambda invoke --function-name sync-fn --payload '{"retryFailedFiles":true}'`,
    );
  });
});

describe('audit.recent', () => {
  it('ok: completed within its interval', async () => {
    expect(await outcome('audit.recent')).toMatchObject({ status: 'ok' });
  });

  it('warn: the last audit recovered executions ordinary runs had missed', async () => {
    stateItems['last-run'] = {
      finishedAt: ago(MINUTE),
      summary: summary({
        audit: {
          monthsChecked: 12,
          monthsDiffering: 1,
          executionsRecovered: 3,
          executionsRemovedFromApi: 0,
          apiRequests: 14,
          complete: true,
        },
      }),
    };
    expect(await outcome('audit.recent')).toMatchObject({
      status: 'warn',
      summary: expect.stringContaining(
        '1 month differed and 3 executions that ordinary runs had missed were recovered',
      ),
      fix: expect.stringContaining('syncLookbackSeconds'),
    });
  });

  it('fail: no audit completed for twice its interval', async () => {
    stateItems.audit = { lastCompletedAt: ago(3 * 24 * HOUR) };
    expect(await outcome('audit.recent')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining(`--payload '{"audit":true}'`),
    });
  });
});

describe('lake.days', () => {
  it('ok: the marked days are recent', async () => {
    expect(await outcome('lake.days')).toMatchObject({ status: 'ok' });
  });

  it('warn: days waiting longer than the lake schedule', async () => {
    stateItems['lake-marks'] = { initializedAt: ago(HOUR), days: { '2026-12-06': `${NOW - 90 * MINUTE}:x` } };
    expect(await outcome('lake.days')).toMatchObject({
      status: 'warn',
      summary: expect.stringContaining('1 day waits for a rewrite'),
      fix: expect.stringContaining('aws lambda invoke --function-name lake-fn'),
    });
  });

  it('fail: days waiting longer than three hours', async () => {
    stateItems['lake-marks'] = { initializedAt: ago(HOUR), days: { '2026-12-06': `${NOW - 5 * HOUR}:x` } };
    expect(await outcome('lake.days')).toMatchObject({ status: 'fail' });
  });
});

describe('lake.glue', () => {
  it('ok: both tables over the lake bucket with partition projection', async () => {
    expect(await outcome('lake.glue')).toMatchObject({ status: 'ok' });
  });

  it('warn: a table reads another location', async () => {
    (glueTables.files as Table).StorageDescriptor = { Location: 's3://other-bucket/lake/files/' };
    expect(await outcome('lake.glue')).toMatchObject({
      status: 'warn',
      summary: expect.stringContaining('other-bucket'),
    });
  });

  it('fail: a table missing, or without projection', async () => {
    glueTables.files = undefined;
    expect(await outcome('lake.glue')).toMatchObject({
      status: 'fail',
      summary: expect.stringContaining('does not exist'),
    });
    healthy();
    (glueTables.executions as Table).Parameters = {};
    expect(await outcome('lake.glue')).toMatchObject({
      status: 'fail',
      summary: expect.stringContaining('no partition projection'),
    });
  });
});

describe('lake.athena', () => {
  it('ok: the workgroup is enabled (and, with --athena, count(*) returns)', async () => {
    expect(await outcome('lake.athena')).toMatchObject({
      status: 'ok',
      summary: expect.stringContaining('--athena'),
    });
  });

  it('warn: count(*) returns 0 rows although the lake is built', async () => {
    athena.on(GetQueryResultsCommand).resolves({
      ResultSet: {
        ResultSetMetadata: { ColumnInfo: [{ Name: 'executions', Type: 'bigint' }] },
        Rows: [{ Data: [{ VarCharValue: 'executions' }] }, { Data: [{ VarCharValue: '0' }] }],
      },
    });
    expect(await outcome('lake.athena', { athena: true })).toMatchObject({ status: 'warn' });
  });

  it('fail: the workgroup is disabled or missing, or the query fails', async () => {
    athena.on(GetWorkGroupCommand).resolves({ WorkGroup: { Name: 'product-live-sync', State: 'DISABLED' } });
    expect(await outcome('lake.athena')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('--state ENABLED'),
    });
    athena
      .on(GetWorkGroupCommand)
      .rejects(new InvalidRequestException({ message: 'WorkGroup is not found.', $metadata: {} }));
    expect(await outcome('lake.athena')).toMatchObject({
      status: 'fail',
      summary: expect.stringContaining('does not exist'),
    });
    healthy();
    athena.on(GetQueryExecutionCommand).resolves({
      QueryExecution: { Status: { State: 'FAILED', AthenaError: { ErrorMessage: 'TABLE_NOT_FOUND' } } },
    });
    expect(await outcome('lake.athena', { athena: true })).toMatchObject({
      status: 'fail',
      summary: expect.stringContaining('TABLE_NOT_FOUND'),
    });
  });
});

describe('events.stream', () => {
  it('ok: the mapping is Enabled', async () => {
    expect(await outcome('events.stream')).toMatchObject({ status: 'ok' });
  });

  it('warn: the mapping is settling, or its last batch had a problem', async () => {
    lambda.on(GetEventSourceMappingCommand).resolves({ State: 'Updating' });
    expect(await outcome('events.stream')).toMatchObject({
      status: 'warn',
      summary: expect.stringContaining('Updating'),
    });
    lambda
      .on(GetEventSourceMappingCommand)
      .resolves({ State: 'Enabled', LastProcessingResult: 'PROBLEM: Function call failed' });
    expect(await outcome('events.stream')).toMatchObject({
      status: 'warn',
      summary: expect.stringContaining('PROBLEM'),
    });
  });

  it('fail: the mapping is Disabled, with the command that enables it', async () => {
    lambda.on(GetEventSourceMappingCommand).resolves({ State: 'Disabled' });
    expect(await outcome('events.stream')).toMatchObject({
      status: 'fail',
      fix: 'enable it: aws lambda update-event-source-mapping --uuid esm-uuid --enabled',
    });
  });
});

describe('events.failures', () => {
  const url = OUTPUTS.stateless.EventsFailureQueueUrl as string;

  it('ok: the failure queue is empty', async () => {
    expect(await outcome('events.failures')).toMatchObject({ status: 'ok' });
  });

  it('warn: failure records in flight', async () => {
    queueDepths[url] = depth(0, 2);
    expect(await outcome('events.failures')).toMatchObject({ status: 'warn' });
  });

  it('fail: batches wait in the failure queue, with the replay recipe', async () => {
    queueDepths[url] = depth(2);
    expect(await outcome('events.failures')).toMatchObject({
      status: 'fail',
      summary: expect.stringContaining('2 stream batches'),
      fix: expect.stringContaining('Events the stream gave up on'),
    });
  });
});

describe('events.follow', () => {
  const launched = (awaited: boolean, createdAt = ago(10 * MINUTE)) => ({
    id: `6602a1b2c3d4e5f6a7b8c9d${awaited ? 1 : 2}`,
    status: 'RUNNING',
    createdAt,
    launch: { idempotencyKey: 'k', messageId: 'm', requestedAt: createdAt, awaited },
  });

  it('ok: the follow schedule is enabled, with what waits', async () => {
    indexItems.byOpen = [launched(true), launched(false)];
    expect(await outcome('events.follow')).toMatchObject({
      status: 'ok',
      summary: expect.stringContaining('2 launched executions are open, 1 awaited by a task'),
    });
  });

  it('warn: disabled while nothing is awaited', async () => {
    (schedules['follow-schedule'] as { State: string }).State = 'DISABLED';
    expect(await outcome('events.follow')).toMatchObject({ status: 'warn' });
  });

  it('fail: disabled while a task awaits a launched execution', async () => {
    (schedules['follow-schedule'] as { State: string }).State = 'DISABLED';
    indexItems.byOpen = [launched(true)];
    expect(await outcome('events.follow')).toMatchObject({
      status: 'fail',
      summary: expect.stringContaining('is disabled while 1 launched execution is open, 1 awaited'),
    });
  });
});

describe('launch.queues', () => {
  const { LaunchQueueUrl: queue, LaunchDeadLetterQueueUrl: dlq } = OUTPUTS.stateless as Record<
    string,
    string
  >;

  it('ok: the DLQ is empty', async () => {
    expect(await outcome('launch.queues')).toMatchObject({
      status: 'ok',
      summary: 'launch queue: 0 waiting, 0 in flight; dead-letter queue empty',
    });
  });

  it('warn: a backlog in the launch queue', async () => {
    queueDepths[queue as string] = depth(500);
    expect(await outcome('launch.queues')).toMatchObject({ status: 'warn' });
  });

  it('fail: a request in the DLQ, with the redrive command', async () => {
    queueDepths[dlq as string] = depth(1);
    expect(await outcome('launch.queues')).toMatchObject({
      status: 'fail',
      summary: expect.stringContaining('1 launch request waits in the dead-letter queue'),
      fix: expect.stringContaining(
        'aws sqs start-message-move-task --source-arn arn:aws:sqs:eu-west-1:123456789012:launch-dlq',
      ),
    });
  });
});

describe('alarms.state', () => {
  it('ok: none in ALARM', async () => {
    expect(await outcome('alarms.state')).toMatchObject({ status: 'ok', summary: '3 alarms, none in ALARM' });
  });

  it('warn: alarms without data yet', async () => {
    (alarms[1] as MetricAlarm).StateValue = 'INSUFFICIENT_DATA';
    expect(await outcome('alarms.state')).toMatchObject({
      status: 'warn',
      summary: expect.stringContaining('alarm-sync-lag'),
    });
  });

  it('fail: alarms in ALARM, named', async () => {
    (alarms[2] as MetricAlarm).StateValue = 'ALARM';
    (alarms[1] as MetricAlarm).StateValue = 'ALARM';
    expect(await outcome('alarms.state')).toMatchObject({
      status: 'fail',
      summary: 'in ALARM: alarm-sync-lag, alarm-dlq',
    });
  });
});

describe('sync.run-errors: the sync runs the state table keeps (sync_runs)', () => {
  it('ok: the runs of the last 24 h ended ok (runs skipped for the lease and older runs left out)', async () => {
    kindItems['sync-run'] = [
      syncRun(25 * 60, 'failed', 'HTTP 500'),
      syncRun(9),
      syncRun(6, 'skipped'),
      syncRun(3),
    ];
    expect(await outcome('sync.run-errors')).toEqual({
      id: 'sync.run-errors',
      status: 'ok',
      summary: '2 runs in the last 24 h, none stopped on an error',
      fix: null,
    });
  });

  it('reads them with one Query of the index byKind from 24 h ago, never a Scan', async () => {
    await doctor();
    const queries = dynamo
      .commandCalls(QueryCommand)
      .map((call) => call.args[0].input)
      .filter((input) => input.ExpressionAttributeValues?.[':kind'] === 'sync-run');
    expect(queries).toEqual([
      expect.objectContaining({
        TableName: 'state-table',
        IndexName: 'byKind',
        ExpressionAttributeValues: expect.objectContaining({ ':from': ago(24 * HOUR) }),
      }),
    ]);
    expect(dynamo.calls().map((call) => (call.args[0] as object).constructor.name)).not.toContain(
      'ScanCommand',
    );
  });

  it('ok: no run in the last 24 h (sync.last-run judges that)', async () => {
    kindItems['sync-run'] = [];
    expect(await outcome('sync.run-errors')).toMatchObject({
      status: 'ok',
      summary: 'no sync run in the last 24 h (see sync.last-run)',
    });
  });

  it('warn: some runs stopped on an error, the newest ones did not all', async () => {
    kindItems['sync-run'] = [syncRun(13), syncRun(8, 'failed', 'HTTP 502 from Product-Live'), syncRun(3)];
    expect(await outcome('sync.run-errors')).toMatchObject({
      status: 'warn',
      summary:
        '1 of 3 runs in the last 24 h stopped on an error (the latest at 2026-12-07 11:52:00Z: HTTP 502 from Product-Live)',
      fix: expect.stringContaining('aws logs tail /aws/lambda/sync-fn'),
    });
  });

  it('fail: the three newest runs stopped on an error', async () => {
    kindItems['sync-run'] = [
      syncRun(18),
      syncRun(13, 'failed', 'HTTP 401'),
      syncRun(8, 'failed', 'HTTP 401'),
      syncRun(3, 'failed', 'HTTP 401'),
    ];
    expect(await outcome('sync.run-errors')).toMatchObject({
      status: 'fail',
      summary: expect.stringContaining('3 of 4 runs in the last 24 h stopped on an error'),
      fix: expect.stringContaining('aws logs tail /aws/lambda/sync-fn'),
    });
  });

  it('not checked (a warn) on a state table without the index byKind (deployed from older code)', async () => {
    dynamo.on(QueryCommand, { IndexName: 'byKind' }).rejects(
      Object.assign(new Error('The table does not have the specified index: byKind'), {
        name: 'ValidationException',
      }),
    );
    const report = await doctor();
    for (const id of ['sync.run-errors', 'jobs.health']) {
      expect(check(report, id)).toMatchObject({
        status: 'warn',
        summary: expect.stringContaining('the state table has no index byKind'),
        fix: expect.stringContaining('npx cdk deploy --all'),
      });
    }
  });
});

describe('jobs.health: the job health records the state table keeps', () => {
  it('ok: no job late or failing, slow and unknown ones counted', async () => {
    expect(await outcome('jobs.health')).toMatchObject({
      status: 'ok',
      summary: '2 jobs, none late or failing',
    });
    kindItems['job-health']?.push(
      jobHealth('65819ba43ad5b963658ab35f', 'Images', 'slow', ['the last run took 2h; usually 10m']),
      jobHealth('65819ba43ad5b963658ab360', 'New one', 'unknown', ['2 runs: too few to learn']),
    );
    expect(await outcome('jobs.health')).toMatchObject({
      status: 'ok',
      summary: '4 jobs, none late or failing (1 slow, 1 unknown)',
    });
  });

  it('ok: before the first evaluation, saying so', async () => {
    kindItems['job-health'] = [];
    stateItems['job-health-evaluated'] = undefined;
    expect(await outcome('jobs.health')).toMatchObject({
      status: 'ok',
      summary: 'no job evaluated yet (the sync evaluates every job after its runs)',
    });
  });

  it('reads them with a Query of the index byKind, never a Scan', async () => {
    await doctor();
    expect(dynamo).toHaveReceivedCommandWith(QueryCommand, {
      TableName: 'state-table',
      IndexName: 'byKind',
      ExpressionAttributeValues: { ':kind': 'job-health' },
    });
  });

  it('warn: a late job, named with its reason', async () => {
    kindItems['job-health']?.push(
      jobHealth('65819ba43ad5b963658ab35f', 'Supplier feed', 'late', [
        'no run since 2026-12-05 02:00; usually every 24h',
      ]),
    );
    expect(await outcome('jobs.health')).toMatchObject({
      status: 'warn',
      summary: 'late: Supplier feed (no run since 2026-12-05 02:00; usually every 24h)',
      fix: "see each job's reasons and last runs: npm run history -- health --stack ProductLiveSync",
    });
  });

  it('fail: a failing job, and a job late and failing at once counts as failing', async () => {
    kindItems['job-health']?.push(
      jobHealth(
        '65819ba43ad5b963658ab35f',
        'Export',
        'failing',
        ['the last 2 ended runs did not complete'],
        2,
      ),
      jobHealth(
        '65819ba43ad5b963658ab360',
        'Supplier feed',
        'late',
        ['no run since 2026-12-05 02:00; usually every 24h', 'the last 3 ended runs did not complete'],
        3,
      ),
      jobHealth('65819ba43ad5b963658ab361', 'Prices', 'late', [
        'no run since 2026-12-06 02:00; usually every 24h',
      ]),
    );
    expect(await outcome('jobs.health')).toMatchObject({
      status: 'fail',
      summary:
        'failing: Export (the last 2 ended runs did not complete); Supplier feed (no run since 2026-12-05 02:00; usually every 24h; the last 3 ended runs did not complete) | late: Prices (no run since 2026-12-06 02:00; usually every 24h)',
      fix: expect.stringContaining('npm run history -- health --stack ProductLiveSync'),
    });
  });
});

describe('a check whose calls are denied', () => {
  it('is a warn naming the policy to attach, and the other checks still run', async () => {
    const denied = Object.assign(new Error('User is not authorized to perform: glue:GetTable'), {
      name: 'AccessDeniedException',
    });
    glue.on(GetTableCommand).rejects(denied);
    const report = await doctor();
    expect(check(report, 'lake.glue')).toMatchObject({
      status: 'warn',
      fix: expect.stringContaining('docs/doctor-policy.json'),
    });
    expect(check(report, 'alarms.state').status).toBe('ok');
  });
});

describe('the IAM policies of docs/ and the calls doctor makes', () => {
  const root = resolve(import.meta.dirname, '../../../..');
  type Policy = {
    Version: string;
    Statement: Array<{ Effect: string; Action: string[]; Resource: string | string[] }>;
  };
  const policy = (file: string) => JSON.parse(readFileSync(join(root, 'docs', file), 'utf8')) as Policy;
  const actionsOf = (document: Policy) =>
    new Set(document.Statement.flatMap((statement) => statement.Action));
  const reads = policy('doctor-policy.json');
  const athenaQuery = policy('doctor-athena-policy.json');

  /** The IAM service prefix of each mocked client. */
  const SERVICE_OF = new Map<(typeof MOCKS)[number], string>([
    [cloudFormation, 'cloudformation'],
    [dynamo, 'dynamodb'],
    [lambda, 'lambda'],
    [scheduler, 'scheduler'],
    [secrets, 'secretsmanager'],
    [sqs, 'sqs'],
    [cloudwatch, 'cloudwatch'],
    [glue, 'glue'],
    [athena, 'athena'],
  ]);
  /** The document client's commands are the table operations of the same names. */
  const DOCUMENT_COMMANDS: Record<string, string> = {
    Get: 'GetItem',
    Put: 'PutItem',
    Update: 'UpdateItem',
    Delete: 'DeleteItem',
    BatchGet: 'BatchGetItem',
    BatchWrite: 'BatchWriteItem',
    TransactGet: 'TransactGetItems',
    TransactWrite: 'TransactWriteItems',
  };
  const action = (service: string, command: string) => {
    const name = command.replace(/Command$/, '');
    return `${service}:${service === 'dynamodb' ? (DOCUMENT_COMMANDS[name] ?? name) : name}`;
  };
  const sentActions = () =>
    new Set(
      [...SERVICE_OF].flatMap(([mock, service]) =>
        mock.calls().map((call) => action(service, (call.args[0] as object).constructor.name)),
      ),
    );

  it('are IAM policies of Allow statements only', () => {
    for (const document of [reads, athenaQuery]) {
      expect(document.Version).toBe('2012-10-17');
      expect(document.Statement.every((statement) => statement.Effect === 'Allow')).toBe(true);
    }
  });

  it('docs/doctor-policy.json allows exactly the calls of a run (no call missing, no grant unused)', async () => {
    await doctor();
    expect([...sentActions()].sort()).toEqual([...actionsOf(reads)].sort());
  });

  it('docs/doctor-athena-policy.json adds what --athena calls, and what Athena needs to read the lake', async () => {
    await doctor();
    const plain = sentActions();
    await doctor({ athena: true });
    const added = [...sentActions()].filter((name) => !plain.has(name));
    expect(added.sort()).toEqual([
      'athena:GetQueryExecution',
      'athena:GetQueryResults',
      'athena:StartQueryExecution',
    ]);
    const granted = actionsOf(athenaQuery);
    expect(added.filter((name) => !granted.has(name))).toEqual([]);
    // Athena itself reads the Glue tables and the lake, and writes the result to the workgroup's bucket, as the
    // caller (docs/warehouse.md lists the same for any Athena reader).
    expect([...granted].filter((name) => !added.includes(name)).sort()).toEqual([
      'glue:GetDatabase',
      'glue:GetPartitions',
      'glue:GetTable',
      's3:AbortMultipartUpload',
      's3:GetBucketLocation',
      's3:GetObject',
      's3:ListBucket',
      's3:ListBucketMultipartUploads',
      's3:ListMultipartUploadParts',
      's3:PutObject',
    ]);
  });

  it('every AWS command the doctor code names is granted, also on paths the runs above did not take', () => {
    const SERVICE_OF_PACKAGE: Record<string, string> = {
      'client-athena': 'athena',
      'client-cloudformation': 'cloudformation',
      'client-cloudwatch': 'cloudwatch',
      'client-dynamodb': 'dynamodb',
      'lib-dynamodb': 'dynamodb',
      'client-glue': 'glue',
      'client-lambda': 'lambda',
      'client-scheduler': 'scheduler',
      'client-secrets-manager': 'secretsmanager',
      'client-sqs': 'sqs',
    };
    const sources = ['local/doctor', 'local/store/deployed-stack.ts']
      .flatMap((entry) =>
        statSync(join(root, entry)).isDirectory()
          ? readdirSync(join(root, entry), { recursive: true, encoding: 'utf8' })
              .filter((name) => name.endsWith('.ts'))
              .map((name) => join(entry, name))
          : [entry],
      )
      .map((file) => readFileSync(join(root, file), 'utf8'));
    const named = new Set<string>();
    for (const source of sources) {
      for (const match of source.matchAll(
        /import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'@aws-sdk\/([\w-]+)'/g,
      )) {
        const service = SERVICE_OF_PACKAGE[match[2] ?? ''];
        for (const name of (match[1] ?? '').split(',').map((part) => part.trim())) {
          if (!/^[A-Z]\w*Command$/.test(name) || !service) continue;
          named.add(action(service, name));
        }
      }
    }
    expect(named.size).toBeGreaterThan(10);
    const granted = new Set([...actionsOf(reads), ...actionsOf(athenaQuery)]);
    expect([...named].filter((name) => !granted.has(name))).toEqual([]);
  });
});
