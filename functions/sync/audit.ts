// Layer flow: runSync -> runAudit (the completeness audit) -> Product-Live find (counts, re-reads), the
// execution store (COUNT queries, marks), the sync state table (schedule and progress). It proves, month by
// month, that the store holds every execution the API has, re-reads what differs and marks what the API no
// longer returns; cut short by the time budget, it resumes in the next run (docs/sync.md "The audit").

import type { AppLogger } from '../core/observability';
import { and, greaterOrEqual } from '../core/product-live/find-query';
import { isApiStatus } from '../core/product-live/product-live.errors';
import type { FindQuery, JobExecution, JobExecutionList } from '../core/product-live/product-live.schema';
import type { ExecutionRepository } from '../core/store/execution-repository';
import type {
  AuditInterval,
  AuditProgress,
  AuditState,
  SyncStateRepository,
} from '../core/store/sync-state-repository';
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
  const progress = state.progress ?? (await startAudit(deps, options, nowMs));
  const audit = new Audit(deps, options, state, progress);
  return audit.run();
}

async function startAudit(deps: AuditDeps, options: AuditOptions, nowMs: number): Promise<AuditProgress> {
  const range = await deps.executions.createdAtRange();
  const boundaries = auditBoundaries(options.startDate, options.upper, range?.first);
  return {
    startedAt: new Date(nowMs).toISOString(),
    boundaries,
    apiCounts: boundaries.map(() => null),
    monthsChecked: Math.max(0, boundaries.length - 1),
    executionsRecovered: 0,
    executionsRemovedFromApi: 0,
    apiRequests: 0,
  };
}

/**
 * The boundaries of the audited intervals, oldest first: the start date, the first day of every month after
 * the month of the oldest stored execution, and the watermark. The first interval reaches back to the start
 * date (the store holds nothing older than its oldest execution, so one count covers all of it): a history
 * of N months costs N + 1 counts.
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

  constructor(
    private readonly deps: AuditDeps,
    private readonly options: AuditOptions,
    private readonly state: AuditState,
    private progress: AuditProgress,
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
    const { boundaries, apiCounts } = this.progress;
    for (const [index, boundary] of boundaries.entries()) {
      if (apiCounts[index] !== null && apiCounts[index] !== undefined) continue;
      if (this.deps.outOfTime()) return false;
      const list = await this.deps.api.findJobExecutions(
        { type: 'greaterOrEqual', field: 'createdAt', value: boundary },
        { page: 0, size: 1 },
      );
      apiCounts[index] = list.totalElements;
    }
    if (this.progress.differing) return true;
    const differing: AuditInterval[] = [];
    for (let index = 0; index + 1 < boundaries.length; index++) {
      const from = boundaries[index] as string;
      const to = boundaries[index + 1] as string;
      const api = (apiCounts[index] as number) - (apiCounts[index + 1] as number);
      const store = await this.deps.executions.countInRange(from, to);
      if (api !== store) differing.push({ from, to, api, store });
    }
    this.progress.differing = differing;
    if (differing.length > 0) {
      this.deps.logger.warn('audit: the store and the API count differently; re-reading', { differing });
    }
    return true;
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
    let total = 0;
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
    const gone: Array<{ id: string; createdAt: string }> = [];
    for await (const item of this.deps.executions.idsInRange(interval.from, interval.to)) {
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
