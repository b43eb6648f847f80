// Layer flow: a benchmark -> this module -> local servers (DynamoDB Local, s3rver, local SQS), the
// Product-Live emulator, and the sync built by the same factory as the Lambda (createSyncHandler). Everything
// it starts is registered with the benchmark's BenchResources.
import { randomUUID } from 'node:crypto';
import { Logger, type LogItem } from '@aws-lambda-powertools/logger';
import { DeleteTableCommand, DescribeTableCommand, waitUntilTableNotExists } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { forEachConcurrently } from '#core/concurrency';
import { loadSyncConfig, type SyncConfig } from '#core/config';
import { mergeFileCopies, toExecutionFields } from '#core/executions/execution-record';
import { RecordingMetrics } from '#core/observability';
import type { JobExecution } from '#core/product-live/product-live.schema';
import type { ProductLiveClientOptions } from '#core/product-live/product-live-client';
import { ensureTable } from '#core/store/create-tables';
import { type ExecutionItem, ExecutionRepository } from '#core/store/execution-repository';
import { SyncStateRepository } from '#core/store/sync-state-repository';
import type { TableDefinition } from '#core/store/table-definitions';
import type { SyncDeps, SyncExecutionStore, SyncStateStore } from '#functions/sync/run-sync';
import { createSyncHandler } from '#functions/sync/sync-handler';
import type { SyncSummary } from '#functions/sync/sync-summary';
import { type LocalService, startLocalAwsServers } from '#local/aws/local-aws-servers';
import {
  createLocalClients,
  type LocalAwsClients,
  type ProvisionedStore,
  provisionStore,
  storeEnvironment,
  uniqueStoreNames,
  withoutStream,
} from '#local/aws/provision';
import {
  type Clock,
  createEmulator,
  type Emulator,
  type EmulatorJob,
  type EmulatorOptions,
} from '#local/emulator/index';
import { lambdaContext } from '#local/stack/local-stack';
import type { BenchResources } from './bench-resources';

/** The batch size and in-flight batches of ExecutionRepository.insertMany (functions/core/store). */
export const BATCH_WRITE_SIZE = 25;
export const BATCH_WRITE_CONCURRENCY = 4;

export type LocalAws = LocalAwsClients;

/** Starts the given local AWS servers on free ports (data in memory or a temporary directory). */
export async function startLocalAws(resources: BenchResources, services: readonly LocalService[]) {
  const servers = await startLocalAwsServers({ services });
  resources.defer('local AWS servers', () => servers.stop());
  const clients = createLocalClients(servers);
  resources.defer('AWS clients', async () => clients.destroy());
  return clients;
}

export type BenchStore = ProvisionedStore;

/**
 * A fresh store with unique names: tables, and the bucket and launch queues when those servers run. The executions
 * table has its stream only when asked (`stream: true`): DynamoDB Local makes every write to a table with a stream
 * pay for the stream records of every table of its instance, dropped ones included (10,000 raw writes: 2.8 s
 * without, 28 s beside a few tables with theirs). A benchmark that reads the stream keeps it alone in its instance.
 */
export async function createStore(
  aws: LocalAws,
  prefix: string,
  options: { maxReceiveCount?: number; stream?: boolean } = {},
): Promise<BenchStore> {
  return provisionStore(aws, uniqueStoreNames(prefix), { stream: false, ...options });
}

/** A fresh, empty table of the given definition, without its stream (see createStore). */
export async function createTable(aws: LocalAws, definition: TableDefinition, name: string): Promise<string> {
  const tableName = `${name}-${randomUUID().slice(0, 8)}`;
  await ensureTable(aws.dynamo, withoutStream(definition), tableName);
  await aws.dynamo.send(new DescribeTableCommand({ TableName: tableName }));
  return tableName;
}

/** Drops tables (DynamoDB Local in memory frees their data), so the next measurement meets an empty database. */
export async function deleteTables(aws: LocalAws, tableNames: readonly string[]): Promise<void> {
  await Promise.all(
    tableNames.map(async (TableName) => {
      await aws.dynamo.send(new DeleteTableCommand({ TableName }));
      await waitUntilTableNotExists({ client: aws.dynamo, maxWaitTime: 60 }, { TableName });
    }),
  );
}

/** Items in a table (a paginated COUNT scan; benchmark checks only). */
export async function countItems(aws: LocalAws, tableName: string): Promise<number> {
  let count = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await aws.doc.send(
      new ScanCommand({ TableName: tableName, Select: 'COUNT', ExclusiveStartKey: startKey }),
    );
    count += page.Count ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return count;
}

/**
 * The item the sync writes for an execution seen for the first time (as runSync's toItem builds it).
 * For warm-ups and the naive refresh, whose items are not captured from a sync run.
 */
export function toNewItem(execution: JobExecution, nowIso: string): ExecutionItem {
  return {
    ...toExecutionFields(execution),
    files: mergeFileCopies(execution, [], nowIso),
    firstSyncedAt: nowIso,
    syncedAt: nowIso,
    source: 'sync',
  };
}

/**
 * Writes items with plain BatchWriteItem calls: 25 per batch, 4 batches in flight (the concurrency of
 * ExecutionRepository.insertMany), unprocessed items resent at once. No read, no condition, no checkpoint.
 */
export async function batchWriteRaw(
  doc: DynamoDBDocumentClient,
  tableName: string,
  items: readonly ExecutionItem[],
): Promise<{ batches: number; unprocessedRetries: number }> {
  const batches: ExecutionItem[][] = [];
  for (let start = 0; start < items.length; start += BATCH_WRITE_SIZE) {
    batches.push(items.slice(start, start + BATCH_WRITE_SIZE));
  }
  let unprocessedRetries = 0;
  await forEachConcurrently(batches, BATCH_WRITE_CONCURRENCY, async (batch) => {
    let requests: Record<string, unknown>[] = batch.map((item) => ({ PutRequest: { Item: item } }));
    while (requests.length > 0) {
      const result = await doc.send(
        new BatchWriteCommand({ RequestItems: { [tableName]: requests as never } }),
      );
      requests = (result.UnprocessedItems?.[tableName] as Record<string, unknown>[] | undefined) ?? [];
      if (requests.length > 0) unprocessedRetries += 1;
    }
  });
  return { batches: batches.length, unprocessedRetries };
}

/**
 * A clock that stands still while executions are seeded (each seeded execution gets its own createdAt,
 * in the past), then follows the wall clock: runs seeded before `release()` are over by then, and the
 * rate limit and anything created afterwards live in real time. It never goes backwards.
 */
class SeedingClock implements Clock {
  private seedingAt: number | undefined;

  constructor(startMs: number) {
    this.seedingAt = startMs;
  }

  now(): number {
    return this.seedingAt ?? Date.now();
  }

  /** Moves the seeding time forward. */
  advance(ms: number): void {
    if (this.seedingAt === undefined) throw new Error('SeedingClock: already released to the wall clock');
    this.seedingAt += ms;
    if (this.seedingAt >= Date.now()) throw new Error('SeedingClock: seeding ran into the present');
  }

  /** From now on, the wall clock. */
  release(): void {
    this.seedingAt = undefined;
  }
}

export interface SeedOptions {
  /** Executions to create. */
  count: number;
  /** Jobs (each with its own pipeline) the executions are spread over, round robin. */
  jobs: EmulatorJob[];
  /** Clock time between two executions. */
  spacingMs: number;
  /** Run time of each execution (short: the pipeline is free again before its next run). */
  runTimeMs: number;
  advance: (ms: number) => void;
}

/**
 * Creates `count` executions of `no-files` jobs, one every `spacingMs` of clock time. Their outcomes are
 * drawn by the emulator (mostly COMPLETED, some failures), their input carries a batch number.
 */
export function seedExecutions(emulator: Emulator, options: SeedOptions): void {
  for (let index = 0; index < options.count; index++) {
    options.advance(options.spacingMs);
    const job = options.jobs[index % options.jobs.length] as EmulatorJob;
    emulator.createExecution(job.id, { batch: `batch-${index}` }, { runTimeMs: options.runTimeMs });
  }
}

/** Jobs whose runs have no file anywhere: the figures are about executions, not file copies. */
export function addNoFilesJobs(emulator: Emulator, count: number): EmulatorJob[] {
  return Array.from({ length: count }, (_, index) =>
    emulator.addJob({ title: `Price update ${index + 1}`, kind: 'no-files' }),
  );
}

/** Jobs of the seeded history, and how its executions are spaced (backfill and budget share them). */
export const SEEDED_HISTORY = { jobs: 10, spacingMs: 30_000, runTimeMs: 5_000 } as const;

/**
 * An emulator on a free port holding `count` ended executions of `no-files` jobs in the recent past (a
 * SeedingClock), then following the wall clock; stopped with the other resources.
 */
export async function startSeededEmulator(
  resources: BenchResources,
  options: { count: number; seed: string; rateLimit: EmulatorOptions['rateLimit'] },
): Promise<Emulator> {
  const clock = new SeedingClock(Date.now() - (options.count + 100) * SEEDED_HISTORY.spacingMs);
  const emulator = createEmulator({ clock, rateLimit: options.rateLimit, seed: options.seed });
  await emulator.start();
  resources.defer('emulator', () => emulator.stop());
  seedExecutions(emulator, {
    count: options.count,
    jobs: addNoFilesJobs(emulator, SEEDED_HISTORY.jobs),
    spacingMs: SEEDED_HISTORY.spacingMs,
    runTimeMs: SEEDED_HISTORY.runTimeMs,
    advance: (ms) => clock.advance(ms),
  });
  clock.release();
  return emulator;
}

/** A Powertools Logger that prints nothing and keeps warnings and errors (shown in the details). */
export class ProblemLogger extends Logger {
  readonly problems: string[] = [];

  constructor() {
    super({ serviceName: 'bench', logLevel: 'WARN' });
  }

  protected override printLog(_logLevel: number, log: LogItem): void {
    log.prepareForPrint();
    const { level, message, ...rest } = log.getAttributes() as Record<string, unknown>;
    const extra = Object.fromEntries(
      Object.entries(rest).filter(
        ([key]) => !['timestamp', 'service', 'sampling_rate', 'xray_trace_id'].includes(key),
      ),
    );
    this.problems.push(`${String(level).toLowerCase()}: ${String(message)} ${JSON.stringify(extra)}`.trim());
  }
}

export interface SyncWiring {
  executions: ExecutionRepository;
  state: SyncStateRepository;
  logger: ProblemLogger;
  /** One sync run through the sync function's handler, with `config` and `deps` on top of its wiring. */
  sync(config?: Partial<SyncConfig>, deps?: Partial<SyncDeps>): Promise<SyncSummary>;
}

/** The sync function built by its factory, as Lambda builds it, against the emulator and the local servers. */
export function wireSync(
  aws: LocalAws,
  store: BenchStore,
  emulator: Emulator,
  settings: {
    client: Partial<Omit<ProductLiveClientOptions, 'baseUrl' | 'apiKey'>>;
    now: () => number;
    pageSize: number;
  },
): SyncWiring {
  // The defaults of the sync function (functions/core/config.ts), with the stack's lease for a 15-minute timeout.
  const config = loadSyncConfig({
    ...storeEnvironment(store),
    PRODUCT_LIVE_API_URL: emulator.url,
    PRODUCT_LIVE_API_KEY: emulator.apiKey,
    SYNC_PAGE_SIZE: String(settings.pageSize),
    SYNC_LEASE_SECONDS: String(16 * 60),
  });
  const logger = new ProblemLogger();
  const metrics = new RecordingMetrics({ namespace: 'Bench', serviceName: 'sync' });
  return {
    executions: new ExecutionRepository(aws.doc, store.executionsTable),
    state: new SyncStateRepository(aws.doc, store.stateTable),
    logger,
    sync(overrides = {}, deps = {}) {
      const handler = createSyncHandler({
        config: { ...config, allowedFileHosts: [], ...overrides },
        clients: aws,
        logger,
        metrics,
        now: settings.now,
        api: settings.client,
        overrides: deps,
      });
      // A Lambda's 15 minutes from the start of this run.
      return handler({}, benchContext());
    },
  };
}

function benchContext(): Context {
  return lambdaContext('sync', 15 * 60_000);
}

/** Time spent in each method of the execution store, and the items given to insertMany, in order. */
export interface StoreTiming {
  ms: Record<string, number>;
  calls: Record<string, number>;
  inserted: ExecutionItem[];
}

/**
 * Wraps the sync's stores: times every call (the checkpoint and lease writes too) and keeps the items the
 * sync inserts.
 */
export function timedStores(wiring: Pick<SyncWiring, 'executions' | 'state'>): {
  deps: { executions: SyncExecutionStore; state: SyncStateStore };
  timing: StoreTiming;
} {
  const inner = wiring.executions;
  const state = wiring.state;
  const timing: StoreTiming = { ms: {}, calls: {}, inserted: [] };
  const time = async <T>(name: string, call: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await call();
    } finally {
      timing.ms[name] = (timing.ms[name] ?? 0) + performance.now() - started;
      timing.calls[name] = (timing.calls[name] ?? 0) + 1;
    }
  };
  // Every method is timed (async generators, the index listings, are passed through as they are).
  const timed = <T extends object>(target: T, record?: (name: string, args: unknown[]) => void): T =>
    new Proxy(target, {
      get(object, property, receiver) {
        const value = Reflect.get(object, property, receiver);
        if (typeof value !== 'function') return value;
        const name = String(property);
        return (...args: unknown[]) => {
          const result = value.apply(object, args);
          if (!(result instanceof Promise)) return result;
          record?.(name, args);
          return time(name, () => result);
        };
      },
    });
  const executions: SyncExecutionStore = timed(inner, (name, args) => {
    if (name === 'insertMany') timing.inserted.push(...(args[0] as ExecutionItem[]));
  });
  const stateStore: SyncStateStore = timed(state);
  return { deps: { executions, state: stateStore }, timing };
}
