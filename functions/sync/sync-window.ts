// Layer flow: runSync -> SyncWindow -> Product-Live find (`createdAt >= lower`, offset pages), the execution
// writer, the checkpoint in the sync state table. It pages the window, verifies it with a second pass when
// the first cannot prove it complete, and checkpoints after each page's writes (docs/sync.md, steps 3-5).
import { isApiStatus } from '#core/product-live/product-live.errors';
import type { FindQuery, JobExecution, JobExecutionList } from '#core/product-live/product-live.schema';
import type { PassState } from '#core/store/sync-state-repository';
import { smallerPageSize, windowPageSize } from './page-size';
import type { RunContext, SyncApi, SyncExecutionStore, SyncOptions, SyncStateStore } from './sync-deps';

export interface SyncWindowDeps extends RunContext {
  api: Pick<SyncApi, 'findJobExecutions'>;
  executions: Pick<SyncExecutionStore, 'countSince'>;
  state: Pick<SyncStateStore, 'saveCheckpoint'>;
  /** Stores what was read (the execution writer). */
  write(executions: readonly JobExecution[]): Promise<number>;
}

export interface SyncWindowOptions extends Pick<SyncOptions, 'startDate' | 'lookbackMs' | 'pageSize'> {
  /** When the run started: the upper bound of a window it opens. */
  startedAt: number;
}

/** The createdAt window of one run, and the watermark it moves. */
export class SyncWindow {
  private current: string | null = null;

  constructor(
    private readonly deps: SyncWindowDeps,
    private readonly options: SyncWindowOptions,
  ) {}

  /** Every execution created before it is stored (null until a first window completes). */
  get watermark(): string | null {
    return this.current;
  }

  /** Starts from the watermark of the stored checkpoint. */
  resumeFrom(watermark: string | undefined): void {
    this.current = watermark ?? null;
  }

  /** A new pass over `createdAt >= watermark − lookback` (or the start date), up to the run's start. */
  open(watermark: string | null | undefined): PassState {
    const start = Date.parse(this.options.startDate);
    const lower = watermark ? Math.max(start, Date.parse(watermark) - this.options.lookbackMs) : start;
    return {
      lower: new Date(lower).toISOString(),
      upper: new Date(this.options.startedAt).toISOString(),
      nextPage: 0,
      pageSize: windowPageSize({ configured: this.options.pageSize, learned: this.deps.profile().pageSize }),
      round: 1,
    };
  }

  /**
   * Pages the window from where `opened` stands until it is proven complete (then the watermark moves to its
   * upper bound) or the time budget runs out (then the pass is checkpointed for the next run).
   */
  async sync(opened: PassState): Promise<void> {
    let pass: PassState = opened;
    const resumed = pass.nextPage > 0 || pass.round === 2;
    const seen = new Set<string>();
    const query: FindQuery = { type: 'greaterOrEqual', field: 'createdAt', value: pass.lower };
    for (;;) {
      if (this.deps.outOfTime()) {
        await this.saveCheckpoint(pass);
        this.deps.leaveForLater();
        return;
      }
      const { list, size } = await this.fetchPage(query, pass);
      if (size !== pass.pageSize) {
        pass = { ...pass, pageSize: size };
        this.deps.profile().learn({ pageSize: size });
      }
      const inWindow = list.data.filter(
        (execution) => Date.parse(execution.createdAt) >= Date.parse(pass.lower),
      );
      for (const execution of inWindow) seen.add(execution.id);
      await this.deps.write(inWindow);
      const served = Math.max(pass.servedPageSize ?? 0, list.data.length);
      pass = { ...pass, nextPage: pass.nextPage + 1, servedPageSize: served };
      this.deps.onProgress?.({
        phase: 'window',
        page: pass.nextPage,
        executions: seen.size,
        totalElements: list.totalElements,
        round: pass.round,
      });
      const coversTotal = seen.size >= list.totalElements;
      const reachedEnd = list.data.length === 0 || pass.nextPage * Math.max(served, 1) >= list.totalElements;
      if (pass.round === 2 && coversTotal) return this.complete(pass);
      if (!reachedEnd) {
        await this.saveCheckpoint(pass);
        continue;
      }
      if (pass.round === 2) {
        this.deps.logger.warn('the API reported more executions than a verification pass returned', {
          totalElements: list.totalElements,
          distinctSeen: seen.size,
        });
        return this.complete(pass);
      }
      if (coversTotal && !resumed) return this.complete(pass);
      // A window paged over several runs saw part of it in earlier runs: the store holds what they saw.
      if (resumed && (await this.deps.executions.countSince(pass.lower)) >= list.totalElements) {
        return this.complete(pass);
      }
      this.deps.logger.info('window not proven complete; verifying with a second pass', {
        totalElements: list.totalElements,
        distinctSeen: seen.size,
        resumed,
      });
      pass = { ...pass, round: 2, nextPage: 0 };
      await this.saveCheckpoint(pass);
    }
  }

  /** The window is complete: the watermark moves to its upper bound (never back) and the pass is dropped. */
  async complete(pass: PassState): Promise<void> {
    const watermark = this.current && this.current > pass.upper ? this.current : pass.upper;
    this.current = watermark;
    await this.deps.state.saveCheckpoint({ watermark, updatedAt: new Date(this.deps.now()).toISOString() });
  }

  /**
   * One page of the window. A server may refuse a page size above its maximum (the maximum is not
   * documented): at the first page of a pass, a 400 halves the size until it is accepted (smallerPageSize);
   * the caller keeps the accepted size in the pass and the API profile.
   */
  private async fetchPage(
    query: FindQuery,
    pass: PassState,
  ): Promise<{ list: JobExecutionList; size: number }> {
    let size = pass.pageSize;
    for (;;) {
      try {
        const list = await this.deps.api.findJobExecutions(query, { page: pass.nextPage, size });
        return { list, size };
      } catch (error) {
        const smaller = isApiStatus(error, 400) && pass.nextPage === 0 ? smallerPageSize(size) : undefined;
        if (smaller === undefined) throw error;
        size = smaller;
        this.deps.logger.warn('the API refused the page size; trying a smaller one', { size });
      }
    }
  }

  private async saveCheckpoint(pass: PassState): Promise<void> {
    await this.deps.state.saveCheckpoint({
      ...(this.current ? { watermark: this.current } : {}),
      pass,
      updatedAt: new Date(this.deps.now()).toISOString(),
    });
  }
}
