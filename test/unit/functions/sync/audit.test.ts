// The completeness audit over history that does not exist: with the default start date (1970) and a store
// that is empty or starts late, the audit asks a bounded, small number of API counts and store COUNTs, still
// finds every execution the store lacks, and resumes where the time budget cut it.
import { describe, expect, it } from 'vitest';
import type { AppLogger } from '#core/observability';
import type { JobExecution } from '#core/product-live/product-live.schema';
import { ApiProfileTracker } from '#functions/sync/api-profile';
import { type AuditSummary, auditBoundaries, runAudit } from '#functions/sync/audit';
import { ExecutionWriter } from '#functions/sync/execution-writer';
import { aJobExecution } from '../../../builders/job-execution.builder';
import { InMemoryExecutionStore, InMemoryStateStore, PagingApi } from '../../../support/in-memory-sync';

const START = '1970-01-01T00:00:00.000Z';
const WATERMARK = '2024-06-01T12:00:00.000Z';
const NOW = Date.parse('2024-06-01T12:05:00.000Z');
const silent: AppLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** Boundaries from 1970-01-01 to the watermark: the start date, 653 month starts, the watermark. */
const ALL_BOUNDARIES = auditBoundaries(START, WATERMARK, undefined).length;
/** Counts a binary search over them may ask: ceil(log2(654)). */
const SEARCH = Math.ceil(Math.log2(ALL_BOUNDARIES - 1));

/** An audit of `api` against `store`, run (or resumed) by each call; `outOfTime` is the run's time budget. */
function anAudit(api: PagingApi, store = new InMemoryExecutionStore()) {
  const state = new InMemoryStateStore();
  const writer = new ExecutionWriter({
    executions: store,
    files: { copyWritten: async () => {} },
    now: () => NOW,
  });
  const storeCounts: Array<{ from: string; to: string }> = [];
  const countInRange = store.countInRange.bind(store);
  store.countInRange = (from, to) => {
    storeCounts.push({ from, to });
    return countInRange(from, to);
  };
  const run = (outOfTime: () => boolean = () => false): Promise<AuditSummary | null> =>
    runAudit(
      {
        api,
        executions: store,
        state,
        store: (executions) => writer.write(executions),
        profile: new ApiProfileTracker(undefined, NOW),
        now: () => NOW,
        logger: silent,
        outOfTime,
      },
      { startDate: START, upper: WATERMARK, intervalMs: 0, force: true, pageSize: 1000 },
    );
  return { run, state, store, writer, storeCounts };
}

const anApi = (executions: JobExecution[] = []) => {
  const api = new PagingApi({ order: (list) => [...list] });
  api.executions.push(...executions);
  return api;
};

const at = (createdAt: string) => aJobExecution({ createdAt: new Date(createdAt).toISOString() });

/** The months (intervals) audited when the oldest execution is in the month of `oldest`. */
const monthsFrom = (oldest: string) => auditBoundaries(START, WATERMARK, oldest).length - 1;

describe('audit cost with an empty store', () => {
  it('asks one count when the API is empty too', async () => {
    const api = anApi();
    const { run, storeCounts } = anAudit(api);
    const summary = await run();
    expect(summary).toMatchObject({ complete: true, monthsChecked: 1, monthsDiffering: 0, apiRequests: 1 });
    expect(api.requestCount).toBe(1);
    expect(storeCounts).toEqual([]);
  });

  it('asks two when the API holds executions created after the watermark only', async () => {
    const api = anApi([at('2024-06-01T12:00:30Z'), at('2024-06-01T12:01:00Z')]);
    const summary = await anAudit(api).run();
    expect(summary).toMatchObject({ complete: true, monthsChecked: 1, monthsDiffering: 0, apiRequests: 2 });
  });

  it.each([
    '1970-01-15T00:00:00Z',
    '1970-02-01T00:00:00Z',
    '1999-07-04T10:00:00Z',
    '2023-12-31T23:59:59.999Z',
    '2024-05-20T08:00:00Z',
    '2024-06-01T06:00:00Z',
  ])(
    'finds the first month holding data (%s) in at most ceil(log2(boundaries)) extra counts, and recovers every execution',
    async (oldest) => {
      const executions = [at(oldest), at('2024-02-10T00:00:00Z'), at('2024-05-20T00:00:00Z')].filter(
        (execution) => execution.createdAt >= new Date(oldest).toISOString(),
      );
      const api = anApi(executions);
      const { run, store } = anAudit(api);
      const summary = await run();
      expect(summary).toMatchObject({ complete: true, executionsRecovered: executions.length });
      expect(summary?.monthsChecked).toBe(monthsFrom(new Date(oldest).toISOString()));
      // Each differing month is re-read in one page: the rest are counts.
      const counts = (summary?.apiRequests ?? 0) - (summary?.monthsDiffering ?? 0);
      expect(counts).toBeLessThanOrEqual((summary?.monthsChecked ?? 0) + 1 + SEARCH);
      expect([...store.items.keys()].sort()).toEqual(executions.map(({ id }) => id).sort());
      // The next audit finds nothing to re-read, at one count per boundary.
      const next = await anAudit(api, store).run();
      expect(next).toMatchObject({ complete: true, monthsDiffering: 0 });
      expect(next?.apiRequests).toBe((next?.monthsChecked ?? 0) + 1);
    },
  );

  it('resumes its search where the time budget cut it, without asking a count twice', async () => {
    const executions = [at('2011-03-03T00:00:00Z'), at('2024-04-04T00:00:00Z')];
    const whole = await anAudit(anApi(executions)).run();
    const api = anApi(executions);
    const { run, store } = anAudit(api);
    let summary: AuditSummary | null = null;
    let runs = 0;
    // Two requests a run at most.
    while (!summary?.complete && runs < 100) {
      const budget = api.requestCount + 2;
      summary = await run(() => api.requestCount >= budget);
      runs += 1;
    }
    expect(runs).toBeGreaterThan(5);
    expect(summary).toMatchObject({ complete: true, executionsRecovered: 2 });
    expect(summary?.monthsChecked).toBe(whole?.monthsChecked);
    expect(api.requestCount).toBe(whole?.apiRequests);
    expect(store.items.size).toBe(2);
  });
});

describe('audit cost with a store that starts late', () => {
  it('counts the store only between its oldest and newest executions', async () => {
    const executions = [at('2024-01-10T00:00:00Z'), at('2024-03-10T00:00:00Z'), at('2024-05-10T00:00:00Z')];
    const api = anApi(executions);
    const store = new InMemoryExecutionStore();
    const audit = anAudit(api, store);
    await audit.writer.write(executions);
    const summary = await audit.run();
    expect(summary).toMatchObject({ complete: true, monthsDiffering: 0, monthsChecked: 6, apiRequests: 7 });
    // The first interval reaches back to 1970 and the last one (June) is after the newest execution.
    expect(audit.storeCounts).toEqual([
      { from: executions[0]?.createdAt, to: '2024-02-01T00:00:00.000Z' },
      { from: '2024-02-01T00:00:00.000Z', to: '2024-03-01T00:00:00.000Z' },
      { from: '2024-03-01T00:00:00.000Z', to: '2024-04-01T00:00:00.000Z' },
      { from: '2024-04-01T00:00:00.000Z', to: '2024-05-01T00:00:00.000Z' },
      { from: '2024-05-01T00:00:00.000Z', to: '2024-06-01T00:00:00.000Z' },
    ]);
  });

  it('still marks what the API no longer returns in the first interval, and recovers what it lacks', async () => {
    const kept = at('2024-01-10T00:00:00Z');
    const gone = at('2024-01-20T00:00:00Z');
    const late = [at('2023-11-05T00:00:00Z'), at('1999-09-09T00:00:00Z')];
    const api = anApi([kept]);
    const store = new InMemoryExecutionStore();
    const audit = anAudit(api, store);
    await audit.writer.write([kept, gone]);
    api.executions.push(...late);
    const summary = await audit.run();
    // The first interval, 1970-01-01 to 2024-02-01: 3 in the API, 2 stored.
    expect(summary).toMatchObject({
      complete: true,
      monthsDiffering: 1,
      executionsRecovered: 2,
      executionsRemovedFromApi: 1,
    });
    expect(store.items.get(gone.id)?.removedFromApiAt).toBeDefined();
    for (const { id } of late) expect(store.items.get(id)?.removedFromApiAt).toBeUndefined();
    expect(store.items.get(kept.id)?.removedFromApiAt).toBeUndefined();
  });
});
