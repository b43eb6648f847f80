// Issue 24 end to end, as a user runs it: `npm start -- --inbox imports/=JOB_ID` and `npm run launch -- --file …
// --wait --json` as child processes, a file dropped into the inbox with the AWS CLI and the credentials `npm start`
// printed, and what reached the Product-Live API compared byte for byte with the local files. The API is an
// emulator in this process (`npm start -- --api-url`): its demo jobs are npm start's, its uploads are readable
// here (`uploads()`, `uploadBytes(id)`), and its runs end after 2 s, so that the whole round trip takes seconds.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsCommand, S3Client } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobExecution } from '#core/product-live/product-live.schema';
import { LOCAL_S3_SETTINGS } from '#local/aws/local-aws-servers';
import { createEmulator, type Emulator, systemClock } from '#local/emulator/index';
import { queueDepth } from '#local/stack/sqs-launch-poller';
import { closed } from '../support/child-output';
import {
  type ProcessResult,
  ROOT,
  type StartedStack,
  startNpmStart,
  startProcess,
  waitFor,
} from '../support/local-stack-process';

const RUN_TIME_MS = 2_000;

let emulator: Emulator;
let stack: StartedStack;
let dataDir: string;
let jobId: string;
/** What `npm start` printed: the S3 endpoint and the line of credentials to paste into a shell. */
let printed: { s3Endpoint: string; env: Record<string, string> };
let s3: S3Client;
let sqs: SQSClient;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

beforeAll(async () => {
  // npm start's demo data (seed 1), few enough executions that no demo run is still open at start.
  emulator = createEmulator({
    clock: systemClock,
    demo: { seed: 1, executions: 12 },
    lifecycle: { runTimeMs: RUN_TIME_MS, outcomes: { COMPLETED: 1 } },
    maxGeneratedFileBytes: 64 * 1024,
  });
  await emulator.start();
  dataDir = await mkdtemp(join(tmpdir(), 'launch-cli-'));
  const keyFile = join(dataDir, 'api-key');
  await writeFile(keyFile, `${emulator.apiKey}\n`, { mode: 0o600 });
  // An import-like job of the demo data: the one that reads a file.
  jobId = emulator.jobs().find((job) => job.kind === 'import-with-file')?.id ?? '';
  expect(jobId).toMatch(/^[0-9a-f]{24}$/);
  stack = await startNpmStart(dataDir, [
    '--api-url',
    emulator.url,
    '--api-key-file',
    keyFile,
    '--inbox',
    `imports/=${jobId}`,
    '--no-ui',
  ]);
  const { stdout } = stack.process.output();
  const s3Endpoint = /^\s+S3\s+(http:\/\/127\.0\.0\.1:\d+)\s/m.exec(stdout)?.[1] ?? '';
  const exports = /^\s+export (AWS_ACCESS_KEY_ID=.*)$/m.exec(stdout)?.[1] ?? '';
  printed = {
    s3Endpoint,
    env: Object.fromEntries(
      exports.split(' ').map((assignment) => assignment.split('=', 2) as [string, string]),
    ),
  };
  expect(stdout).toContain(
    `inbox rule        s3://product-live-inbox/imports/* launches job ${jobId} (input.file)`,
  );
  expect(printed.s3Endpoint).toBe(stack.state.endpoints.s3);
  expect(printed.env).toMatchObject({
    AWS_ACCESS_KEY_ID: stack.state.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: stack.state.credentials.secretAccessKey,
    AWS_DEFAULT_REGION: stack.state.region,
  });
  const connection = { region: stack.state.region, credentials: { ...stack.state.credentials } };
  s3 = new S3Client({ ...connection, endpoint: stack.state.endpoints.s3, ...LOCAL_S3_SETTINGS });
  sqs = new SQSClient({ ...connection, endpoint: stack.state.endpoints.sqs });
}, 240_000);

afterAll(async () => {
  s3?.destroy();
  sqs?.destroy();
  const stopped = await stack?.stop();
  await emulator?.stop();
  await rm(dataDir, { recursive: true, force: true });
  // npm re-raises the Ctrl-C it forwarded; the stack below it stops everything and says so.
  expect(stopped?.stdout ?? 'Stopped.').toContain('Stopped.');
}, 120_000);

/** `npm run launch -- <args>` on the test's data directory; with its wall time. */
async function launch(args: string[]): Promise<ProcessResult & { ms: number }> {
  const started = Date.now();
  const result = await startProcess('npm', ['-s', 'run', 'launch', '--', ...args, '--data-dir', dataDir])
    .done;
  return { ...result, ms: Date.now() - started };
}

/** `npm run launch` of one file under the key `cli-prices-1`, waiting for its result as JSON. */
const launchPrices = (path: string, timeout: string) =>
  launch([
    '--job',
    jobId,
    '--file',
    `file=${path}`,
    '--idempotency-key',
    'cli-prices-1',
    '--wait',
    '--json',
    '--timeout',
    timeout,
  ]);

/** The executions of the job created since npm start started (the launched ones). */
const launched = (): JobExecution[] =>
  emulator
    .executions()
    .filter(
      (execution) =>
        execution.jobId === jobId && Date.parse(execution.createdAt) >= Date.parse(stack.state.startedAt),
    );

const fileIdOf = (execution: JobExecution | undefined) =>
  (execution?.input as { file?: { id?: string } } | undefined)?.file?.id;

async function objectBytes(bucket: string, key: string): Promise<Buffer> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(
    await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
}

async function inboxKeys(): Promise<string[]> {
  const listed = await s3.send(new ListObjectsCommand({ Bucket: 'product-live-inbox' }));
  return (listed.Contents ?? []).map((object) => object.Key ?? '');
}

interface WaitJson {
  outcome: string;
  executionId: string | null;
  status: string | null;
  durationMs: number | null;
  output: Record<string, unknown> | null;
  files: Array<{ path: string; s3Key: string; size: number | null; sha256: string | null }>;
  reason: string | null;
}

describe('npm start -- --inbox, npm run launch -- --file --wait --json, and a file dropped into the inbox', () => {
  const local = { name: 'prix été 2026.csv', bytes: Buffer.from('sku;prix\nA-1;9,90 €\nB-2;19,90 €\n') };
  let first: WaitJson;

  it('launches a local file and waits for its result: one JSON object, exit 0, the file the API got is the local file', async () => {
    const path = join(dataDir, local.name);
    await writeFile(path, local.bytes);

    const result = await launchPrices(path, '2m');

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    first = JSON.parse(result.stdout) as WaitJson;
    expect(Object.keys(first).sort()).toEqual([
      'durationMs',
      'executionId',
      'files',
      'outcome',
      'output',
      'reason',
      'status',
    ]);
    expect(first).toMatchObject({ outcome: 'completed', status: 'COMPLETED', reason: null });
    expect(first.durationMs).toBeGreaterThanOrEqual(RUN_TIME_MS - 100);
    // The upload: the file's name and bytes, exactly.
    const [execution] = launched();
    expect(launched()).toHaveLength(1);
    expect(first.executionId).toBe(execution?.id);
    const uploads = emulator.uploads();
    expect(uploads.map((upload) => [upload.fileName, upload.status])).toEqual([[local.name, 201]]);
    expect(fileIdOf(execution)).toBe(uploads[0]?.id);
    expect((await emulator.uploadBytes(uploads[0]?.id ?? '')).equals(local.bytes)).toBe(true);
    // The result names the input file (its copy in the files bucket is the local file) and the run's output.
    for (const file of first.files) {
      expect(Object.keys(file)).toEqual(expect.arrayContaining(['path', 's3Key', 'size', 'sha256']));
    }
    const input = first.files.find((file) => file.path === 'input.file');
    expect(input).toMatchObject({ size: local.bytes.length, sha256: sha256(local.bytes) });
    expect((await objectBytes(stack.state.bucket, input?.s3Key ?? '')).equals(local.bytes)).toBe(true);
    expect(first.output).toMatchObject({ inputs: [{ object: 'data_factory_file', id: uploads[0]?.id }] });
    expect(first.files.map((file) => file.path)).toContain('output.report');
    expect(first.files.every((file) => typeof file.sha256 === 'string')).toBe(true);
    // --wait answers soon after the run ends: the local follow pass re-reads open launches every 5 s.
    expect(result.ms).toBeLessThan(RUN_TIME_MS + 25_000);
  });

  it('reports the same execution for the same --idempotency-key, and uploads and creates nothing more', async () => {
    const uploadsBefore = emulator.uploads().length;
    const creates = () => emulator.requests.filter((request) => request.endpoint === 'create').length;
    const createsBefore = creates();

    const again = await launchPrices(join(dataDir, local.name), '1m');

    expect(again.code, again.stderr).toBe(0);
    const result = JSON.parse(again.stdout) as WaitJson;
    expect(result.executionId).toBe(first.executionId);
    expect(result.outcome).toBe('completed');
    // Once the launcher has taken the request (the queue is empty), nothing more happened: it was a duplicate,
    // not a dead letter (the DLQ is empty), and nothing was uploaded or created.
    await waitFor(async () => {
      const depth = await queueDepth(sqs, stack.state.queues.launchUrl);
      return depth.visible === 0 && depth.invisible === 0;
    }, 20_000);
    expect(await deadLetters()).toEqual([]);
    expect(emulator.uploads().length).toBe(uploadsBefore);
    expect(creates()).toBe(createsBefore);
    expect(launched()).toHaveLength(1);
    expect(await inboxKeys()).toEqual([`uploads/${sha256(local.bytes)}/${local.name}`]);
  });

  it('launches a file dropped into the inbox with the AWS CLI and the printed credentials, with its name and bytes', async () => {
    const dropped = { name: 'prix décembre+remise 2026.csv', bytes: Buffer.from('sku;prix\nC-3;4,50 €\n') };
    const path = join(dataDir, 'to-drop.csv');
    await writeFile(path, dropped.bytes);
    // A shell's environment: the printed line, and no AWS settings of this machine.
    const child = spawn(
      'aws',
      [
        '--endpoint-url',
        printed.s3Endpoint,
        's3',
        'cp',
        path,
        `s3://product-live-inbox/imports/${dropped.name}`,
      ],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: dataDir, ...printed.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const cli = await closed(child);
    expect(cli.code, cli.stderr).toBe(0);
    expect(await inboxKeys()).toContain(`imports/${dropped.name}`);

    // The poller notices it within a pass (2 s); the launcher uploads it and starts the job.
    await waitFor(() => launched().length === 2, 30_000);
    const execution = launched().find((candidate) => fileIdOf(candidate) !== fileIdOf(launched()[0]));
    const upload = emulator.uploads().find((candidate) => candidate.id === fileIdOf(execution));
    expect(upload?.fileName).toBe(dropped.name);
    expect((await emulator.uploadBytes(upload?.id ?? '')).equals(dropped.bytes)).toBe(true);
    // The poller remembers what it announced (a restart announces nothing twice).
    expect(await readFile(join(dataDir, 'inbox-seen.json'), 'utf8')).toContain(`imports/${dropped.name}`);
    // Nothing else launched: the files `npm run launch` put under uploads/ never launch by themselves.
    // (one object: a file's key under uploads/ is its SHA-256, so the repeated request was the same request).
    expect((await inboxKeys()).filter((key) => key.startsWith('uploads/'))).toEqual([
      `uploads/${sha256(local.bytes)}/${local.name}`,
    ]);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(launched()).toHaveLength(2);
    expect(await deadLetters()).toEqual([]);
  });

  it.each([
    ['no KEY=', (dir: string) => join(dir, 'to-drop.csv'), () => '--file: expected KEY=PATH'],
    ['an empty PATH', () => 'file=', () => '--file: expected KEY=PATH'],
    [
      'a KEY with a space',
      (dir: string) => `my file=${join(dir, 'to-drop.csv')}`,
      () => '--file: expected KEY=PATH',
    ],
    ['a directory', (dir: string) => `file=${dir}`, (dir: string) => `--file file: ${dir} is not a file`],
  ])(
    'refuses a bad --file (%s) with exit 2 and the usage, leaving nothing behind',
    async (_name, flag, message) => {
      const keysBefore = await inboxKeys();
      const uploadsBefore = emulator.uploads().length;
      const launchedBefore = launched().length;
      const result = await launch(['--job', jobId, '--file', flag(dataDir), '--wait', '--json']);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr.split('\n')[0]).toContain(`error: ${message(dataDir)}`);
      expect(result.stderr).toContain('usage: npm run launch');
      expect(result.stdout).toBe('');
      expect(await inboxKeys()).toEqual(keysBefore);
      const depth = await queueDepth(sqs, stack.state.queues.launchUrl);
      expect(depth).toMatchObject({ visible: 0, invisible: 0 });
      expect(emulator.uploads().length).toBe(uploadsBefore);
      expect(launched()).toHaveLength(launchedBefore);
    },
  );

  it('refuses a --file PATH that does not exist with exit 2, before anything is put in the inbox or sent', async () => {
    const keysBefore = await inboxKeys();
    const uploadsBefore = emulator.uploads().length;
    const result = await launch([
      '--job',
      jobId,
      '--file',
      `file=${join(dataDir, 'nope.csv')}`,
      '--wait',
      '--json',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(
      `error: --file file: ${join(dataDir, 'nope.csv')} does not exist`,
    );
    expect(result.stdout).toBe('');
    expect(await inboxKeys()).toEqual(keysBefore);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(emulator.uploads().length).toBe(uploadsBefore);
    expect(launched()).toHaveLength(2);
  });

  it('reports a refusal, not the earlier execution, when an --idempotency-key is reused for other bytes', async () => {
    const other = join(dataDir, 'prix automne 2026.csv');
    await writeFile(other, 'sku;prix\nC-3;4,50 €\n');

    const result = await launchPrices(other, '1m');

    // Its own decision: refused as a reused key (exit 1), never the first request's completed execution.
    expect(result.code, result.stdout).toBe(1);
    const refused = JSON.parse(result.stdout) as WaitJson;
    expect(refused).toMatchObject({ outcome: 'refused', executionId: null });
    expect(refused.reason).toMatch(/idempotencyKey was already used for a different request/);
    // One letter in the DLQ (its depth: a receive with visibility 0 may list one message more than once).
    expect((await queueDepth(sqs, stack.state.queues.dlqUrl)).visible).toBe(1);
    const letters = [...new Set(await deadLetters())];
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatch(/^idempotency-key-reused: idempotencyKey was already used/);
    expect(launched()).toHaveLength(2);
    // The first request's answer is unchanged: the same key and bytes still report its execution.
    const again = await launchPrices(join(dataDir, local.name), '1m');
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as WaitJson).executionId).toBe(first.executionId);
  });
});

/** The letters in the stack's DLQ (read with visibility 0: left for the next look). */
async function deadLetters(): Promise<string[]> {
  const received = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: stack.state.queues.dlqUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
      VisibilityTimeout: 0,
      MessageAttributeNames: ['All'],
    }),
  );
  return (received.Messages ?? []).map(
    (message) =>
      `${message.MessageAttributes?.FailureKind?.StringValue}: ${message.MessageAttributes?.FailureReason?.StringValue} (${message.MessageAttributes?.SourceMessageId?.StringValue}) ${message.Body}`,
  );
}
