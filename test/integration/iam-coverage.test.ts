// Ties the deployed IAM policies to the code: the functions run realistic scenarios against the local
// servers while every AWS call they make is recorded; each call must be allowed by a statement of that
// function's role in the synthesized template. A new SDK call without its grant fails here, not in AWS.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { loadLaunchConfig } from '#core/config';
import { EVENT_DETAIL_TYPE, EVENT_SOURCE, type ExecutionEvent } from '#core/events/execution-event';
import { LakeMarks } from '#core/store/lake-marks';
import { eventBridgeSink } from '#functions/events/eventbridge-sink';
import { aJobExecution } from '../builders/job-execution.builder';
import { synthesize } from '../infra/support/synth';
import { type Statement, TemplateView } from '../infra/support/template-view';
import { closeLaunchHarnesses, createLaunchHarness } from '../support/launch-harness';
import { storeOffloadedExecution, type TestStore } from '../support/local-aws';
import { createSyncHarness } from '../support/sync-harness';

const synth = synthesize();
const view = new TemplateView(synth);

interface Call {
  action: string;
  resource: string;
}

/** Records every command a client sends, as the IAM action and resource it needs. */
function record<T extends DynamoDBClient | S3Client | SQSClient>(
  client: T,
  service: 'dynamodb' | 's3' | 'sqs',
  calls: Call[],
  resourceOf: (input: Record<string, unknown>) => string,
): T {
  type Next = (args: { input: unknown }) => Promise<unknown>;
  const stack = client.middlewareStack as unknown as {
    add(
      middleware: (next: Next, context: { commandName?: string }) => Next,
      options: { step: 'initialize'; name: string },
    ): void;
  };
  stack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName).replace(/Command$/, '');
      const input = args.input as Record<string, unknown>;
      calls.push({ action: iamAction(service, command, input), resource: resourceOf(input) });
      return next(args);
    },
    { step: 'initialize', name: 'recordIamCalls' },
  );
  return client;
}

function iamAction(service: string, command: string, input: Record<string, unknown>): string {
  if (service === 's3') {
    // Reading one version of an object needs its own permission.
    if (['HeadObject', 'GetObject'].includes(command)) {
      return input.VersionId === undefined ? 's3:GetObject' : 's3:GetObjectVersion';
    }
    if (['PutObject', 'CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload'].includes(command)) {
      return 's3:PutObject';
    }
  }
  return `${service}:${command}`;
}

function allowed(statements: Statement[], call: Call): boolean {
  return statements.some(
    (statement) =>
      statement.actions.includes(call.action) &&
      statement.resources.some((pattern) =>
        new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(
          call.resource,
        ),
      ),
  );
}

function unique(calls: Call[]): Call[] {
  return [...new Map(calls.map((call) => [`${call.action} ${call.resource}`, call])).values()];
}

/**
 * Labels of a store's resources as the template names them (`ExecutionsTable.Arn`, `FilesBucket.Arn/<key>`), and
 * of other buckets (`otherBuckets`: name to label, e.g. the ARN a launchInputBuckets entry is granted as).
 */
function storeLabels(store: TestStore, otherBuckets: Record<string, string> = {}) {
  const tables: Record<string, string> = {
    [store.executionsTable]: 'ExecutionsTable.Arn',
    [store.stateTable]: 'StateTable.Arn',
    [store.idempotencyTable]: 'IdempotencyTable.Arn',
  };
  const buckets: Record<string, string> = {
    [store.filesBucket]: 'FilesBucket.Arn',
    [store.lakeBucket]: 'LakeBucket.Arn',
    ...(store.inboxBucket ? { [store.inboxBucket]: 'InboxBucket.Arn' } : {}),
    ...otherBuckets,
  };
  return {
    table: (input: Record<string, unknown>) => {
      const table = String(
        input.TableName ?? Object.keys((input.RequestItems as Record<string, unknown> | undefined) ?? {})[0],
      );
      const label = tables[table] ?? `unknown table ${table}`;
      return input.IndexName ? `${label}/index/${String(input.IndexName)}` : label;
    },
    object: (input: Record<string, unknown>) =>
      `${buckets[String(input.Bucket)] ?? `unknown bucket ${String(input.Bucket)}`}/${String(input.Key ?? '')}`,
  };
}

/** The suite's generated credentials, as its environment gives them to a process. */
function credentialsOf(env: Record<string, string>) {
  return { accessKeyId: env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '' };
}

/** DynamoDB and S3 clients on the suite's local servers that record every call into `calls`. */
function recordingClients(
  env: Record<string, string>,
  store: TestStore,
  calls: Call[],
  otherBuckets: Record<string, string> = {},
) {
  const labels = storeLabels(store, otherBuckets);
  const common = { region: 'us-east-1', credentials: credentialsOf(env) };
  const dynamo = record(
    new DynamoDBClient({ ...common, endpoint: env.AWS_ENDPOINT_URL_DYNAMODB }),
    'dynamodb',
    calls,
    labels.table,
  );
  const s3 = record(
    new S3Client({
      ...common,
      endpoint: env.AWS_ENDPOINT_URL_S3,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    }),
    's3',
    calls,
    labels.object,
  );
  return { dynamo, s3, labels };
}

afterAll(closeLaunchHarnesses);

describe('IAM grants cover every AWS call the code makes', () => {
  it('the sync role allows each call of a sync through files, retries, a resumed window and an ended run', async () => {
    const h = await createSyncHarness({
      emulator: { demo: { seed: 51, executions: 60 } },
      config: { pageSize: 20 },
    });
    try {
      const calls: Call[] = [];
      const { dynamo, s3 } = recordingClients(h.clients.env, h.store, calls);
      // The sync function built with recording clients: every call its handler makes is seen.
      const clients = { dynamo, s3 };
      // A run cut short by the time budget, then its resumption (COUNT queries prove the window complete).
      let pages = 2;
      const stop = h.emulator.onRequest((request) => {
        if (request.endpoint === 'find') pages -= 1;
      });
      h.emulator.failNext('truncated-download', { count: 3, endpoint: 'download' });
      await h.sync({ clients, deps: { remainingTimeMs: () => (pages > 0 ? 900_000 : 1_000) } });
      stop();
      await h.sync({ clients });
      // A large file (multipart upload), a copy already in S3, runs that end, failed copies coming due.
      const job = h.emulator.addJob({ title: 'Export', kind: 'export' });
      const big = h.emulator.createExecution(job.id, {}, { runTimeMs: 1_000, outcome: 'COMPLETED' });
      h.emulator.setExecutionOutput(big.id, {
        big: {
          url: h.emulator.addFile({ size: 9 * 1024 * 1024, filename: 'big.csv' }).url,
          filename: 'big.csv',
        },
      });
      h.clock.advance(7 * 60_000);
      const summary = await h.sync({ clients });
      expect(summary.error).toBeNull();
      const operations = new Set(calls.map((call) => call.action));
      expect(operations).toEqual(
        new Set([
          'dynamodb:PutItem',
          'dynamodb:GetItem',
          'dynamodb:DeleteItem',
          'dynamodb:Query',
          'dynamodb:BatchGetItem',
          'dynamodb:BatchWriteItem',
          'dynamodb:UpdateItem',
          's3:GetObject',
          's3:PutObject',
        ]),
      );
      const statements = view.statementsOf(synth.stateless.sync.handler.role);
      expect(unique(calls).filter((call) => !allowed(statements, call))).toEqual([]);
    } finally {
      await h.close();
    }
  });

  it('the lake role allows each call of a first build, a rewrite, an empty day and a large execution', async () => {
    const h = await createSyncHarness({ emulator: { demo: { seed: 52, executions: 40, days: 5 } } });
    try {
      await h.sync();
      await storeOffloadedExecution(
        h.clients,
        h.store,
        aJobExecution({ createdAt: new Date(h.clock.now() - 2 * 86_400_000).toISOString() }),
      );
      const calls: Call[] = [];
      const { dynamo, s3 } = recordingClients(h.clients.env, h.store, calls);
      // The first build (every stored day), then a day marked that has no execution (its objects deleted).
      expect(await h.lake({ clients: { dynamo, s3 } })).toMatchObject({ firstBuild: true, complete: true });
      await new LakeMarks(h.clients.doc, h.store.stateTable).mark(['2001-01-01']);
      expect(await h.lake({ clients: { dynamo, s3 } })).toMatchObject({ complete: true });
      const operations = new Set(calls.map((call) => call.action));
      expect(operations).toEqual(
        new Set([
          'dynamodb:PutItem',
          'dynamodb:GetItem',
          'dynamodb:DeleteItem',
          'dynamodb:Query',
          'dynamodb:UpdateItem',
          's3:GetObject',
          's3:PutObject',
          's3:DeleteObject',
        ]),
      );
      const statements = view.statementsOf(synth.stateless.lake.handler.role);
      expect(unique(calls).filter((call) => !allowed(statements, call))).toEqual([]);
    } finally {
      await h.close();
    }
  });

  it('the launch role allows each call of launches, duplicates, dead letters, retries, files and the inbox', async () => {
    const h = await createLaunchHarness({ files: {} });
    const calls: Call[] = [];
    const env = h.clients.env;
    const { dynamo, s3 } = recordingClients(env, h.store, calls);
    const inbox = h.store.inboxBucket ?? '';
    await h.clients.s3.send(
      new PutObjectCommand({ Bucket: inbox, Key: 'uploads/1/prices.csv', Body: 'sku;price' }),
    );
    const sqs = record(
      new SQSClient({
        region: 'us-east-1',
        credentials: credentialsOf(env),
        endpoint: env.AWS_ENDPOINT_URL_SQS,
      }),
      'sqs',
      calls,
      (input) =>
        input.QueueUrl === h.dlqUrl
          ? 'LaunchDeadLetterQueue.Arn'
          : input.QueueUrl === h.queueUrl
            ? 'LaunchQueue.Arn'
            : `unknown queue ${String(input.QueueUrl)}`,
    );
    const handler = h.createHandler({
      clients: { dynamo, sqs, s3 },
      api: { maxAttempts: 1, requestsPerMinute: 1_000 },
    });
    const file = (key: string) => ({ object: 's3_object', uri: `s3://${inbox}/${key}` });
    await h.send({
      jobId: h.job.id,
      input: { file: file('uploads/1/prices.csv') },
      idempotencyKey: 'iam-files',
    });
    await h.send({ jobId: h.job.id, input: { file: file('uploads/1/missing.csv') } });
    h.emulator.failNext('commit-then-500', { count: 1, endpoint: 'create' });
    await h.send({ jobId: h.job.id, input: { order: 1 }, idempotencyKey: 'iam-1' });
    await h.send({ jobId: h.job.id, input: { order: 1 }, idempotencyKey: 'iam-1' });
    await h.send('{"jobId":');
    await h.drain({ handler });
    const operations = new Set(calls.map((call) => call.action));
    for (const expected of [
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:BatchGetItem',
      'sqs:SendMessage',
      'sqs:ChangeMessageVisibility',
      's3:GetObject',
    ]) {
      expect(operations).toContain(expected);
    }
    const statements = view.statementsOf(synth.stateless.launch.handler.role);
    expect(unique(calls).filter((call) => !allowed(statements, call))).toEqual([]);
  });

  it('the launch role reads exactly the configured buckets: a reference outside them is refused before any S3 read', async () => {
    const h = await createLaunchHarness({ files: {} });
    const inbox = h.store.inboxBucket ?? '';
    // A bucket of the user's, configured in part: launchInputBuckets = <bucket>/erp/.
    const exports = `iam-exports-${crypto.randomUUID().slice(0, 8)}`;
    await h.clients.s3.send(new CreateBucketCommand({ Bucket: exports }));
    for (const [bucket, key] of [
      [exports, 'erp/prices.csv'],
      [exports, 'erpx/prices.csv'],
      [exports, 'other/prices.csv'],
      [h.store.filesBucket, 'executions/x.json'],
      [inbox, 'uploads/1/prices.csv'],
    ] as const) {
      await h.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'sku;price' }));
    }
    const custom = synthesize({ context: { launchInputBuckets: `${exports}/erp/` } });
    const customView = new TemplateView(custom);
    // The function's locations come from the same context as its role's (LAUNCH_INPUT_BUCKETS).
    const deployed = customView.environmentOf(custom.stateless.launch.handler.function);
    const handlerConfig = loadLaunchConfig({
      ...h.env,
      LAUNCH_INPUT_BUCKETS: String(deployed.LAUNCH_INPUT_BUCKETS),
    });
    const calls: Call[] = [];
    const { dynamo, s3 } = recordingClients(h.clients.env, h.store, calls, {
      [exports]: `arn:<AWS::Partition>:s3:::${exports}`,
    });
    const handler = h.createHandler({ config: handlerConfig, clients: { ...h.clients, dynamo, s3 } });
    const ref = (bucket: string, key: string, extra: object = {}) => ({
      file: { object: 's3_object', uri: `s3://${bucket}/${key}`, ...extra },
    });
    const inside = [ref(exports, 'erp/prices.csv'), ref(inbox, 'uploads/1/prices.csv')];
    const outside = [
      ref(exports, 'erpx/prices.csv'),
      ref(exports, 'other/prices.csv'),
      ref(h.store.filesBucket, 'executions/x.json'),
      ref('no-such-bucket-at-all', 'prices.csv'),
    ];
    for (const input of [...inside, ...outside]) await h.send({ jobId: h.job.id, input });
    // A version of an inbox object (s3rver keeps none: refused after its HeadObject, a read of that version).
    await h.send({ jobId: h.job.id, input: ref(inbox, 'uploads/1/prices.csv', { versionId: 'v1' }) });

    const outcomes = await h.drain({ handler });

    expect(outcomes.sort()).toEqual([...Array(5).fill('dead-lettered'), 'launched', 'launched']);
    const reasons = (await h.deadLetters()).map(
      (letter) => letter.MessageAttributes?.FailureReason?.StringValue ?? '',
    );
    expect(
      reasons.filter((reason) => reason.includes('is not in a place the launch function may read')),
    ).toHaveLength(outside.length);
    // Every S3 call is of a configured object, and the role allows it; none touches a refused reference.
    const s3Calls = unique(calls.filter((call) => call.action.startsWith('s3:')));
    expect(s3Calls.map((call) => `${call.action} ${call.resource}`).sort()).toEqual([
      `s3:GetObject InboxBucket.Arn/uploads/1/prices.csv`,
      `s3:GetObject arn:<AWS::Partition>:s3:::${exports}/erp/prices.csv`,
      `s3:GetObjectVersion InboxBucket.Arn/uploads/1/prices.csv`,
    ]);
    const statements = customView.statementsOf(custom.stateless.launch.handler.role);
    expect(s3Calls.filter((call) => !allowed(statements, call))).toEqual([]);
    // And the role would refuse the references the function refused (the same locations, from one setting).
    for (const resource of [
      `arn:<AWS::Partition>:s3:::${exports}/erpx/prices.csv`,
      `arn:<AWS::Partition>:s3:::${exports}/other/prices.csv`,
      'FilesBucket.Arn/executions/x.json',
      'arn:<AWS::Partition>:s3:::no-such-bucket-at-all/prices.csv',
    ]) {
      expect(allowed(statements, { action: 's3:GetObject', resource }), resource).toBe(false);
    }
  });

  it('the sync role allows the PutEvents of its job health changes, on the configured bus and with its source', async () => {
    const calls: Call[] = [];
    const client = new EventBridgeClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'RECORDED', secretAccessKey: 'RECORDED' },
    });
    // Answered here: no EventBridge emulator; what matters is the request the sink builds.
    client.middlewareStack.add(
      (_next, context) => async (args) => {
        const input = args.input as { Entries?: Array<{ EventBusName?: string; Source?: string }> };
        const entries = input.Entries ?? [];
        calls.push({
          action: `events:${String(context.commandName).replace(/Command$/, '')}`,
          resource: `arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:event-bus/${String(entries[0]?.EventBusName)}`,
        });
        return {
          output: { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e${i}` })) },
        } as never;
      },
      { step: 'initialize', name: 'recordIamCalls' },
    );
    const h = await createSyncHarness({ emulator: { demo: { seed: 53, executions: 30, days: 3 } } });
    try {
      const environment = view.environmentOf(synth.stateless.sync.handler.function);
      // The sync built with the sink its handler.ts wires (EventBridge, the bus of its environment).
      const summary = await h.sync({
        sink: eventBridgeSink(client, String(environment.EVENT_BUS_NAME)),
      });
      expect(summary.health?.eventsPublished).toBeGreaterThan(0);
      const statements = view.statementsOf(synth.stateless.sync.handler.role);
      expect([...new Set(calls.map(({ action }) => action))]).toEqual(['events:PutEvents']);
      expect(unique(calls).filter((call) => !allowed(statements, call))).toEqual([]);
      const putEvents = statements.find((statement) => statement.actions.includes('events:PutEvents'));
      expect(putEvents?.condition).toEqual({ StringEquals: { 'events:source': EVENT_SOURCE } });
    } finally {
      await h.close();
    }
  });

  it('the events role allows the PutEvents the sink makes, on the configured bus and with its source', async () => {
    const calls: Array<Call & { sources: string[] }> = [];
    // No EventBridge emulator: any credentials sign the request the sink builds.
    const client = new EventBridgeClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'RECORDED', secretAccessKey: 'RECORDED' },
    });
    // Answered here: no EventBridge emulator; what matters is the request the sink builds.
    client.middlewareStack.add(
      (_next, context) => async (args) => {
        const input = args.input as { Entries?: Array<{ EventBusName?: string; Source?: string }> };
        const entries = input.Entries ?? [];
        calls.push({
          action: `events:${String(context.commandName).replace(/Command$/, '')}`,
          resource: `arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:event-bus/${String(entries[0]?.EventBusName)}`,
          sources: entries.map((entry) => String(entry.Source)),
        });
        return {
          output: { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e${i}` })) },
        } as never;
      },
      { step: 'initialize', name: 'recordIamCalls' },
    );
    const environment = view.environmentOf(synth.stateless.events.handler.function);
    const sink = eventBridgeSink(client, String(environment.EVENT_BUS_NAME));
    const execution = aJobExecution({ status: 'FAILED' });
    const event: ExecutionEvent = {
      source: EVENT_SOURCE,
      detailType: EVENT_DETAIL_TYPE,
      time: execution.createdAt,
      detail: {
        eventId: `${execution.id}:FAILED`,
        executionId: execution.id,
        jobId: execution.jobId,
        pipelineId: null,
        title: null,
        status: 'FAILED',
        previousStatus: 'RUNNING',
        createdAt: execution.createdAt,
        startedAt: null,
        endedAt: null,
        durationMs: null,
        files: [],
        origin: 'sync',
        launch: null,
      },
    };
    const refused = await sink.put([event]);
    expect(refused).toEqual([null]);
    const statements = view.statementsOf(synth.stateless.events.handler.role);
    expect(calls.map(({ action }) => action)).toEqual(['events:PutEvents']);
    expect(calls.filter((call) => !allowed(statements, call))).toEqual([]);
    // The statement's condition: only this application's source.
    const putEvents = statements.find((statement) => statement.actions.includes('events:PutEvents'));
    expect(putEvents?.condition).toEqual({ StringEquals: { 'events:source': EVENT_SOURCE } });
    expect(calls.flatMap((call) => call.sources)).toEqual([EVENT_SOURCE]);
  });
});
