// The learning rule of job health on generated histories: the usual interval of a daily, hourly, weekdays-only,
// several-times-a-day, irregular and paused-then-resumed job; too few runs; the usual duration and the slow
// threshold; and the late edge each learned interval gives (docs/health.md "The learning rule").
import { describe, expect, it } from 'vitest';
import { evaluateJobHealth } from '#core/health/evaluate-job-health';
import { buildRunFacts, type JobRunFacts, type RunView } from '#core/health/job-run-facts';
import {
  activeMsBetween,
  advanceActive,
  defaultGraceMs,
  LEARNING_GAPS,
  learnDurations,
  learnSchedule,
  MIN_RUNS_TO_LEARN,
} from '#core/health/learn-schedule';
import {
  atHours,
  DAY,
  daily,
  everyInterval,
  HOUR,
  irregular,
  MINUTE,
  runsAt,
  weekdaysOnly,
} from '../../../../builders/job-history.builder';

const JOB = '65819ba43ad5b963658ab35d';

function factsOf(runs: RunView[], previous?: JobRunFacts): JobRunFacts {
  return buildRunFacts(JOB, runs, previous);
}

/** The evaluation of a history with nothing set, as of `asOf` (ms). */
function learned(times: number[], asOf: number, options: Parameters<typeof runsAt>[1] = {}) {
  return evaluateJobHealth(factsOf(runsAt(times, options)), {}, asOf);
}

describe('the learned interval', () => {
  it('daily at 02:00 (± 10 minutes): about 24 hours; late only once 24 h + the grace (6 h) passed', () => {
    const times = daily('2026-12-05', 40);
    const last = times.at(-1) as number;
    const health = learned(times, last + HOUR, { jitterMs: 10 * MINUTE });
    expect(health.schedule).toBe('learned');
    expect(health.usualIntervalMs).toBeGreaterThanOrEqual(24 * HOUR);
    expect(health.usualIntervalMs).toBeLessThanOrEqual(24 * HOUR + 20 * MINUTE);
    expect(health.graceMs).toBe(defaultGraceMs(health.usualIntervalMs as number));
    expect(health.state).toBe('healthy');
    const facts = factsOf(runsAt(times, { jitterMs: 10 * MINUTE }));
    const expectedBy = Date.parse(health.expectedBy as string);
    expect(expectedBy).toBe(
      Date.parse(facts.lastRunAt as string) + (health.usualIntervalMs as number) + (health.graceMs as number),
    );
    // The edge: at expectedBy the job is not late yet; a millisecond later it is.
    expect(evaluateJobHealth(facts, {}, expectedBy).state).toBe('healthy');
    const late = evaluateJobHealth(facts, {}, expectedBy + 1);
    expect(late.state).toBe('late');
    expect(late.reasons[0]).toMatch(/^no run since 2026-12-05 0[12]:\d\d UTC; usually every 24h/);
  });

  it('hourly: about an hour, with the minimum grace of 30 minutes', () => {
    const times = everyInterval(Date.parse('2026-12-05T10:00:00Z'), HOUR, 72);
    const health = learned(times, Date.parse('2026-12-05T10:05:00Z'), { jitterMs: 2 * MINUTE });
    expect(health.usualIntervalMs).toBeGreaterThanOrEqual(HOUR);
    expect(health.usualIntervalMs).toBeLessThanOrEqual(HOUR + 4 * MINUTE);
    expect(health.graceMs).toBe(30 * MINUTE);
    expect(learned(times, Date.parse('2026-12-05T11:20:00Z')).state).toBe('healthy');
    expect(learned(times, Date.parse('2026-12-05T11:31:00Z')).state).toBe('late');
  });

  it('weekdays only: learns Monday to Friday once 3 weeks are known, and is not late over the weekend', () => {
    // The last run on Friday 2026-12-04 at 06:00, six weeks of weekdays before it.
    const times = weekdaysOnly('2026-12-04', 6);
    const facts = factsOf(runsAt(times));
    const saturday = evaluateJobHealth(facts, {}, Date.parse('2026-12-05T12:00:00Z'));
    expect(saturday.activeWeekdays).toEqual([1, 2, 3, 4, 5]);
    expect(saturday.usualIntervalMs).toBe(24 * HOUR);
    expect(saturday.state).toBe('healthy');
    // Next run expected Monday 06:00, late after the grace of 6 hours.
    expect(saturday.expectedBy).toBe('2026-12-07T12:00:00.000Z');
    expect(saturday.reasons[0]).toContain('usually every 24h on Mon–Fri');
    expect(evaluateJobHealth(facts, {}, Date.parse('2026-12-07T12:00:00Z')).state).toBe('healthy');
    expect(evaluateJobHealth(facts, {}, Date.parse('2026-12-07T12:01:00Z')).state).toBe('late');
  });

  it('weekdays only, with less than 3 weeks of history: every day counts, the weekend gap is its interval', () => {
    const times = weekdaysOnly('2026-12-04', 2);
    const health = learned(times, Date.parse('2026-12-05T12:00:00Z'));
    expect(health.activeWeekdays).toBeNull();
    expect(health.usualIntervalMs).toBe(72 * HOUR);
    expect(health.state).toBe('healthy');
  });

  it('a few times a day (06:00, 12:00, 18:00): the night gap of 12 hours, so no night is late', () => {
    const times = atHours('2026-12-05', 20, [6, 12, 18]);
    const facts = factsOf(runsAt(times));
    const night = evaluateJobHealth(facts, {}, Date.parse('2026-12-06T05:59:00Z'));
    expect(night.usualIntervalMs).toBe(12 * HOUR);
    expect(night.state).toBe('healthy');
    // 18:00 + 12 h + a grace of 3 h: late from 09:00 on if the 06:00 run never came.
    expect(night.expectedBy).toBe('2026-12-06T09:00:00.000Z');
    expect(evaluateJobHealth(facts, {}, Date.parse('2026-12-06T09:00:01Z')).state).toBe('late');
  });

  it('irregular (every 1 to 5 days): the longest recent gap, so an ordinary long gap is not late', () => {
    const last = Date.parse('2026-12-05T08:00:00Z');
    const times = irregular(last, 40, DAY, 5 * DAY);
    const recentGaps = times
      .slice(-(LEARNING_GAPS + 1))
      .slice(1)
      .map((time, index) => time - (times.slice(-(LEARNING_GAPS + 1))[index] as number));
    const health = learned(times, last + HOUR);
    expect(health.usualIntervalMs).toBe(Math.max(...recentGaps));
    expect(health.usualIntervalMs).toBeLessThanOrEqual(5 * DAY);
    expect(learned(times, last + 5 * DAY).state).toBe('healthy');
  });

  it('few runs: unknown until the fifth run, then learned', () => {
    const times = daily('2026-12-05', MIN_RUNS_TO_LEARN);
    const asOf = (times.at(-1) as number) + HOUR;
    const four = learned(times.slice(1), asOf);
    expect(four.state).toBe('unknown');
    expect(four.schedule).toBeNull();
    expect(four.expectedBy).toBeNull();
    expect(four.reasons[0]).toMatch(/^too few runs to learn its interval \(4 of the 5 needed\)/);
    const five = learned(times, asOf);
    expect(five.state).toBe('healthy');
    expect(five.usualIntervalMs).toBe(DAY);
  });

  it('paused then resumed: the pause is set aside once 10 gaps are known', () => {
    const before = daily('2026-11-10', 20);
    const after = daily('2026-12-05', 12);
    const health = learned([...before, ...after], Date.parse('2026-12-05T04:00:00Z'));
    expect(health.usualIntervalMs).toBe(DAY);
    expect(health.state).toBe('healthy');
  });

  it('paused then resumed with few runs: fewer than 10 gaps set nothing aside (a lenient interval)', () => {
    const before = daily('2026-11-10', 3);
    const after = daily('2026-12-05', 3);
    const health = learned([...before, ...after], Date.parse('2026-12-05T04:00:00Z'));
    expect(health.usualIntervalMs).toBe(23 * DAY);
  });

  it('a job that stopped: late, reasons in words, the state as of the watermark', () => {
    const times = daily('2026-12-05', 30);
    const health = learned(times, Date.parse('2026-12-08T00:00:00Z'));
    expect(health.state).toBe('late');
    expect(health.reasons).toEqual([
      'no run since 2026-12-05 02:00 UTC; usually every 24h (late since 2026-12-06 08:00 UTC, with a grace of 6h)',
    ]);
  });
});

describe('the parts of the rule', () => {
  it('sets aside at most a tenth of the gaps, largest first, each only if 1.5 times the next', () => {
    const base = everyInterval(100 * DAY, DAY, 21); // 20 gaps of a day
    const withPauses = [...base.slice(0, 5), ...base.slice(5).map((t) => t + 10 * DAY)];
    // One gap of 11 days among 19 of a day: set aside.
    expect(learnSchedule(withPauses, null)?.intervalMs).toBe(DAY);
    expect(learnSchedule(withPauses, null)?.gapsSetAside).toBe(1);
    // Two gaps that recur (1.2 days twice): not outliers of each other.
    const recurring = [...base.slice(0, 10), ...base.slice(10).map((t) => t + 0.2 * DAY)];
    const twice = [...recurring.slice(0, 15), ...recurring.slice(15).map((t) => t + 0.2 * DAY)];
    expect(learnSchedule(twice, null)?.intervalMs).toBe(1.2 * DAY);
  });

  it('counts time on the active weekdays only, forwards and between two instants', () => {
    const friday = Date.parse('2026-12-04T06:00:00Z');
    const monday = Date.parse('2026-12-07T06:00:00Z');
    const weekdays = [1, 2, 3, 4, 5];
    expect(activeMsBetween(friday, monday, weekdays)).toBe(DAY);
    expect(activeMsBetween(friday, monday, null)).toBe(3 * DAY);
    expect(advanceActive(friday, DAY, weekdays)).toBe(monday);
    expect(advanceActive(friday, 17 * HOUR, weekdays)).toBe(Date.parse('2026-12-04T23:00:00Z'));
  });

  it('learns the usual duration (median) and the slow threshold from the runs before the last one', () => {
    expect(learnDurations([])).toEqual({ usualMs: null, slowAfterMs: null, p95Ms: null });
    // Three earlier runs: not enough for a threshold.
    expect(learnDurations([5, 1, 2, 3]).slowAfterMs).toBeNull();
    const minutes = [100, 10, 11, 12, 13, 14].map((m) => m * MINUTE);
    const learnedDurations = learnDurations(minutes);
    expect(learnedDurations.p95Ms).toBe(14 * MINUTE);
    expect(learnedDurations.slowAfterMs).toBe(28 * MINUTE);
    expect(learnedDurations.usualMs).toBe(12 * MINUTE);
    // Short runs: at least a minute above the p95.
    expect(learnDurations([1_000, 5_000, 5_000, 6_000, 7_000]).slowAfterMs).toBe(67_000);
  });

  it('keeps what earlier reads found: first run, weekdays, last success, when a later read has fewer runs', () => {
    const old = factsOf(runsAt(daily('2026-11-01', 10)));
    const recent = runsAt(daily('2026-12-05', 3), { status: () => 'FAILED' });
    const merged = factsOf(recent, old);
    expect(merged.firstRunAt).toBe(old.firstRunAt);
    expect(merged.lastSuccessAt).toBe('2026-11-01T02:00:00.000Z');
    expect(merged.lastRunAt).toBe('2026-12-05T02:00:00.000Z');
    expect(merged.consecutiveFailures).toBe(3);
    expect(merged.weekdayRunDays.every((days) => days.length > 0)).toBe(true);
    // No run read: the previous facts stand.
    expect(factsOf([], merged)).toBe(merged);
  });
});
