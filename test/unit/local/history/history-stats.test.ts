import { describe, expect, it } from 'vitest';
import { HistoryInputError } from '#core/history/history.errors';
import { computeStats, type StatsRow } from '#local/history/execution-stats';
import { bucketStart, computeTimeline } from '#local/history/timeline';

const JOB_A = '65819ba43ad5b963658ab35d';
const JOB_B = '65819ba43ad5b963658ab35e';

function aRow(overrides: Partial<StatsRow> = {}): StatsRow {
  return { jobId: JOB_A, status: 'COMPLETED', createdAt: '2024-05-01T10:00:00.000Z', ...overrides };
}

describe('computeStats', () => {
  it('counts runs per status (every documented status, zeros included), success over ended runs only', () => {
    const stats = computeStats([
      aRow({ status: 'COMPLETED', durationMs: 1_000 }),
      aRow({ status: 'COMPLETED', durationMs: 3_000 }),
      aRow({ status: 'FAILED', durationMs: 2_000 }),
      aRow({ status: 'RUNNING' }),
      aRow({ status: 'PENDING' }),
    ]);
    const [job] = stats.jobs;
    expect(job?.runs).toBe(5);
    expect(job?.byStatus).toEqual({
      PENDING: 1,
      RUNNING: 1,
      COMPLETED: 2,
      USER_ERROR: 0,
      FAILED: 1,
      TERMINATED: 0,
      TIMEDOUT: 0,
    });
    expect(job?.ended).toBe(3);
    expect(job?.successRate).toBe(2 / 3);
    expect(job?.durationMs).toEqual({ p50: 2_000, p95: 3_000, max: 3_000 });
  });

  it('keeps an undocumented status as a count of its own and treats it as not ended', () => {
    const stats = computeStats([aRow({ status: 'QUEUED' }), aRow({ status: 'COMPLETED', durationMs: 5 })]);
    expect(stats.total.byStatus.QUEUED).toBe(1);
    expect(Object.keys(stats.total.byStatus).at(-1)).toBe('QUEUED');
    expect(stats.total.successRate).toBe(1);
  });

  it('has null success rate and durations when nothing has ended', () => {
    const stats = computeStats([aRow({ status: 'RUNNING' })]);
    expect(stats.total.successRate).toBeNull();
    expect(stats.total.durationMs).toEqual({ p50: null, p95: null, max: null });
    expect(stats.total.lastFailureAt).toBeNull();
  });

  it('ignores durations of runs that have not ended, and ended runs without a duration', () => {
    const stats = computeStats([
      aRow({ status: 'RUNNING', durationMs: 99_999 }),
      aRow({ status: 'TERMINATED' }),
      aRow({ status: 'COMPLETED', durationMs: 10 }),
    ]);
    expect(stats.total.durationMs).toEqual({ p50: 10, p95: 10, max: 10 });
    expect(stats.total.successRate).toBe(0.5);
  });

  it('reports the last run, the last failure (any ended status but COMPLETED) and the newest title', () => {
    const stats = computeStats([
      aRow({ createdAt: '2024-05-03T00:00:00.000Z', status: 'COMPLETED', title: 'Renamed' }),
      aRow({ createdAt: '2024-05-02T00:00:00.000Z', status: 'USER_ERROR', title: 'Old name' }),
      aRow({ createdAt: '2024-05-01T00:00:00.000Z', status: 'TIMEDOUT', title: 'Old name' }),
      aRow({ createdAt: '2024-05-04T00:00:00.000Z', status: 'RUNNING' }),
    ]);
    expect(stats.jobs[0]).toMatchObject({
      title: 'Renamed',
      lastRunAt: '2024-05-04T00:00:00.000Z',
      lastFailureAt: '2024-05-02T00:00:00.000Z',
    });
  });

  it('orders jobs by runs, and adds a total row over every job', () => {
    const stats = computeStats(
      [
        aRow({ jobId: JOB_A, title: 'A', durationMs: 100 }),
        aRow({ jobId: JOB_B, title: 'B', durationMs: 300 }),
        aRow({ jobId: JOB_B, title: 'B', status: 'FAILED', durationMs: 200 }),
      ],
      { since: '2024-05-01T00:00:00.000Z' },
    );
    expect(stats.jobs.map((job) => job.jobId)).toEqual([JOB_B, JOB_A]);
    expect(stats.period).toEqual({ since: '2024-05-01T00:00:00.000Z', until: null });
    expect(stats.total).toMatchObject({
      jobId: null,
      title: 'All jobs',
      runs: 3,
      ended: 3,
      successRate: 2 / 3,
      durationMs: { p50: 200, p95: 300, max: 300 },
    });
  });

  it('has the DESIGN shape with no jobs', () => {
    const stats = computeStats([]);
    expect(stats.jobs).toEqual([]);
    expect(stats.total).toMatchObject({ runs: 0, successRate: null, lastRunAt: null });
  });
});

describe('computeTimeline', () => {
  it('puts runs into UTC day and hour buckets', () => {
    expect(bucketStart('2024-05-01T23:59:59.999Z', 'day')).toBe('2024-05-01T00:00:00.000Z');
    expect(bucketStart('2024-05-01T13:45:00.000Z', 'hour')).toBe('2024-05-01T13:00:00.000Z');
  });

  it('counts runs and failures per bucket and fills the quiet buckets of the range', () => {
    const timeline = computeTimeline(
      [
        { createdAt: '2024-05-01T10:00:00.000Z', status: 'COMPLETED' },
        { createdAt: '2024-05-01T11:00:00.000Z', status: 'FAILED' },
        { createdAt: '2024-05-03T09:00:00.000Z', status: 'RUNNING' },
      ],
      { bucket: 'day', from: '2024-04-30T12:00:00.000Z', to: '2024-05-04T01:00:00.000Z' },
    );
    expect(timeline.buckets).toEqual([
      { start: '2024-04-30T00:00:00.000Z', runs: 0, failures: 0 },
      { start: '2024-05-01T00:00:00.000Z', runs: 2, failures: 1 },
      { start: '2024-05-02T00:00:00.000Z', runs: 0, failures: 0 },
      { start: '2024-05-03T00:00:00.000Z', runs: 1, failures: 0 },
      { start: '2024-05-04T00:00:00.000Z', runs: 0, failures: 0 },
    ]);
    expect(timeline.total).toEqual({ runs: 3, failures: 1 });
  });

  it('spans the rows themselves when the range is open', () => {
    const timeline = computeTimeline(
      [
        { createdAt: '2024-05-01T10:30:00.000Z', status: 'TERMINATED' },
        { createdAt: '2024-05-01T12:10:00.000Z', status: 'COMPLETED' },
      ],
      { bucket: 'hour' },
    );
    expect(timeline.buckets.map((point) => [point.start.slice(11, 13), point.runs, point.failures])).toEqual([
      ['10', 1, 1],
      ['11', 0, 0],
      ['12', 1, 0],
    ]);
  });

  it('has no buckets without rows or range', () => {
    expect(computeTimeline([], { bucket: 'day' }).buckets).toEqual([]);
  });

  it('refuses a chart of thousands of buckets', () => {
    expect(() =>
      computeTimeline([], {
        bucket: 'hour',
        from: '2020-01-01T00:00:00.000Z',
        to: '2024-01-01T00:00:00.000Z',
      }),
    ).toThrow(HistoryInputError);
  });
});
