// Layer flow: the health pass -> evaluateJobHealth (pure) -> a job's state and its reasons in words, from the
// facts kept of its runs, what a user set, and the instant the store is complete up to (the sync's watermark:
// a run created before it would be stored). The states, their order and the rule: docs/health.md.
import { formatDurationText, formatInstantText } from './durations';
import type { HealthState } from './health-states';
import type { SetExpectation } from './job-expectations';
import type { JobRunFacts } from './job-run-facts';
import {
  advanceActive,
  defaultGraceMs,
  learnDurations,
  learnSchedule,
  learnWeekdays,
  MIN_RUNS_TO_LEARN,
  type Weekdays,
} from './learn-schedule';

/** Consecutive failed runs that make a job failing, unless `maxConsecutiveFailures` is set. */
export const DEFAULT_MAX_CONSECUTIVE_FAILURES = 2;

/** A job's health as evaluated: its state, every reason, and the figures they are based on. */
export interface JobHealthEvaluation {
  state: HealthState;
  /** Every reason in words (a late job that also fails has both); the first explains the state. */
  reasons: string[];
  /**
   * With no new run by this instant the job is late: the next run's expected time plus the grace. Null when
   * lateness is not judged (no interval known, or `every: "never"`).
   */
  expectedBy: string | null;
  /** Where the interval comes from: set, learned, `never` (not judged), or null (unknown). */
  schedule: 'set' | 'learned' | 'never' | null;
  usualIntervalMs: number | null;
  /** The weekdays (UTC, 0 = Sunday) the learned schedule counts; null: every day. */
  activeWeekdays: number[] | null;
  graceMs: number | null;
  /** The median duration of the recent ended runs. */
  usualDurationMs: number | null;
  /** A last ended run longer than this is slow (set `maxDuration`, or learned); null: not judged yet. */
  slowAfterMs: number | null;
  consecutiveFailures: number;
  maxConsecutiveFailures: number;
}

const WEEKDAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

/**
 * Evaluates a job as of `asOfMs` (the watermark: every run created before it is in the store). A job is `late`
 * when no run was created by `expectedBy`, `failing` when its last `maxConsecutiveFailures` ended runs did not
 * complete, `slow` when its last ended run took longer than `maxDuration` (or the learned threshold); when
 * several hold, the first of late, failing, slow shows. Otherwise `healthy` when its interval is known (set or
 * learned, or `every: "never"`), else `unknown`.
 */
export function evaluateJobHealth(
  facts: JobRunFacts,
  set: SetExpectation,
  asOfMs: number,
): JobHealthEvaluation {
  const problems: Problem[] = [];
  const notes: string[] = [];

  // The interval: set, learned from the recent runs (on the weekdays the job runs on), or unknown.
  const runTimes = facts.runTimes.map((iso) => Date.parse(iso));
  const learnedWeekdays = learnWeekdays(facts.weekdayRunDays, facts.lastRunAt, runTimes);
  const learned = set.everyMs === undefined ? learnSchedule(runTimes, learnedWeekdays) : undefined;
  const schedule: JobHealthEvaluation['schedule'] =
    set.everyMs === null ? 'never' : set.everyMs !== undefined ? 'set' : learned ? 'learned' : null;
  const intervalMs = typeof set.everyMs === 'number' ? set.everyMs : (learned?.intervalMs ?? null);
  const weekdays: Weekdays = schedule === 'learned' ? (learned?.activeWeekdays ?? null) : null;
  const graceMs = intervalMs !== null ? (set.graceMs ?? defaultGraceMs(intervalMs)) : null;
  let expectedBy: string | null = null;
  if (intervalMs !== null && graceMs !== null && facts.lastRunAt) {
    const expected = advanceActive(Date.parse(facts.lastRunAt), intervalMs, weekdays) + graceMs;
    expectedBy = new Date(expected).toISOString();
    const usually = `${schedule === 'set' ? 'expected' : 'usually'} every ${formatDurationText(intervalMs)}${onWeekdays(weekdays)}`;
    if (asOfMs > expected) {
      problems.push({
        state: 'late',
        reason: `no run since ${formatInstantText(facts.lastRunAt)}; ${usually} (late since ${formatInstantText(expected)}, with a grace of ${formatDurationText(graceMs)})`,
      });
    } else {
      notes.push(
        `last run ${formatInstantText(facts.lastRunAt)}; ${usually}; next run expected by ${formatInstantText(expected)}`,
      );
    }
  } else if (schedule === 'never') {
    notes.push('lateness not judged ("every": "never")');
  }

  // Failures in a row.
  const maxFailures = set.maxConsecutiveFailures ?? DEFAULT_MAX_CONSECUTIVE_FAILURES;
  const failing = failingProblem(facts, maxFailures);
  if (failing) problems.push(failing);

  // The last ended run's duration.
  const durations = learnDurations(facts.durations);
  const slowAfterMs = set.maxDurationMs ?? durations.slowAfterMs;
  const slow = slowProblem(facts, set, durations, slowAfterMs);
  if (slow) problems.push(slow);

  const { state, reasons } = stateOf(problems, schedule === null ? undefined : notes, facts);
  return {
    state,
    reasons,
    expectedBy,
    schedule,
    usualIntervalMs: intervalMs,
    activeWeekdays: weekdays ? [...weekdays] : null,
    graceMs,
    usualDurationMs: durations.usualMs,
    slowAfterMs,
    consecutiveFailures: facts.consecutiveFailures,
    maxConsecutiveFailures: maxFailures,
  };
}

type Problem = { state: HealthState; reason: string };

/** `failing` when the last `maxFailures` ended runs did not complete. */
function failingProblem(facts: JobRunFacts, maxFailures: number): Problem | undefined {
  if (facts.consecutiveFailures < maxFailures || !facts.lastEnded) return undefined;
  const runs =
    facts.consecutiveFailures === 1 && !facts.failuresAtLeast
      ? 'its last ended run did not complete'
      : `its last ${facts.consecutiveFailures}${facts.failuresAtLeast ? ' or more' : ''} ended runs did not complete`;
  const since = facts.lastSuccessAt
    ? `the last success was created ${formatInstantText(facts.lastSuccessAt)}`
    : 'no success on record';
  const tolerated =
    maxFailures === 1 ? 'no failure expected' : `at most ${maxFailures - 1} in a row expected`;
  return {
    state: 'failing',
    reason: `${runs} (the last one ${facts.lastEnded.status}, created ${formatInstantText(facts.lastEnded.createdAt)}); ${since}; ${tolerated}`,
  };
}

/** `slow` when the last ended run took longer than maxDuration (or the learned threshold). */
function slowProblem(
  facts: JobRunFacts,
  set: SetExpectation,
  durations: ReturnType<typeof learnDurations>,
  slowAfterMs: number | null,
): Problem | undefined {
  const lastDuration = facts.lastEnded?.durationMs ?? null;
  if (slowAfterMs === null || lastDuration === null || lastDuration <= slowAfterMs || !facts.lastEnded) {
    return undefined;
  }
  const limit =
    set.maxDurationMs !== undefined
      ? `at most ${formatDurationText(set.maxDurationMs)} expected (maxDuration)`
      : `usually at most ${formatDurationText(durations.p95Ms ?? 0)} (p95), slow beyond ${formatDurationText(slowAfterMs)}`;
  return {
    state: 'slow',
    reason: `its last ended run took ${formatDurationText(lastDuration)} (created ${formatInstantText(facts.lastEnded.createdAt)}); ${limit}`,
  };
}

/**
 * The state shown: the first problem of late, failing, slow (with every problem's reason); else healthy with
 * its notes when the interval is known (`notes` given), else unknown.
 */
function stateOf(
  problems: readonly Problem[],
  notes: string[] | undefined,
  facts: JobRunFacts,
): { state: HealthState; reasons: string[] } {
  const order: readonly HealthState[] = ['late', 'failing', 'slow'];
  const shown = order.find((state) => problems.some((problem) => problem.state === state));
  if (shown) {
    return {
      state: shown,
      reasons: order.flatMap((s) => problems.filter((problem) => problem.state === s).map((p) => p.reason)),
    };
  }
  if (notes) return { state: 'healthy', reasons: notes };
  const runs = facts.runTimes.length;
  return {
    state: 'unknown',
    reasons: [
      `too few runs to learn its interval (${runs} of the ${MIN_RUNS_TO_LEARN} needed) and no "every" set${
        facts.lastRunAt ? `; last run ${formatInstantText(facts.lastRunAt)}` : ''
      }`,
    ],
  };
}

/** " on Mon–Fri", " on Mon, Wed, Fri", or nothing for every day. */
export function onWeekdays(weekdays: Weekdays): string {
  if (!weekdays) return '';
  const sorted = [...weekdays].sort((a, b) => a - b);
  const first = sorted[0] as number;
  const consecutive = sorted.every((day, index) => day === first + index);
  if (consecutive && sorted.length > 2) {
    return ` on ${WEEKDAY_NAMES[first]}–${WEEKDAY_NAMES[sorted.at(-1) as number]}`;
  }
  return ` on ${sorted.map((day) => WEEKDAY_NAMES[day]).join(', ')}`;
}
