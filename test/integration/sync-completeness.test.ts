// Nothing lost, provably: the completeness audit (late visibility, executions the API no longer returns, a
// budget that cuts it short, its request count), what the sync learns about the API (one request per quiet
// run, kept across processes), against the emulator, DynamoDB Local and s3rver.
import { afterEach, describe, expect, it } from 'vitest';
import type { SyncSummary } from '#functions/sync/sync-summary';
import { type EmulatorJob, ManualClock } from '#local/emulator/index';
import { createSyncHarness, expectStoreToEqualEmulator, type SyncHarness } from '../support/sync-harness';

let harness: SyncHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Finds the harness's emulator answered since the last clearRequests(). */
const finds = (h: SyncHarness) => h.emulator.requests.filter((request) => request.endpoint === 'find');

describe('completeness audit', () => {
  it('stores, with its files, an execution that became visible long after its createdAt: missed by ordinary runs, found by the next audit', async () => {
    harness = await createSyncHarness({ emulator: { demo: { seed: 71, executions: 60 } } });
    const h = harness;
    const first = await h.sync();
    expect(first.audit).toMatchObject({ complete: true, monthsDiffering: 0, executionsRecovered: 0 });
    const job: EmulatorJob = h.emulator.addJob({ title: 'Export Products', kind: 'export' });
    const late = h.emulator.createExecution(job.id, {}, { runTimeMs: 60_000, visibleAfterMs: 2 * HOUR });
    // Ordinary runs every 5 minutes for three hours: the execution shows up in the API after two, with a
    // createdAt two hours old, far behind the 10-minute lookback.
    for (let elapsed = 0; elapsed < 3 * HOUR; elapsed += 5 * 60_000) {
      h.clock.advance(5 * 60_000);
      const run = await h.sync();
      expect(run.error).toBeNull();
      expect(run.audit).toBeNull();
    }
    expect(h.emulator.executions().some((execution) => execution.id === late.id)).toBe(true);
    expect(await h.executions.get(late.id)).toBeUndefined();
    // A day after the first audit, the next one finds it.
    h.clock.advance(DAY);
    const audited = await h.sync();
    expect(audited.audit).toMatchObject({
      complete: true,
      monthsDiffering: 1,
      executionsRecovered: 1,
      executionsRemovedFromApi: 0,
    });
    expect(h.metrics.total('AuditExecutionsRecovered')).toBe(1);
    expect((await h.executions.get(late.id))?.files.every((file) => file.status === 'copied')).toBe(true);
    await expectStoreToEqualEmulator(h);
  });

  it('keeps and marks the executions the API no longer returns, counts them once, and does not re-read them', async () => {
    harness = await createSyncHarness({
      emulator: { demo: { seed: 72, executions: 80 } },
      config: { auditIntervalMs: 0 },
    });
    const h = harness;
    await h.sync();
    const ended = h.emulator.executions().filter((execution) => execution.endedAt);
    const [gone, alsoGone] = ended;
    h.emulator.deleteExecution(gone?.id ?? '');
    h.emulator.deleteExecution(alsoGone?.id ?? '');
    h.clock.advance(60_000);
    const audited = await h.sync();
    expect(audited.audit).toMatchObject({ complete: true, executionsRemovedFromApi: 2 });
    const stored = await h.executions.get(gone?.id ?? '');
    expect(stored?.status).toBe(gone?.status);
    expect(stored?.removedFromApiAt).toBe(new Date(h.clock.now()).toISOString());
    // The next audit finds the months equal: nothing is re-read, nothing counted twice.
    h.clock.advance(60_000);
    h.emulator.clearRequests();
    const next = await h.sync();
    expect(next.audit).toMatchObject({ complete: true, monthsDiffering: 0, executionsRemovedFromApi: 0 });
    expect(h.metrics.total('AuditExecutionsRemovedFromApi')).toBe(2);
  });

  it('marks an open execution that the API stopped returning, and stops re-reading it', async () => {
    harness = await createSyncHarness();
    const h = harness;
    const job = h.emulator.addJob({ title: 'Sync Prices', kind: 'no-files' });
    const open = h.emulator.createExecution(job.id, {}, { runTimeMs: 3 * HOUR });
    await h.sync();
    h.emulator.deleteExecution(open.id);
    h.clock.advance(60_000);
    await h.sync();
    const stored = await h.executions.get(open.id);
    expect(stored?.removedFromApiAt).toBeDefined();
    expect(stored?.openFlag).toBeUndefined();
    h.clock.advance(60_000);
    h.emulator.clearRequests();
    await h.sync();
    expect(h.emulator.requests.filter((request) => request.endpoint === 'get')).toEqual([]);
  });

  it('resumes an audit the time budget cut short, and finishes it in the next run', async () => {
    const clock = new ManualClock('2024-02-01T00:00:00.000Z');
    harness = await createSyncHarness({ emulator: { clock, demo: { seed: 73, executions: 100, days: 60 } } });
    const h = harness;
    const job = h.emulator.addJob({ title: 'Import', kind: 'no-files' });
    // Executions created in three different months, which appear in the API only on 2024-06-02.
    const visibleAt = Date.parse('2024-06-02T00:00:00.000Z');
    const late: string[] = [];
    for (const at of ['2024-02-20', '2024-04-10', '2024-05-25']) {
      clock.set(`${at}T10:00:00.000Z`);
      const created = h.emulator.createExecution(
        job.id,
        {},
        { runTimeMs: 1_000, visibleAfterMs: visibleAt - clock.now() },
      );
      late.push(created.id);
    }
    clock.set('2024-06-01T12:00:00.000Z');
    await h.sync();
    clock.advance(DAY);
    // The budget runs out after the third count of the audit (the first find is the run's window).
    let counted = 0;
    const stop = h.emulator.onRequest((request) => {
      if (request.endpoint === 'find') counted += 1;
    });
    const cut = await h.sync({ deps: { remainingTimeMs: () => (counted < 4 ? 900_000 : 1_000) } });
    stop();
    expect(cut.error).toBeNull();
    expect(cut.moreRemaining).toBe(true);
    expect(cut.audit).toMatchObject({ complete: false, executionsRecovered: 0 });
    expect(cut.audit?.apiRequests).toBe(3);
    const resumed = await h.sync();
    expect(resumed.audit).toMatchObject({ complete: true, executionsRecovered: 3, monthsDiffering: 3 });
    expect(resumed.moreRemaining).toBe(false);
    for (const id of late) expect(await h.executions.get(id)).toBeDefined();
    await expectStoreToEqualEmulator(h, { files: false });
  });

  it('re-reads from the month on when the API refuses `lower`, and remembers it', async () => {
    const clock = new ManualClock('2024-04-20T00:00:00.000Z');
    harness = await createSyncHarness({
      emulator: {
        clock,
        demo: { seed: 74, executions: 120, days: 30 },
        findOperators: ['eq', 'greater', 'greaterOrEqual', 'in', 'search', 'and', 'or'],
      },
      config: { auditIntervalMs: 0 },
    });
    const h = harness;
    const job = h.emulator.addJob({ title: 'Import', kind: 'no-files' });
    const late = h.emulator.createExecution(job.id, {}, { runTimeMs: 1_000, visibleAfterMs: 43 * DAY });
    clock.set('2024-06-01T00:00:00.000Z');
    await h.sync();
    expect(await h.executions.get(late.id)).toBeUndefined();
    clock.advance(2 * DAY);
    const summary = await h.sync();
    expect(summary.audit).toMatchObject({ complete: true, executionsRecovered: 1 });
    expect(await h.executions.get(late.id)).toBeDefined();
    expect((await h.state.getApiProfile())?.lowerSupported).toBe(false);
    await expectStoreToEqualEmulator(h, { files: false });
  });

  it('costs at most 25 requests for a history of 24 months with nothing missing', async () => {
    const clock = new ManualClock('2022-07-01T08:00:00.000Z');
    harness = await createSyncHarness({ emulator: { clock }, config: { pageSize: 1000 } });
    const h = harness;
    const jobs = [
      h.emulator.addJob({ title: 'Sync Prices', kind: 'no-files' }),
      h.emulator.addJob({ title: 'Refresh Stock', kind: 'no-files' }),
    ];
    // Two executions a day from 2022-07-01 to now, 2024-06-01: 24 calendar months, the last one current.
    while (h.clock.now() < Date.parse('2024-06-01T00:00:00.000Z')) {
      for (const job of jobs) h.emulator.createExecution(job.id, {}, { runTimeMs: 1_000 });
      h.clock.advance(12 * HOUR);
    }
    h.clock.set(Date.parse('2024-06-01T12:00:00.000Z'));
    const first = await h.sync({ config: { auditIntervalMs: DAY } });
    expect(first.executions.new).toBeGreaterThan(1_400);
    expect(first.audit).toMatchObject({ complete: true, monthsDiffering: 0 });
    h.clock.advance(DAY + 60_000);
    h.emulator.clearRequests();
    const summary = await h.sync();
    expect(summary.audit).toMatchObject({ complete: true, monthsDiffering: 0, monthsChecked: 24 });
    expect(summary.audit?.apiRequests).toBeLessThanOrEqual(25);
    // Every audit request is a count: one page of one execution.
    expect(finds(h).filter((request) => request.query.size === '1')).toHaveLength(
      summary.audit?.apiRequests ?? -1,
    );
  });
});

describe('one request per quiet run', () => {
  /** A backfill, then runs until one finds nothing to do; returns the summary of a quiet run. */
  async function quietRun(h: SyncHarness): Promise<SyncSummary> {
    h.clock.advance(60_000);
    h.emulator.clearRequests();
    const summary = await h.sync();
    expect(summary.error).toBeNull();
    expect(summary.executions.new).toBe(0);
    return summary;
  }

  it('costs exactly one request with executions open, and again in a fresh process', async () => {
    harness = await createSyncHarness({ config: { auditIntervalMs: 365 * DAY } });
    const h = harness;
    const job = h.emulator.addJob({ title: 'Sync Prices', kind: 'no-files' });
    for (let index = 0; index < 5; index++) h.emulator.createExecution(job.id, {}, { runTimeMs: 6 * HOUR });
    await h.sync();
    // Each harness run builds the function anew: a fresh client, as after a cold start.
    for (let run = 0; run < 2; run++) {
      const quiet = await quietRun(h);
      expect(quiet.apiRequests).toBe(1);
      expect(quiet.executions.openRefreshed).toBe(5);
      expect(finds(h)).toHaveLength(1);
    }
  });

  it('costs two when the API refuses `or` (one request to learn it), also in a fresh process after learning', async () => {
    harness = await createSyncHarness({
      emulator: {
        // Find only at the /data_factory/ path, and no `or`.
        findPath: '/v1/data_factory/job_executions/find',
        findOperators: ['eq', 'greater', 'greaterOrEqual', 'in', 'search', 'and'],
      },
      config: { auditIntervalMs: 365 * DAY },
    });
    const h = harness;
    const job = h.emulator.addJob({ title: 'Sync Prices', kind: 'no-files' });
    for (let index = 0; index < 5; index++) h.emulator.createExecution(job.id, {}, { runTimeMs: 6 * HOUR });
    await h.sync();
    const learning = await quietRun(h);
    expect(learning.apiRequests).toBe(3); // the refused `or`, then `in` and the window
    expect(await h.state.getApiProfile()).toMatchObject({
      findPath: '/v1/data_factory/job_executions/find',
      orSupported: false,
    });
    for (let run = 0; run < 2; run++) {
      const quiet = await quietRun(h);
      expect(quiet.apiRequests).toBe(2);
      expect(quiet.executions.openRefreshed).toBe(5);
      // No request goes to the path that answers 404.
      expect(h.emulator.requests.every((request) => request.status !== 404)).toBe(true);
    }
  });

  it('remembers the page size the API accepts and learns again after a day', async () => {
    harness = await createSyncHarness({
      emulator: { demo: { seed: 75, executions: 40 }, maxPageSize: 100 },
      config: { pageSize: 1000, auditIntervalMs: 365 * DAY },
    });
    const h = harness;
    await h.sync();
    expect((await h.state.getApiProfile())?.pageSize).toBe(62);
    const quiet = await quietRun(h);
    expect(quiet.apiRequests).toBe(1);
    expect(finds(h).map((request) => request.query.size)).toEqual(['62']);
    h.clock.advance(DAY);
    h.emulator.clearRequests();
    await h.sync();
    expect(finds(h)[0]?.query.size).toBe('1000');
  });
});
