// The events function on DynamoDB Local's real stream of the executions table: what the sync and the launch
// function store becomes exactly one event per stored status (per execution, in order), rewrites that keep
// the status publish nothing, and refused or crashed publications are delivered again, never lost.
import { afterEach, describe, expect, it } from 'vitest';
import { EVENT_DETAIL_TYPE, EVENT_SOURCE } from '#core/events/execution-event';
import { OPEN_STATUSES } from '#core/product-live/product-live.schema';
import { ExecutionRepository } from '#core/store/execution-repository';
import { createEventsHarness, type EventsHarness, statusesPerExecution } from '../support/events-harness';
import { closeLaunchHarnesses, createLaunchHarness } from '../support/launch-harness';
import { createSyncHarness, type SyncHarness } from '../support/sync-harness';

const open: EventsHarness[] = [];
const syncs: SyncHarness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((harness) => harness.close()));
  await Promise.all(syncs.splice(0).map((harness) => harness.close()));
  await closeLaunchHarnesses();
});

async function syncWithEvents(options: Parameters<typeof createSyncHarness>[0] = {}) {
  const sync = await createSyncHarness({ ...options, stream: true });
  syncs.push(sync);
  const events = await createEventsHarness(sync.clients, sync.store.executionsTable);
  open.push(events);
  return { sync, events };
}

/** Each execution's stored statuses, as seen after each run, without consecutive repeats. */
function recordStatuses(history: Map<string, string[]>, items: Array<{ id: string; status: string }>): void {
  for (const item of items) {
    const statuses = history.get(item.id) ?? [];
    if (statuses.at(-1) !== item.status) statuses.push(item.status);
    history.set(item.id, statuses);
  }
}

describe('events: one per stored status', () => {
  it('publishes exactly one event per stored status of every execution across syncs of the demo data', async () => {
    const { sync, events } = await syncWithEvents({
      emulator: { demo: { seed: 15, executions: 160, days: 3 } },
    });
    const stored = new Map<string, string[]>();
    // Runs created during the test, queued behind each other, so that some are seen PENDING, then RUNNING.
    const job = sync.emulator.addJob({ title: 'Export Catalog', kind: 'export' });
    for (let run = 0; run < 6; run++) {
      if (run < 3)
        for (let i = 0; i < 3; i++) sync.emulator.createExecution(job.id, {}, { runTimeMs: 90_000 });
      const summary = await sync.sync();
      expect(summary.error).toBeNull();
      recordStatuses(stored, await sync.storedItems());
      await events.drain();
      sync.clock.advance(60_000);
    }

    const published = statusesPerExecution(events.statusChanges);
    expect(published).toEqual(stored);
    // Without faults, nothing is published twice.
    expect(new Set(events.published.map((event) => event.detail.eventId)).size).toBe(events.published.length);
    // One result per execution that ended with every file settled, after its last status change.
    const items = await sync.storedItems();
    const settled = items.filter(
      (item) =>
        !(OPEN_STATUSES as readonly string[]).includes(item.status) &&
        item.files.every((file) => file.status !== 'pending'),
    );
    expect(settled.length).toBeGreaterThan(0);
    expect(events.resultEvents.map((event) => event.detail.executionId).sort()).toEqual(
      settled.map((item) => item.id).sort(),
    );
    for (const result of events.resultEvents) {
      expect(result.detail.eventId).toBe(`${result.detail.executionId}:result`);
      const position = events.published.indexOf(result);
      const lastChange = events.published.findLastIndex(
        (event) =>
          event.detailType === EVENT_DETAIL_TYPE && event.detail.executionId === result.detail.executionId,
      );
      expect(lastChange).toBeLessThan(position);
    }
    // The history went through open statuses: some executions have more than one event.
    expect([...stored.values()].some((statuses) => statuses.length >= 2)).toBe(true);
    expect(events.problems).toEqual([]);
    expect(events.metrics.total('EventsPublished')).toBe(events.published.length);
  });

  it('publishes PENDING, RUNNING, COMPLETED in order for one execution, with the previous status and the ended run’s files', async () => {
    const { sync, events } = await syncWithEvents();
    const job = sync.emulator.addJob({ title: 'Import <Products> & "Prices"', kind: 'import' });
    const first = sync.emulator.createExecution(job.id, {}, { runTimeMs: 60_000, outcome: 'COMPLETED' });
    const queued = sync.emulator.createExecution(job.id, {}, { runTimeMs: 30_000, outcome: 'COMPLETED' });
    expect(queued.status).toBe('PENDING');

    await sync.sync();
    await events.drain();
    sync.clock.advance(62_000);
    expect(sync.emulator.execution(queued.id)?.status).toBe('RUNNING');
    await sync.sync();
    await events.drain();
    sync.clock.advance(40_000);
    expect(sync.emulator.execution(queued.id)?.status).toBe('COMPLETED');
    await sync.sync();
    await events.drain();

    const ofQueued = events.statusChanges.filter((event) => event.detail.executionId === queued.id);
    expect(ofQueued.map((event) => [event.detail.previousStatus, event.detail.status])).toEqual([
      [null, 'PENDING'],
      ['PENDING', 'RUNNING'],
      ['RUNNING', 'COMPLETED'],
    ]);
    const completed = ofQueued[2]?.detail;
    const truth = sync.emulator.execution(queued.id);
    expect(completed).toMatchObject({
      eventId: `${queued.id}:COMPLETED`,
      jobId: job.id,
      pipelineId: job.pipelineId,
      title: job.title,
      createdAt: truth?.createdAt,
      startedAt: truth?.startedAt,
      endedAt: truth?.endedAt,
      origin: 'sync',
    });
    expect(completed?.durationMs).toBeGreaterThan(0);
    // An import's ended run has its input file and its report; their copies are in the store's keys.
    const item = (await sync.storedItems()).find((stored) => stored.id === queued.id);
    expect(completed?.files.map((file) => [file.path, file.s3Key])).toEqual(
      (item?.files ?? []).map((file) => [file.path, file.s3Key]),
    );
    expect(completed?.files.length).toBeGreaterThan(0);
    for (const event of ofQueued) {
      expect(event.source).toBe(EVENT_SOURCE);
      expect(event.detailType).toBe(EVENT_DETAIL_TYPE);
    }
    // The open statuses list no files.
    for (const event of ofQueued.filter((e) =>
      (OPEN_STATUSES as readonly string[]).includes(e.detail.status),
    ))
      expect(event.detail.files).toEqual([]);
    // The first execution was already running at the first sync.
    expect(
      events.statusChanges
        .filter((event) => event.detail.executionId === first.id)
        .map((event) => event.detail.status),
    ).toEqual(['RUNNING', 'COMPLETED']);
    // Its result came once, once its files were copied.
    expect(events.resultEvents.filter((event) => event.detail.executionId === queued.id)).toHaveLength(1);
  });

  it('publishes nothing for writes that keep the status: file copies recorded, a run that changes nothing', async () => {
    const { sync, events } = await syncWithEvents({
      emulator: { demo: { seed: 4, executions: 40, days: 2 } },
    });
    await sync.sync();
    await events.drain();
    const before = events.published.length;
    const unchangedBefore = events.results.reduce((sum, result) => sum + result.unchanged, 0);
    // The first run's file copies rewrote items with the same status: seen on the stream, not published.
    expect(unchangedBefore).toBeGreaterThan(0);

    await sync.sync();
    const item = (await sync.storedItems()).find((stored) => (stored.files ?? []).length > 0);
    if (!item) throw new Error('no stored execution with files');
    // A write that keeps the status (a file copy's attempt recorded) reaches the stream. (DynamoDB writes no
    // stream record for a write that changes nothing.)
    const files = (item.files ?? []).map((file, index) =>
      index === 0 ? { ...file, attempts: file.attempts + 1 } : file,
    );
    await new ExecutionRepository(sync.clients.doc, sync.store.executionsTable).saveFiles(item, files);
    const handled = await events.drain();

    expect(handled).toBeGreaterThan(0);
    expect(events.published.length).toBe(before);
    expect(events.metrics.total('EventsUnchanged')).toBeGreaterThanOrEqual(unchangedBefore + 1);
  });
});

describe('events: nothing lost', () => {
  it('loses nothing when PutEvents refuses part of a batch and the function crashes, then the batch is delivered again', async () => {
    const { sync, events } = await syncWithEvents({
      emulator: { demo: { seed: 8, executions: 120, days: 3 } },
    });
    // The first call refuses every third entry (the retry in place publishes them), and the invocation
    // crashes after it returned: nothing of that batch was checkpointed, so all of it comes again.
    events.refuse = (event, call) =>
      call === 1 && Number.parseInt(event.detail.executionId.slice(-2), 16) % 3 === 0
        ? 'ThrottlingException: Rate exceeded'
        : null;
    events.crashAfterNextInvocation = true;
    await sync.sync();
    await events.drain();

    const items = await sync.storedItems();
    const expected = new Map(items.map((item) => [item.id, [item.status]]));
    expect(statusesPerExecution(events.statusChanges)).toEqual(expected);
    // Duplicates are allowed, with an equal eventId.
    expect(events.statusChanges.length).toBeGreaterThan(items.length);
    for (const event of events.statusChanges)
      expect(event.detail.eventId).toBe(`${event.detail.executionId}:${event.detail.status}`);
    // Every settled execution's result is there too, at least once.
    for (const item of items.filter((stored) => stored.files.every((file) => file.status !== 'pending'))) {
      if ((OPEN_STATUSES as readonly string[]).includes(item.status)) continue;
      expect(
        events.resultEvents.some((event) => event.detail.executionId === item.id),
        item.id,
      ).toBe(true);
    }
    expect(events.calls.some((call) => call.refused > 0)).toBe(true);
    expect(events.problems.some((problem) => problem.includes('crashed'))).toBe(true);
    expect(events.metrics.total('EventsRetried')).toBeGreaterThan(0);
  });

  it('reports a still-refused event as the batch failure and publishes nothing after it of that batch until the next delivery', async () => {
    const { sync, events } = await syncWithEvents({
      emulator: { demo: { seed: 9, executions: 30, days: 1 } },
    });
    await sync.sync();
    const items = await sync.storedItems();
    const blocked = items[Math.floor(items.length / 2)]?.id ?? '';
    let refusals = 0;
    // Refused on four consecutive calls (the in-place tries of one invocation), then accepted.
    events.refuse = (event) => {
      if (event.detail.executionId !== blocked || refusals >= 4) return null;
      refusals += 1;
      return 'InternalFailure: try again';
    };
    await events.drain();

    expect(events.results.some((result) => result.batchItemFailures.length === 1)).toBe(true);
    expect(statusesPerExecution(events.statusChanges)).toEqual(
      new Map(items.map((item) => [item.id, [item.status]])),
    );
    expect(events.problems.some((problem) => problem.includes('failed record'))).toBe(true);
  });
});

describe('events: launches', () => {
  it('publishes the PENDING or RUNNING status a launch stores, with origin launch', async () => {
    const h = await createLaunchHarness({ stream: true });
    const events = await createEventsHarness(h.clients, h.store.executionsTable);
    open.push(events);
    await h.send({ jobId: h.job.id, input: { orderId: 'order-1' }, idempotencyKey: 'order-1' });
    expect(await h.drain()).toEqual(['launched']);
    await events.drain();

    const [launched] = h.executionsOfJob();
    expect(events.published).toHaveLength(1);
    expect(events.published[0]?.detail).toMatchObject({
      eventId: `${launched?.id}:${events.published[0]?.detail.status}`,
      executionId: launched?.id,
      jobId: h.job.id,
      previousStatus: null,
      origin: 'launch',
      files: [],
    });
    expect(['PENDING', 'RUNNING']).toContain(events.published[0]?.detail.status);
  });
});
