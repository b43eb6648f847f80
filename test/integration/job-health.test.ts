// Job health on the local stack: the sync function (its factory, as Lambda runs it) against the emulator,
// DynamoDB Local and s3rver. A job whose runs stop becomes late on a later sync with no new execution, a job whose
// runs fail becomes failing, both return to healthy when they run well again; each change is one Job Health
// Change event and a re-evaluation that changes nothing publishes none; no Scan and no extra Product-Live request;
// `history health --json` prints what the store holds; and `sync_runs` in the lake equals the runs that happened.

import { afterEach, describe, expect, it } from 'vitest';
import type { BusEvent } from '#core/events/bus-event';
import { EVENT_SOURCE } from '#core/events/execution-event';
import { JOB_HEALTH_DETAIL_TYPE, type JobHealthEventDetail } from '#core/events/job-health-event';
import { JobHealthRepository } from '#core/store/job-health-repository';
import type { SyncSummary } from '#functions/sync/sync-summary';
import { type EmulatorJob, ManualClock } from '#local/emulator/index';
import { runHistoryCli } from '../support/history-cli';
import { queryLake } from '../support/lake-check';
import { createSyncHarness, type SyncHarness } from '../support/sync-harness';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const open: SyncHarness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((harness) => harness.close()));
});

interface Scenario {
  h: SyncHarness;
  steady: EmulatorJob;
  stopper: EmulatorJob;
  failer: EmulatorJob;
  /** Commands sent to DynamoDB since the harness started (name, table, index, the state item written). */
  commands: Array<{ name: string; table: string; index?: string; item?: string }>;
  summaries: SyncSummary[];
  sync(): Promise<SyncSummary>;
}

/**
 * Three jobs that ran daily at 02:00 for 8 days: `steady` runs on, `stopper` stops after its 8th run, `failer`
 * fails from its 6th run on. The clock stands at the 9th day 02:00, the steady and failing jobs' runs of that day
 * created.
 */
async function scenario(): Promise<Scenario> {
  const h = await createSyncHarness({
    emulator: { clock: new ManualClock('2024-06-01T02:00:00.000Z') },
  });
  open.push(h);
  const commands: Scenario['commands'] = [];
  h.clients.dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { TableName?: string; IndexName?: string; Item?: { name?: unknown } };
      commands.push({
        name: String(context.commandName),
        table: String(input.TableName),
        ...(input.IndexName ? { index: input.IndexName } : {}),
        ...(typeof input.Item?.name === 'string' ? { item: input.Item.name } : {}),
      });
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  const run = (job: EmulatorJob, outcome: 'COMPLETED' | 'FAILED') =>
    h.emulator.createExecution(job.id, {}, { runTimeMs: 60_000, outcome });
  const steady = h.emulator.addJob({ title: 'Nightly export', kind: 'no-files' });
  const stopper = h.emulator.addJob({ title: 'Supplier feed', kind: 'no-files' });
  const failer = h.emulator.addJob({ title: 'Price import', kind: 'no-files' });
  for (let day = 0; day < 8; day++) {
    run(steady, 'COMPLETED');
    run(stopper, 'COMPLETED');
    run(failer, day >= 5 ? 'FAILED' : 'COMPLETED');
    h.clock.advance(DAY);
  }
  run(steady, 'COMPLETED');
  run(failer, 'FAILED');
  h.clock.advance(5 * 60_000);
  const summaries: SyncSummary[] = [];
  return {
    h,
    steady,
    stopper,
    failer,
    commands,
    summaries,
    sync: async () => {
      const summary = await h.sync();
      expect(summary.error).toBeNull();
      summaries.push(summary);
      return summary;
    },
  };
}

const details = (events: readonly BusEvent[]) => events.map((event) => event.detail as JobHealthEventDetail);
const changes = (events: readonly BusEvent[], jobId: string) =>
  details(events)
    .filter((detail) => detail.jobId === jobId)
    .map((detail) => [detail.previousState, detail.state]);

describe('job health on the local stack', () => {
  it('notices a job that stopped on a later sync with no new execution, one that fails, and their recovery; one event per change', async () => {
    const s = await scenario();
    const { h, steady, stopper, failer } = s;

    // The first evaluation: every job gets its first state (previousState null).
    const first = await s.sync();
    expect(first.health).toMatchObject({ jobs: 3, changed: 3, eventsPublished: 3, eventsPending: 0 });
    expect(first.health?.byState).toMatchObject({ healthy: 2, failing: 1, late: 0 });
    expect(changes(h.healthEvents, stopper.id)).toEqual([[null, 'healthy']]);
    expect(changes(h.healthEvents, failer.id)).toEqual([[null, 'failing']]);

    // A re-evaluation that changes nothing: no event, no record written.
    h.clock.advance(60_000);
    const firstPuts = s.commands.filter((c) => c.item?.startsWith('job-health#')).length;
    expect(firstPuts).toBe(3);
    const quiet = await s.sync();
    expect(quiet.health).toMatchObject({ changed: 0, eventsPublished: 0 });
    expect(h.healthEvents).toHaveLength(3);
    expect(s.commands.filter((c) => c.item?.startsWith('job-health#')).length).toBe(firstPuts);
    const records = new JobHealthRepository(h.clients.doc, h.store.stateTable);
    const stopperBefore = await records.get(stopper.id);

    // Hours later, no execution at all was created: the stopped job is late, from the store alone.
    h.clock.advance(10 * HOUR);
    h.emulator.clearRequests();
    const later = await s.sync();
    // Nothing new or changed: the lookback re-read the two runs of 02:00 (their jobs are looked at again), not the
    // stopped job's.
    expect(later.executions).toMatchObject({ new: 0, updated: 0 });
    expect(later.health).toMatchObject({ changed: 1, eventsPublished: 1 });
    expect(later.health?.refreshed).toBeLessThanOrEqual(2);
    expect(changes(h.healthEvents, stopper.id)).toEqual([
      [null, 'healthy'],
      ['healthy', 'late'],
    ]);
    const lateEvent = h.healthEvents.at(-1);
    expect(lateEvent?.source).toBe(EVENT_SOURCE);
    expect(lateEvent?.detailType).toBe(JOB_HEALTH_DETAIL_TYPE);
    expect(lateEvent?.detail).toMatchObject({
      eventId: `${stopper.id}:late:${new Date(h.clock.now()).toISOString()}`,
      jobId: stopper.id,
      title: 'Supplier feed',
      state: 'late',
      previousState: 'healthy',
      lastRunAt: '2024-06-08T02:00:00.000Z',
      lastSuccessAt: '2024-06-08T02:00:00.000Z',
      expectedBy: '2024-06-09T08:00:00.000Z',
      consecutiveFailures: 0,
      usualIntervalMs: DAY,
    });
    expect((lateEvent?.detail as JobHealthEventDetail | undefined)?.reasons[0]).toBe(
      'no run since 2024-06-08 02:00 UTC; usually every 24h (late since 2024-06-09 08:00 UTC, with a grace of 6h)',
    );
    // No extra Product-Live request: the emulator saw exactly the run's own (a quiet run: one), and a run without
    // the health pass makes the same.
    expect(h.emulator.requests).toHaveLength(later.apiRequests);
    expect(later.apiRequests).toBe(quiet.apiRequests);
    const withoutHealth = await h.sync({ deps: { health: undefined } });
    expect(withoutHealth.health).toBeNull();
    expect(withoutHealth.apiRequests).toBe(later.apiRequests);
    expect((await records.get(stopper.id))?.facts).toEqual(stopperBefore?.facts);

    // Both recover: one event each.
    h.emulator.createExecution(stopper.id, {}, { runTimeMs: 60_000, outcome: 'COMPLETED' });
    h.emulator.createExecution(failer.id, {}, { runTimeMs: 60_000, outcome: 'COMPLETED' });
    h.clock.advance(5 * 60_000);
    const recovered = await s.sync();
    expect(recovered.health).toMatchObject({ changed: 2, eventsPublished: 2 });
    expect(changes(h.healthEvents, stopper.id).at(-1)).toEqual(['late', 'healthy']);
    expect(changes(h.healthEvents, failer.id)).toEqual([
      [null, 'failing'],
      ['failing', 'healthy'],
    ]);
    expect(changes(h.healthEvents, steady.id)).toEqual([[null, 'healthy']]);
    h.clock.advance(60_000);
    expect((await s.sync()).health).toMatchObject({ changed: 0 });
    expect(h.healthEvents).toHaveLength(6);
    expect(new Set(details(h.healthEvents).map((detail) => detail.eventId)).size).toBe(6);

    // Never a Scan: every read of the evaluation is a Query (byJob, byKind) or a GetItem.
    expect(s.commands.filter((command) => command.name === 'ScanCommand')).toEqual([]);
    const queried = new Set(s.commands.filter((c) => c.name === 'QueryCommand').map((c) => c.index));
    expect(queried).toContain('byJob');
    expect(queried).toContain('byKind');
  });

  it('prints what the store holds with `history health --json` and `--job`', async () => {
    const s = await scenario();
    await s.sync();
    s.h.clock.advance(10 * HOUR);
    await s.sync();
    const env = { ...process.env, ...s.h.clients.env };
    delete env.EXECUTIONS_TABLE_NAME;
    const names = ['--table', s.h.store.executionsTable, '--state-table', s.h.store.stateTable];
    const cli = await runHistoryCli(['health', '--json', ...names], env);
    expect(cli.code, cli.stderr).toBe(0);
    const report = JSON.parse(cli.stdout) as { jobs: Array<Record<string, unknown>> };
    // Problems first: the late job, the failing one, then the healthy one.
    expect(report.jobs.map((job) => [job.title, job.state])).toEqual([
      ['Supplier feed', 'late'],
      ['Price import', 'failing'],
      ['Nightly export', 'healthy'],
    ]);
    for (const job of report.jobs) {
      for (const field of [
        'jobId',
        'title',
        'state',
        'reasons',
        'lastRunAt',
        'lastSuccessAt',
        'expectedBy',
        'usualIntervalMs',
        'consecutiveFailures',
      ]) {
        expect(job, field).toHaveProperty(field);
      }
    }
    expect(report.jobs[1]).toMatchObject({
      jobId: s.failer.id,
      consecutiveFailures: 4,
      lastSuccessAt: '2024-06-05T02:00:00.000Z',
      lastRunAt: '2024-06-09T02:00:00.000Z',
    });
    const one = await runHistoryCli(['health', '--json', '--job', s.stopper.id, ...names], env);
    expect(JSON.parse(one.stdout)).toMatchObject({ jobs: [{ jobId: s.stopper.id, state: 'late' }] });
    const table = await runHistoryCli(['health', ...names], env);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain('Supplier feed');
    expect(table.stdout).toContain('no run since 2024-06-08 02:00 UTC');
  });

  it('publishes a refused change again on the next sync, with the same eventId (at least once)', async () => {
    const s = await scenario();
    s.h.refuseHealthEvent = () => 'ThrottlingException: Rate exceeded';
    const refused = await s.sync();
    expect(refused.health).toMatchObject({ changed: 3, eventsPublished: 0, eventsPending: 3 });
    s.h.refuseHealthEvent = () => null;
    s.h.clock.advance(60_000);
    const next = await s.sync();
    expect(next.health).toMatchObject({ changed: 0, eventsPublished: 3, eventsPending: 0 });
    expect(details(s.h.healthEvents).map((detail) => detail.previousState)).toEqual([null, null, null]);
    s.h.clock.advance(60_000);
    expect((await s.sync()).health).toMatchObject({ eventsPublished: 0 });
  });

  it('keeps every run as data: sync_runs in the lake equals the runs that happened', async () => {
    const s = await scenario();
    await s.sync();
    s.h.clock.advance(10 * HOUR);
    await s.sync();
    s.h.emulator.createExecution(s.steady.id, {}, { runTimeMs: 60_000, outcome: 'COMPLETED' });
    s.h.clock.advance(DAY);
    await s.sync();
    expect(await s.h.lake()).toMatchObject({ complete: true });
    const lake = await queryLake(
      s.h,
      'SELECT run_id, started_at, result, api_requests, executions_new, executions_unchanged, files_copied, ' +
        'health_jobs, health_changes, watermark, more_remaining, duration_ms, day FROM sync_runs ORDER BY started_at',
    );
    expect(lake.rows).toHaveLength(s.summaries.length);
    expect(
      lake.rows.map((row) => ({
        result: row.result,
        apiRequests: row.api_requests,
        executionsNew: row.executions_new,
        unchanged: row.executions_unchanged,
        filesCopied: row.files_copied,
        healthJobs: row.health_jobs,
        healthChanges: row.health_changes,
        watermark: row.watermark,
        moreRemaining: row.more_remaining,
        durationMs: row.duration_ms,
        day: row.day,
      })),
    ).toEqual(
      s.summaries.map((summary) => ({
        result: 'ok',
        apiRequests: summary.apiRequests,
        executionsNew: summary.executions.new,
        unchanged: summary.executions.unchanged,
        filesCopied: summary.files.copied,
        healthJobs: summary.health?.jobs ?? null,
        healthChanges: summary.health?.changed ?? null,
        watermark: summary.watermark,
        moreRemaining: summary.moreRemaining,
        durationMs: summary.durationMs,
        day: summary.watermark?.slice(0, 10),
      })),
    );
    expect(new Set(lake.rows.map((row) => String(row.day))).size).toBe(2);
  });
});
