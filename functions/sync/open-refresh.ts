// Layer flow: runSync -> OpenRefresh -> Product-Live find (`in` on id, `window OR in`) and GET, the execution
// writer. A createdAt cursor never sees an execution change, so the ones stored as open are re-read at every
// run; one the API answers 404 for is kept and marked (docs/sync.md, step 2).
import { isApiStatus } from '#core/product-live/product-live.errors';
import type { FindQuery, JobExecution, JobExecutionList } from '#core/product-live/product-live.schema';
import type { PassState } from '#core/store/sync-state-repository';
import { smallerPageSize, windowPageSize } from './page-size';
import type { RunContext, SyncApi, SyncExecutionStore } from './sync-deps';

/** Ids per `in` query: a small request body, whatever the page size. */
export const MAX_IDS_PER_QUERY = 100;
/** Executions read one by one per run (ids an `in` query did not return, or an API without `in`). */
export const MAX_ID_LOOKUPS_PER_RUN = 100;

export interface OpenRefreshDeps extends RunContext {
  api: Pick<SyncApi, 'findJobExecutions' | 'getJobExecution'>;
  executions: Pick<SyncExecutionStore, 'listOpen' | 'markRemovedFromApi'>;
  /** Stores what was read (the execution writer). */
  write(executions: readonly JobExecution[]): Promise<number>;
}

export interface OpenRefreshOptions {
  /**
   * The configured page size: `in` queries ask at most this many ids, lowered to the page size and the batch
   * the API was learned to accept (and at most MAX_IDS_PER_QUERY).
   */
  pageSize: number;
}

/** The first page of `window OR open ids`, read by `firstPageOfUnion`. */
export type UnionPage = 'complete' | 'refused' | Set<string>;

/** Re-reads, in one run, the executions stored as open. */
export class OpenRefresh {
  private refreshedCount = 0;
  private idLookups = 0;
  /** createdAt of the executions stored as open (to mark one the API no longer returns). */
  private readonly openCreatedAt = new Map<string, string>();

  constructor(
    private readonly deps: OpenRefreshDeps,
    private readonly options: OpenRefreshOptions,
  ) {}

  /** Open executions re-read so far in this run (the summary's `openRefreshed`). */
  get refreshed(): number {
    return this.refreshedCount;
  }

  /** The ids of the executions stored as open, the stalest first. */
  async listOpen(): Promise<string[]> {
    const open: Array<{ id: string; createdAt: string; syncedAt?: string }> = [];
    for await (const execution of this.deps.executions.listOpen()) {
      open.push(execution);
      this.openCreatedAt.set(execution.id, execution.createdAt);
    }
    // The stalest first, so that a run cut short (time budget, bounded lookups) rotates through them all.
    return open.sort((a, b) => ((a.syncedAt ?? '') < (b.syncedAt ?? '') ? -1 : 1)).map(({ id }) => id);
  }

  /**
   * True when the open ids can ride on the window's first page (`createdAt >= lower OR id in [...]`): a
   * fresh window, at most one `in` query of ids, and an API not known to refuse `or` or `in`.
   */
  canJoinWindow(ids: readonly string[], pass: PassState): boolean {
    const fresh = pass.nextPage === 0 && pass.round === 1;
    const profile = this.deps.profile();
    return (
      fresh &&
      ids.length > 0 &&
      ids.length <= Math.min(MAX_IDS_PER_QUERY, profile.inBatchSize ?? MAX_IDS_PER_QUERY) &&
      profile.accepts('or') &&
      profile.accepts('in')
    );
  }

  /**
   * The first page of `window OR open ids`: 'complete' when it held every match (the window is complete, for
   * the caller to close, and every open execution re-read), else the open ids it returned (the rest is read
   * the usual way), or 'refused' when the API does not accept `or`.
   */
  async firstPageOfUnion(ids: string[], pass: PassState): Promise<UnionPage> {
    const window: FindQuery = { type: 'greaterOrEqual', field: 'createdAt', value: pass.lower };
    const query: FindQuery = { type: 'or', queries: [window, { type: 'in', field: 'id', value: ids }] };
    let list: JobExecutionList;
    try {
      list = await this.deps.api.findJobExecutions(query, { page: 0, size: pass.pageSize });
    } catch (error) {
      if (!isApiStatus(error, 400)) throw error;
      this.deps.logger.warn('the API refused an `or` query; open executions and the window are read apart', {
        error: error.message,
      });
      this.deps.profile().learn({ orSupported: false });
      return 'refused';
    }
    const wanted = new Set(ids);
    const lowerMs = Date.parse(pass.lower);
    const relevant = list.data.filter(
      (execution) => wanted.has(execution.id) || Date.parse(execution.createdAt) >= lowerMs,
    );
    await this.deps.write(relevant);
    const openFound = new Set(relevant.filter((execution) => wanted.has(execution.id)).map((e) => e.id));
    this.refreshedCount += openFound.size;
    const distinct = new Set(list.data.map((execution) => execution.id)).size;
    if (list.data.length === 0 || distinct < list.totalElements) return openFound;
    // Every match was on this page: the window is complete, and the open ids it did not return are gone
    // from the API or changed beyond recognition: read them one by one.
    await this.getOneByOne(ids.filter((id) => !openFound.has(id)));
    this.deps.onProgress?.({
      phase: 'window',
      page: 1,
      executions: distinct,
      totalElements: list.totalElements,
      round: 1,
    });
    return 'complete';
  }

  /**
   * Re-reads these open executions: `in` queries on id, or one GET each when the API refuses `in`. A refused
   * batch is halved, as a refused page size is (smallerPageSize), and the batch accepted is learned; `in`
   * counts as refused only when a batch of MIN_PAGE_SIZE ids (or fewer) is.
   */
  async refresh(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const profile = this.deps.profile();
    if (!profile.accepts('in')) {
      await this.getOneByOne(ids);
      return;
    }
    let batchSize = this.batchSize();
    let refusedLarger = false;
    let start = 0;
    while (start < ids.length) {
      if (this.deps.outOfTime()) {
        this.deps.leaveForLater();
        return;
      }
      const chunk = ids.slice(start, start + batchSize);
      let found: JobExecution[];
      try {
        found = await this.findByIds(chunk);
      } catch (error) {
        if (!isApiStatus(error, 400)) throw error;
        const smaller = smallerPageSize(chunk.length);
        if (smaller === undefined) {
          // Even a small batch is refused: an API without the `in` operator. One GET per execution.
          this.deps.logger.warn('the API refused an `in` query on id; reading open executions one by one', {
            error: error.message,
          });
          profile.learn({ inSupported: false });
          await this.getOneByOne(ids.slice(start));
          return;
        }
        // A server may cap its pages, or the list of an `in`, below what was asked: half as many ids.
        this.deps.logger.warn('the API refused an `in` query of this many ids; trying fewer', {
          ids: chunk.length,
          next: smaller,
          error: error.message,
        });
        batchSize = smaller;
        refusedLarger = true;
        continue;
      }
      // A full batch accepted after a larger one was refused: that is the batch to ask from now on.
      if (refusedLarger && chunk.length === batchSize) profile.learn({ inBatchSize: batchSize });
      refusedLarger = false;
      await this.deps.write(found);
      this.refreshedCount += found.length;
      const returned = new Set(found.map((execution) => execution.id));
      await this.getOneByOne(chunk.filter((id) => !returned.has(id)));
      start += chunk.length;
      this.deps.onProgress?.({ phase: 'open', refreshed: start, total: ids.length });
    }
  }

  /** Ids per `in` query: the configured page size, lowered to what the API was learned to accept. */
  private batchSize(): number {
    const profile = this.deps.profile();
    const pageSize = windowPageSize({ configured: this.options.pageSize, learned: profile.pageSize });
    return Math.max(1, Math.min(pageSize, profile.inBatchSize ?? MAX_IDS_PER_QUERY, MAX_IDS_PER_QUERY));
  }

  /** Many executions by id with one `in` query (more pages only if the server caps the page size). */
  private async findByIds(ids: string[]): Promise<JobExecution[]> {
    const query: FindQuery = { type: 'in', field: 'id', value: ids };
    const wanted = new Set(ids);
    const found = new Map<string, JobExecution>();
    for (let page = 0; ; page++) {
      const list = await this.deps.api.findJobExecutions(query, { page, size: ids.length });
      for (const execution of list.data) if (wanted.has(execution.id)) found.set(execution.id, execution);
      const received = (page + 1) * Math.max(list.data.length, 1);
      if (list.data.length === 0 || received >= list.totalElements || found.size >= wanted.size) break;
    }
    return [...found.values()];
  }

  /** Executions read one by one (GET), a bounded number per run. */
  private async getOneByOne(ids: string[]): Promise<void> {
    for (const id of ids) {
      if (this.deps.outOfTime() || this.idLookups >= MAX_ID_LOOKUPS_PER_RUN) {
        this.deps.leaveForLater();
        return;
      }
      this.idLookups += 1;
      let execution: JobExecution;
      try {
        execution = await this.deps.api.getJobExecution(id);
      } catch (error) {
        if (!isApiStatus(error, 404)) throw error;
        await this.markRemovedFromApi(id);
        continue;
      }
      await this.deps.write([execution]);
      this.refreshedCount += 1;
    }
  }

  /** The store is the lasting record: an open execution the API answers 404 for is kept and marked. */
  private async markRemovedFromApi(id: string): Promise<void> {
    const createdAt = this.openCreatedAt.get(id);
    if (createdAt !== undefined) {
      const at = new Date(this.deps.now()).toISOString();
      await this.deps.executions.markRemovedFromApi([{ id, createdAt }], at);
    }
    const message = 'an execution stored as open is no longer in the API; its last view is kept and marked';
    this.deps.logger.warn(message, { id });
  }
}
