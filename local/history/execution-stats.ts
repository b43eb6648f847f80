// Layer flow: history queries -> this module (pure). Per-job statistics over the executions of a period,
// in the shape of `history stats --json` (DESIGN "Machine-readable output"). Rows are added one by one, so
// a caller can stream a period of any length; only the durations are kept (for the percentiles).

import type { Period } from '#core/history/period';
import { isTerminalStatus, KNOWN_STATUSES } from '#core/product-live/product-live.schema';
import type { ExecutionItem } from '#core/store/execution-repository';
import { nearestRank } from './percentiles';

/** The stored fields the statistics read. */
export type StatsRow = Pick<ExecutionItem, 'jobId' | 'status' | 'createdAt'> &
  Partial<Pick<ExecutionItem, 'title' | 'durationMs'>>;

export interface DurationStats {
  /** Milliseconds; null when no run of the group has ended with both startedAt and endedAt. */
  p50: number | null;
  p95: number | null;
  max: number | null;
}

export interface JobStats {
  /** null on the total row. */
  jobId: string | null;
  /** The job's title as its most recent run reports it (`info.title`); "All jobs" on the total row. */
  title: string | null;
  runs: number;
  /** Every documented status (0 when none), then any other status seen. */
  byStatus: Record<string, number>;
  /** Runs that reached a terminal status. */
  ended: number;
  /** COMPLETED ÷ ended runs; null when no run has ended. */
  successRate: number | null;
  /** Over ended runs (endedAt − startedAt), nearest-rank percentiles. */
  durationMs: DurationStats;
  /** createdAt of the most recent run. */
  lastRunAt: string | null;
  /** createdAt of the most recent run that ended in a status other than COMPLETED. */
  lastFailureAt: string | null;
}

export interface HistoryStats {
  period: { since: string | null; until: string | null };
  /** Most runs first. */
  jobs: JobStats[];
  total: JobStats;
}

export const TOTAL_TITLE = 'All jobs';

/** True for a run that ended in any status but COMPLETED. */
export function isFailureStatus(status: string): boolean {
  return isTerminalStatus(status) && status !== 'COMPLETED';
}

class Group {
  runs = 0;
  readonly byStatus = new Map<string, number>();
  readonly durations: number[] = [];
  lastRunAt: string | null = null;
  lastFailureAt: string | null = null;
  private titleAt = '';
  title: string | null = null;

  add(row: StatsRow): void {
    this.runs += 1;
    this.byStatus.set(row.status, (this.byStatus.get(row.status) ?? 0) + 1);
    if (isTerminalStatus(row.status) && typeof row.durationMs === 'number')
      this.durations.push(row.durationMs);
    if (this.lastRunAt === null || row.createdAt > this.lastRunAt) this.lastRunAt = row.createdAt;
    if (isFailureStatus(row.status) && (this.lastFailureAt === null || row.createdAt > this.lastFailureAt)) {
      this.lastFailureAt = row.createdAt;
    }
    if (row.title && row.createdAt >= this.titleAt) {
      this.title = row.title;
      this.titleAt = row.createdAt;
    }
  }

  result(jobId: string | null, title: string | null): JobStats {
    const byStatus: Record<string, number> = {};
    for (const status of KNOWN_STATUSES) byStatus[status] = this.byStatus.get(status) ?? 0;
    for (const status of [...this.byStatus.keys()].sort())
      byStatus[status] ??= this.byStatus.get(status) ?? 0;
    const ended = Object.entries(byStatus)
      .filter(([status]) => isTerminalStatus(status))
      .reduce((sum, [, count]) => sum + count, 0);
    const sorted = [...this.durations].sort((a, b) => a - b);
    return {
      jobId,
      title,
      runs: this.runs,
      byStatus,
      ended,
      successRate: ended > 0 ? (byStatus.COMPLETED ?? 0) / ended : null,
      durationMs: {
        p50: nearestRank(sorted, 50) ?? null,
        p95: nearestRank(sorted, 95) ?? null,
        max: sorted.at(-1) ?? null,
      },
      lastRunAt: this.lastRunAt,
      lastFailureAt: this.lastFailureAt,
    };
  }
}

/** Accumulates executions into per-job and total statistics. */
export class StatsAccumulator {
  private readonly jobs = new Map<string, Group>();
  private readonly total = new Group();

  add(row: StatsRow): void {
    let group = this.jobs.get(row.jobId);
    if (!group) {
      group = new Group();
      this.jobs.set(row.jobId, group);
    }
    group.add(row);
    this.total.add(row);
  }

  result(period: Period): HistoryStats {
    const jobs = [...this.jobs.entries()]
      .map(([jobId, group]) => group.result(jobId, group.title))
      .sort(
        (a, b) =>
          b.runs - a.runs ||
          (a.title ?? '').localeCompare(b.title ?? '') ||
          (a.jobId ?? '').localeCompare(b.jobId ?? ''),
      );
    return {
      period: { since: period.since ?? null, until: period.until ?? null },
      jobs,
      total: this.total.result(null, TOTAL_TITLE),
    };
  }
}

/** Statistics of the given executions (all of them: filtering by period is the caller's query). */
export function computeStats(rows: Iterable<StatsRow>, period: Period = {}): HistoryStats {
  const accumulator = new StatsAccumulator();
  for (const row of rows) accumulator.add(row);
  return accumulator.result(period);
}
