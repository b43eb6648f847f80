// The states of job health and their reasons at their edges: failing at exactly maxConsecutiveFailures (learned
// default 2, or set), slow just above maxDuration (set, or learned from the p95), late and failing at once (late
// shows, both reasons listed), set values winning over learned ones, `every: "never"`, and unknown.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_CONSECUTIVE_FAILURES,
  evaluateJobHealth,
  onWeekdays,
} from '#core/health/evaluate-job-health';
import { needsAttention, stateRank } from '#core/health/health-states';
import { buildRunFacts } from '#core/health/job-run-facts';
import {
  atHours,
  DAY,
  daily,
  HOUR,
  MINUTE,
  runsAt,
  weekdaysOnly,
} from '../../../../builders/job-history.builder';

const JOB = '65819ba43ad5b963658ab35d';

/** 20 daily runs, the last `failures` of them failed. */
function dailyEndingInFailures(failures: number, status = 'FAILED') {
  const times = daily('2026-12-05', 20);
  return buildRunFacts(
    JOB,
    runsAt(times, { status: (index) => (index >= 20 - failures ? status : 'COMPLETED') }),
  );
}

const SOON_AFTER = Date.parse('2026-12-05T03:00:00Z');

describe('failing', () => {
  it(`is failing at exactly ${DEFAULT_MAX_CONSECUTIVE_FAILURES} ended runs in a row that did not complete, not at one`, () => {
    expect(evaluateJobHealth(dailyEndingInFailures(1), {}, SOON_AFTER).state).toBe('healthy');
    const failing = evaluateJobHealth(dailyEndingInFailures(2), {}, SOON_AFTER);
    expect(failing.state).toBe('failing');
    expect(failing.consecutiveFailures).toBe(2);
    expect(failing.reasons).toEqual([
      'its last 2 ended runs did not complete (the last one FAILED, created 2026-12-05 02:00 UTC); the last success was created 2026-12-03 02:00 UTC; at most 1 in a row expected',
    ]);
  });

  it('counts every end but COMPLETED (TIMEDOUT, USER_ERROR, TERMINATED) and follows a set maxConsecutiveFailures', () => {
    for (const status of ['TIMEDOUT', 'USER_ERROR', 'TERMINATED']) {
      expect(evaluateJobHealth(dailyEndingInFailures(2, status), {}, SOON_AFTER).state, status).toBe(
        'failing',
      );
    }
    const set = { maxConsecutiveFailures: 3 };
    expect(evaluateJobHealth(dailyEndingInFailures(2), set, SOON_AFTER).state).toBe('healthy');
    expect(evaluateJobHealth(dailyEndingInFailures(3), set, SOON_AFTER).state).toBe('failing');
    const single = evaluateJobHealth(dailyEndingInFailures(1), { maxConsecutiveFailures: 1 }, SOON_AFTER);
    expect(single.state).toBe('failing');
    // One run, and none tolerated, in words that read.
    expect(single.reasons[0]).toMatch(/^its last ended run did not complete \(the last one FAILED, /);
    expect(single.reasons[0]).toMatch(/; no failure expected$/);
  });

  it('returns to healthy after one completed run; open runs do not break or end a streak', () => {
    const times = daily('2026-12-05', 20);
    const statuses = (index: number) => (index === 19 ? 'COMPLETED' : index >= 15 ? 'FAILED' : 'COMPLETED');
    expect(
      evaluateJobHealth(buildRunFacts(JOB, runsAt(times, { status: statuses })), {}, SOON_AFTER).state,
    ).toBe('healthy');
    const running = (index: number) => (index === 19 ? 'RUNNING' : index >= 17 ? 'FAILED' : 'COMPLETED');
    const facts = buildRunFacts(JOB, runsAt(times, { status: running }));
    expect(facts.openRuns).toBe(1);
    expect(evaluateJobHealth(facts, {}, SOON_AFTER).state).toBe('failing');
  });

  it('a job whose only two runs failed is failing, though too young to learn its interval', () => {
    const facts = buildRunFacts(JOB, runsAt(daily('2026-12-05', 2), { status: () => 'FAILED' }));
    const health = evaluateJobHealth(facts, {}, SOON_AFTER);
    expect(health.state).toBe('failing');
    expect(health.schedule).toBeNull();
    expect(health.reasons[0]).toContain('no success on record');
  });
});

describe('slow', () => {
  const withLast = (lastMs: number, earlierMs = 10 * MINUTE) =>
    buildRunFacts(
      JOB,
      runsAt(daily('2026-12-05', 20), { durationMs: (index) => (index === 19 ? lastMs : earlierMs) }),
    );

  it('is slow just above a set maxDuration, not at it', () => {
    const set = { maxDurationMs: 30 * MINUTE };
    expect(evaluateJobHealth(withLast(30 * MINUTE), set, SOON_AFTER).state).toBe('healthy');
    const slow = evaluateJobHealth(withLast(30 * MINUTE + 1), set, SOON_AFTER);
    expect(slow.state).toBe('slow');
    expect(slow.reasons[0]).toBe(
      'its last ended run took 30m (created 2026-12-05 02:00 UTC); at most 30m expected (maxDuration)',
    );
  });

  it('learned: slow beyond twice the p95 of the earlier runs', () => {
    // Earlier runs all 10 minutes: p95 10m, slow beyond 20m.
    expect(evaluateJobHealth(withLast(20 * MINUTE), {}, SOON_AFTER).state).toBe('healthy');
    const slow = evaluateJobHealth(withLast(20 * MINUTE + 1), {}, SOON_AFTER);
    expect(slow.state).toBe('slow');
    expect(slow.slowAfterMs).toBe(20 * MINUTE);
    expect(slow.usualDurationMs).toBe(10 * MINUTE);
    expect(slow.reasons[0]).toContain('usually at most 10m (p95), slow beyond 20m');
  });

  it('is never judged slow on its own run alone, nor with too few earlier runs', () => {
    const few = buildRunFacts(
      JOB,
      runsAt(daily('2026-12-05', 4), { durationMs: (index) => (index === 3 ? 10 * HOUR : MINUTE) }),
    );
    expect(evaluateJobHealth(few, { everyMs: DAY }, SOON_AFTER).state).toBe('healthy');
  });
});

describe('several problems, set values, never, unknown', () => {
  it('late and failing at once: late shows, both reasons are listed, late first', () => {
    const facts = dailyEndingInFailures(3);
    const health = evaluateJobHealth(facts, {}, Date.parse('2026-12-09T00:00:00Z'));
    expect(health.state).toBe('late');
    expect(health.reasons).toHaveLength(2);
    expect(health.reasons[0]).toMatch(/^no run since/);
    expect(health.reasons[1]).toMatch(/^its last 3 ended runs did not complete/);
  });

  it('failing and slow: failing shows', () => {
    const facts = buildRunFacts(
      JOB,
      runsAt(daily('2026-12-05', 20), {
        status: (index) => (index >= 18 ? 'FAILED' : 'COMPLETED'),
        durationMs: (index) => (index === 19 ? 5 * HOUR : MINUTE),
      }),
    );
    const health = evaluateJobHealth(facts, {}, SOON_AFTER);
    expect(health.state).toBe('failing');
    expect(health.reasons.map((reason) => reason.split(' ')[0])).toEqual(['its', 'its']);
    expect(health.reasons[1]).toContain('took 5h');
  });

  it('a set every wins over the learned interval, counts every day, and a set grace over the default', () => {
    const facts = buildRunFacts(JOB, runsAt(weekdaysOnly('2026-12-04', 6)));
    const set = evaluateJobHealth(
      facts,
      { everyMs: 24 * HOUR, graceMs: HOUR },
      Date.parse('2026-12-05T07:00:00Z'),
    );
    expect(set.schedule).toBe('set');
    expect(set.activeWeekdays).toBeNull();
    expect(set.expectedBy).toBe('2026-12-05T07:00:00.000Z');
    expect(set.state).toBe('healthy');
    const late = evaluateJobHealth(
      facts,
      { everyMs: 24 * HOUR, graceMs: HOUR },
      Date.parse('2026-12-05T07:00:01Z'),
    );
    expect(late.state).toBe('late');
    expect(late.reasons[0]).toContain('expected every 24h');
    // Learned, the same job is not late on a Saturday.
    expect(evaluateJobHealth(facts, {}, Date.parse('2026-12-05T07:00:01Z')).state).toBe('healthy');
  });

  it('every "never": never late (an on-demand or retired job), healthy unless failing or slow', () => {
    const facts = buildRunFacts(JOB, runsAt(daily('2025-01-05', 20)));
    const health = evaluateJobHealth(facts, { everyMs: null }, Date.parse('2026-12-05T00:00:00Z'));
    expect(health.state).toBe('healthy');
    expect(health.schedule).toBe('never');
    expect(health.expectedBy).toBeNull();
    expect(health.reasons).toEqual(['lateness not judged ("every": "never")']);
  });

  it('unknown with too few runs and nothing set; a set every makes it judged', () => {
    const facts = buildRunFacts(JOB, runsAt(daily('2026-12-05', 3)));
    expect(evaluateJobHealth(facts, {}, SOON_AFTER).state).toBe('unknown');
    expect(evaluateJobHealth(facts, { everyMs: DAY }, SOON_AFTER).state).toBe('healthy');
    expect(evaluateJobHealth(facts, { everyMs: DAY }, Date.parse('2026-12-06T08:00:01Z')).state).toBe('late');
  });

  it('does not take an irregular job or a young weekday job for one that skips weekdays', () => {
    const several = buildRunFacts(JOB, runsAt(atHours('2026-12-05', 30, [8, 20])));
    expect(evaluateJobHealth(several, {}, SOON_AFTER).activeWeekdays).toBeNull();
    const young = buildRunFacts(JOB, runsAt(weekdaysOnly('2026-12-04', 2)));
    expect(evaluateJobHealth(young, {}, SOON_AFTER).activeWeekdays).toBeNull();
  });

  it('lists problems first, in the order late, failing, slow, then unknown, then healthy; names weekdays', () => {
    const states = ['healthy', 'slow', 'unknown', 'late', 'failing'];
    expect([...states].sort((a, b) => stateRank(a) - stateRank(b))).toEqual([
      'late',
      'failing',
      'slow',
      'unknown',
      'healthy',
    ]);
    expect(states.filter(needsAttention)).toEqual(['slow', 'late', 'failing']);
    expect(onWeekdays([1, 2, 3, 4, 5])).toBe(' on Mon–Fri');
    expect(onWeekdays([1, 3, 5])).toBe(' on Mon, Wed, Fri');
    expect(onWeekdays(null)).toBe('');
  });
});
