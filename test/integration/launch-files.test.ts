// Issue 24's proof on real local services: the launch function with s3rver, the Product-Live emulator's Files API,
// DynamoDB Local and local SQS. What reaches the API is compared with the S3 objects byte for byte (the emulator
// keeps every upload: `uploads()`, `uploadBytes(id)`), every refusal is read back from the DLQ, and the inbox is
// fed by the local stack's own poller (and by events written the way S3 writes them).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ChangeMessageVisibilityCommand, type Message } from '@aws-sdk/client-sqs';
import { ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { InboxRule } from '#core/inbox-rules';
import type { JobExecution } from '#core/product-live/product-live.schema';
import { LaunchAttemptRepository } from '#functions/launch/launch-attempt-repository';
import type { LaunchAttemptStore } from '#functions/launch/launch-job';
import { LOCAL_S3_SETTINGS } from '#local/aws/local-aws-servers';
import type { EmulatorOptions } from '#local/emulator/index';
import { InboxPoller } from '#local/stack/inbox-poller';
import { badInput } from '../support/bad-input-catalogue';
import {
  closeLaunchHarnesses,
  createLaunchHarness,
  type Harness,
  lambdaContext,
  toSqsRecord,
} from '../support/launch-harness';

afterEach(closeLaunchHarnesses);

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'launch-files-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const MB100 = 104_857_600;

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

/** A harness with the inbox bucket and S3, and inbox rules that name its job. */
function filesHarness(
  options: { rules?: (jobId: string) => InboxRule[]; emulator?: EmulatorOptions } = {},
): Promise<Harness> {
  const { rules, emulator } = options;
  return createLaunchHarness({
    files: { ...(rules ? { rules: (job) => rules(job.id) } : {}), ...(emulator ? { emulator } : {}) },
  });
}

const inbox = (h: Harness) => h.store.inboxBucket as string;

async function put(
  h: Harness,
  key: string,
  body: Buffer | string,
  options: { bucket?: string; contentType?: string } = {},
): Promise<void> {
  await h.clients.s3.send(
    new PutObjectCommand({
      Bucket: options.bucket ?? inbox(h),
      Key: key,
      Body: body,
      ...(options.contentType ? { ContentType: options.contentType } : {}),
    }),
  );
}

/** Puts `size` bytes streamed from a generator (never held in memory); returns their SHA-256. */
async function putStreamed(h: Harness, key: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const block = randomBytes(1 << 20);
  async function* chunks() {
    for (let sent = 0, index = 0; sent < size; index += 1) {
      const chunk = Buffer.from(block.subarray(0, Math.min(block.length, size - sent)));
      // Every MiB differs: a reordered or repeated chunk changes the hash.
      if (chunk.length >= 4) chunk.writeUInt32BE(index, 0);
      sent += chunk.length;
      hash.update(chunk);
      yield chunk;
    }
  }
  await h.clients.s3.send(
    new PutObjectCommand({ Bucket: inbox(h), Key: key, Body: Readable.from(chunks()), ContentLength: size }),
  );
  return hash.digest('hex');
}

const ref = (bucket: string, key: string, extra: Record<string, unknown> = {}) => ({
  object: 's3_object',
  uri: `s3://${bucket}/${key}`,
  ...extra,
});

/** Every S3 command the launcher sends through this client (`HeadObject inbox/key`, ...). */
function recordingS3(h: Harness): { s3: S3Client; calls: string[] } {
  const calls: string[] = [];
  const { credentials, env } = h.clients;
  const s3 = new S3Client({
    region: 'us-east-1',
    credentials,
    endpoint: env.AWS_ENDPOINT_URL_S3,
    ...LOCAL_S3_SETTINGS,
  });
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Bucket?: string; Key?: string };
      calls.push(`${String(context.commandName).replace(/Command$/, '')} ${input.Bucket}/${input.Key}`);
      return next(args);
    },
    { step: 'initialize', name: 'recordS3Calls' },
  );
  return { s3, calls };
}

/** The data_factory_file at `path` of an execution's input. */
function fileAt(execution: JobExecution | undefined, path: ReadonlyArray<string | number>) {
  let value: unknown = execution?.input;
  for (const part of path) value = (value as Record<string | number, unknown> | undefined)?.[part];
  return value as { object: string; id: string; url: string } | undefined;
}

/** The upload the emulator stored with that id, and its bytes. */
async function uploaded(h: Harness, id: string | undefined) {
  const upload = h.emulator.uploads().find((candidate) => candidate.id === id);
  expect(upload, `no upload ${id}`).toBeDefined();
  return { ...upload, bytes: await h.emulator.uploadBytes(id ?? '') };
}

const storedUploads = (h: Harness) => h.emulator.uploads().filter((upload) => upload.status === 201);

/** The DLQ's letters by the id of the message they came from. */
async function lettersBySource(h: Harness): Promise<Map<string, Message>> {
  return new Map(
    (await h.deadLetters()).map((letter) => [
      letter.MessageAttributes?.SourceMessageId?.StringValue ?? '',
      letter,
    ]),
  );
}

const attribute = (letter: Message | undefined, name: string) =>
  letter?.MessageAttributes?.[name]?.StringValue;

describe('launch with files: what reaches Product-Live', () => {
  it('uploads references at any depth, several in one request, the bytes and names kept, then creates once', async () => {
    const h = await filesHarness();
    // A second bucket the launcher may read in part (launchInputBuckets: `<bucket>/erp/`).
    const exports = `launch-exports-${randomBytes(4).toString('hex')}`;
    await h.clients.s3.send(new CreateBucketCommand({ Bucket: exports }));
    const handler = h.createHandler({
      config: { ...h.config, readable: [...h.config.readable, { bucket: exports, prefix: 'erp/' }] },
    });
    const objects = {
      prices: { key: 'uploads/t1/prix décembre 2026 é.csv', bytes: Buffer.from('sku;prix\nA-1;9,90 €\n') },
      notes: { key: 'uploads/t1/notes.pdf', bytes: randomBytes(200_000) },
      plus: { key: 'uploads/t1/deep/a+b  c.txt', bytes: Buffer.from('plus and two spaces') },
      erp: { key: 'erp/exports/données 日本.json', bytes: Buffer.from('{"rows": []}') },
    };
    for (const { key, bytes } of [objects.prices, objects.notes, objects.plus]) await put(h, key, bytes);
    await put(h, objects.erp.key, objects.erp.bytes, { bucket: exports, contentType: 'application/json' });
    const input = {
      file: ref(inbox(h), objects.prices.key),
      options: {
        sheet: 'EU',
        attachments: [
          ref(inbox(h), objects.notes.key, { fileName: 'Notes décembre (v2).pdf' }),
          { nested: { deeper: [ref(inbox(h), objects.plus.key)] } },
        ],
      },
      erp: ref(exports, objects.erp.key),
      plain: { object: 'something_else', uri: 's3://not/a/reference' },
    };
    await h.send({ jobId: h.job.id, input, idempotencyKey: 'files-1' });

    expect(await h.drain({ handler })).toEqual(['launched']);

    expect(h.createRequests()).toBe(1);
    const [execution] = h.executionsOfJob();
    expect(h.executionsOfJob()).toHaveLength(1);
    const expected: Array<[ReadonlyArray<string | number>, Buffer, string]> = [
      [['file'], objects.prices.bytes, 'prix décembre 2026 é.csv'],
      [['options', 'attachments', 0], objects.notes.bytes, 'Notes décembre (v2).pdf'],
      [['options', 'attachments', 1, 'nested', 'deeper', 0], objects.plus.bytes, 'a+b  c.txt'],
      [['erp'], objects.erp.bytes, 'données 日本.json'],
    ];
    for (const [path, bytes, fileName] of expected) {
      const file = fileAt(execution, path);
      expect(file?.object, path.join('.')).toBe('data_factory_file');
      const upload = await uploaded(h, file?.id);
      expect(upload.fileName).toBe(fileName);
      expect(upload.size).toBe(bytes.length);
      expect(upload.sha256).toBe(sha256(bytes));
      expect(upload.bytes.equals(bytes), `${path.join('.')}: the bytes differ`).toBe(true);
      expect(file?.url).toBe(upload.url);
    }
    // The object's Content-Type goes with it.
    const erpId = fileAt(execution, ['erp'])?.id;
    expect(h.emulator.uploads().find((upload) => upload.id === erpId)?.contentType).toBe('application/json');
    // The rest of the input is sent as it was; nothing else was uploaded.
    expect(execution?.input).toMatchObject({ options: { sheet: 'EU' }, plain: input.plain });
    expect(h.emulator.uploads()).toHaveLength(4);
    // The execution is recorded at once, with the files in its stored input.
    const [stored] = await h.storedItems();
    expect(stored?.id).toBe(execution?.id);
    expect(JSON.parse(stored?.raw ?? '{}').input.file.id).toBe(fileAt(execution, ['file'])?.id);
    expect(await h.deadLetters()).toEqual([]);
  });

  it(badInput('sqs.file-over-100mb'), async () => {
    const h = await filesHarness();
    const { s3, calls } = recordingS3(h);
    const exactSha = await putStreamed(h, 'uploads/edge/exactly 100 MB.bin', MB100);
    await putStreamed(h, 'uploads/edge/one byte more.bin', MB100 + 1);
    await h.send({ jobId: h.job.id, input: { file: ref(inbox(h), 'uploads/edge/exactly 100 MB.bin') } });
    const over = await h.send({
      jobId: h.job.id,
      input: { file: ref(inbox(h), 'uploads/edge/one byte more.bin') },
    });

    expect((await h.drain({ handler: h.createHandler({ clients: { ...h.clients, s3 } }) })).sort()).toEqual([
      'dead-lettered',
      'launched',
    ]);

    // Exactly 104,857,600 bytes: uploaded whole, the same bytes (by SHA-256: the emulator hashes as it stores).
    const uploads = h.emulator.uploads();
    expect(uploads.map(({ size, sha256: hash, status }) => ({ size, hash, status }))).toEqual([
      { size: MB100, hash: exactSha, status: 201 },
    ]);
    const [execution] = h.executionsOfJob();
    expect(fileAt(execution, ['file'])?.id).toBe(uploads[0]?.id);
    // One byte more: refused after HeadObject, before any upload and any create.
    const letters = await lettersBySource(h);
    expect([...letters.keys()]).toEqual([over]);
    expect(attribute(letters.get(over), 'FailureKind')).toBe('file-refused');
    expect(attribute(letters.get(over), 'FailureReason')).toBe(
      `s3://${inbox(h)}/uploads/edge/one byte more.bin is 104,857,601 bytes, over Product-Live's 100 MB (104,857,600 bytes)`,
    );
    expect(h.createRequests()).toBe(1);
    expect(calls.filter((call) => call.includes('one byte more'))).toEqual([
      `HeadObject ${inbox(h)}/uploads/edge/one byte more.bin`,
    ]);
  }, 300_000);

  it(badInput('api.file-413'), async () => {
    const h = await filesHarness({ emulator: { maxUploadBytes: 1_000 } });
    await put(h, 'uploads/413/fits.csv', Buffer.alloc(1_000, 'a'));
    await put(h, 'uploads/413/too big.csv', Buffer.alloc(1_001, 'b'));
    await h.send({ jobId: h.job.id, input: { file: ref(inbox(h), 'uploads/413/fits.csv') } });
    const refused = await h.send({
      jobId: h.job.id,
      input: { file: ref(inbox(h), 'uploads/413/too big.csv') },
      idempotencyKey: 'big-1',
    });

    expect((await h.drain()).sort()).toEqual(['dead-lettered', 'launched']);

    const letter = (await lettersBySource(h)).get(refused);
    expect(attribute(letter, 'FailureKind')).toBe('rejected-by-api');
    expect(attribute(letter, 'FailureReason')).toMatch(
      /^Product-Live refused the file as too large \(HTTP 413: .+\)$/,
    );
    // Asked once (a 413 is not retried), stored never; the job was not created for it.
    expect(h.emulator.requests.filter((request) => request.status === 413)).toHaveLength(1);
    expect(storedUploads(h).map((upload) => upload.size)).toEqual([1_000]);
    expect(h.createRequests()).toBe(1);
    // Redelivered (the same key): refused again, never launched.
    await h.send({
      jobId: h.job.id,
      input: { file: ref(inbox(h), 'uploads/413/too big.csv') },
      idempotencyKey: 'big-1',
    });
    expect(await h.drain()).toEqual(['dead-lettered']);
    expect(h.createRequests()).toBe(1);
  });

  it(badInput('sqs.file-content-type'), async () => {
    const h = await filesHarness();
    await put(h, 'uploads/ct/prices.csv', 'sku;price', { contentType: 'csv' });
    await h.send({ jobId: h.job.id, input: { file: ref(inbox(h), 'uploads/ct/prices.csv') } });

    expect(await h.drain()).toEqual(['launched']);
    expect(storedUploads(h).map((upload) => upload.contentType)).toEqual(['application/octet-stream']);
  });
});

describe('launch with files: refusals, each with its reason, nothing read, uploaded or launched', () => {
  /** Sends one request, drains, and returns its dead letter and the S3 calls the launcher made. */
  async function refusal(h: Harness, input: Record<string, unknown>) {
    const { s3, calls } = recordingS3(h);
    const handler = h.createHandler({ clients: { ...h.clients, s3 } });
    const body = { jobId: h.job.id, input, idempotencyKey: `refused-${randomBytes(3).toString('hex')}` };
    const messageId = await h.send(body);
    expect(await h.drain({ handler })).toEqual(['dead-lettered']);
    const letters = await lettersBySource(h);
    expect([...letters.keys()]).toEqual([messageId]);
    expect(h.emulator.uploads()).toEqual([]);
    expect(h.createRequests()).toBe(0);
    const letter = letters.get(messageId);
    // The original body, unchanged: fixed, it can be redriven as it is.
    expect(JSON.parse(letter?.Body ?? '')).toEqual(body);
    return { kind: attribute(letter, 'FailureKind'), reason: attribute(letter, 'FailureReason'), calls };
  }

  it(badInput('sqs.file-bucket-not-allowed'), async () => {
    const h = await filesHarness();
    // The files bucket exists and holds the object: the launcher may not read it, and does not try.
    await put(h, 'x.csv', 'secret', { bucket: h.store.filesBucket });
    const result = await refusal(h, { file: ref(h.store.filesBucket, 'x.csv') });
    expect(result).toMatchObject({
      kind: 'invalid-message',
      reason: `invalid file reference: input.file: s3://${h.store.filesBucket}/x.csv is not in a place the launch function may read (allowed: s3://${inbox(h)}/)`,
      calls: [],
    });
  });

  it(badInput('sqs.file-bad-uri'), async () => {
    const h = await filesHarness();
    const result = await refusal(h, {
      a: ref(inbox(h), 'ok.csv'),
      files: [{ object: 's3_object', uri: `https://${inbox(h)}.s3.amazonaws.com/x.csv` }],
    });
    expect(result.kind).toBe('invalid-message');
    expect(result.reason).toBe(
      `invalid file reference: input.files[0]: uri must be s3://bucket/key, got "https://${inbox(h)}.s3.amazonaws.com/x.csv"`,
    );
    // A request with one bad reference reads none of its references.
    expect(result.calls).toEqual([]);
  });

  it(badInput('sqs.file-empty-key'), async () => {
    const h = await filesHarness();
    const result = await refusal(h, { file: { object: 's3_object', uri: `s3://${inbox(h)}/` } });
    expect(result).toMatchObject({
      kind: 'invalid-message',
      reason: `invalid file reference: input.file: uri has an empty key: "s3://${inbox(h)}/"`,
      calls: [],
    });
  });

  it(badInput('sqs.file-missing'), async () => {
    const h = await filesHarness();
    await put(h, 'uploads/m/present.csv', 'here');
    const result = await refusal(h, {
      a: ref(inbox(h), 'uploads/m/present.csv'),
      b: ref(inbox(h), 'uploads/m/missing.csv'),
    });
    expect(result.kind).toBe('file-refused');
    expect(result.reason).toBe(`s3://${inbox(h)}/uploads/m/missing.csv does not exist`);
    // Every object is checked (HeadObject, in input order) before the first is read or uploaded.
    expect(result.calls).toEqual([
      `HeadObject ${inbox(h)}/uploads/m/present.csv`,
      `HeadObject ${inbox(h)}/uploads/m/missing.csv`,
    ]);
  });

  it(badInput('sqs.file-bad-version'), async () => {
    const h = await filesHarness();
    await put(h, 'uploads/v/prices.csv', 'current bytes');
    const empty = await refusal(h, { file: ref(inbox(h), 'uploads/v/prices.csv', { versionId: '' }) });
    expect(empty).toMatchObject({
      kind: 'invalid-message',
      reason: 'invalid file reference: input.file: versionId: versionId must not be empty',
      calls: [],
    });
    // (the first letter was read: it stays invisible for the rest of the test)
    const unknown = await refusal(h, {
      file: ref(inbox(h), 'uploads/v/prices.csv', { versionId: 'no-such-version' }),
    });
    expect(unknown.kind).toBe('file-refused');
    expect(unknown.reason).toBe(
      `s3://${inbox(h)}/uploads/v/prices.csv (version no-such-version) does not exist`,
    );
    expect(unknown.calls).toEqual([`HeadObject ${inbox(h)}/uploads/v/prices.csv`]);
  });
});

describe('launch with files: exactly once across uploads', () => {
  /** What Lambda's timeout leaves behind for an invocation that died: its in-progress records expire. */
  async function expireInProgress(h: Harness): Promise<void> {
    const scan = await h.clients.doc.send(
      new ScanCommand({
        TableName: h.store.idempotencyTable,
        FilterExpression: '#status = :inProgress',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':inProgress': 'INPROGRESS' },
      }),
    );
    expect(scan.Items).toHaveLength(1);
    for (const item of scan.Items ?? []) {
      await h.clients.doc.send(
        new UpdateCommand({
          TableName: h.store.idempotencyTable,
          Key: { id: item.id },
          UpdateExpression: 'SET in_progress_expiration = :past',
          ExpressionAttributeValues: { ':past': Date.now() - 1 },
        }),
      );
    }
  }

  it('a crash between the recorded upload and the create: the redelivery reuses the file (one upload, one execution)', async () => {
    const h = await filesHarness();
    const bytes = randomBytes(50_000);
    await put(h, 'uploads/crash/prices.csv', bytes);
    const attempts = new LaunchAttemptRepository(h.clients.doc, h.store.idempotencyTable, {
      ttlSeconds: h.config.idempotencyTtlSeconds,
    });
    let crash: () => void = () => undefined;
    const crashed = new Promise<void>((resolve) => {
      crash = resolve;
    });
    // The upload's answer is recorded; then the process dies (the call never returns, nothing is created).
    const dying: LaunchAttemptStore = {
      recordAttempt: (...args) => attempts.recordAttempt(...args),
      settleAttempt: (...args) => attempts.settleAttempt(...args),
      findClaims: (...args) => attempts.findClaims(...args),
      claimExecution: (...args) => attempts.claimExecution(...args),
      recordOutcome: (...args) => attempts.recordOutcome(...args),
      recordUpload: async (...args) => {
        await attempts.recordUpload(...args);
        crash();
        return new Promise<void>(() => undefined);
      },
    };
    await h.send({ jobId: h.job.id, input: { file: ref(inbox(h), 'uploads/crash/prices.csv') } });
    const [message] = await h.receive();
    void h.createHandler({ overrides: { attempts: dying } })(
      { Records: [toSqsRecord(message as Message, h.queueArn)] },
      lambdaContext(40_000),
    );
    await crashed;
    expect(storedUploads(h)).toHaveLength(1);
    expect(h.createRequests()).toBe(0);

    await expireInProgress(h);
    await makeVisible(h, message as Message);
    expect(await h.drain()).toEqual(['launched']);

    expect(storedUploads(h)).toHaveLength(1);
    expect(h.createRequests()).toBe(1);
    const [execution] = h.executionsOfJob();
    expect(fileAt(execution, ['file'])?.id).toBe(storedUploads(h)[0]?.id);
    expect((await uploaded(h, storedUploads(h)[0]?.id)).bytes.equals(bytes)).toBe(true);
  });

  it('a create that times out, then one answered 500 after creating: the retries reuse the file (one upload, one execution)', async () => {
    const h = await filesHarness();
    await put(h, 'uploads/timeout/a.csv', 'a');
    await put(h, 'uploads/timeout/b.csv', 'b');
    // No in-process retry (each failure is a redelivery) and a short client timeout.
    const handler = h.createHandler({ api: { maxAttempts: 1, requestsPerMinute: 1_000, timeoutMs: 1_000 } });
    h.emulator.failNext('timeout', { count: 1, endpoint: 'create' });
    h.emulator.failNext('commit-then-500', { count: 1, endpoint: 'create' });
    await h.send({
      jobId: h.job.id,
      input: { a: ref(inbox(h), 'uploads/timeout/a.csv'), b: ref(inbox(h), 'uploads/timeout/b.csv') },
      idempotencyKey: 'timeout-1',
    });

    // 1: uploads both, the create hangs (not created); 2: reuses both, created then 500; 3: adopts it.
    expect(await h.drain({ handler })).toEqual(['retry', 'retry', 'adopted']);

    expect(storedUploads(h)).toHaveLength(2);
    expect(h.executionsOfJob()).toHaveLength(1);
    const [execution] = h.executionsOfJob();
    expect([fileAt(execution, ['a'])?.id, fileAt(execution, ['b'])?.id].sort()).toEqual(
      storedUploads(h)
        .map((upload) => upload.id)
        .sort(),
    );
    expect(await h.deadLetters()).toEqual([]);
  });

  it('ambiguous uploads (stored, then 500) together with ambiguous creates: one execution per key, each with its own bytes', async () => {
    const h = await filesHarness();
    const orders = Array.from({ length: 6 }, (_, index) => `order-${index}`);
    const bytes = new Map(orders.map((order) => [order, randomBytes(10_000 + orders.indexOf(order))]));
    for (const order of orders) {
      await put(h, `uploads/ambiguous/${order}.csv`, bytes.get(order) as Buffer);
      await put(h, `uploads/ambiguous/${order}-notes.txt`, `notes of ${order}`);
    }
    const handler = h.createHandler({ api: { maxAttempts: 2, requestsPerMinute: 1_000 } });
    h.emulator.failNext('store-then-500', { count: 3, endpoint: 'upload' });
    h.emulator.failNext('commit-then-500', { count: 2, endpoint: 'create' });
    h.emulator.setFaults({
      rate: 0.4,
      seed: 24,
      kinds: ['store-then-500', 'commit-then-500', '500', '429'],
      endpoints: ['upload', 'create', 'find'],
    });
    for (const [index, order] of orders.entries()) {
      await h.send({
        jobId: h.job.id,
        input: {
          orderId: order,
          file: ref(inbox(h), `uploads/ambiguous/${order}.csv`),
          extra: [ref(inbox(h), `uploads/ambiguous/${order}-notes.txt`)],
        },
        // Keyed and unkeyed (the message id is the key) requests alike.
        ...(index % 2 === 0 ? { idempotencyKey: order } : {}),
      });
    }

    const outcomes = await h.drain({
      handler,
      maxRounds: 40,
      beforeRound: (round) => {
        if (round === 6) h.emulator.setFaults(undefined);
      },
    });

    const faults = h.emulator.requests.map((request) => request.fault).filter(Boolean);
    expect(faults).toEqual(expect.arrayContaining(['store-then-500', 'commit-then-500']));
    expect(outcomes.filter((outcome) => outcome === 'launched' || outcome === 'adopted')).toHaveLength(6);
    expect(outcomes).toContain('adopted');
    const executions = h.executionsOfJob();
    expect(executions.map((execution) => (execution.input as { orderId: string }).orderId).sort()).toEqual(
      orders,
    );
    // Each execution names two stored uploads with its own objects' bytes; every stored upload is named
    // exactly once: a file was uploaded again only when its answer was lost (an orphan, answered 500).
    const named: string[] = [];
    for (const execution of executions) {
      const order = (execution.input as { orderId: string }).orderId;
      const file = await uploaded(h, fileAt(execution, ['file'])?.id);
      const notes = await uploaded(h, fileAt(execution, ['extra', 0])?.id);
      expect(file.bytes.equals(bytes.get(order) as Buffer), order).toBe(true);
      expect(notes.bytes.toString()).toBe(`notes of ${order}`);
      expect([file.status, notes.status]).toEqual([201, 201]);
      named.push(file.id as string, notes.id as string);
    }
    expect(named.sort()).toEqual(
      storedUploads(h)
        .map((upload) => upload.id)
        .sort(),
    );
    const orphans = h.emulator.uploads().filter((upload) => upload.status === 500);
    expect(orphans.length).toBe(faults.filter((fault) => fault === 'store-then-500').length);
    expect(await h.deadLetters()).toEqual([]);
  });

  it('a duplicate request uploads nothing and creates nothing', async () => {
    const h = await filesHarness();
    await put(h, 'uploads/dup/prices.csv', 'sku;price');
    const body = {
      jobId: h.job.id,
      input: { file: ref(inbox(h), 'uploads/dup/prices.csv') },
      idempotencyKey: 'dup-1',
    };
    await h.send(body);
    expect(await h.drain()).toEqual(['launched']);
    const requestsBefore = h.emulator.requests.length;

    // The producer sends it again, twice (one batch), and the object has changed since: still the first launch.
    await put(h, 'uploads/dup/prices.csv', 'sku;price;changed');
    const { s3, calls } = recordingS3(h);
    await h.send(body);
    await h.send(body);
    expect(await h.drain({ handler: h.createHandler({ clients: { ...h.clients, s3 } }) })).toEqual([
      'duplicate',
      'duplicate',
    ]);

    expect(calls).toEqual([]);
    expect(h.emulator.requests.length).toBe(requestsBefore);
    expect(h.emulator.uploads()).toHaveLength(1);
    expect(h.executionsOfJob()).toHaveLength(1);
  });
});

async function makeVisible(h: Harness, message: Message): Promise<void> {
  await h.clients.sqs.send(
    new ChangeMessageVisibilityCommand({
      QueueUrl: h.queueUrl,
      ReceiptHandle: message.ReceiptHandle,
      VisibilityTimeout: 0,
    }),
  );
}

describe('the inbox', () => {
  const rules = (jobId: string): InboxRule[] => [
    { prefix: 'imports/', jobId },
    { prefix: 'imports/erp/', jobId, inputKey: 'source', input: { mode: 'full' } },
  ];

  /** The local stack's poller on the harness's inbox and queue, with its own seen file. */
  function poller(h: Harness, seenFile = join(scratch, `seen-${randomBytes(4).toString('hex')}.json`)) {
    return new InboxPoller({
      s3: h.clients.s3,
      sqs: h.clients.sqs,
      bucket: inbox(h),
      queueUrl: h.queueUrl,
      region: 'us-east-1',
      accountId: '123456789012',
      seenFile,
    });
  }

  /** An "Object Created" event as S3 sends it through EventBridge, its key as given (already encoded). */
  function objectCreated(bucket: string, encodedKey: string, object: Record<string, unknown> = {}) {
    return {
      version: '0',
      id: crypto.randomUUID(),
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: '123456789012',
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: [`arn:aws:s3:::${bucket}`],
      detail: {
        version: '0',
        bucket: { name: bucket },
        object: {
          key: encodedKey,
          size: 1,
          etag: 'b1946ac92492d2347c6235b4d2611184',
          sequencer: '617F08299329D189',
          ...object,
        },
        'request-id': 'N4N7GDK58NMKJ12R',
        requester: '123456789012',
        reason: 'PutObject',
      },
    };
  }

  /** The launched executions with the upload their input file (`file`, or `source` of the erp rule) names. */
  async function launchedFiles(h: Harness) {
    return Promise.all(
      h.executionsOfJob().map(async (execution) => {
        const file = await uploaded(h, (fileAt(execution, ['file']) ?? fileAt(execution, ['source']))?.id);
        return { execution, fileName: file.fileName, bytes: file.bytes };
      }),
    );
  }

  it('launches objects whose keys hold unicode, spaces and "+", end to end through the local poller', async () => {
    const h = await filesHarness({ rules });
    const objects = {
      'imports/prix décembre 2026.csv': Buffer.from('décembre'),
      'imports/a+b c.csv': Buffer.from('plus and space'),
      'imports/100% sûr?#&=.csv': Buffer.from('reserved characters'),
      'imports/erp/données (v2)+final.json': Buffer.from('{"erp": true}'),
    };
    for (const [key, bytes] of Object.entries(objects)) await put(h, key, bytes);

    expect(await poller(h).poll()).toBe(4);
    expect(await h.drain()).toEqual(['launched', 'launched', 'launched', 'launched']);

    const byName = new Map((await launchedFiles(h)).map((entry) => [entry.fileName, entry]));
    for (const [key, bytes] of Object.entries(objects)) {
      const launched = byName.get(key.slice(key.lastIndexOf('/') + 1));
      expect(launched?.bytes.equals(bytes), key).toBe(true);
    }
    // The longest prefix wins, with its input key and static input.
    const erp = byName.get('données (v2)+final.json')?.execution;
    expect(erp?.input).toMatchObject({ mode: 'full', source: { object: 'data_factory_file' } });
    expect(await h.deadLetters()).toEqual([]);
  });

  it('decodes keys exactly as S3 encodes them in its events (+ for a space, %2B for +, %C3%A9 for é)', async () => {
    const h = await filesHarness({ rules });
    const key = 'imports/café crème+sucre (1).csv';
    await put(h, key, 'café');
    // S3's form encoding, written out by hand (not by this project's encoder).
    const encoded = 'imports/caf%C3%A9+cr%C3%A8me%2Bsucre+%281%29.csv';
    await h.send(objectCreated(inbox(h), encoded));

    expect(await h.drain()).toEqual(['launched']);
    const [launched] = await launchedFiles(h);
    expect(launched?.fileName).toBe('café crème+sucre (1).csv');
    expect(launched?.bytes.toString()).toBe('café');
  });

  it('launches an object written twice once per version, and duplicate notifications once', async () => {
    const h = await filesHarness({ rules });
    const seenFile = join(scratch, 'seen-twice.json');
    await put(h, 'imports/stock.csv', 'version 1');
    expect(await poller(h, seenFile).poll()).toBe(1);
    expect(await h.drain()).toEqual(['launched']);
    // Nothing new: a second pass announces nothing.
    expect(await poller(h, seenFile).poll()).toBe(0);

    // s3rver keeps no versions (the deployed inbox does): a rewrite is told apart by its ETag and time.
    await put(h, 'imports/stock.csv', 'version 2');
    expect(await poller(h, seenFile).poll()).toBe(1);
    expect(await h.drain()).toEqual(['launched']);

    // The same notification delivered again (a poller that lost its memory, EventBridge or SQS redelivering).
    expect(await poller(h).poll()).toBe(1);
    const [sent] = await h.receive();
    await makeVisible(h, sent as Message);
    await h.send(sent?.Body ?? '');
    expect(await h.drain()).toEqual(['duplicate', 'duplicate']);

    const launched = await launchedFiles(h);
    expect(launched.map((entry) => entry.bytes.toString()).sort()).toEqual(['version 1', 'version 2']);
    expect(storedUploads(h)).toHaveLength(2);
    expect(h.createRequests()).toBe(2);
  });

  it(badInput('sqs.inbox-no-rule'), async () => {
    const h = await filesHarness({ rules });
    const { s3, calls } = recordingS3(h);
    const handler = h.createHandler({ clients: { ...h.clients, s3 } });
    await put(h, 'exports/prices.csv', 'no rule');
    await put(h, 'imports', 'the prefix without its slash');
    await put(h, 'uploads/1234/prices.csv', 'launched by message only');

    // The local poller never announces uploads/; S3 in AWS announces every object of the bucket.
    expect(await poller(h).poll()).toBe(2);
    await h.send(objectCreated(inbox(h), 'uploads/1234/prices.csv'));
    await h.send(objectCreated('another-bucket', 'imports/prices.csv'));

    expect(await h.drain({ handler })).toEqual(['ignored', 'ignored', 'ignored', 'ignored']);

    const reasons = vi
      .mocked(h.logger.info)
      .mock.calls.filter(([message]) => message === 'launch ignored')
      .map(([, attributes]) => (attributes as { reason: string }).reason)
      .sort();
    expect(reasons).toEqual([
      `an object of bucket another-bucket, which is not the inbox`,
      `no inbox rule claims s3://${inbox(h)}/exports/prices.csv`,
      `no inbox rule claims s3://${inbox(h)}/imports`,
      `s3://${inbox(h)}/uploads/1234/prices.csv is under uploads/, which launches by message only`,
    ]);
    expect(vi.mocked(h.logger.error)).not.toHaveBeenCalled();
    expect(await h.deadLetters()).toEqual([]);
    expect(await h.queueCounts()).toEqual({ visible: 0, invisible: 0 });
    expect(calls).toEqual([]);
    expect(h.emulator.requests).toEqual([]);
  });
});
