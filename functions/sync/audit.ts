// Layer flow: runSync -> runAudit (the completeness audit) -> Product-Live find (counts, re-reads), the
// execution store (COUNT queries, marks), the sync state table (schedule and progress). It proves, month by
// month, that the store holds every execution the API has, re-reads what differs and marks what the API no
// longer returns; cut short by the time budget, it resumes in the next run (docs/sync.md "The audit").

import type { AppLogger } from '#core/observability';
import { and, greaterOrEqual } from '#core/product-live/find-query';
import { isApiStatus } from '#core/product-live/product-live.errors';
import type { FindQuery, JobExecution, JobExecutionList } from '#core/product-live/product-live.schema';
import type { CreatedAtRange, ExecutionRepository } from '#core/store/execution-repository';
import type {
  AuditInterval,
  AuditProgress,
  AuditState,
  SyncStateRepository,
} from '#core/store/sync-state-repository';
import type { ApiProfileTracker } from './api-profile';

/** The run summary's `audit`: what the audit (this one, across the runs it took so far) found. */
export interface AuditSummary {
  /** Intervals compared: calendar months (the first reaches back to the start date, the last ends at the watermark). */
  monthsChecked: number;
  monthsDiffering: number;
  executionsRecovered: number;
  executionsRemovedFromApi: number;
  apiRequests: number;
  /** False when the time budget cut it short: the next run resumes it. */
  complete: boolean;
}

export interface AuditDeps {
  api: {
    findJobExecutions(query: FindQuery, page: { page: number; size: number }): Promise<JobExecutionList>;
    readonly requestCount: number;
  };
  executions: Pick<
    ExecutionRepository,
    'createdAtRange' | 'countInRange' | 'idsInRange' | 'markRemovedFromApi'
  >;
  state: Pick<SyncStateRepository, 'getAudit' | 'saveAudit'>;
  /** Stores what a re-read returned (new executions with their files); returns how many were new. */
  store(executions: readonly JobExecution[]): Promise<number>;
  profile: ApiProfileTracker;
  now: () => number;
  logger: AppLogger;
  outOfTime: () => boolean;
}

export interface AuditOptions {
  /** Oldest createdAt synced (ISO). */
  startDate: string;
  /** The watermark: every execution created before it must be stored. */
  upper: string;
  /** Time between audits (0: every run). */
  intervalMs: number;
  /** Run one now, whatever the schedule says. */
  force: boolean;
  pageSize: number;
}

/** Runs the audit when it is due (or resumes one); null when none is due. */
export async function runAudit(deps: AuditDeps, options: AuditOptions): Promise<AuditSummary | null> {
  const state: AuditState = (await deps.state.getAudit()) ?? {};
  const nowMs = deps.now();
  const due =
    options.force ||
    state.progress !== undefined ||
    state.lastCompletedAt === undefined ||
    nowMs - Date.parse(state.lastCompletedAt) >= options.intervalMs;
  if (!due) return null;
  if (state.progress) return new Audit(deps, options, state, state.progress).run();
  const stored = await deps.executions.createdAtRange();
  const progress = startAudit(options, nowMs, stored);
  return new Audit(deps, options, state, progress, { range: stored }).run();
}

function startAudit(options: AuditOptions, nowMs: number, stored: CreatedAtRange | undefined): AuditProgress {
  const boundaries = auditBoundaries(options.startDate, options.upper, stored?.first);
  // An empty store says nothing of where the history starts: the API is searched for it (Audit.narrow).
  const searching = stored === undefined && boundaries.length > 2;
  return {
    startedAt: new Date(nowMs).toISOString(),
    boundaries,
    apiCounts: boundaries.map(() => null),
    ...(searching ? { searching } : {}),
    monthsChecked: searching ? 0 : Math.max(0, boundaries.length - 1),
    executionsRecovered: 0,
    executionsRemovedFromApi: 0,
    apiRequests: 0,
  };
}

/**
 * The boundaries of the audited intervals, oldest first: the start date, the first day of every month after
 * the month of the oldest stored execution, and the watermark. The first interval reaches back to the start
 * date (the store holds nothing older than its oldest execution, so one count covers all of it): a history
 * of N months costs N + 1 counts. Without a stored execution, every month start from the start date on: the
 * audit then narrows them to the months from the API's oldest execution on (Audit.narrow).
 */
export function auditBoundaries(
  startDate: string,
  upper: string,
  oldestStored: string | undefined,
): string[] {
  if (!(startDate < upper)) return [];
  const boundaries = [startDate];
  const from = oldestStored && oldestStored > startDate ? oldestStored : startDate;
  let year = Number(from.slice(0, 4));
  let month = Number(from.slice(5, 7));
  for (;;) {
    month += 1;
    if (month > 12) {
      month = 1;
      year += 1;
    }
    const boundary = new Date(Date.UTC(year, month - 1, 1)).toISOString();
    if (boundary >= upper) break;
    if (boundary > startDate) boundaries.push(boundary);
  }
  boundaries.push(upper);
  return boundaries;
}

class Audit {
  private readonly requestsAtStart: number;

  /**
   * @param stored the store's createdAt range, when this run already read it (else read once, when first
   * needed). Within a run, only the audit's own re-reads write to the store, and what they write they saw.
   */
  constructor(
    private readonly deps: AuditDeps,
    private readonly options: AuditOptions,
    private readonly state: AuditState,
    private progress: AuditProgress,
    private stored?: { range: CreatedAtRange | undefined },
  ) {
    this.requestsAtStart = deps.api.requestCount;
  }

  async run(): Promise<AuditSummary> {
    try {
      if (!(await this.count())) return await this.pause();
      if (!(await this.reread())) return await this.pause();
    } catch (error) {
      await this.save();
      throw error;
    }
    this.progress.apiRequests += this.requestsThisRun();
    const summary = this.summary(true);
    await this.deps.state.saveAudit({ lastCompletedAt: new Date(this.deps.now()).toISOString() });
    this.deps.logger.info('audit complete', { audit: summary });
    return summary;
  }

  /** The API's count at every boundary, then the store's per interval. False when out of time. */
  private async count(): Promise<boolean> {
    if (this.progress.searching && !(await this.narrow())) return false;
    const { boundaries } = this.progress;
    for (const index of boundaries.keys()) {
      if ((await this.apiCount(index)) === undefined) return false;
    }
    if (this.progress.differing) return true;
    const { apiCounts } = this.progress;
    const differing: AuditInterval[] = [];
    for (let index = 0; index + 1 < boundaries.length; index++) {
      const from = boundaries[index] as string;
      const to = boundaries[index + 1] as string;
      const api = (apiCounts[index] as number) - (apiCounts[index + 1] as number);
      const store = await this.storeCount(from, to);
      if (api !== store) differing.push({ from, to, api, store });
    }
    this.progress.differing = differing;
    if (differing.length > 0) {
      this.deps.logger.warn('audit: the store and the API count differently; re-reading', { differing });
    }
    return true;
  }

  /**
   * The API's count of `createdAt >= boundaries[index]`: asked once (page size 1, `totalElements`), then kept
   * in the progress. Undefined when out of time.
   */
  private async apiCount(index: number): Promise<number | undefined> {
    const { boundaries, apiCounts } = this.progress;
    const known = apiCounts[index];
    if (known !== null && known !== undefined) return known;
    if (this.deps.outOfTime()) return undefined;
    const list = await this.deps.api.findJobExecutions(
      { type: 'greaterOrEqual', field: 'createdAt', value: boundaries[index] as string },
      { page: 0, size: 1 },
    );
    apiCounts[index] = list.totalElements;
    return list.totalElements;
  }

  /**
   * With an empty store, the boundaries before the API's oldest execution need no count each. The API's
   * count of `createdAt >= boundary` never grows with the boundary, so a binary search finds the last one
   * before which the API holds nothing: ceil(log2(boundaries − 1)) counts at most, each a boundary's count
   * that is kept when it lies after that one. The audited intervals then start as they would from a stored
   * execution in that month: the first reaches back to the start date. The search resumes from the counts
   * kept in the progress. False when out of time.
   */
  private async narrow(): Promise<boolean> {
    const { apiCounts } = this.progress;
    const last = this.progress.boundaries.length - 1;
    const total = await this.apiCount(0);
    if (total === undefined) return false;
    // Nothing at or after the start date: nothing at or after any later boundary either.
    if (total === 0) apiCounts[last] ??= 0;
    const atLast = await this.apiCount(last);
    if (atLast === undefined) return false;
    if (atLast >= total) return this.keepFrom(last);
    // lo: the API holds nothing before boundaries[lo]; hi: it holds something before boundaries[hi].
    let lo = 0;
    for (const [index, count] of apiCounts.entries()) if (count !== null && count >= total) lo = index;
    let hi = last;
    for (let index = last; index > lo; index--) {
      const count = apiCounts[index];
      if (count !== null && count !== undefined && count < total) hi = index;
    }
    while (hi - lo > 1) {
      const middle = Math.floor((lo + hi) / 2);
      const count = await this.apiCount(middle);
      if (count === undefined) return false;
      if (count >= total) lo = middle;
      else hi = middle;
    }
    return this.keepFrom(lo);
  }

  /**
   * The API holds nothing before boundaries[first]: keep the start date, the month starts after the month of
   * that boundary, and the watermark, with the counts already known.
   */
  private keepFrom(first: number): true {
    const { boundaries, apiCounts } = this.progress;
    const last = boundaries.length - 1;
    const kept = [0];
    for (let index = Math.min(first + 1, last); index <= last; index++) kept.push(index);
    this.progress.boundaries = kept.map((index) => boundaries[index] as string);
    this.progress.apiCounts = kept.map((index) => apiCounts[index] ?? null);
    this.progress.monthsChecked = kept.length - 1;
    delete this.progress.searching;
    return true;
  }

  /** The store's createdAt range, read once per run. */
  private async storedRange(): Promise<CreatedAtRange | undefined> {
    this.stored ??= { range: await this.deps.executions.createdAtRange() };
    return this.stored.range;
  }

  /**
   * The part of `[from, to)` that holds stored executions (between the oldest and the newest), or undefined
   * when none does: the store's count there is 0 without a Query, and it has nothing there to mark.
   */
  private async storedPart(from: string, to: string): Promise<{ from: string; to: string } | undefined> {
    const range = await this.storedRange();
    if (range === undefined || to <= range.first || from > range.last) return undefined;
    return { from: from > range.first ? from : range.first, to };
  }

  /** The store's count of `[from, to)`: COUNT Queries only over the months that hold stored executions. */
  private async storeCount(from: string, to: string): Promise<number> {
    const part = await this.storedPart(from, to);
    return part ? this.deps.executions.countInRange(part.from, part.to) : 0;
  }

  /** Re-reads every differing interval, storing what is missing and marking what is gone. */
  private async reread(): Promise<boolean> {
    const differing = this.progress.differing ?? [];
    let position = this.progress.reread ?? { index: 0, mode: this.rangeMode(), nextPage: 0 };
    while (position.index < differing.length) {
      const interval = differing[position.index] as AuditInterval;
      const done = await this.rereadFrom(interval, position, differing);
      if (done === 'out-of-time') return false;
      if (done === 'refused') {
        position = { index: position.index, mode: 'from', nextPage: 0 };
        continue;
      }
      // A re-read "from" an interval on covers every later one too.
      position = {
        index: position.mode === 'from' ? differing.length : position.index + 1,
        mode: this.rangeMode(),
        nextPage: 0,
      };
      this.progress.reread = position;
    }
    return true;
  }

  private rangeMode(): 'range' | 'from' {
    return this.deps.profile.accepts('lower') ? 'range' : 'from';
  }

  private async rereadFrom(
    interval: AuditInterval,
    start: NonNullable<AuditProgress['reread']>,
    differing: readonly AuditInterval[],
  ): Promise<'done' | 'refused' | 'out-of-time'> {
    const query: FindQuery =
      start.mode === 'range'
        ? and(greaterOrEqual('createdAt', interval.from), {
            type: 'lower',
            field: 'createdAt',
            value: interval.to,
            caseSensitive: true,
          })
        : greaterOrEqual('createdAt', interval.from);
    const seen = new Set<string>();
    const fromStart = start.nextPage === 0;
    let received = 0;
    let total: number;
    for (let page = start.nextPage; ; page++) {
      if (this.deps.outOfTime()) {
        this.progress.reread = { ...start, nextPage: page };
        return 'out-of-time';
      }
      let list: JobExecutionList;
      try {
        list = await this.deps.api.findJobExecutions(query, { page, size: this.options.pageSize });
      } catch (error) {
        if (start.mode === 'range' && page === 0 && isApiStatus(error, 400)) {
          this.deps.logger.warn('the API refused a `lower` criterion; the audit re-reads from the month on', {
            error: error.message,
          });
          this.deps.profile.learn({ lowerSupported: false });
          return 'refused';
        }
        throw error;
      }
      total = list.totalElements;
      const fromMs = Date.parse(interval.from);
      const toMs = Date.parse(interval.to);
      const wanted = list.data.filter((execution) => {
        const createdAt = Date.parse(execution.createdAt);
        return createdAt >= fromMs && (start.mode === 'from' || createdAt < toMs);
      });
      for (const execution of list.data) seen.add(execution.id);
      this.progress.executionsRecovered += await this.deps.store(wanted);
      received += list.data.length;
      this.progress.reread = { ...start, nextPage: page + 1 };
      await this.save();
      if (list.data.length === 0 || received >= total) break;
    }
    // Only a re-read that saw every match, in this run, can tell what the API no longer returns.
    if (fromStart && seen.size >= total) {
      const covered =
        start.mode === 'range' ? [interval] : differing.filter((other) => other.from >= interval.from);
      for (const checked of covered) await this.markGone(checked, seen);
    }
    return 'done';
  }

  /** Marks the stored executions of an interval that the complete re-read did not return. */
  private async markGone(interval: AuditInterval, seen: ReadonlySet<string>): Promise<void> {
    const part = await this.storedPart(interval.from, interval.to);
    if (!part) return;
    const gone: Array<{ id: string; createdAt: string }> = [];
    for await (const item of this.deps.executions.idsInRange(part.from, part.to)) {
      if (!seen.has(item.id) && item.removedFromApiAt === undefined)
        gone.push({ id: item.id, createdAt: item.createdAt });
    }
    if (gone.length === 0) return;
    const marked = await this.deps.executions.markRemovedFromApi(
      gone,
      new Date(this.deps.now()).toISOString(),
    );
    this.progress.executionsRemovedFromApi += marked;
    this.deps.logger.warn('audit: executions the API no longer returns are kept and marked', {
      from: interval.from,
      to: interval.to,
      ids: gone.slice(0, 20).map(({ id }) => id),
      count: marked,
    });
  }

  private async pause(): Promise<AuditSummary> {
    await this.save();
    return this.summary(false);
  }

  private async save(): Promise<void> {
    const { lastCompletedAt } = this.state;
    await this.deps.state.saveAudit({
      ...(lastCompletedAt ? { lastCompletedAt } : {}),
      progress: { ...this.progress, apiRequests: this.progress.apiRequests + this.requestsThisRun() },
    });
  }

  private requestsThisRun(): number {
    return this.deps.api.requestCount - this.requestsAtStart;
  }

  private summary(complete: boolean): AuditSummary {
    return {
      monthsChecked: this.progress.monthsChecked,
      monthsDiffering: this.progress.differing?.length ?? 0,
      executionsRecovered: this.progress.executionsRecovered,
      executionsRemovedFromApi: this.progress.executionsRemovedFromApi,
      apiRequests: complete ? this.progress.apiRequests : this.progress.apiRequests + this.requestsThisRun(),
      complete,
    };
  }
}
