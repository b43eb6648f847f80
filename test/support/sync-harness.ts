// Test support: the sync function built by its factory (createSyncHandler) against a Product-Live emulator,
// DynamoDB Local and s3rver, plus the ground-truth comparison every convergence test ends with (store ==
// emulator, file by file, by SHA-256).
import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectsCommand } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'vitest';
import { loadLakeConfig, loadSyncConfig, type SyncConfig } from '#core/config';
import type { BusEvent, BusEventSink } from '#core/events/bus-event';
import { discoverFiles } from '#core/executions/file-discovery';
import { RecordingMetrics } from '#core/observability';
import type { JobExecution } from '#core/product-live/product-live.schema';
import { type ExecutionItem, ExecutionRepository } from '#core/store/execution-repository';
import { SyncStateRepository } from '#core/store/sync-state-repository';
import { createLakeHandler } from '#functions/lake/lake-handler';
import type { LakeSummary } from '#functions/lake/lake-summary';
import type { LakeDeps } from '#functions/lake/run-lake';
import type { SyncDeps } from '#functions/sync/run-sync';
import { createSyncHandler, type SyncClients } from '#functions/sync/sync-handler';
import type { SyncSummary } from '#functions/sync/sync-summary';
import { storeEnvironment } from '#local/aws/provision';
import type { Emulator, EmulatorOptions, ManualClock } from '#local/emulator/index';
import { lambdaContext } from '#local/stack/local-stack';
import { type CapturedLine, CapturingLogger } from './capturing-logger';
import { startEmulator } from './emulator';
import { createTestStore, type LocalAwsClients, localAwsClients, type TestStore } from './local-aws';

export interface SyncHarness {
  emulator: Emulator;
  clock: ManualClock;
  clients: LocalAwsClients;
  store: TestStore;
  executions: ExecutionRepository;
  state: SyncStateRepository;
  /** Every log line of every run (DEBUG and up). */
  logs: CapturedLine[];
  metrics: RecordingMetrics;
  /**
   * Files-bucket keys in the order uploads of them started (PutObject or multipart): a key twice is a
   * duplicate. (The lake bucket's objects are rewritten on purpose and not counted.)
   */
  uploads: string[];
  /**
   * SDK-level faults for DynamoDB and S3 calls: with probability `rate`, a call fails before it is sent,
   * or (half the time) after it took effect, as a lost response would. Off (rate 0) by default.
   */
  sdkFaults: { rate: number; random: () => number; injected: number };
  /** The events the sync's job health pass published, in order (redeliveries included). */
  healthEvents: BusEvent[];
  /** Decides whether the health events' sink refuses an event (a reason) or accepts it (null, the default). */
  refuseHealthEvent: (event: BusEvent) => string | null;
  /**
   * One sync run through the sync function's handler; `config` overrides the harness configuration,
   * `deps` replaces use-case dependencies (a store that fails at a chosen moment).
   */
  sync(overrides?: {
    deps?: Partial<SyncDeps>;
    config?: Partial<SyncConfig>;
    clients?: Partial<SyncClients>;
    /** The invocation's event (default `{}`, as the schedule sends). */
    event?: Record<string, unknown>;
    /** Where the job health changes go (default: the harness's recording sink, healthEvents). */
    sink?: BusEventSink;
  }): Promise<SyncSummary>;
  /**
   * One lake run through the lake function's handler, on the harness clock (marks settle at once: the clock
   * does not move inside a run). `deps` replaces use-case dependencies (a bucket that fails mid-run).
   */
  lake(overrides?: {
    deps?: Partial<LakeDeps>;
    remainingTimeMs?: () => number;
    clients?: Partial<SyncClients>;
  }): Promise<LakeSummary>;
  storedItems(): Promise<ExecutionItem[]>;
  close(): Promise<void>;
}

export interface SyncHarnessOptions {
  emulator?: EmulatorOptions;
  /** Configuration on top of the harness defaults (page size 100, all history). */
  config?: Partial<SyncConfig>;
  /** The executions table's stream (for the events tests; off otherwise). */
  stream?: boolean;
  /** Client retry settings (fast by default so that injected faults cost milliseconds). */
  client?: { maxAttempts?: number; retryMaxMs?: number; timeoutMs?: number };
}

/** Starts an emulator on a free port and creates a fresh store. */
export async function createSyncHarness(options: SyncHarnessOptions = {}): Promise<SyncHarness> {
  // Files keep realistic variety (empty ones included) but stay small, so copies cost milliseconds.
  const { emulator, clock } = await startEmulator({
    maxGeneratedFileBytes: 64 * 1024,
    ...options.emulator,
    clock: options.emulator?.clock as ManualClock | undefined,
  });
  const clients = localAwsClients();
  const store = await createTestStore(clients, 'sync', {
    services: ['dynamodb', 's3'],
    stream: options.stream ?? false,
  });
  const logger = new CapturingLogger();
  const metrics = new RecordingMetrics({ namespace: 'Test', serviceName: 'sync' });
  const lakeMetrics = new RecordingMetrics({ namespace: 'Test', serviceName: 'lake' });
  const baseConfig: SyncConfig = {
    ...loadSyncConfig({
      ...storeEnvironment(store),
      PRODUCT_LIVE_API_URL: emulator.url,
      PRODUCT_LIVE_API_KEY: emulator.apiKey,
      PRODUCT_LIVE_TIMEOUT_SECONDS: '2',
      SYNC_PAGE_SIZE: '100',
      SYNC_REQUESTS_PER_MINUTE: '10000',
      FILE_DOWNLOAD_IDLE_TIMEOUT_SECONDS: '2',
    }),
    allowedFileHosts: [],
    ...(options.client?.timeoutMs ? { timeoutMs: options.client.timeoutMs } : {}),
    ...options.config,
  };
  const sdkFaults = { rate: 0, random: Math.random, injected: 0 };
  const injectFaults = (service: 'DynamoDB' | 'S3') =>
    ((next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
      async (args: unknown) => {
        if (sdkFaults.rate === 0 || sdkFaults.random() >= sdkFaults.rate) return next(args);
        sdkFaults.injected += 1;
        const error = Object.assign(
          new Error(`injected ${service} fault in ${context.commandName}`),
          service === 'DynamoDB'
            ? { name: 'ProvisionedThroughputExceededException', $fault: 'client', $metadata: {} }
            : { name: 'SlowDown', $fault: 'server', $metadata: {} },
        );
        if (sdkFaults.random() < 0.5) throw error;
        await next(args);
        throw error;
      }) as never;
  clients.dynamo.middlewareStack.add(injectFaults('DynamoDB'), {
    step: 'initialize',
    priority: 'high',
    name: 'injectFaults',
  });
  clients.s3.middlewareStack.add(injectFaults('S3'), {
    step: 'initialize',
    priority: 'high',
    name: 'injectFaults',
  });
  const uploads: string[] = [];
  clients.s3.middlewareStack.add(
    (next, context) => async (args) => {
      if (
        (context.commandName === 'PutObjectCommand' ||
          context.commandName === 'CreateMultipartUploadCommand') &&
        (args.input as { Bucket?: string }).Bucket === store.filesBucket
      ) {
        uploads.push(String((args.input as { Key?: string }).Key));
      }
      return next(args);
    },
    { step: 'initialize', name: 'countUploads' },
  );
  const executions = new ExecutionRepository(clients.doc, store.executionsTable);
  const state = new SyncStateRepository(clients.doc, store.stateTable);
  const healthEvents: BusEvent[] = [];
  const eventSink: BusEventSink = {
    async put(events) {
      return events.map((event) => {
        const refused = harness.refuseHealthEvent(event);
        if (refused === null) healthEvents.push(event);
        return refused;
      });
    },
  };
  const harness: SyncHarness = {
    emulator,
    clock,
    clients,
    store,
    executions,
    state,
    logs: logger.lines,
    metrics,
    uploads,
    sdkFaults,
    healthEvents,
    refuseHealthEvent: () => null,
    sync: (overrides = {}) => {
      const handler = createSyncHandler({
        config: { ...baseConfig, ...overrides.config },
        clients: { ...clients, ...overrides.clients },
        logger,
        metrics,
        now: () => clock.now(),
        api: {
          requestsPerMinute: 100_000,
          retryBaseMs: 1,
          retryMaxMs: options.client?.retryMaxMs ?? 20,
          maxAttempts: options.client?.maxAttempts ?? 10,
        },
        // In-place retries of file copies wait for nothing: the test clock does not move inside a run.
        overrides: { remainingTimeMs: () => 900_000, sleep: async () => {}, ...overrides.deps },
        eventSink: overrides.sink ?? eventSink,
      });
      return handler(overrides.event ?? {}, lambdaContext('sync', 900_000));
    },
    lake: (overrides = {}) => {
      const handler = createLakeHandler({
        config: loadLakeConfig(storeEnvironment(store)),
        clients: { ...clients, ...overrides.clients },
        logger,
        metrics: lakeMetrics,
        now: () => clock.now(),
        options: { settleMs: 0 },
        overrides: {
          ...(overrides.remainingTimeMs ? { remainingTimeMs: overrides.remainingTimeMs } : {}),
          ...overrides.deps,
        },
      });
      return handler({}, lambdaContext('lake', 900_000));
    },
    storedItems: async () => {
      const items: ExecutionItem[] = [];
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await clients.doc.send(
          new ScanCommand({
            TableName: store.executionsTable,
            ExclusiveStartKey: startKey,
            ConsistentRead: true,
          }),
        );
        items.push(...((page.Items ?? []) as ExecutionItem[]));
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      return items;
    },
    close: () => emulator.stop(),
  };
  return harness;
}

/**
 * Every S3 key in the bucket. ListObjects (v1, paged by Marker): s3rver's ListObjectsV2 answers
 * InternalError once a bucket holds more than 1,000 objects.
 */
export async function listKeys(harness: SyncHarness): Promise<string[]> {
  const keys: string[] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await harness.clients.s3
      .send(new ListObjectsCommand({ Bucket: harness.store.filesBucket, Marker: marker }))
      .catch((error: Error) => {
        throw new Error(`ListObjects failed: ${error.name}: ${error.message}`, { cause: error });
      });
    const batch = (page.Contents ?? []).map((object) => object.Key ?? '');
    keys.push(...batch);
    if (!page.IsTruncated || batch.length === 0) return keys;
    marker = batch.at(-1);
  }
}

async function s3Text(harness: SyncHarness, key: string): Promise<string> {
  const object = await harness.clients.s3.send(
    new GetObjectCommand({ Bucket: harness.store.filesBucket, Key: key }),
  );
  return (await object.Body?.transformToString()) ?? '';
}

async function s3Sha256(harness: SyncHarness, key: string): Promise<string> {
  const object = await harness.clients.s3
    .send(new GetObjectCommand({ Bucket: harness.store.filesBucket, Key: key }))
    .catch((error: Error) => {
      throw new Error(`GetObject ${key} failed: ${error.name}: ${error.message}`, { cause: error });
    });
  const hash = createHash('sha256');
  for await (const chunk of object.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
  return hash.digest('hex');
}

/**
 * Asserts that the store holds exactly the emulator's executions (every API field, as returned) and a
 * byte-identical copy of every file they reference, and nothing else.
 */
export async function expectStoreToEqualEmulator(
  harness: SyncHarness,
  options: { since?: string; files?: boolean } = {},
): Promise<void> {
  const since = options.since ? Date.parse(options.since) : Number.NEGATIVE_INFINITY;
  const truth = harness.emulator.executions().filter((execution) => Date.parse(execution.createdAt) >= since);
  const items = await harness.storedItems();
  const stored = new Map(items.map((item) => [item.id, item]));
  expect(items.length, 'stored executions').toBe(truth.length);
  const mismatches: string[] = [];
  for (const execution of truth) {
    const item = stored.get(execution.id);
    if (!item) {
      mismatches.push(`missing ${execution.id}`);
      continue;
    }
    const raw = JSON.parse(item.rawS3Key ? await s3Text(harness, item.rawS3Key) : item.raw) as JobExecution;
    if (JSON.stringify(sortKeys(raw)) !== JSON.stringify(sortKeys(execution))) {
      mismatches.push(`stale ${execution.id}: stored ${raw.status}, API ${execution.status}`);
    }
  }
  expect(mismatches, 'executions that differ from the API').toEqual([]);
  if (options.files === false) return;
  const keys = new Set(await listKeys(harness));
  let fileCount = 0;
  for (const execution of truth) {
    const item = stored.get(execution.id) as ExecutionItem;
    for (const reference of discoverFiles(execution)) {
      fileCount += 1;
      const copy = item.files.find((file) => file.path === reference.path);
      if (copy?.status !== 'copied') {
        mismatches.push(`file ${execution.id} ${reference.path} is ${copy?.status ?? 'not recorded'}`);
        continue;
      }
      const expected = await harness.emulator.fileSha256(reference.url);
      const actual = keys.has(copy.s3Key) ? await s3Sha256(harness, copy.s3Key) : 'absent';
      if (copy.sha256 !== expected || actual !== expected) {
        mismatches.push(`file ${copy.s3Key}: recorded ${copy.sha256}, in S3 ${actual}, expected ${expected}`);
      }
      if (copy.size !== harness.emulator.fileSize(reference.url)) mismatches.push(`size of ${copy.s3Key}`);
    }
  }
  expect(mismatches, 'files that differ from the API').toEqual([]);
  const recordedKeys = items.flatMap((item) =>
    item.files.filter((f) => f.status === 'copied').map((f) => f.s3Key),
  );
  expect(new Set(recordedKeys).size, 'distinct file copies').toBe(fileCount);
  expect([...keys].filter((key) => !key.endsWith('/execution.json')).sort()).toEqual(
    [...recordedKeys].sort(),
  );
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, child]) => [key, sortKeys(child)]),
    );
  }
  return value;
}
