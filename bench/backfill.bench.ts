// backfill: how fast the real sync ingests a large history when the API is not the limit, against the raw
// BatchWriteItem throughput of the same DynamoDB Local for the same items. The ratio says how much of the
// store's write capacity the sync's own work (finding pages, reading stored states, checkpointing) leaves.
import { loadavg } from 'node:os';
import { ExecutionRepository } from '#core/store/execution-repository';
import { EXECUTION_INDEXES, EXECUTIONS_TABLE } from '#core/store/table-definitions';
import { parseBenchArgs } from './support/bench-args';
import type { Benchmark, BenchReport, Check } from './support/bench-report';
import { formatNumber } from './support/bench-report';
import { BenchResources } from './support/bench-resources';
import {
  BATCH_WRITE_CONCURRENCY,
  BATCH_WRITE_SIZE,
  batchWriteRaw,
  countItems,
  createStore,
  createTable,
  deleteTables,
  type LocalAws,
  SEEDED_HISTORY,
  startLocalAws,
  startSeededEmulator,
  timedStores,
  toNewItem,
  wireSync,
} from './support/bench-stack';

interface Round {
  syncMs: number;
  rawMs: number;
  syncRate: number;
  rawRate: number;
  ratio: number;
  apiMs: number;
  /** The run's completeness audit (a store's first run audits): its API requests and its COUNT Queries. */
  auditRequests: number;
  auditCounts: AuditCounts;
  storeMs: Record<string, number>;
  storeCalls: Record<string, number>;
}

export const benchmark: Benchmark = {
  name: 'backfill',
  title: 'executions ingested per second by the sync vs raw BatchWriteItem, API unlimited',
  async run(args): Promise<BenchReport> {
    const { mode, values } = parseBenchArgs(args, {
      executions: { full: 20_000, quick: 2_000, description: 'executions in the emulator' },
      'page-size': { full: 1_000, quick: 1_000, description: 'find page size of the sync' },
      rounds: { full: 3, quick: 1, description: 'sync-then-raw rounds (the median is reported)' },
      warmup: {
        full: 10_000,
        quick: 1_000,
        description: 'items written to (and read from) a scratch table first',
        min: 0,
      },
    });
    const count = values.executions;
    const pageSize = values['page-size'];
    const resources = new BenchResources();
    try {
      const aws = await startLocalAws(resources, ['dynamodb', 's3']);
      const auditCounts = recordAuditCounts(aws);
      const emulator = await startSeededEmulator(resources, {
        count,
        seed: 'bench-backfill',
        rateLimit: false,
      });

      // Warm DynamoDB Local (a JVM: its first thousands of writes are much slower) on both paths the sync
      // takes, BatchWriteItem and BatchGetItem, before any measurement.
      const nowIso = new Date().toISOString();
      const warmupItems = emulator
        .executions()
        .slice(0, values.warmup)
        .map((execution) => toNewItem(execution, nowIso));
      const warmupTable = await createTable(aws, EXECUTIONS_TABLE, 'backfill-warmup');
      await batchWriteRaw(aws.doc, warmupTable, warmupItems);
      await new ExecutionRepository(aws.doc, warmupTable).getStates(warmupItems.map((item) => item.id));
      await deleteTables(aws, [warmupTable]);
      const loadAtStart = loadavg()[0] ?? 0;

      // Each round: the sync into fresh tables, then its very items written raw into a fresh table. Every
      // table is dropped after its measurement, so both measurements meet the same (empty) database.
      const rounds: Round[] = [];
      const checks: Check[] = [];
      let items: Awaited<ReturnType<typeof timedStores>>['timing']['inserted'] = [];
      let apiRequests = 0;
      let rawBatches = 0;
      let rawRetries = 0;
      let problems: string[] = [];
      for (let round = 1; round <= values.rounds; round++) {
        // 1. The sync, exactly as the Lambda runs it, with a client budget that never binds.
        const store = await createStore(aws, `backfill-${round}`);
        let apiMs = 0;
        const wiring = wireSync(aws, store, emulator, {
          client: {
            requestsPerMinute: 1_000_000,
            onRequest: (event) => {
              apiMs += event.durationMs;
            },
          },
          now: Date.now,
          pageSize,
        });
        const { deps, timing } = timedStores(wiring);
        const countsBefore = { ...auditCounts };
        const syncStarted = performance.now();
        const summary = await wiring.sync({}, deps);
        const syncMs = performance.now() - syncStarted;
        const storedBySync = await countItems(aws, store.executionsTable);
        await deleteTables(aws, [store.executionsTable, store.stateTable, store.idempotencyTable]);

        // 2. The same ExecutionItem objects, straight into a fresh table of the same definition.
        items = timing.inserted;
        const rawTable = await createTable(aws, EXECUTIONS_TABLE, `backfill-raw-${round}`);
        const rawStarted = performance.now();
        const raw = await batchWriteRaw(aws.doc, rawTable, items);
        const rawMs = performance.now() - rawStarted;
        const storedRaw = await countItems(aws, rawTable);
        await deleteTables(aws, [rawTable]);

        const syncRate = (summary.executions.new / syncMs) * 1000;
        const rawRate = (items.length / rawMs) * 1000;
        rounds.push({
          syncMs,
          rawMs,
          syncRate,
          rawRate,
          ratio: syncRate / rawRate,
          apiMs,
          auditRequests: summary.audit?.apiRequests ?? 0,
          auditCounts: {
            queries: auditCounts.queries - countsBefore.queries,
            empty: auditCounts.empty - countsBefore.empty,
            counted: auditCounts.counted - countsBefore.counted,
            readUnits: auditCounts.readUnits - countsBefore.readUnits,
          },
          storeMs: timing.ms,
          storeCalls: timing.calls,
        });
        apiRequests = summary.apiRequests;
        rawBatches = raw.batches;
        rawRetries += raw.unprocessedRetries;
        problems = [...problems, ...wiring.logger.problems];
        const ok =
          summary.error === null &&
          !summary.moreRemaining &&
          !summary.skipped &&
          summary.throttled === 0 &&
          summary.executions.new === count &&
          summary.audit?.complete === true &&
          summary.audit.monthsDiffering === 0 &&
          storedBySync === count &&
          items.length === count &&
          storedRaw === count;
        checks.push({
          label: `round ${round}: the sync stored every execution, the raw write the same items`,
          ok,
          detail:
            summary.error ??
            `${summary.executions.new} new (${storedBySync} in the table), ${items.length} items written raw ` +
              `(${storedRaw} in the table), ${summary.throttled} throttled, audit ` +
              (summary.audit
                ? `of ${summary.audit.monthsChecked} month(s): ${summary.audit.monthsDiffering} differing`
                : 'did not run'),
        });
      }
      checks.push({
        label: 'no warning from the sync',
        ok: problems.length === 0,
        detail: problems.slice(0, 3).join(' | ') || 'none',
      });

      const median = (pick: (round: Round) => number) => {
        const sorted = rounds.map(pick).sort((a, b) => a - b);
        const middle = Math.floor(sorted.length / 2);
        return sorted.length % 2
          ? (sorted[middle] as number)
          : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
      };
      const ratio = median((round) => round.ratio);
      const syncMsTotal = rounds.reduce((sum, round) => sum + round.syncMs, 0);
      const sum = (pick: (round: Round) => number) => rounds.reduce((total, round) => total + pick(round), 0);
      const split = (ms: number) =>
        `${formatNumber(ms / rounds.length / 1000, 2)} s a run (${formatNumber((ms / syncMsTotal) * 100, 0)} %)`;
      const storeTotal = (name: string) => sum((round) => round.storeMs[name] ?? 0);
      const storeAll = sum((round) => Object.values(round.storeMs).reduce((total, ms) => total + ms, 0));
      const apiTotal = sum((round) => round.apiMs);
      const insertRate = (items.length * rounds.length) / (storeTotal('insertMany') / 1000);
      const meanItemBytes =
        items.reduce((total, item) => total + Buffer.byteLength(JSON.stringify(item)), 0) /
        Math.max(1, items.length);

      const notes = [
        'Jobs of kind no-files: no execution references a file, so the figure is about executions, not file ' +
          'copies (see file-copy for those).',
        `The sync pages in sequence; per page of ${pageSize}: one find request, a consistent BatchGetItem of the ` +
          "page's ids (new or known?), BatchWriteItem of the new ones (25 per batch, 4 in flight), one " +
          'checkpoint write. The run ends with the completeness audit (the first run of a store audits): one ' +
          'count request per month boundary, and a COUNT Query per month holding stored executions on the ' +
          'byMonth index (none for the empty months back to the start date), which reads every item it counts. The raw reference does only the BatchWriteItem calls, with the same batches ' +
          'and concurrency, into a fresh table with the same indexes.',
        'No table has a stream (the deployed executions table has one; the events benchmark measures it): ' +
          'DynamoDB Local makes every write to a table with a stream pay for the stream records of every ' +
          'table of its instance, dropped ones included, so the rounds would slow each other down.',
        `${rounds.length} round(s), each the sync then the raw write, every table dropped after its ` +
          'measurement (both meet an empty database, after a warm-up of the JVM); the figures are the ' +
          'medians. Everything shares one machine: the emulator runs in this Node process, DynamoDB Local ' +
          'in a JVM (in memory), so other load on the machine moves both figures; the ratio, measured ' +
          'back to back, is the figure to compare.',
      ];
      if (ratio < 0.5) {
        notes.push(
          `Goal missed: of the sync's time, the API took ${split(apiTotal)}, reading stored states ` +
            `${split(storeTotal('getStates'))}, inserting ${split(storeTotal('insertMany'))}; its inserts ran at ` +
            `${formatNumber(insertRate, 0)} items/s against the raw ${formatNumber(
              median((round) => round.rawRate),
              0,
            )}/s ` +
            `(each page's ${Math.ceil(pageSize / BATCH_WRITE_SIZE)} batches drain to fewer than ` +
            `${BATCH_WRITE_CONCURRENCY} in flight at its end). Pipelining pages (write page N while finding ` +
            "page N+1 and reading its stored states, still checkpointing only after page N's writes) would " +
            'take the reads off the critical path and keep the writes going between pages.',
        );
      }
      return {
        title: benchmark.title,
        mode,
        parameters: {
          executions: count,
          'job kind': 'no-files',
          jobs: SEEDED_HISTORY.jobs,
          'sync page size': pageSize,
          'client budget (requests/min)': 1_000_000,
          'emulator rate limit': 'off',
          'batch write': `${BATCH_WRITE_SIZE} items per batch, ${BATCH_WRITE_CONCURRENCY} in flight`,
          'warm-up items': values.warmup,
          rounds: values.rounds,
        },
        figures: [
          {
            key: 'syncRate',
            label: 'sync: executions ingested per second',
            value: median((round) => round.syncRate),
            unit: '/s',
          },
          {
            key: 'rawRate',
            label: 'raw BatchWriteItem: items per second',
            value: median((round) => round.rawRate),
            unit: '/s',
          },
          {
            key: 'ratio',
            label: 'sync ÷ raw',
            value: ratio,
            unit: '',
            digits: 2,
            goal: { comparison: '>=', target: 0.5 },
          },
        ],
        checks,
        details: {
          ...Object.fromEntries(
            rounds.map((round, index) => [
              `round ${index + 1}`,
              `sync ${formatNumber(round.syncMs / 1000, 2)} s (${formatNumber(round.syncRate, 0)}/s), raw ` +
                `${formatNumber(round.rawMs / 1000, 2)} s (${formatNumber(round.rawRate, 0)}/s), ratio ` +
                formatNumber(round.ratio, 2),
            ]),
          ),
          'API requests per sync run': apiRequests,
          'sync: API (sum of requests)': split(apiTotal),
          'sync: getStates (BatchGetItem)': split(storeTotal('getStates')),
          'sync: insertMany (BatchWriteItem)': `${split(storeTotal('insertMany'))}, ${formatNumber(insertRate, 0)} items/s`,
          'sync: saveCheckpoint': split(storeTotal('saveCheckpoint')),
          "sync: the audit's store counts (countInRange: COUNT queries on byMonth)": `${split(
            storeTotal('countInRange'),
          )}, ${formatNumber(sum((round) => round.storeCalls.countInRange ?? 0) / rounds.length, 0)} call(s) a run`,
          "sync: the audit's COUNT Queries a run (of them on an empty month)": `${formatNumber(
            median((round) => round.auditCounts.queries),
            0,
          )} (${formatNumber(
            median((round) => round.auditCounts.empty),
            0,
          )})`,
          "sync: the audit's read units a run, as DynamoDB Local charges them": `${formatNumber(
            median((round) => round.auditCounts.readUnits),
            1,
          )} for ${formatNumber(
            median((round) => round.auditCounts.counted),
            0,
          )} items counted`,
          "sync: the audit's API requests (counts)": sum((round) => round.auditRequests) / rounds.length,
          "sync ÷ raw without the audit's store counts": formatNumber(
            median(
              (round) => count / (round.syncMs - (round.storeMs.countInRange ?? 0)) / (round.rawRate / 1000),
            ),
            2,
          ),
          'sync: other (sync code, JSON, hashing)': split(Math.max(0, syncMsTotal - apiTotal - storeAll)),
          'raw batches per round': rawBatches,
          'raw unprocessed retries': rawRetries,
          'mean item size': `${formatNumber(meanItemBytes, 0)} bytes (JSON)`,
          'load average (1 min) before / after the rounds': `${formatNumber(loadAtStart, 2)} / ${formatNumber(loadavg()[0] ?? 0, 2)}`,
        },
        notes,
      };
    } finally {
      await resources.close();
    }
  },
};

interface AuditCounts {
  /** COUNT Queries on the byMonth index (the audit's store counts: one per month partition and 1 MB page). */
  queries: number;
  /** Of them, on a month partition holding nothing. */
  empty: number;
  /** Items read (before the filter): every one is paid for in AWS. */
  counted: number;
  /** Read units consumed, as DynamoDB Local computes them (ReturnConsumedCapacity added to these queries). */
  readUnits: number;
}

/** Counts the audit's COUNT Queries on every client of `aws` from now on, with the read units they consume. */
function recordAuditCounts(aws: LocalAws): AuditCounts {
  const counts: AuditCounts = { queries: 0, empty: 0, counted: 0, readUnits: 0 };
  aws.dynamo.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { IndexName?: string; Select?: string };
      if (input.IndexName !== EXECUTION_INDEXES.byMonth || input.Select !== 'COUNT') return next(args);
      const result = await next({ ...args, input: { ...input, ReturnConsumedCapacity: 'TOTAL' } });
      const output = result.output as {
        ScannedCount?: number;
        ConsumedCapacity?: { CapacityUnits?: number };
      };
      counts.queries += 1;
      if (!output.ScannedCount) counts.empty += 1;
      counts.counted += output.ScannedCount ?? 0;
      counts.readUnits += output.ConsumedCapacity?.CapacityUnits ?? 0;
      return result;
    },
    { step: 'initialize', name: 'recordAuditCounts' },
  );
  return counts;
}
