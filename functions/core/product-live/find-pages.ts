// Layer flow: use cases -> findAllPages -> any finder with the client's findJobExecutions (the client, or a
// test's fake). Offset paging to the end, for reads that need every match of a query.
import type { FindQuery, JobExecution, JobExecutionList } from './product-live.schema';
import type { CallOptions, PageOptions } from './product-live-client';

/** What findAllPages pages through: ProductLiveClient fits. */
export interface JobExecutionFinder {
  findJobExecutions(query: FindQuery, options?: PageOptions & CallOptions): Promise<JobExecutionList>;
}

/** One page of a `findAllPages` iteration. */
export interface FindPage {
  page: number;
  /** The size that was requested (the server may return fewer items per page). */
  size: number;
  data: JobExecution[];
  totalElements: number;
}

/** Page size `findAllPages` requests when none is given. */
const DEFAULT_FIND_PAGE_SIZE = 100;

/**
 * Yields every page of a find query, from `startPage` (default 0) upwards, with the same `size` each time.
 * Stops after an empty page, or once the items seen reach the latest `totalElements`. A page shorter than
 * `size` does not end the iteration by itself: servers may cap the page size. Offset paging drifts when
 * executions are created meanwhile; callers dedupe by id.
 */
export async function* findAllPages(
  finder: JobExecutionFinder,
  query: FindQuery,
  options: { size?: number; startPage?: number } & CallOptions = {},
): AsyncGenerator<FindPage, void, undefined> {
  const size = options.size ?? DEFAULT_FIND_PAGE_SIZE;
  const startPage = options.startPage ?? 0;
  let received = 0;
  let firstPageLength: number | undefined;
  for (let page = startPage; ; page += 1) {
    const list = await finder.findJobExecutions(query, {
      page,
      size,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (list.data.length === 0) return;
    firstPageLength ??= list.data.length;
    received += list.data.length;
    yield { page, size, data: list.data, totalElements: list.totalElements };
    // The pages before startPage hold at least startPage × firstPageLength items (no page holds more than
    // the server's effective page size), so this position is a lower bound: never stops early.
    if (startPage * firstPageLength + received >= list.totalElements) return;
  }
}
