import { describe, expect, it } from 'vitest';
import type { AppLogger } from '#core/observability';
import type { FindQuery, JobExecution } from '#core/product-live/product-live.schema';
import { aJobExecution } from '../../../builders/job-execution.builder';
import {
  InMemoryExecutionStore,
  InMemoryStateStore,
  PagingApi,
  syncInMemory,
} from '../../../support/in-memory-sync';

const T0 = Date.parse('2024-06-01T12:00:00.000Z');
const silent: AppLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** An error that looks like an HTTP answer but comes from somewhere else (a proxy library, a bug). */
const lookalike = (status: number) =>
  Object.assign(new Error(`not from Product-Live (${status})`), { status });

/** The paging fake, with find queries of one type (or GETs) failing with `error`, `times` times. */
class FailingApi extends PagingApi {
  constructor(
    private readonly failing: { find?: FindQuery['type']; get?: boolean; times?: number },
    private readonly error: unknown,
  ) {
    super({ order: (list) => [...list] });
  }

  private fails(): boolean {
    if ((this.failing.times ?? 1) <= 0) return false;
    this.failing.times = (this.failing.times ?? 1) - 1;
    return true;
  }

  override async findJobExecutions(query: FindQuery, page: { page: number; size: number }) {
    if (query.type === this.failing.find && this.fails()) throw this.error;
    return super.findJobExecutions(query, page);
  }

  override async getJobExecution(id: string): Promise<JobExecution> {
    if (this.failing.get && this.fails()) throw this.error;
    return super.getJobExecution(id);
  }
}

function sync(api: PagingApi, executions: InMemoryExecutionStore, state: InMemoryStateStore, pageSize = 100) {
  return syncInMemory(api, { executions, state, logger: silent, now: T0 }, { runId: 'answers', pageSize });
}

/** A store holding one open execution, as a first run leaves it. */
async function withOneOpen() {
  const open = aJobExecution({ status: 'RUNNING', output: {} });
  const executions = new InMemoryExecutionStore();
  const state = new InMemoryStateStore();
  const first = new PagingApi({ order: (list) => [...list] });
  first.executions.push(open);
  expect((await sync(first, executions, state)).error).toBeNull();
  return { open, executions, state };
}

describe('runSync takes only the Product-Live client errors for answers of the API', () => {
  it('stops on a look-alike 400 to its `or` query instead of learning that `or` is refused', async () => {
    const { open, executions, state } = await withOneOpen();
    const api = new FailingApi({ find: 'or' }, lookalike(400));
    api.executions.push(open);
    const summary = await sync(api, executions, state);
    expect(summary.error).toMatch(/not from Product-Live \(400\)/);
    expect(summary.moreRemaining).toBe(true);
    expect(api.requestCount).toBe(0); // nothing was read apart: the run stopped at the refused-looking query
    expect((await state.getApiProfile())?.orSupported).toBeUndefined();
  });

  it('stops on a look-alike 404 to a GET instead of marking the open execution removed from the API', async () => {
    const { open, executions, state } = await withOneOpen();
    // The `or` page does not return the open execution, so the run reads it by id.
    const api = new FailingApi({ get: true }, lookalike(404));
    const summary = await sync(api, executions, state);
    expect(summary.error).toMatch(/not from Product-Live \(404\)/);
    expect(executions.items.get(open.id)?.removedFromApiAt).toBeUndefined();
  });

  it('does not halve the page size on a look-alike 400 to a window page', async () => {
    const executions = new InMemoryExecutionStore();
    const state = new InMemoryStateStore();
    // Once: a real refusal of the page size would be followed by a smaller page, which succeeds.
    const api = new FailingApi({ find: 'greaterOrEqual', times: 1 }, lookalike(400));
    api.executions.push(aJobExecution({ output: {} }));
    const summary = await sync(api, executions, state, 1000);
    expect(summary.error).toMatch(/not from Product-Live \(400\)/);
    expect(executions.items.size).toBe(0);
    expect((await state.getApiProfile())?.pageSize).toBeUndefined();
  });
});
