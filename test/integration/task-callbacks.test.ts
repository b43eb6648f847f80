// Following a launch to its end (issue 25), on real local services: the launch function, the follow function
// and the callbacks function built by their factories, the executions table's real DynamoDB stream read by the
// local stack's stream reader (one reader for the events function, one for the callbacks function, as two event
// source mappings would), the emulator's executions ending on their own, and Step Functions played by
// aws-sdk-client-mock: each callback is a call on the mocked SFN client, which a test can make refuse a token
// or fail for a while.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  SFNServiceException,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stepFunctionsCallbacks } from '#core/callbacks/step-functions-client';
import { loadCallbacksConfig, loadFollowConfig } from '#core/config';
import { EVENT_DETAIL_TYPE, type ExecutionEvent, RESULT_DETAIL_TYPE } from '#core/events/execution-event';
import { RecordingMetrics } from '#core/observability';
import { createCallbacksHandler } from '#functions/callbacks/callbacks-handler';
import { createFollowHandler } from '#functions/follow/follow-handler';
import type { FollowSummary } from '#functions/follow/run-follow';
import { ManualClock, type TerminalOutcome } from '#local/emulator/index';
import { DynamoDBStreamPoller } from '#local/stack/dynamodb-stream-poller';
import { lambdaContext } from '#local/stack/local-stack';
import { createEventsHarness, type EventsHarness } from '../support/events-harness';
import { closeLaunchHarnesses, createLaunchHarness, type Harness } from '../support/launch-harness';

const sfn = mockClient(SFNClient);
afterAll(() => sfn.restore());
afterEach(closeLaunchHarnesses);

/** How long the emulator's jobs run, on its manual clock: an execution ends only when a test says so. */
const RUN_TIME_MS = 60_000;

interface Setup {
  h: Harness;
  events: EventsHarness;
  /** A launch handler that sends its refusals and heartbeats to the mocked Step Functions. */
  launch: () => Promise<string[]>;
  follow: () => Promise<FollowSummary>;
  /** Reads the stream into the events and the callbacks functions until both are caught up. */
  drainStream: () => Promise<void>;
  /** The next invocation of the callbacks function throws after it ran (a Lambda that timed out). */
  crashCallbacksOnce: () => void;
  callbackProblems: string[];
  /** Moves the emulator's clock past the jobs' run time: every execution started so far has ended. */
  ended: () => void;
  jobOf: (outcome: TerminalOutcome) => string;
  /** An object in the inbox bucket, as an s3_object reference. */
  putObject: (key: string, body: string) => Promise<{ object: 's3_object'; uri: string }>;
}

async function setUp(): Promise<Setup> {
  const clock = new ManualClock(Date.now());
  const h = await createLaunchHarness({ stream: true, files: { emulator: { clock } } });
  const callbacks = stepFunctionsCallbacks(new SFNClient({ region: 'eu-west-1' }));
  const launchHandler = h.createHandler({ clients: { ...h.clients, callbacks } });
  const env = { ...h.env, FOLLOW_SCOPE: 'awaited', FILE_COPY_RETRY_DELAY_SECONDS: '0' };
  const logger = new Logger({ serviceName: 'task-callbacks-test', logLevel: 'SILENT' });
  const follow = createFollowHandler({
    config: loadFollowConfig(env),
    clients: { dynamo: h.clients.dynamo, s3: h.clients.s3, callbacks },
    logger,
    metrics: new RecordingMetrics({ namespace: 'Test', serviceName: 'follow' }),
  });
  const callbacksHandler = createCallbacksHandler({
    config: loadCallbacksConfig(env),
    clients: { dynamo: h.clients.dynamo, s3: h.clients.s3 },
    callbacks,
    logger,
    metrics: new RecordingMetrics({ namespace: 'Test', serviceName: 'callbacks' }),
  });
  const events = await createEventsHarness(h.clients, h.store.executionsTable);
  const streams = new DynamoDBStreamsClient({
    region: h.clients.region,
    endpoint: h.clients.endpoints.dynamodb,
    credentials: await h.clients.dynamo.config.credentials(),
  });
  let crash = false;
  const callbackProblems: string[] = [];
  const callbacksReader = new DynamoDBStreamPoller({
    dynamodb: h.clients.dynamo,
    streams,
    tableName: h.store.executionsTable,
    region: h.clients.region,
    checkpointFile: join(await mkdtemp(join(tmpdir(), 'callbacks-')), 'checkpoint.json'),
    invoke: async (event) => {
      const response = await callbacksHandler(event, lambdaContext('callbacks', 60_000));
      if (crash) {
        crash = false;
        throw new Error('the invocation timed out after its callbacks');
      }
      return response;
    },
    onProblem: (message) => callbackProblems.push(message),
  });
  const jobs = new Map<TerminalOutcome, string>();
  return {
    h,
    events,
    launch: () => h.drain({ handler: launchHandler }),
    follow: () => follow({}, lambdaContext('follow', 110_000)),
    drainStream: async () => {
      await events.drain();
      await callbacksReader.drain();
    },
    crashCallbacksOnce: () => {
      crash = true;
    },
    callbackProblems,
    ended: () => {
      clock.advance(RUN_TIME_MS + 1_000);
    },
    jobOf: (outcome) => {
      let id = jobs.get(outcome);
      if (!id) {
        id = h.emulator.addJob({
          title: `Import ${outcome}`,
          kind: 'import',
          runTimeMs: RUN_TIME_MS,
          outcome,
        }).id;
        jobs.set(outcome, id);
      }
      return id;
    },
    putObject: async (key, body) => {
      const bucket = h.store.inboxBucket ?? '';
      await h.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
      return { object: 's3_object', uri: `s3://${bucket}/${key}` };
    },
  };
}

/** The calls of one kind the mocked Step Functions received, as plain inputs. */
function calls<T>(command: new (...args: never[]) => T) {
  return sfn.commandCalls(command as never).map((call) => call.args[0].input as Record<string, unknown>);
}

beforeEach(() => {
  sfn.reset();
  sfn.onAnyCommand().resolves({});
});

describe('a launch followed to its end', () => {
  it('heartbeats while open, then sends the result once its files are settled, never before, and once', {
    timeout: 120_000,
  }, async () => {
    const s = await setUp();
    const file = await s.putObject('uploads/1/prices 2024 é.csv', 'sku;price\nA-1;12.50\n');
    await s.h.send({
      jobId: s.jobOf('COMPLETED'),
      input: { file },
      idempotencyKey: 'order-4711',
      taskToken: 'token-A',
    });
    expect(await s.launch()).toEqual(['launched']);
    await s.drainStream();
    // Open: every event carries the launch; no result, no callback but heartbeats.
    const [created] = s.events.published;
    expect(created?.detail.launch).toMatchObject({ idempotencyKey: 'order-4711' });
    expect((await s.follow()).followed).toBe(1);
    expect(calls(SendTaskHeartbeatCommand)).toEqual([{ taskToken: 'token-A' }]);
    await s.drainStream();
    expect(calls(SendTaskSuccessCommand)).toEqual([]);

    // It ends, but its files cannot be downloaded for now: still no result.
    s.ended();
    s.h.emulator.setFaults({ rate: 1, seed: 1, kinds: ['503'], endpoints: ['download'] });
    const firstPass = await s.follow();
    expect(firstPass).toMatchObject({ followed: 1, ended: 1 });
    expect(firstPass.files.pending).toBeGreaterThan(0);
    await s.drainStream();
    expect(s.events.published.map((event) => event.detailType)).not.toContain(RESULT_DETAIL_TYPE);
    expect(calls(SendTaskSuccessCommand)).toEqual([]);
    const itemAfterFirst = (await s.h.storedItems())[0];
    expect(itemAfterFirst?.status).toBe('COMPLETED');

    // Ended, files still failing: the next pass finds it by its pending copies (no API call for it) and keeps
    // its waiter waiting with a heartbeat.
    sfn.resetHistory();
    const settlingPass = await s.follow();
    expect(settlingPass).toMatchObject({ followed: 0, settling: 1, apiRequests: 0 });
    expect(calls(SendTaskHeartbeatCommand)).toEqual([{ taskToken: 'token-A' }]);
    await s.drainStream();
    expect(calls(SendTaskSuccessCommand)).toEqual([]);

    // The files come through: the follow pass copies them, the write that settles the last one yields the
    // result, and the callback.
    s.h.emulator.setFaults({ rate: 0 });
    sfn.resetHistory();
    expect(await s.follow()).toMatchObject({ followed: 0, settling: 1, files: { pending: 0 } });
    expect(calls(SendTaskHeartbeatCommand)).toEqual([]);
    await s.drainStream();
    const results = s.events.published.filter((event) => event.detailType === RESULT_DETAIL_TYPE);
    expect(results).toHaveLength(1);
    const result = results[0] as Extract<ExecutionEvent, { detailType: typeof RESULT_DETAIL_TYPE }>;
    expect(result.detail).toMatchObject({
      eventId: `${result.detail.executionId}:result`,
      status: 'COMPLETED',
      launch: { idempotencyKey: 'order-4711', awaited: true },
    });
    expect(result.detail.files.length).toBeGreaterThan(0);
    for (const copy of result.detail.files) {
      expect(copy).toMatchObject({ status: 'copied', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    }
    // The status change came first.
    const order = s.events.published.map((event) =>
      event.detailType === EVENT_DETAIL_TYPE ? event.detail.status : 'result',
    );
    expect(order.indexOf('COMPLETED')).toBeLessThan(order.indexOf('result'));
    const [success] = calls(SendTaskSuccessCommand);
    expect(success?.taskToken).toBe('token-A');
    const output = JSON.parse(String(success?.output)) as Record<string, unknown>;
    expect(output).toMatchObject({
      executionId: result.detail.executionId,
      jobId: s.jobOf('COMPLETED'),
      status: 'COMPLETED',
      durationMs: expect.any(Number),
    });
    expect(output.output).not.toBeNull();
    expect(output.files).toEqual(
      result.detail.files.map((copy) => ({
        path: copy.path,
        s3Uri: `s3://${s.h.store.filesBucket}/${copy.s3Key}`,
        size: copy.size,
        sha256: copy.sha256,
        status: 'copied',
      })),
    );

    // Rewrites of the settled execution (a sync re-reading it) announce and send nothing more.
    await copyDueFiles(s, true);
    await s.drainStream();
    expect(s.events.published.filter((event) => event.detailType === RESULT_DETAIL_TYPE)).toHaveLength(1);
    expect(calls(SendTaskSuccessCommand)).toHaveLength(1);
    expect(s.callbackProblems).toEqual([]);
  });

  it.each(['USER_ERROR', 'FAILED', 'TIMEDOUT'] as const)(
    'fails the task with ProductLive.%s and a readable cause when the job ends so',
    {
      timeout: 90_000,
    },
    async (status) => {
      const s = await setUp();
      await s.h.send({
        jobId: s.jobOf(status),
        idempotencyKey: `run-${status}`,
        taskToken: `token-${status}`,
      });
      await s.launch();
      s.ended();
      await s.follow();
      await copyDueFiles(s);
      await s.drainStream();
      expect(calls(SendTaskSuccessCommand)).toEqual([]);
      const failures = calls(SendTaskFailureCommand);
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatchObject({ taskToken: `token-${status}`, error: `ProductLive.${status}` });
      const cause = JSON.parse(String(failures[0]?.cause)) as Record<string, unknown>;
      expect(cause).toMatchObject({ status, jobId: s.jobOf(status) });
      expect(String(cause.message)).toContain(`ended ${status}`);
    },
  );

  it('fails the task with ProductLive.Rejected and the DLQ reason when the request is refused, even an invalid one', {
    timeout: 60_000,
  }, async () => {
    const s = await setUp();
    await s.h.send({ jobId: s.h.job.id, idempotencyKye: 'typo', taskToken: 'token-invalid' });
    await s.h.send({
      jobId: s.h.job.id,
      input: { file: { object: 's3_object', uri: 's3://elsewhere/x.csv' } },
      taskToken: 'token-file',
    });
    expect((await s.launch()).sort()).toEqual(['dead-lettered', 'dead-lettered']);
    const failures = calls(SendTaskFailureCommand);
    expect(failures.map((failure) => [failure.taskToken, failure.error]).sort()).toEqual([
      ['token-file', 'ProductLive.Rejected'],
      ['token-invalid', 'ProductLive.Rejected'],
    ]);
    const reasons = (await s.h.deadLetters()).map(
      (message) => message.MessageAttributes?.FailureReason?.StringValue,
    );
    const causes = failures.map((failure) => JSON.parse(String(failure.cause)) as { reason: string });
    for (const cause of causes) expect(reasons).toContain(cause.reason);
    expect(causes.map((cause) => cause.reason).join('\n')).toContain('unknown field "idempotencyKye"');
  });

  it('stops the follow-up of a token Step Functions refuses: no retry, and no more API calls for it', {
    timeout: 60_000,
  }, async () => {
    const s = await setUp();
    sfn.on(SendTaskHeartbeatCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));
    await s.h.send({ jobId: s.jobOf('COMPLETED'), idempotencyKey: 'timed-out', taskToken: 'token-late' });
    await s.launch();
    const first = await s.follow();
    expect(first).toMatchObject({ followed: 1, apiRequests: 1 });
    expect(calls(SendTaskHeartbeatCommand)).toHaveLength(1);
    // Nothing waits any more: the execution is no longer awaited, the next pass makes no request.
    const [item] = await s.h.storedItems();
    expect(item?.launch).toMatchObject({ awaited: false });
    expect(await s.follow()).toMatchObject({ followed: 0, apiRequests: 0 });
    expect(calls(SendTaskHeartbeatCommand)).toHaveLength(1);
  });

  it('sends the result again when the callback failed or the invocation crashed after it (duplicates, never none)', {
    timeout: 90_000,
  }, async () => {
    const s = await setUp();
    const throttled = new SFNServiceException({
      name: 'ThrottlingException',
      $fault: 'client',
      message: 'Rate exceeded',
      $metadata: { httpStatusCode: 400 },
    });
    sfn.on(SendTaskSuccessCommand).rejectsOnce(throttled).resolves({});
    await s.h.send({ jobId: s.jobOf('COMPLETED'), idempotencyKey: 'flaky', taskToken: 'token-flaky' });
    await s.launch();
    s.ended();
    await s.follow();
    await copyDueFiles(s);
    s.crashCallbacksOnce();
    await s.drainStream().catch(() => undefined);
    await s.drainStream();
    const successes = calls(SendTaskSuccessCommand).filter((call) => call.taskToken === 'token-flaky');
    // The throttled call, then the one that went out before the crash, then the redelivery's.
    expect(successes.length).toBeGreaterThanOrEqual(2);
  });

  it('reattaches a request repeated with a new token (a retried state) to its execution, even after its end', {
    timeout: 90_000,
  }, async () => {
    const s = await setUp();
    const message = { jobId: s.jobOf('COMPLETED'), idempotencyKey: 'sfn:retried-state' };
    await s.h.send({ ...message, taskToken: 'token-first' });
    await s.launch();
    s.ended();
    await s.follow();
    await copyDueFiles(s);
    await s.drainStream();
    expect(calls(SendTaskSuccessCommand).map((call) => call.taskToken)).toEqual(['token-first']);
    // The state is retried after its task timed out: same key, new token. Nothing is launched again.
    await s.h.send({ ...message, taskToken: 'token-second' });
    expect(await s.launch()).toEqual(['duplicate']);
    await s.drainStream();
    expect(calls(SendTaskSuccessCommand).map((call) => call.taskToken)).toEqual([
      'token-first',
      'token-second',
    ]);
    expect(s.h.createRequests()).toBe(1);
  });
});

/**
 * Copies the ended executions' due files as a sync run's files phase would (the follow function's writer and
 * copier, which are the sync's): one follow-scoped pass cannot, since it follows open executions only.
 */
async function copyDueFiles(s: Setup, rewrite = false): Promise<void> {
  const { createSyncHandler } = await import('#functions/sync/sync-handler');
  const { loadSyncConfig } = await import('#core/config');
  const sync = createSyncHandler({
    config: loadSyncConfig({ ...s.h.env, FILE_COPY_RETRY_DELAY_SECONDS: '0' }),
    clients: { dynamo: s.h.clients.dynamo, s3: s.h.clients.s3 },
    logger: new Logger({ serviceName: 'sync-test', logLevel: 'SILENT' }),
    metrics: new RecordingMetrics({ namespace: 'Test', serviceName: 'sync' }),
  });
  const summary = await sync(rewrite ? { retryFailedFiles: true } : {}, lambdaContext('sync', 600_000));
  expect(summary.error ?? null).toBeNull();
}
