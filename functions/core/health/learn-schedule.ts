// Layer flow: domain (pure). The learning rule of job health (docs/health.md "The learning rule"): from a job's
// recent runs, its usual interval between runs (robust to outliers, to weekdays without runs and to several runs
// a day), its usual duration and the duration beyond which a run is slow. No I/O: the health pass gives it the
// facts it keeps of each job.

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Runs a job needs before its interval is learned (4 gaps). */
export const MIN_RUNS_TO_LEARN = 5;
/** The most recent gaps between runs the interval is learned from. */
export const LEARNING_GAPS = 30;
/** A gap more than this many times the next largest one is set aside (a pause, an outage)... */
const OUTLIER_RATIO = 1.5;
/** ...at most this share of the gaps (none while fewer than 10 gaps are known). */
const MAX_SET_ASIDE_SHARE = 0.1;
/** A weekday is one the job runs on when a run fell on it within this long before the job's last run... */
const WEEKDAY_WINDOW_MS = 56 * DAY_MS;
/** ...and the pattern is trusted once each such weekday had runs in this many distinct weeks of the last four. */
export const WEEKDAY_WEEKS = 3;
/** Weekdays are learned only for jobs that run at least daily on their days (median gap at most this). */
const WEEKDAY_MAX_MEDIAN_GAP_MS = 26 * HOUR_MS;
/** The grace after the expected run: a quarter of the interval, within [30 minutes, 12 hours]. */
const GRACE_SHARE = 0.25;
const MIN_GRACE_MS = 30 * 60_000;
const MAX_GRACE_MS = 12 * HOUR_MS;
/** The ended runs the usual duration and the slow threshold are learned from. */
export const DURATION_RUNS = 30;
/** Learned slow threshold: twice the p95 of the earlier runs, and at least a minute above it. */
const SLOW_FACTOR = 2;
const SLOW_MARGIN_MS = 60_000;

/** The weekdays (UTC, 0 = Sunday) a job runs on; null: every day. */
export type Weekdays = readonly number[] | null;

/** What is learned of a job's schedule. */
export interface LearnedSchedule {
  /** The usual interval between two runs, counted on the days the job runs. */
  intervalMs: number;
  activeWeekdays: Weekdays;
  /** Gaps the interval was learned from, and how many of them were set aside as outliers. */
  gapsUsed: number;
  gapsSetAside: number;
}

/**
 * The weekdays a job runs on, from the days (`YYYY-MM-DD`, per UTC weekday, 0 = Sunday, newest first) of its last
 * runs on each weekday: those with a run in the 8 weeks before its last run. Null (every day counts) unless the job
 * runs at least daily on its days (median gap of its recent runs at most 26 hours), some weekday had no run in those
 * 8 weeks, and each weekday it runs on had runs in 3 distinct weeks of the last 4 (a recurring pattern, not a pause).
 */
export function learnWeekdays(
  weekdayRunDays: ReadonlyArray<readonly string[]>,
  lastRunAt: string | null,
  runTimes: readonly number[],
): Weekdays {
  if (!lastRunAt || runTimes.length < MIN_RUNS_TO_LEARN) return null;
  const gaps = runTimes.slice(1).map((time, index) => time - (runTimes[index] as number));
  const median = nearestRank(
    [...gaps].sort((a, b) => a - b),
    50,
  ) as number;
  if (median > WEEKDAY_MAX_MEDIAN_GAP_MS) return null;
  const last = Date.parse(`${lastRunAt.slice(0, 10)}T00:00:00.000Z`);
  const within = (days: readonly string[], ms: number) =>
    days.filter((day) => last - Date.parse(`${day}T00:00:00.000Z`) < ms);
  const active: number[] = [];
  for (let weekday = 0; weekday < 7; weekday++) {
    const days = weekdayRunDays[weekday] ?? [];
    if (within(days, WEEKDAY_WINDOW_MS).length === 0) continue;
    if (within(days, 28 * DAY_MS).length < WEEKDAY_WEEKS) return null;
    active.push(weekday);
  }
  return active.length === 0 || active.length === 7 ? null : active;
}

/** Milliseconds from `from` to `to` that fall on the active weekdays (all of them with every day active). */
export function activeMsBetween(from: number, to: number, active: Weekdays): number {
  if (to <= from) return 0;
  if (!active) return to - from;
  let total = 0;
  let t = from;
  while (t < to) {
    const dayEnd = (Math.floor(t / DAY_MS) + 1) * DAY_MS;
    const end = Math.min(dayEnd, to);
    if (active.includes(new Date(t).getUTCDay())) total += end - t;
    t = end;
  }
  return total;
}

/** The instant `ms` of active time after `from` (skipping the weekdays the job does not run on). */
export function advanceActive(from: number, ms: number, active: Weekdays): number {
  if (!active) return from + ms;
  let t = from;
  let remaining = ms;
  // Bounded: a year of days at most (an interval longer than that is not a schedule).
  for (let step = 0; step < 800; step++) {
    const dayEnd = (Math.floor(t / DAY_MS) + 1) * DAY_MS;
    if (active.includes(new Date(t).getUTCDay())) {
      if (remaining <= dayEnd - t) return t + remaining;
      remaining -= dayEnd - t;
    }
    t = dayEnd;
  }
  return t + remaining;
}

/**
 * The usual interval of a job from its run times (ascending, ms): the gaps between its last LEARNING_GAPS + 1
 * runs, counted on its active weekdays; the largest gap that recurs. A largest gap more than OUTLIER_RATIO times
 * the next one is an outlier (a pause, an outage) and is set aside, at most a tenth of the gaps. Several runs a
 * day at uneven times give the longest of their regular gaps (the night), so that no regular gap is ever late.
 * Undefined with fewer than MIN_RUNS_TO_LEARN runs (or runs that all share one instant).
 */
export function learnSchedule(runTimes: readonly number[], active: Weekdays): LearnedSchedule | undefined {
  if (runTimes.length < MIN_RUNS_TO_LEARN) return undefined;
  const recent = runTimes.slice(-(LEARNING_GAPS + 1));
  const gaps: number[] = [];
  for (let index = 1; index < recent.length; index++) {
    gaps.push(activeMsBetween(recent[index - 1] as number, recent[index] as number, active));
  }
  const sorted = [...gaps].sort((a, b) => b - a);
  const allowed = Math.floor(gaps.length * MAX_SET_ASIDE_SHARE);
  let setAside = 0;
  while (
    setAside < allowed &&
    (sorted[setAside] as number) > OUTLIER_RATIO * (sorted[setAside + 1] as number)
  ) {
    setAside += 1;
  }
  const intervalMs = sorted[setAside] as number;
  if (!(intervalMs > 0)) return undefined;
  return { intervalMs, activeWeekdays: active, gapsUsed: gaps.length - setAside, gapsSetAside: setAside };
}

/** The grace after the expected run (when not set): a quarter of the interval, within [30 min, 12 h]. */
export function defaultGraceMs(intervalMs: number): number {
  return Math.min(MAX_GRACE_MS, Math.max(MIN_GRACE_MS, Math.round(intervalMs * GRACE_SHARE)));
}

/** What is learned of a job's durations (null: not enough ended runs). */
export interface LearnedDurations {
  /** The median duration of the recent ended runs (the last one included). */
  usualMs: number | null;
  /** The slow threshold: SLOW_FACTOR × the p95 of the ended runs before the last one, at least SLOW_MARGIN_MS above it. */
  slowAfterMs: number | null;
  /** That p95. */
  p95Ms: number | null;
}

/**
 * Durations of the recent ended runs, newest first. The usual duration needs one; the slow threshold needs
 * MIN_RUNS_TO_LEARN − 1 runs before the last one (the last is judged against the others, never against itself).
 */
export function learnDurations(durationsNewestFirst: readonly number[]): LearnedDurations {
  const recent = durationsNewestFirst.slice(0, DURATION_RUNS);
  const usualMs = nearestRank(
    [...recent].sort((a, b) => a - b),
    50,
  );
  const earlier = durationsNewestFirst.slice(1, DURATION_RUNS + 1);
  if (earlier.length < MIN_RUNS_TO_LEARN - 1)
    return { usualMs: usualMs ?? null, slowAfterMs: null, p95Ms: null };
  const p95 = nearestRank(
    [...earlier].sort((a, b) => a - b),
    95,
  ) as number;
  return {
    usualMs: usualMs ?? null,
    slowAfterMs: Math.max(SLOW_FACTOR * p95, p95 + SLOW_MARGIN_MS),
    p95Ms: p95,
  };
}

/** The nearest-rank percentile of ascending values (as `history stats`): always an observed value. */
function nearestRank(sorted: readonly number[], percent: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.max(1, Math.ceil((percent * sorted.length) / 100)) - 1];
}
