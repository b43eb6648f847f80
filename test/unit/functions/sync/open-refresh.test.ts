import { describe, expect, it } from 'vitest';
import type { AppLogger } from '#core/observability';
import { ProductLiveApiError } from '#core/product-live/product-live.errors';
import type { FindQuery, JobExecution } from '#core/product-live/product-live.schema';
import type { PassState } from '#core/store/sync-state-repository';
import { ApiProfileTracker } from '#functions/sync/api-profile';
import { MAX_ID_LOOKUPS_PER_RUN, MAX_IDS_PER_QUERY, OpenRefresh } from '#functions/sync/open-refresh';
import { aJobExecution } from '../../../builders/job-execution.builder';
import { InMemoryExecutionStore, PagingApi } from '../../../support/in-memory-sync';

const NOW = Date.parse('2024-06-01T12:00:00.000Z');
const silent: AppLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const freshPass: PassState = {
  lower: '2024-06-01T11:50:00.000Z',
  upper: '2024-06-01T12:00:00.000Z',
  nextPage: 0,
  pageSize: 500,
  round: 1,
};

/**
 * An open refresh over a paging fake, recording the queries it sends and what it writes. `maxPageSize`: a
 * larger page is answered 400, as a server with that limit does.
 */
function anOpenRefresh(
  options: { pageSize?: number; refuse?: FindQuery['type'][]; maxPageSize?: number } = {},
) {
  const api = new PagingApi({ order: (list) => [...list], refuse: options.refuse ?? [] });
  const queries: Array<{ type: string; ids: number }> = [];
  const find = api.findJobExecutions.bind(api);
  api.findJobExecutions = (query, page) => {
    queries.push({ type: query.type, ids: query.type === 'in' ? query.value.length : 0 });
    if (page.size > (options.maxPageSize ?? Number.POSITIVE_INFINITY)) {
      api.requestCount += 1;
      return Promise.reject(
        new ProductLiveApiError({
          method: 'POST',
          path: '/v1/job_executions/find',
          operation: 'find',
          status: 400,
          body: `size must not be greater than ${options.maxPageSize}`,
        }),
      );
    }
    return find(query, page);
  };
  const profile = new ApiProfileTracker(undefined, NOW);
  const written: string[] = [];
  let leftForLater = false;
  const refresh = new OpenRefresh(
    {
      api,
      executions: new InMemoryExecutionStore(),
      write: async (executions: readonly JobExecution[]) => {
        written.push(...executions.map(({ id }) => id));
        return 0;
      },
      now: () => NOW,
      logger: silent,
      outOfTime: () => false,
      leaveForLater: () => {
        leftForLater = true;
      },
      profile: () => profile,
    },
    { pageSize: options.pageSize ?? 500 },
  );
  return { refresh, api, queries, profile, written, leftForLater: () => leftForLater };
}

const ids = (count: number) => Array.from({ length: count }, () => aJobExecution({ status: 'RUNNING' }).id);

describe('OpenRefresh.canJoinWindow', () => {
  it('lets open ids ride on the first page of a fresh window only, at most one `in` query of them', () => {
    const { refresh } = anOpenRefresh();
    expect(refresh.canJoinWindow(ids(1), freshPass)).toBe(true);
    expect(refresh.canJoinWindow(ids(MAX_IDS_PER_QUERY), freshPass)).toBe(true);
    expect(refresh.canJoinWindow(ids(MAX_IDS_PER_QUERY + 1), freshPass)).toBe(false);
    expect(refresh.canJoinWindow([], freshPass)).toBe(false);
    expect(refresh.canJoinWindow(ids(3), { ...freshPass, nextPage: 2 })).toBe(false);
    expect(refresh.canJoinWindow(ids(3), { ...freshPass, round: 2 })).toBe(false);
  });

  it('does not when there are more open ids than the `in` batch the API was learned to accept', () => {
    const { refresh, profile } = anOpenRefresh();
    profile.learn({ inBatchSize: 20 });
    expect(refresh.canJoinWindow(ids(20), freshPass)).toBe(true);
    expect(refresh.canJoinWindow(ids(21), freshPass)).toBe(false);
  });

  it('does not once the API refused `or` or `in`', () => {
    for (const refused of [{ orSupported: false }, { inSupported: false }]) {
      const { refresh, profile } = anOpenRefresh();
      profile.learn(refused);
      expect(refresh.canJoinWindow(ids(3), freshPass)).toBe(false);
    }
  });
});

describe('OpenRefresh.refresh', () => {
  it('asks `in` queries of at most the configured page size (and at most 100) ids', async () => {
    const open = Array.from({ length: 110 }, () => aJobExecution({ status: 'RUNNING' }));
    for (const [pageSize, expected] of [
      [40, [40, 40, 30]],
      [1000, [MAX_IDS_PER_QUERY, 10]],
    ] as const) {
      const { refresh, api, queries } = anOpenRefresh({ pageSize });
      api.executions.push(...open);
      await refresh.refresh(open.map(({ id }) => id));
      expect(queries.map(({ ids }) => ids)).toEqual(expected);
      expect(refresh.refreshed).toBe(110);
    }
  });

  it('asks `in` queries of at most the page size the API was learned to accept', async () => {
    const open = Array.from({ length: 110 }, () => aJobExecution({ status: 'RUNNING' }));
    const { refresh, api, queries, profile } = anOpenRefresh({ pageSize: 1000, maxPageSize: 40 });
    profile.learn({ pageSize: 40 });
    api.executions.push(...open);
    await refresh.refresh(open.map(({ id }) => id));
    expect(queries.map(({ ids }) => ids)).toEqual([40, 40, 30]);
    expect(refresh.refreshed).toBe(110);
  });

  it('halves an `in` batch the API refuses, keeps using `in`, and learns the batch it accepts', async () => {
    const open = Array.from({ length: 110 }, () => aJobExecution({ status: 'RUNNING' }));
    const { refresh, api, queries, profile, written } = anOpenRefresh({ pageSize: 1000, maxPageSize: 30 });
    api.executions.push(...open);
    await refresh.refresh(open.map(({ id }) => id));
    // 100 and 50 refused, then batches of 25.
    expect(queries.map(({ ids }) => ids)).toEqual([100, 50, 25, 25, 25, 25, 10]);
    expect(queries.every(({ type }) => type === 'in')).toBe(true);
    expect(profile.accepts('in')).toBe(true);
    expect(profile.inBatchSize).toBe(25);
    expect(written).toEqual(open.map(({ id }) => id));
    expect(refresh.refreshed).toBe(110);
  });

  it('reads one by one, at most a bounded number a run, what the API does not answer `in` for', async () => {
    const { refresh, api, queries, profile, written, leftForLater } = anOpenRefresh({ refuse: ['in'] });
    const open = Array.from({ length: MAX_ID_LOOKUPS_PER_RUN + 5 }, () =>
      aJobExecution({ status: 'RUNNING' }),
    );
    api.executions.push(...open);
    await refresh.refresh(open.map(({ id }) => id));
    // Refused with 100 ids, and with fewer down to 10: then learned.
    expect(queries.map(({ type, ids }) => `${type} ${ids}`)).toEqual([
      'in 100',
      'in 50',
      'in 25',
      'in 12',
      'in 10',
    ]);
    expect(profile.accepts('in')).toBe(false);
    expect(written).toEqual(open.slice(0, MAX_ID_LOOKUPS_PER_RUN).map(({ id }) => id));
    expect(refresh.refreshed).toBe(MAX_ID_LOOKUPS_PER_RUN);
    expect(leftForLater()).toBe(true);
  });
});
