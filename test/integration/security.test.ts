// The API key never leaves the places it must be: it is sent to Product-Live (and allowed file hosts) and
// nowhere else. Both handlers run against an API that echoes the key in error bodies; then everything they
// produced is searched for it: log output, summaries, errors, every DynamoDB item, S3 object metadata,
// DLQ messages.

import { createServer, type Server } from 'node:http';
import { inspect } from 'node:util';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEmulator, type Emulator } from '#local/emulator/index';
import { lambdaContext } from '#local/stack/local-stack';
import { createTestStore, type LocalAwsClients, localAwsClients, type TestStore } from '../support/local-aws';
import { listKeys } from '../support/sync-harness';

const KEY = 'pl-secret-5c1d9e7a2b';
let emulator: Emulator;
let proxy: Server;
let proxyUrl: string;
let clients: LocalAwsClients;
let store: TestStore;
let queueUrl: string;
let dlqUrl: string;
const savedEnv = { ...process.env };
let requestNumber = 0;
let rejectAll = false;
let requestsWithKey = 0;

beforeAll(async () => {
  // In front of the emulator: some answers echo the caller's key in their error body.
  proxy = createServer(async (request, response) => {
    requestNumber += 1;
    if (request.headers['x-api-key'] === KEY) requestsWithKey += 1;
    const echo = `{"message":"request refused for X-Api-Key ${String(request.headers['x-api-key'])}"}`;
    if (rejectAll && request.url?.startsWith('/v1/')) {
      response.writeHead(401, { 'content-type': 'application/json' }).end(echo);
      return;
    }
    if (request.url?.startsWith('/v1/') && requestNumber % 4 === 2) {
      response.writeHead(500, { 'content-type': 'application/json' }).end(echo);
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const upstream = await fetch(`${emulator.url}${request.url}`, {
      method: request.method,
      headers: Object.fromEntries(
        Object.entries(request.headers).filter(([name]) => ['x-api-key', 'content-type'].includes(name)),
      ) as Record<string, string>,
      ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
      redirect: 'manual',
    });
    response.writeHead(upstream.status, Object.fromEntries(upstream.headers.entries()));
    response.end(Buffer.from(await upstream.arrayBuffer()));
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = proxy.address();
  proxyUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  // The emulator's file URLs point at the proxy too: downloads go only to the API's own origin.
  emulator = createEmulator({
    apiKey: KEY,
    rateLimit: false,
    fileAuth: 'api-key',
    unknownFields: true,
    maxGeneratedFileBytes: 8 * 1024,
    demo: { seed: 41, executions: 40 },
    publicUrl: proxyUrl,
  });
  await emulator.start();
  clients = localAwsClients();
  store = await createTestStore(clients, 'security');
  dlqUrl =
    (await clients.sqs.send(new CreateQueueCommand({ QueueName: `security-dlq-${Date.now()}` }))).QueueUrl ??
    '';
  queueUrl =
    (await clients.sqs.send(new CreateQueueCommand({ QueueName: `security-${Date.now()}` }))).QueueUrl ?? '';
  Object.assign(process.env, clients.env, {
    PRODUCT_LIVE_API_URL: proxyUrl,
    PRODUCT_LIVE_API_KEY: KEY,
    EXECUTIONS_TABLE_NAME: store.executionsTable,
    STATE_TABLE_NAME: store.stateTable,
    FILES_BUCKET_NAME: store.filesBucket,
    IDEMPOTENCY_TABLE_NAME: store.idempotencyTable,
    LAUNCH_QUEUE_URL: queueUrl,
    LAUNCH_DLQ_URL: dlqUrl,
    LAUNCH_REQUESTS_PER_MINUTE: '1000',
    SYNC_REQUESTS_PER_MINUTE: '1000',
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
    POWERTOOLS_METRICS_NAMESPACE: 'ProductLiveSync',
  });
});

afterAll(async () => {
  process.env = savedEnv;
  proxy?.close();
  await emulator?.stop();
});

describe('security: the API key stays secret', () => {
  it('appears in no log line, summary, error, DynamoDB item, S3 metadata or DLQ message', async () => {
    const captured: string[] = [];
    const capture = (chunk: unknown) => {
      captured.push(String(chunk));
      return true;
    };
    const spies = [
      vi.spyOn(process.stdout, 'write').mockImplementation(capture),
      vi.spyOn(process.stderr, 'write').mockImplementation(capture),
      ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((level) =>
        vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
          captured.push(args.map((arg) => inspect(arg, { depth: Number.POSITIVE_INFINITY })).join(' '));
        }),
      ),
    ];
    const results: unknown[] = [];
    try {
      vi.resetModules();
      const sync = await import('#functions/sync/handler');
      results.push(await sync.handler({}, lambdaContext('sync', 300_000)));
      rejectAll = true;
      results.push(await sync.handler({}, lambdaContext('sync', 300_000)));
      rejectAll = false;

      const launch = await import('#functions/launch/handler');
      const job = emulator.jobs().find((candidate) => candidate.pipelineId !== null);
      const bodies = [
        JSON.stringify({ jobId: job?.id, input: { order: 1 }, idempotencyKey: 'security-1' }),
        JSON.stringify({ jobId: 'f'.repeat(24), idempotencyKey: 'security-unknown-job' }),
      ];
      for (const body of bodies)
        await clients.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
      const received =
        (
          await clients.sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: queueUrl,
              MaxNumberOfMessages: 10,
              AttributeNames: ['All'],
            }),
          )
        ).Messages ?? [];
      const event: SQSEvent = {
        Records: received.map((message) => ({
          messageId: message.MessageId ?? '',
          receiptHandle: message.ReceiptHandle ?? '',
          body: message.Body ?? '',
          attributes: {
            ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? '1',
            SentTimestamp: '0',
            SenderId: 'x',
            ApproximateFirstReceiveTimestamp: '0',
          },
          messageAttributes: {},
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:security',
          awsRegion: 'us-east-1',
        })),
      };
      for (let attempt = 0; attempt < 5; attempt++) {
        const response = await launch.handler(event, lambdaContext('launch', 300_000));
        results.push(response);
        if (response.batchItemFailures.length === 0) break;
      }
    } catch (error) {
      results.push(inspect(error, { depth: Number.POSITIVE_INFINITY, showHidden: true }));
    } finally {
      for (const spy of spies) spy.mockRestore();
    }

    const logs = captured.join('\n');
    const outputs = inspect(results, { depth: Number.POSITIVE_INFINITY });
    const everything: Record<string, string> = { logs, results: outputs };
    for (const table of [store.executionsTable, store.stateTable, store.idempotencyTable]) {
      const items = (await clients.doc.send(new ScanCommand({ TableName: table }))).Items ?? [];
      everything[`table ${table}`] = JSON.stringify(items);
    }
    const keys = await listKeys({ clients, store } as never);
    const metadata = await Promise.all(
      keys.map(async (key) =>
        JSON.stringify(
          (await clients.s3.send(new HeadObjectCommand({ Bucket: store.filesBucket, Key: key }))).Metadata,
        ),
      ),
    );
    everything['S3 metadata'] = metadata.join('\n');
    const letters =
      (
        await clients.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: dlqUrl,
            MaxNumberOfMessages: 10,
            MessageAttributeNames: ['All'],
            AttributeNames: ['All'],
          }),
        )
      ).Messages ?? [];
    everything.DLQ = JSON.stringify(letters);

    // The search can find things: the run really happened, the key really travelled, and echoes were redacted.
    expect(keys.length).toBeGreaterThan(0);
    expect(letters).toHaveLength(1);
    expect(logs).toContain('sync summary');
    expect(logs + outputs).toContain('[REDACTED]');
    expect(outputs).toMatch(/ProductLiveAuthError/);
    expect(requestsWithKey).toBeGreaterThan(0);
    const leaks = Object.entries(everything)
      .filter(([, text]) => text.includes(KEY))
      .map(([where]) => where);
    expect(leaks).toEqual([]);
  });
});
