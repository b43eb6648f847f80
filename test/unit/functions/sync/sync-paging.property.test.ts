// Property: whatever the (stable) result order, page size or server page cap, however many executions
// share one createdAt, and whatever arrives while a run pages, one run stores every execution that existed
// when it started, and the next run stores the rest: also executions that appear late in the API with a
// createdAt far behind the lookback (the next run's completeness audit finds them), whether or not the API
// accepts `lower`.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AppLogger } from '#core/observability';
import type { JobExecution } from '#core/product-live/product-live.schema';
import { runSync } from '#functions/sync/run-sync';
import { InMemoryExecutionStore, InMemoryStateStore, PagingApi } from '../../../support/in-memory-sync';

const silent: AppLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const T0 = Date.parse('2024-06-01T00:00:00.000Z');

function execution(index: number, createdAtMs: number): JobExecution {
  return {
    object: 'job_execution',
    id: index.toString(16).padStart(24, '0'),
    jobId: '65819ba43ad5b963658ab35d',
    pipelineId: '6582b5fb7bcba4a7a1147473',
    createdAt: new Date(createdAtMs).toISOString(),
    startedAt: new Date(createdAtMs).toISOString(),
    endedAt: new Date(createdAtMs + 1_000).toISOString(),
    status: 'COMPLETED',
    input: {},
    output: {},
    info: { title: 'Job' },
  };
}

type OrderKind = 'ascending' | 'descending' | 'insertion' | 'arbitrary';

function orderOf(kind: OrderKind, rank: Map<string, number>) {
  return (executions: readonly JobExecution[]): JobExecution[] => {
    const copy = [...executions];
    const byTime = (a: JobExecution, b: JobExecution) =>
      a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1;
    if (kind === 'ascending') return copy.sort(byTime);
    if (kind === 'descending') return copy.sort((a, b) => byTime(b, a));
    if (kind === 'arbitrary') return copy.sort((a, b) => (rank.get(a.id) ?? 0) - (rank.get(b.id) ?? 0));
    return copy;
  };
}

const scenario = fc.record({
  existing: fc.integer({ min: 0, max: 120 }),
  // A few distinct timestamps, so that many executions share one createdAt.
  distinctTimes: fc.integer({ min: 1, max: 12 }),
  order: fc.constantFrom<OrderKind>('ascending', 'descending', 'insertion', 'arbitrary'),
  pageSize: fc.integer({ min: 1, max: 40 }),
  pageCap: fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }),
  // Executions that arrive before the n-th request of the first run: [request index, how many].
  arrivals: fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 5 })), {
    maxLength: 6,
  }),
  // Executions that become visible between the two runs, created two hours to 40 days before.
  late: fc.array(fc.integer({ min: 2 * 3_600, max: 40 * 86_400 }), { maxLength: 5 }),
  refuseLower: fc.boolean(),
  seed: fc.integer(),
});

describe('sync paging (property-based)', () => {
  it('never misses an execution', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        let next = 0;
        const rank = new Map<string, number>();
        let random = s.seed;
        const nextRank = () => {
          random = (Math.imul(random, 1103515245) + 12345) | 0;
          return random;
        };
        const add = (api: PagingApi, createdAtMs: number) => {
          const created = execution(next++, createdAtMs);
          rank.set(created.id, nextRank());
          api.executions.push(created);
        };
        let now = T0 + 3_600_000;
        const arrivals = new Map(s.arrivals.map(([at, count]) => [at, count]));
        let firstRun = true;
        const api = new PagingApi({
          order: orderOf(s.order, rank),
          pageCap: s.pageCap,
          ...(s.refuseLower ? { refuse: ['lower'] as const } : {}),
          beforeRequest: (index, self) => {
            const count = firstRun ? arrivals.get(index) : undefined;
            // Created "now", while the run pages.
            for (let i = 0; i < (count ?? 0); i++) add(self, now);
          },
        });
        for (let i = 0; i < s.existing; i++) add(api, T0 + (i % s.distinctTimes) * 1_000);
        const executions = new InMemoryExecutionStore();
        const state = new InMemoryStateStore();
        const run = () =>
          runSync(
            {
              api,
              executions,
              state,
              copier: { copy: () => Promise.reject(new Error('no files')) },
              now: () => now,
              remainingTimeMs: () => 900_000,
              logger: silent,
            },
            {
              runId: `run-${now}`,
              startDate: '1970-01-01T00:00:00.000Z',
              pageSize: s.pageSize,
              lookbackMs: 600_000,
              timeMarginMs: 60_000,
              leaseMs: 960_000,
              fileCopyConcurrency: 2,
              fileCopyRetryDelayMs: 300_000,
              auditIntervalMs: 0,
            },
          );
        const existedAtStart = new Set(api.executions.map((e) => e.id));
        const first = await run();
        expect(first.error).toBeNull();
        expect([...existedAtStart].filter((id) => !executions.items.has(id))).toEqual([]);
        firstRun = false;
        for (const ageSeconds of s.late) add(api, T0 - ageSeconds * 1_000);
        now += 60_000;
        const second = await run();
        expect(second.error).toBeNull();
        expect(api.executions.filter((e) => !executions.items.has(e.id)).map((e) => e.id)).toEqual([]);
        expect(executions.items.size).toBe(api.executions.length);
      }),
      { numRuns: 300 },
    );
    // Hundreds of generated runs: a loaded two-core machine needs more than vitest's 5 s default.
  }, 120_000);

  it('finds what a mid-pass change of the result order moved onto already-read pages', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 30, max: 150 }),
        fc.integer({ min: 3, max: 20 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer(),
        async (count, pageSize, changeAt, seed) => {
          const rank = new Map<string, number>();
          let order: OrderKind = 'ascending';
          let random = seed;
          const api = new PagingApi({
            order: (list) => orderOf(order, rank)(list),
            beforeRequest: (index) => {
              // Request 0 is the open-executions query; the order changes during the first pass.
              if (index === changeAt) order = 'arbitrary';
            },
          });
          for (let i = 0; i < count; i++) {
            const created = execution(i, T0 + i * 1_000);
            random = (Math.imul(random, 1103515245) + 12345) | 0;
            rank.set(created.id, random);
            api.executions.push(created);
          }
          const executions = new InMemoryExecutionStore();
          const summary = await runSync(
            {
              api,
              executions,
              state: new InMemoryStateStore(),
              copier: { copy: () => Promise.reject(new Error('no files')) },
              now: () => T0 + 3_600_000,
              remainingTimeMs: () => 900_000,
              logger: silent,
            },
            {
              runId: 'run',
              startDate: '1970-01-01T00:00:00.000Z',
              pageSize,
              lookbackMs: 600_000,
              timeMarginMs: 60_000,
              leaseMs: 960_000,
              fileCopyConcurrency: 2,
              fileCopyRetryDelayMs: 300_000,
              auditIntervalMs: 86_400_000,
            },
          );
          expect(summary.error).toBeNull();
          expect(executions.items.size).toBe(count);
        },
      ),
      { numRuns: 200 },
    );
  }, 120_000);
});
