// The launch function against the Product-Live emulator, DynamoDB Local and local SQS. Messages travel
// through a real queue: the test plays the Lambda event source mapping (receive, invoke the handler with SQS
// event records built from the received messages, delete the handled ones) and plays time for the failed
// ones (their backoff visibility is checked, then cut short so that redelivery happens at once).
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type LaunchConfig, loadLaunchConfig } from '../../functions/core/config';
import type { JobExecution } from '../../functions/core/product-live/product-live.schema';
import { type ExecutionItem, ExecutionRepository } from '../../functions/core/store/execution-repository';
import { LaunchAttemptRepository } from '../../functions/launch/launch-attempt-repository';
import { createLaunchHandler, type LaunchHandlerOptions } from '../../functions/launch/launch-handler';
import type { LaunchAttemptStore } from '../../functions/launch/launch-job';
import { createEmulator, type Emulator, type EmulatorJob } from '../../local/emulator';
import { createTestStore, type LocalAwsClients, localAwsClients, type TestStore } from '../support/local-aws';

type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

interface Harness {
  emulator: Emulator;
  job: EmulatorJob;
  clients: LocalAwsClients;
  store: TestStore;
  queueUrl: string;
  queueArn: string;
  dlqUrl: string;
  /** The function's environment (local servers, tables, queues, emulator). */
  env: Record<string, string>;
  config: LaunchConfig;
  logger: Logger;
  /** A launch handler wired like the deployed one, with test overrides. */
  createHandler(overrides?: Partial<LaunchHandlerOptions>): Handler;
  send(body: string | object): Promise<string>;
  receive(): Promise<Message[]>;
  /** Plays the event source mapping until the queue is empty; returns the outcome of every message. */
  drain(options?: {
    handler?: Handler;
    maxRounds?: number;
    beforeRound?: (round: number) => void;
  }): Promise<string[]>;
  deadLetters(): Promise<Message[]>;
  executionsOfJob(): JobExecution[];
  createRequests(): number;
  storedItems(): Promise<ExecutionItem[]>;
  outcomes(): string[];
}

const harnesses: Harness[] = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  await Promise.all(harnesses.splice(0).map((harness) => harness.emulator.stop()));
});

function lambdaContext(remainingMs = 120_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'launch',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:launch',
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/launch',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The record Lambda's SQS event source builds from a received message. */
function toSqsRecord(message: Message, queueArn: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? '',
      SenderId: attributes.SenderId ?? '',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? '',
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: 'us-east-1',
  };
}

async function createHarness(): Promise<Harness> {
  const emulator = createEmulator({ rateLimit: false });
  await emulator.start();
  const job = emulator.addJob({ title: 'Import Products', kind: 'import' });
  const clients = localAwsClients();
  const store = await createTestStore(clients, 'launch');
  const { sqs } = clients;
  const suffix = randomUUID().slice(0, 8);
  const dlqUrl =
    (await sqs.send(new CreateQueueCommand({ QueueName: `launch-dlq-${suffix}` }))).QueueUrl ?? '';
  const dlqArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes?.QueueArn;
  const queueUrl =
    (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: `launch-${suffix}`,
          Attributes: {
            VisibilityTimeout: '30',
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 10 }),
          },
        }),
      )
    ).QueueUrl ?? '';
  const queueArn =
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] })))
      .Attributes?.QueueArn ?? '';
  const env: Record<string, string> = {
    ...clients.env,
    PRODUCT_LIVE_API_URL: emulator.url,
    PRODUCT_LIVE_API_KEY: emulator.apiKey,
    PRODUCT_LIVE_TIMEOUT_SECONDS: '5',
    EXECUTIONS_TABLE_NAME: store.executionsTable,
    IDEMPOTENCY_TABLE_NAME: store.idempotencyTable,
    LAUNCH_QUEUE_URL: queueUrl,
    LAUNCH_DLQ_URL: dlqUrl,
  };
  const config = loadLaunchConfig(env);
  const logger = new Logger({ serviceName: 'launch-test', logLevel: 'SILENT' });
  for (const level of ['info', 'warn', 'error'] as const) vi.spyOn(logger, level);
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');

  const createHandler = (overrides: Partial<LaunchHandlerOptions> = {}): Handler =>
    createLaunchHandler({
      config,
      dynamo: clients.dynamo,
      sqs,
      logger,
      metrics: new Metrics({ namespace: 'Test', serviceName: 'launch' }),
      ...overrides,
    });
  const defaultHandler = createHandler();

  const receive = async (): Promise<Message[]> =>
    (
      await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          // local-aws-sqs reads the legacy AttributeNames parameter.
          AttributeNames: ['All'],
        }),
      )
    ).Messages ?? [];

  const queueCounts = async () => {
    const attributes =
      (
        await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: queueUrl,
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
          }),
        )
      ).Attributes ?? {};
    return {
      visible: Number(attributes.ApproximateNumberOfMessages),
      invisible: Number(attributes.ApproximateNumberOfMessagesNotVisible),
    };
  };

  const harness: Harness = {
    emulator,
    job,
    clients,
    store,
    queueUrl,
    queueArn,
    dlqUrl,
    env,
    config,
    logger,
    createHandler,
    async send(body) {
      const sent = await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: typeof body === 'string' ? body : JSON.stringify(body),
        }),
      );
      return sent.MessageId ?? '';
    },
    receive,
    async drain(options = {}) {
      const handler = options.handler ?? defaultHandler;
      const before = harness.outcomes().length;
      for (let round = 1; round <= (options.maxRounds ?? 20); round++) {
        options.beforeRound?.(round);
        const messages = await receive();
        if (messages.length === 0) {
          // local-aws-sqs counts in-flight messages in ApproximateNumberOfMessages too: 0 means none at all.
          expect(await queueCounts()).toEqual({ visible: 0, invisible: 0 });
          return harness.outcomes().slice(before);
        }
        const response = await handler(
          { Records: messages.map((message) => toSqsRecord(message, queueArn)) },
          lambdaContext(),
        );
        const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
        for (const message of messages) {
          if (!failed.has(message.MessageId ?? '')) {
            await sqs.send(
              new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
            );
          }
        }
        if (failed.size > 0) {
          // The handler backed the failed messages off: none is visible yet (every message of these tests fits
          // one batch, so a receive now would return only failed ones). Then the backoff "elapses".
          expect(await receive()).toEqual([]);
          for (const message of messages.filter((candidate) => failed.has(candidate.MessageId ?? ''))) {
            await sqs.send(
              new ChangeMessageVisibilityCommand({
                QueueUrl: queueUrl,
                ReceiptHandle: message.ReceiptHandle,
                VisibilityTimeout: 0,
              }),
            );
          }
        }
      }
      throw new Error('the launch queue was not drained');
    },
    async deadLetters() {
      const letters: Message[] = [];
      for (;;) {
        const received =
          (
            await sqs.send(
              new ReceiveMessageCommand({
                QueueUrl: dlqUrl,
                MaxNumberOfMessages: 10,
                WaitTimeSeconds: 0,
                VisibilityTimeout: 300,
                MessageAttributeNames: ['All'],
                AttributeNames: ['All'],
              }),
            )
          ).Messages ?? [];
        if (received.length === 0) return letters;
        letters.push(...received);
      }
    },
    executionsOfJob: () => emulator.executions().filter((execution) => execution.jobId === job.id),
    createRequests: () =>
      emulator.requests.filter((request) => request.endpoint === 'create' && request.fault === undefined)
        .length,
    async storedItems() {
      const result = await clients.doc.send(new ScanCommand({ TableName: store.executionsTable }));
      return (result.Items ?? []) as ExecutionItem[];
    },
    outcomes: () =>
      [logger.info, logger.warn, logger.error]
        .flatMap((method) => vi.mocked(method).mock.calls)
        .map(([, attributes]) => (attributes as { outcome?: string } | undefined)?.outcome)
        .filter((outcome): outcome is string => outcome !== undefined),
  };
  harnesses.push(harness);
  return harness;
}

/** The job's executions by their `input.orderId`. */
function countByOrder(executions: JobExecution[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const execution of executions) {
    const orderId = String((execution.input as { orderId?: unknown }).orderId);
    counts.set(orderId, (counts.get(orderId) ?? 0) + 1);
  }
  return counts;
}

/** What Lambda's timeout leaves behind for an invocation that died: its in-progress records expire. */
async function expireInProgressRecords(harness: Harness): Promise<number> {
  const { doc } = harness.clients;
  const scan = await doc.send(
    new ScanCommand({
      TableName: harness.store.idempotencyTable,
      FilterExpression: '#status = :inProgress',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':inProgress': 'INPROGRESS' },
    }),
  );
  for (const item of scan.Items ?? []) {
    await doc.send(
      new UpdateCommand({
        TableName: harness.store.idempotencyTable,
        Key: { id: item.id },
        UpdateExpression: 'SET in_progress_expiration = :past',
        ExpressionAttributeValues: { ':past': Date.now() - 1 },
      }),
    );
  }
  return scan.Items?.length ?? 0;
}

describe('launch: exactly once', () => {
  it('starts 10 executions for 10 valid messages, and none when the same 10 are delivered again', async () => {
    const h = await createHarness();
    // The deployed wiring: the `handler` export, configured from the environment at cold start.
    for (const [name, value] of Object.entries({ ...h.env, POWERTOOLS_LOG_LEVEL: 'SILENT' }))
      vi.stubEnv(name, value);
    vi.resetModules();
    const { handler } = await import('../../functions/launch/handler');
    const bodies = Array.from({ length: 10 }, (_, index) => ({
      jobId: h.job.id,
      input: { orderId: `order-${index}` },
      ...(index < 8 ? { idempotencyKey: `order-${index}` } : {}),
    }));
    for (const body of bodies) await h.send(body);

    const messages = await h.receive();
    expect(messages).toHaveLength(10);
    const event: SQSEvent = { Records: messages.map((message) => toSqsRecord(message, h.queueArn)) };
    expect(await handler(event, lambdaContext())).toEqual({ batchItemFailures: [] });
    for (const message of messages) {
      await h.clients.sqs.send(
        new DeleteMessageCommand({ QueueUrl: h.queueUrl, ReceiptHandle: message.ReceiptHandle }),
      );
    }

    expect(h.createRequests()).toBe(10);
    const launched = h.executionsOfJob();
    expect(countByOrder(launched)).toEqual(new Map(bodies.map((body) => [body.input.orderId, 1])));
    // Each launch is recorded at once, before any sync.
    const stored = await h.storedItems();
    expect(stored.map((item) => item.id).sort()).toEqual(launched.map((execution) => execution.id).sort());
    expect(stored.every((item) => item.source === 'launch' && item.jobId === h.job.id)).toBe(true);

    // At-least-once delivery: the same 10 messages (same message ids) again.
    expect(await handler(event, lambdaContext())).toEqual({ batchItemFailures: [] });
    // A producer that retried its sends: the 8 keyed requests again, as new messages.
    for (const body of bodies.slice(0, 8)) await h.send(body);
    const resent = await h.receive();
    expect(resent).toHaveLength(8);
    expect(
      await handler({ Records: resent.map((message) => toSqsRecord(message, h.queueArn)) }, lambdaContext()),
    ).toEqual({ batchItemFailures: [] });

    expect(h.createRequests()).toBe(10);
    expect(h.executionsOfJob()).toHaveLength(10);
    expect(await h.deadLetters()).toEqual([]);
  });

  it('starts one execution for two messages with the same idempotencyKey', async () => {
    const h = await createHarness();
    const body = { jobId: h.job.id, input: { orderId: 'order-7' }, idempotencyKey: 'order-7' };
    await h.send(body);
    await h.send(body);

    expect((await h.drain()).sort()).toEqual(['duplicate', 'launched']);
    await h.send(body);
    expect(await h.drain()).toEqual(['duplicate']);

    expect(h.createRequests()).toBe(1);
    expect(h.executionsOfJob()).toHaveLength(1);
  });

  it('sends malformed JSON, a missing jobId and an unknown jobId to the DLQ exactly once with a readable reason, and launches the rest of their batch', async () => {
    const h = await createHarness();
    const unknownJobId = 'aaaaaaaaaaaaaaaaaaaaaaaa';
    const bad = {
      malformed: '{"jobId": "65819ba43ad5b963658ab35d", ',
      missingJobId: JSON.stringify({ input: { orderId: 'order-x' } }),
      unknownJobId: JSON.stringify({ jobId: unknownJobId, input: { orderId: 'order-y' } }),
    };
    const ids = {
      first: await h.send({ jobId: h.job.id, input: { orderId: 'order-1' } }),
      malformed: await h.send(bad.malformed),
      missingJobId: await h.send(bad.missingJobId),
      unknownJobId: await h.send(bad.unknownJobId),
      last: await h.send({ jobId: h.job.id, input: { orderId: 'order-2' } }),
    };

    const outcomes = await h.drain();

    // SQS does not keep the send order.
    expect(outcomes.sort()).toEqual([
      'dead-lettered',
      'dead-lettered',
      'dead-lettered',
      'launched',
      'launched',
    ]);
    expect(countByOrder(h.executionsOfJob())).toEqual(
      new Map([
        ['order-1', 1],
        ['order-2', 1],
      ]),
    );
    const letters = await h.deadLetters();
    expect(letters).toHaveLength(3);
    const bySource = new Map(
      letters.map((letter) => [letter.MessageAttributes?.SourceMessageId?.StringValue, letter]),
    );
    const expectations: Array<[keyof typeof bad, RegExp]> = [
      ['malformed', /^invalid message: body is not valid JSON \(.+\)$/],
      ['missingJobId', /^invalid message: jobId: is required$/],
      [
        'unknownJobId',
        new RegExp(`^unknown jobId ${unknownJobId}: Product-Live answered HTTP 404: .*not found`),
      ],
    ];
    for (const [which, reason] of expectations) {
      const letter = bySource.get(ids[which]);
      expect(letter?.Body).toBe(bad[which]);
      expect(letter?.MessageAttributes?.FailureReason?.StringValue).toMatch(reason);
      expect(Date.parse(letter?.MessageAttributes?.FailedAt?.StringValue ?? '')).not.toBeNaN();
    }
    // Nothing left to redeliver: each reached the DLQ once, and the source queue is empty.
    expect(await h.drain()).toEqual([]);
    expect(await h.deadLetters()).toEqual([]);
  });

  it('launches every message exactly once while the API answers 429 and 500 for a while', async () => {
    const h = await createHarness();
    // Every failure goes back to SQS (no in-process retry), so each one is a redelivery; a budget larger than
    // the default 10 requests/minute keeps the retries from waiting for a new minute.
    const handler = h.createHandler({ clientOptions: { maxAttempts: 1, requestsPerMinute: 1_000 } });
    h.emulator.failNext('commit-then-500', { count: 2, endpoint: 'create' });
    h.emulator.failNext('429', { count: 2, endpoint: 'create' });
    h.emulator.failNext('500', { count: 1, endpoint: 'find' });
    h.emulator.setFaults({
      rate: 0.4,
      seed: 11,
      kinds: ['429', '429-no-retry-after', '500', '503', 'commit-then-500'],
      endpoints: ['create', 'find'],
    });
    const orders = Array.from({ length: 10 }, (_, index) => `order-${index}`);
    for (const [index, orderId] of orders.entries()) {
      await h.send({
        jobId: h.job.id,
        input: { orderId },
        ...(index % 2 === 0 ? { idempotencyKey: orderId } : {}),
      });
    }

    const outcomes = await h.drain({
      handler,
      maxRounds: 30,
      beforeRound: (round) => {
        if (round === 4) h.emulator.setFaults(undefined);
      },
    });

    expect(countByOrder(h.executionsOfJob())).toEqual(new Map(orders.map((orderId) => [orderId, 1])));
    const faults = h.emulator.requests.map((request) => request.fault).filter(Boolean);
    expect(faults).toEqual(expect.arrayContaining(['commit-then-500', '429', '500']));
    expect(outcomes.filter((outcome) => outcome === 'retry').length).toBeGreaterThanOrEqual(4);
    // The ambiguous creates were resolved by adopting what they had started.
    expect(outcomes.filter((outcome) => outcome === 'adopted').length).toBeGreaterThanOrEqual(2);
    expect(outcomes.filter((outcome) => outcome === 'launched' || outcome === 'adopted')).toHaveLength(10);
    expect(await h.deadLetters()).toEqual([]);
    const stored = await h.storedItems();
    expect(stored.map((item) => item.id).sort()).toEqual(
      h
        .executionsOfJob()
        .map((execution) => execution.id)
        .sort(),
    );
  });

  it('does not launch again when the function crashed right after the API call and the message is redelivered', async () => {
    const h = await createHarness();
    const attempts = new LaunchAttemptRepository(h.clients.doc, h.store.idempotencyTable, {
      ttlSeconds: h.config.idempotencyTtlSeconds,
    });
    let crash: () => void = () => undefined;
    const crashed = new Promise<void>((resolve) => {
      crash = resolve;
    });
    // The first thing after create is the claim: the process dies there (the call never returns).
    const dyingAttempts: LaunchAttemptStore = {
      recordAttempt: (...args) => attempts.recordAttempt(...args),
      findClaims: (...args) => attempts.findClaims(...args),
      claimExecution: () => {
        crash();
        return new Promise<boolean>(() => undefined);
      },
    };
    const messageId = await h.send({ jobId: h.job.id, input: { orderId: 'order-1' } });
    const [message] = await h.receive();
    expect(message?.MessageId).toBe(messageId);

    void h.createHandler({ deps: { attempts: dyingAttempts } })(
      { Records: [toSqsRecord(message as Message, h.queueArn)] },
      lambdaContext(40_000),
    );
    await crashed;
    expect(h.createRequests()).toBe(1);

    // The invocation's end (Lambda timeout) expires its in-progress record; the message becomes visible again.
    expect(await expireInProgressRecords(h)).toBe(1);
    await h.clients.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: h.queueUrl,
        ReceiptHandle: message?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    const outcomes = await h.drain();

    expect(outcomes).toEqual(['adopted']);
    expect(h.createRequests()).toBe(1);
    const [execution] = h.executionsOfJob();
    expect(h.executionsOfJob()).toHaveLength(1);
    expect(
      (await new ExecutionRepository(h.clients.doc, h.store.executionsTable).get(execution?.id ?? ''))
        ?.source,
    ).toBe('launch');
  });

  it('does not launch again when the function crashed after claiming the execution, and the producer resends', async () => {
    const h = await createHarness();
    let crash: () => void = () => undefined;
    const crashed = new Promise<void>((resolve) => {
      crash = resolve;
    });
    const body = { jobId: h.job.id, input: { orderId: 'order-1' }, idempotencyKey: 'order-1' };
    await h.send(body);
    const [message] = await h.receive();
    void h.createHandler({
      deps: {
        executions: {
          insertIfAbsent: () => {
            crash();
            return new Promise(() => undefined);
          },
        },
      },
    })({ Records: [toSqsRecord(message as Message, h.queueArn)] }, lambdaContext(40_000));
    await crashed;

    expect(await expireInProgressRecords(h)).toBe(1);
    await h.clients.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: h.queueUrl,
        ReceiptHandle: message?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    await h.send(body);

    // The redelivered message and the resent one, in whichever order SQS hands them over.
    const outcomes = await h.drain();
    expect(outcomes.sort()).toEqual(['adopted', 'duplicate']);
    expect(h.createRequests()).toBe(1);
    expect(h.executionsOfJob()).toHaveLength(1);
  });
});
