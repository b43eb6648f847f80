// Test support: the launch function against the Product-Live emulator, DynamoDB Local and local SQS. Messages
// travel through a real queue: the harness plays the Lambda event source mapping (receive, invoke the handler
// with SQS event records built from the received messages, delete the handled ones) and plays time for the
// failed ones (their backoff visibility is checked, then cut short so that redelivery happens at once).
import { Logger } from '@aws-lambda-powertools/logger';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { expect, vi } from 'vitest';
import { type LaunchConfig, loadLaunchConfig } from '#core/config';
import type { InboxRule } from '#core/inbox-rules';
import { RecordingMetrics } from '#core/observability';
import type { JobExecution } from '#core/product-live/product-live.schema';
import type { ExecutionItem } from '#core/store/execution-repository';
import { createLaunchHandler, type LaunchHandlerDeps } from '#functions/launch/launch-handler';
import { localLastDeliveryReceiveCount } from '#local/aws/local-aws-servers';
import { storeEnvironment } from '#local/aws/provision';
import { type Emulator, type EmulatorJob, type EmulatorOptions, systemClock } from '#local/emulator/index';
import { lambdaContext as localLambdaContext } from '#local/stack/local-stack';
import { queueDepth, toSqsRecord as toRecord } from '#local/stack/sqs-launch-poller';
import { startEmulator } from './emulator';
import { createTestStore, type LocalAwsClients, localAwsClients, type TestStore } from './local-aws';

export type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface Harness {
  /** Messages in the launch queue, visible and in flight (local-aws-sqs counts in-flight ones in both). */
  queueCounts(): Promise<{ visible: number; invisible: number }>;
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
  createHandler(overrides?: Partial<LaunchHandlerDeps>): Handler;
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

/** Stops every harness created so far (call it in afterEach). */
export async function closeLaunchHarnesses(): Promise<void> {
  await Promise.all(harnesses.splice(0).map((harness) => harness.emulator.stop()));
}

export function lambdaContext(remainingMs = 120_000): Context {
  return localLambdaContext('launch', remainingMs);
}

/** The record Lambda's SQS event source builds from a received message (the local stack's own mapping). */
export function toSqsRecord(message: Message, queueArn: string): SQSRecord {
  return toRecord(message, queueArn, 'us-east-1');
}

/** A fresh emulator with one job, fresh tables, and a launch queue with its DLQ. */
export async function createLaunchHarness(
  options: {
    maxReceiveCount?: number;
    stream?: boolean;
    /** The inbox bucket and S3 (launches that carry files), with these inbox rules (or rules of the job). */
    files?: { rules?: InboxRule[] | ((job: EmulatorJob) => InboxRule[]); emulator?: EmulatorOptions };
  } = {},
): Promise<Harness> {
  const { emulator } = await startEmulator({ clock: systemClock, ...options.files?.emulator });
  const job = emulator.addJob({ title: 'Import Products', kind: 'import' });
  const clients = localAwsClients();
  const store = await createTestStore(clients, 'launch', {
    services: options.files ? ['dynamodb', 'sqs', 's3'] : ['dynamodb', 'sqs'],
    maxReceiveCount: options.maxReceiveCount ?? 10,
    visibilityTimeoutSeconds: 30,
    stream: options.stream ?? false,
  });
  const { sqs } = clients;
  const {
    launchUrl: queueUrl,
    launchArn: queueArn,
    dlqUrl,
  } = store.queues as NonNullable<TestStore['queues']>;
  const env: Record<string, string> = {
    ...clients.env,
    ...storeEnvironment(store),
    PRODUCT_LIVE_API_URL: emulator.url,
    PRODUCT_LIVE_API_KEY: emulator.apiKey,
    PRODUCT_LIVE_TIMEOUT_SECONDS: '5',
    LAUNCH_MAX_RECEIVE_COUNT: String(localLastDeliveryReceiveCount(options.maxReceiveCount ?? 10)),
    LAUNCH_INBOX_RULES: JSON.stringify(
      typeof options.files?.rules === 'function' ? options.files.rules(job) : (options.files?.rules ?? []),
    ),
  };
  const config = loadLaunchConfig(env);
  const logger = new Logger({ serviceName: 'launch-test', logLevel: 'SILENT' });
  for (const level of ['info', 'warn', 'error'] as const) vi.spyOn(logger, level);

  const createHandler = (overrides: Partial<LaunchHandlerDeps> = {}): Handler =>
    createLaunchHandler({
      config,
      clients,
      logger,
      metrics: new RecordingMetrics({ namespace: 'Test', serviceName: 'launch' }),
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

  const queueCounts = () => queueDepth(sqs, queueUrl);

  const harness: Harness = {
    queueCounts,
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
    // In the order they were logged, whatever the level (drain() returns the ones after its start).
    outcomes: () =>
      [logger.info, logger.warn, logger.error]
        .flatMap((method) => {
          const { calls, invocationCallOrder } = vi.mocked(method).mock;
          return calls.map(([, attributes], index) => ({
            order: invocationCallOrder[index] ?? 0,
            outcome: (attributes as { outcome?: string } | undefined)?.outcome,
          }));
        })
        .sort((a, b) => a.order - b.order)
        .map(({ outcome }) => outcome)
        .filter((outcome): outcome is string => outcome !== undefined),
  };
  harnesses.push(harness);
  return harness;
}
