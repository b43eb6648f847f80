// Issue 25 "Locally", end to end as a user (or a script playing Step Functions) runs it: `npm start` and
// `npm run launch -- … --task-token TOKEN` as child processes, the callbacks read from
// `<data-dir>/task-callbacks.ndjson`, the result events from `<data-dir>/events.ndjson` and through
// `npm run events -- tail --results`. The API is an emulator in this process (`npm start -- --api-url`), with one
// job per outcome: one that COMPLETES after longer than the local follow interval (5 s, so that it gets
// heartbeats while open) and one that ends USER_ERROR; two more requests are refused (an unknown job, a file
// reference outside the inbox).
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_DETAIL_TYPE, RESULT_DETAIL_TYPE } from '#core/events/execution-event';
import type { JobExecution } from '#core/product-live/product-live.schema';
import { LOCAL_S3_SETTINGS } from '#local/aws/local-aws-servers';
import { createEmulator, type Emulator, systemClock } from '#local/emulator/index';
import { EVENTS_FILE } from '#local/stack/file-event-sink';
import { TASK_CALLBACKS_FILE, type TaskCallbackLine } from '#local/stack/file-task-callbacks';
import { queueDepth } from '#local/stack/sqs-launch-poller';
import { badInput } from '../support/bad-input-catalogue';
import {
  type ProcessResult,
  type StartedStack,
  startNpmStart,
  startProcess,
  waitFor,
} from '../support/local-stack-process';

/** The local follower's interval (local-stack.ts FOLLOW_INTERVAL_MS): heartbeats come once per pass. */
const FOLLOW_INTERVAL_MS = 5_000;
/** The completing job runs for more than two follow passes: it is heartbeaten while open. */
const LONG_RUN_MS = 2 * FOLLOW_INTERVAL_MS + 3_000;
const SHORT_RUN_MS = 2_000;
/** A job id Product-Live does not know (the emulator answers 404). */
const UNKNOWN_JOB = 'ffffffffffffffffffffffff';

let emulator: Emulator;
let stack: StartedStack;
let dataDir: string;
let completingJob: string;
let failingJob: string;
let s3: S3Client;
let sqs: SQSClient;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

beforeAll(async () => {
  emulator = createEmulator({
    clock: systemClock,
    demo: { seed: 1, executions: 12 },
    lifecycle: { runTimeMs: SHORT_RUN_MS, outcomes: { COMPLETED: 1 } },
    maxGeneratedFileBytes: 64 * 1024,
  });
  completingJob = emulator.addJob({
    title: 'Import that completes',
    kind: 'import',
    runTimeMs: LONG_RUN_MS,
    outcome: 'COMPLETED',
  }).id;
  failingJob = emulator.addJob({
    title: 'Import with a user error',
    kind: 'import',
    runTimeMs: SHORT_RUN_MS,
    outcome: 'USER_ERROR',
  }).id;
  await emulator.start();
  dataDir = await mkdtemp(join(tmpdir(), 'task-callbacks-cli-'));
  const keyFile = join(dataDir, 'api-key');
  await writeFile(keyFile, `${emulator.apiKey}\n`, { mode: 0o600 });
  stack = await startNpmStart(dataDir, ['--api-url', emulator.url, '--api-key-file', keyFile, '--no-ui']);
  const connection = { region: stack.state.region, credentials: { ...stack.state.credentials } };
  s3 = new S3Client({ ...connection, endpoint: stack.state.endpoints.s3, ...LOCAL_S3_SETTINGS });
  sqs = new SQSClient({ ...connection, endpoint: stack.state.endpoints.sqs });
}, 240_000);

afterAll(async () => {
  s3?.destroy();
  sqs?.destroy();
  const stopped = await stack?.stop();
  await emulator?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  expect(stopped?.stdout ?? 'Stopped.').toContain('Stopped.');
}, 120_000);

/** `npm run launch -- <args>` on the test's data directory. */
async function launch(args: string[]): Promise<ProcessResult> {
  return startProcess('npm', ['-s', 'run', 'launch', '--', ...args, '--data-dir', dataDir]).done;
}

/** `npm run events -- <args>` on the test's data directory. */
async function events(args: string[]): Promise<ProcessResult> {
  return startProcess('npm', ['-s', 'run', 'events', '--', ...args, '--data-dir', dataDir]).done;
}

async function ndjson<T>(name: string): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(join(dataDir, name), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

const callbackLines = () => ndjson<TaskCallbackLine>(TASK_CALLBACKS_FILE);

interface EventLineJson {
  'detail-type': string;
  detail: {
    eventId: string;
    executionId: string;
    jobId: string;
    status: string;
    previousStatus?: string | null;
    launch: { idempotencyKey: string | null; messageId: string; requestedAt: string } | null;
    files?: Array<{
      path: string;
      s3Key: string;
      size: number | null;
      sha256: string | null;
      status: string;
    }>;
  };
}

const eventLines = () => ndjson<EventLineJson>(EVENTS_FILE);

/** The executions of a job the emulator has (the launched ones: these jobs were added for this test). */
const executionsOf = (jobId: string): JobExecution[] =>
  emulator.executions().filter((execution) => execution.jobId === jobId);

/** The message id `npm run launch` printed for what it sent. */
function sentMessageId(result: ProcessResult, jobId: string): string {
  const match = new RegExp(`^sent launch request (\\S+) for job ${jobId} to (\\S+)$`).exec(
    result.stdout.trim(),
  );
  expect(match, result.stdout + result.stderr).not.toBeNull();
  expect(match?.[2]).toBe(stack.state.queues.launchUrl);
  return match?.[1] ?? '';
}

async function objectBytes(uri: string): Promise<Buffer> {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  const object = await s3.send(new GetObjectCommand({ Bucket: match?.[1], Key: match?.[2] }));
  return Buffer.from(
    await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
}

interface TaskOutput {
  executionId: string;
  jobId: string;
  status: string;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  output: unknown;
  files: Array<{ path: string; s3Uri: string | null; size: number | null; sha256: string | null }>;
}

describe('npm run launch -- --task-token: bad tokens are usage errors, nothing sent', () => {
  /** A launch with this token, and what it left behind: what was sent, launched or called back. */
  async function launchWithToken(token: string) {
    const executionsBefore = emulator.executions().length;
    const result = await launch([
      '--job',
      completingJob,
      '--idempotency-key',
      'bad-token',
      '--task-token',
      token,
    ]);
    const queue = await queueDepth(sqs, stack.state.queues.launchUrl);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    return {
      code: result.code,
      error: result.stderr.split('\n')[0],
      usage: result.stderr.includes('usage: npm run launch'),
      stdout: result.stdout,
      queued: queue.visible + queue.invisible,
      launched: emulator.executions().length - executionsBefore,
      callbacks: await callbackLines(),
    };
  }
  const refused = (message: string) => ({
    code: 2,
    error: `error: ${message}`,
    usage: true,
    stdout: '',
    queued: 0,
    launched: 0,
    callbacks: [],
  });

  it(badInput('cli.launch-task-token-empty'), async () => {
    expect(await launchWithToken('')).toEqual(refused('taskToken: must not be empty'));
  });

  it(badInput('cli.launch-task-token-long'), async () => {
    expect(await launchWithToken('t'.repeat(2049))).toEqual(
      refused('taskToken: must be at most 2048 characters'),
    );
  });
});

describe('npm run launch -- --task-token, followed through task-callbacks.ndjson and events.ndjson', () => {
  const sent: Record<string, string> = {};

  it('sends each request and returns at once, without waiting for the result', async () => {
    const completing = await launch([
      '--job',
      completingJob,
      '--task-token',
      'tok-1',
      '--idempotency-key',
      'k1',
    ]);
    expect(completing.code, completing.stderr).toBe(0);
    sent['tok-1'] = sentMessageId(completing, completingJob);
    // Returned after sending: the job runs for LONG_RUN_MS, no result can have been sent yet.
    expect(
      (await callbackLines()).filter((line) => line.taskToken === 'tok-1' && line.action !== 'heartbeat'),
    ).toEqual([]);

    const failing = await launch(['--job', failingJob, '--task-token', 'tok-2', '--idempotency-key', 'k2']);
    expect(failing.code, failing.stderr).toBe(0);
    sent['tok-2'] = sentMessageId(failing, failingJob);

    const unknown = await launch(['--job', UNKNOWN_JOB, '--task-token', 'tok-3', '--idempotency-key', 'k3']);
    expect(unknown.code, unknown.stderr).toBe(0);
    sent['tok-3'] = sentMessageId(unknown, UNKNOWN_JOB);

    const outside = await launch([
      '--job',
      failingJob,
      '--input',
      JSON.stringify({ file: { object: 's3_object', uri: 's3://someone-elses-bucket/prices.csv' } }),
      '--task-token',
      'tok-4',
      '--idempotency-key',
      'k4',
    ]);
    expect(outside.code, outside.stderr).toBe(0);
    sent['tok-4'] = sentMessageId(outside, failingJob);
  });

  it('refuses the unknown job and the file outside the inbox with ProductLive.Rejected and the reason', async () => {
    const rejection = async (token: string) =>
      (await callbackLines()).find((line) => line.taskToken === token && line.action === 'failure');
    await waitFor(
      async () => (await rejection('tok-3')) !== undefined && (await rejection('tok-4')) !== undefined,
      60_000,
    );

    for (const [token, jobId, reason] of [
      ['tok-3', UNKNOWN_JOB, `unknown jobId ${UNKNOWN_JOB}: Product-Live answered HTTP 404`],
      ['tok-4', undefined, 'invalid file reference: input.file: s3://someone-elses-bucket/prices.csv'],
    ] as const) {
      const line = await rejection(token);
      expect(line).toMatchObject({ action: 'failure', taskToken: token, error: 'ProductLive.Rejected' });
      expect(Number.isNaN(Date.parse(line?.at ?? ''))).toBe(false);
      const cause = JSON.parse((line as { cause: string }).cause) as Record<string, unknown>;
      expect(cause).toMatchObject({ messageId: sent[token], failureKind: expect.any(String) });
      // The job is named when the request was read that far (a bad file reference refuses it while reading).
      if (jobId !== undefined) expect(cause.jobId).toBe(jobId);
      expect(String(cause.message)).toContain(reason);
      expect(String(cause.reason)).toContain(reason);
      // Exactly one callback, and never a heartbeat: nothing was launched.
      expect((await callbackLines()).filter((candidate) => candidate.taskToken === token)).toHaveLength(1);
    }
    // The refused requests started nothing.
    expect(executionsOf(UNKNOWN_JOB)).toEqual([]);
    expect(
      executionsOf(failingJob).filter(
        (execution) => (execution.input as { file?: unknown } | null)?.file !== undefined,
      ),
    ).toEqual([]);
  }, 90_000);

  it('sends ProductLive.USER_ERROR with a readable cause for the job that ended USER_ERROR', async () => {
    const failure = async () =>
      (await callbackLines()).find((line) => line.taskToken === 'tok-2' && line.action === 'failure');
    await waitFor(async () => (await failure()) !== undefined, 60_000);
    const [execution] = executionsOf(failingJob);
    expect(executionsOf(failingJob)).toHaveLength(1);
    const line = (await failure()) as Extract<TaskCallbackLine, { action: 'failure' }>;
    expect(line.error).toBe('ProductLive.USER_ERROR');
    const cause = JSON.parse(line.cause) as TaskOutput & { message: string };
    expect(cause.message).toContain(
      `Product-Live job ${failingJob}: execution ${execution?.id} ended USER_ERROR`,
    );
    expect(cause).toMatchObject({ executionId: execution?.id, jobId: failingJob, status: 'USER_ERROR' });
    expect(
      (await callbackLines()).filter(
        (candidate) => candidate.taskToken === 'tok-2' && candidate.action !== 'heartbeat',
      ),
    ).toHaveLength(1);
  }, 90_000);

  it('heartbeats tok-1 while its execution is open, then sends success with the output and the copied files', async () => {
    const success = async () =>
      (await callbackLines()).find((line) => line.taskToken === 'tok-1' && line.action === 'success');
    await waitFor(async () => (await success()) !== undefined, 90_000);
    const lines = await callbackLines();
    const mine = lines.filter((line) => line.taskToken === 'tok-1');
    const line = mine.find((candidate) => candidate.action === 'success') as Extract<
      TaskCallbackLine,
      { action: 'success' }
    >;
    // One success, no failure, and the heartbeats all came before it (one per follow pass while open).
    expect(mine.filter((candidate) => candidate.action !== 'heartbeat')).toEqual([line]);
    const heartbeats = mine.filter((candidate) => candidate.action === 'heartbeat');
    expect(heartbeats.length).toBeGreaterThanOrEqual(1);
    expect(mine.indexOf(line)).toBe(mine.length - 1);
    for (const heartbeat of heartbeats) {
      expect(Object.keys(heartbeat).sort()).toEqual(['action', 'at', 'taskToken']);
      expect(Date.parse(heartbeat.at)).toBeLessThanOrEqual(Date.parse(line.at));
    }

    const [execution] = executionsOf(completingJob);
    expect(executionsOf(completingJob)).toHaveLength(1);
    const output = line.output as TaskOutput;
    expect(Object.keys(output).sort()).toEqual(
      [
        'createdAt',
        'durationMs',
        'endedAt',
        'executionId',
        'files',
        'jobId',
        'output',
        'startedAt',
        'status',
      ].sort(),
    );
    expect(output).toMatchObject({ executionId: execution?.id, jobId: completingJob, status: 'COMPLETED' });
    expect(output.durationMs).toBeGreaterThanOrEqual(LONG_RUN_MS - 100);
    // Heartbeats only while it ran: the last one was sent before the execution ended (plus a pass's slack).
    expect(Date.parse(heartbeats[0]?.at ?? '')).toBeLessThan(Date.parse(output.endedAt ?? ''));
    expect(output.files.length).toBeGreaterThanOrEqual(1);
    expect(output.files.map((file) => file.path)).toContain('output.report');
    for (const file of output.files) {
      expect(file).toMatchObject({ path: expect.any(String), size: expect.any(Number) });
      expect(file.s3Uri).toMatch(new RegExp(`^s3://${stack.state.bucket}/`));
      expect(file.sha256).toMatch(/^[0-9a-f]{64}$/);
      const bytes = await objectBytes(file.s3Uri ?? '');
      expect(bytes.length).toBe(file.size);
      expect(sha256(bytes)).toBe(file.sha256);
    }
    expect(Number.isNaN(Date.parse(line.at))).toBe(false);
  }, 120_000);

  it("publishes a Job Execution Result with the launch's key after the status change to COMPLETED", async () => {
    const [execution] = executionsOf(completingJob);
    const id = execution?.id ?? '';
    await waitFor(
      async () =>
        (await eventLines()).some(
          (event) => event['detail-type'] === RESULT_DETAIL_TYPE && event.detail.executionId === id,
        ),
      30_000,
    );
    const all = await eventLines();
    const results = all.filter(
      (event) => event['detail-type'] === RESULT_DETAIL_TYPE && event.detail.executionId === id,
    );
    expect(results).toHaveLength(1);
    const result = results[0] as EventLineJson;
    expect(result.detail).toMatchObject({
      eventId: `${id}:result`,
      status: 'COMPLETED',
      jobId: completingJob,
      launch: { idempotencyKey: 'k1', messageId: sent['tok-1'] },
    });
    expect(result.detail.files?.every((file) => file.status === 'copied' && file.sha256 !== null)).toBe(true);
    const completed = all.findIndex(
      (event) =>
        event['detail-type'] === EVENT_DETAIL_TYPE &&
        event.detail.executionId === id &&
        event.detail.status === 'COMPLETED',
    );
    expect(completed).toBeGreaterThanOrEqual(0);
    expect(all.indexOf(result)).toBeGreaterThan(completed);
    // Every status change of the launched execution carries its key too.
    const changes = all.filter(
      (event) => event['detail-type'] === EVENT_DETAIL_TYPE && event.detail.executionId === id,
    );
    expect(changes.length).toBeGreaterThanOrEqual(2);
    for (const change of changes) expect(change.detail.launch?.idempotencyKey).toBe('k1');
    // The USER_ERROR one has its result event too, with its own key.
    const [failed] = executionsOf(failingJob);
    await waitFor(
      async () =>
        (await eventLines()).some(
          (event) => event['detail-type'] === RESULT_DETAIL_TYPE && event.detail.executionId === failed?.id,
        ),
      30_000,
    );
    const failedResult = (await eventLines()).find(
      (event) => event['detail-type'] === RESULT_DETAIL_TYPE && event.detail.executionId === failed?.id,
    );
    expect(failedResult?.detail).toMatchObject({ status: 'USER_ERROR', launch: { idempotencyKey: 'k2' } });
  }, 60_000);

  it('npm run events -- tail --results shows only the result events', async () => {
    const all = await eventLines();
    const results = all.filter((event) => event['detail-type'] === RESULT_DETAIL_TYPE);
    expect(results.length).toBeLessThan(all.length);

    const json = await events(['tail', '--results', '--json', '--no-follow', '--lines', '1000']);
    expect(json.code, json.stderr).toBe(0);
    const printed = json.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as EventLineJson);
    expect(printed.length).toBeGreaterThanOrEqual(results.length);
    expect(printed.every((event) => event['detail-type'] === RESULT_DETAIL_TYPE)).toBe(true);
    expect(printed.find((event) => event.detail.launch?.idempotencyKey === 'k1')?.detail.status).toBe(
      'COMPLETED',
    );
    expect(printed.find((event) => event.detail.launch?.idempotencyKey === 'k2')?.detail.status).toBe(
      'USER_ERROR',
    );

    const text = await events(['tail', '--results', '--no-follow', '--lines', '1000']);
    expect(text.code, text.stderr).toBe(0);
    const rows = text.stdout.trim().split('\n');
    expect(rows.length).toBeGreaterThanOrEqual(results.length);
    for (const row of rows) expect(row).toMatch(/ result [A-Z_]+ /);
    expect(rows.find((row) => row.includes(executionsOf(completingJob)[0]?.id ?? '-'))).toMatch(
      /result COMPLETED .*launch k1$/,
    );
  }, 60_000);
});
