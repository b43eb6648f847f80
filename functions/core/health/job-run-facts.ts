// Layer flow: the health pass (functions/sync/job-health-pass.ts) -> this module (pure) -> the facts kept of a
// job between evaluations: what its recent runs say (read by one byJob Query when the job's runs changed), merged
// with what earlier reads found (its first run, the last run on each weekday, its last success).
import { isTerminalStatus } from '../product-live/product-live.schema';
import { DURATION_RUNS, LEARNING_GAPS, WEEKDAY_WEEKS } from './learn-schedule';

/** How many of a job's most recent runs a refresh reads (one Query page). */
export const RUNS_READ = 100;

/** A run as the health pass reads it (a projection of the stored execution). */
export interface RunView {
  id: string;
  status: string;
  createdAt: string;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  title?: string;
  /** Set when the audit found the run gone from the API: an open one is then never re-read, nor counted open. */
  removedFromApiAt?: string;
}

/** The last ended run of a job. */
export interface EndedRun {
  id: string;
  status: string;
  createdAt: string;
  endedAt: string | null;
  durationMs: number | null;
}

/** What the store says of a job's runs, kept between evaluations (the health record's `facts`). */
export interface JobRunFacts {
  jobId: string;
  title: string | null;
  /** createdAt of the most recent runs (up to LEARNING_GAPS + 1), oldest first: the schedule is learned from them. */
  runTimes: string[];
  /** Durations of the most recent ended runs (up to DURATION_RUNS + 1), newest first. */
  durations: number[];
  /** createdAt of the job's newest run: a run counts from when Product-Live created it. */
  lastRunAt: string | null;
  /** createdAt of its newest COMPLETED run (kept from earlier reads when the last read found none). */
  lastSuccessAt: string | null;
  lastEnded: EndedRun | null;
  /** Ended runs in a row, newest first, that did not complete. */
  consecutiveFailures: number;
  /** True when every ended run read had failed (the streak may be longer than counted). */
  failuresAtLeast: boolean;
  /** Runs not ended yet (PENDING, RUNNING): the job is refreshed by every pass while it has some. */
  openRuns: number;
  /** The oldest run ever read of the job. */
  firstRunAt: string | null;
  /**
   * For each UTC weekday (index 0 = Sunday), the last WEEKDAY_WEEKS days with a run on it (`YYYY-MM-DD`, newest
   * first), kept across reads: the days the job runs on are learned from them.
   */
  weekdayRunDays: string[][];
  /** Runs the last refresh read. */
  runsRead: number;
}

const byNewest = (a: RunView, b: RunView) =>
  a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1;

const later = (a: string | null | undefined, b: string | null | undefined): string | null =>
  !a ? (b ?? null) : !b ? a : a > b ? a : b;
const earlier = (a: string | null | undefined, b: string | null | undefined): string | null =>
  !a ? (b ?? null) : !b ? a : a < b ? a : b;

/**
 * The facts of a job from its most recent runs (any order; at most RUNS_READ were read) and what earlier reads
 * found (`previous`). With no run read, the previous facts stand.
 */
export function buildRunFacts(jobId: string, runs: readonly RunView[], previous?: JobRunFacts): JobRunFacts {
  if (runs.length === 0 && previous) return previous;
  const newest = [...runs].sort(byNewest);
  const ended = newest.filter((run) => isTerminalStatus(run.status));
  const weekdays = Array.from(
    { length: 7 },
    (_, weekday) => new Set(previous?.weekdayRunDays?.[weekday] ?? []),
  );
  for (const run of newest) weekdays[new Date(run.createdAt).getUTCDay()]?.add(run.createdAt.slice(0, 10));
  let failures = 0;
  let sawSuccess = false;
  for (const run of ended) {
    if (run.status === 'COMPLETED') {
      sawSuccess = true;
      break;
    }
    failures += 1;
  }
  const last = ended[0];
  const success = ended.find((run) => run.status === 'COMPLETED');
  const title = newest.find((run) => run.title)?.title ?? previous?.title ?? null;
  return {
    jobId,
    title,
    runTimes: newest
      .slice(0, LEARNING_GAPS + 1)
      .map((run) => run.createdAt)
      .reverse(),
    durations: ended
      .filter((run) => typeof run.durationMs === 'number')
      .slice(0, DURATION_RUNS + 1)
      .map((run) => run.durationMs as number),
    lastRunAt: later(newest[0]?.createdAt, previous?.lastRunAt),
    lastSuccessAt: later(success?.createdAt, previous?.lastSuccessAt),
    lastEnded: last
      ? {
          id: last.id,
          status: last.status,
          createdAt: last.createdAt,
          endedAt: last.endedAt ?? null,
          durationMs: typeof last.durationMs === 'number' ? last.durationMs : null,
        }
      : (previous?.lastEnded ?? null),
    consecutiveFailures: ended.length > 0 ? failures : (previous?.consecutiveFailures ?? 0),
    failuresAtLeast:
      ended.length > 0 ? !sawSuccess && runs.length >= RUNS_READ : (previous?.failuresAtLeast ?? false),
    openRuns: newest.filter((run) => !isTerminalStatus(run.status) && !run.removedFromApiAt).length,
    firstRunAt: earlier(newest.at(-1)?.createdAt, previous?.firstRunAt),
    weekdayRunDays: weekdays.map((days) => [...days].sort().reverse().slice(0, WEEKDAY_WEEKS)),
    runsRead: runs.length,
  };
}
