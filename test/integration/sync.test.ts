import { afterEach, describe, expect, it } from 'vitest';
import { toExecutionFields } from '#core/executions/execution-record';
import type { JobExecution } from '#core/product-live/product-live.schema';
import type { ExecutionItem } from '#core/store/execution-repository';
import type { ExecutionOrder } from '#local/emulator/index';
import { createSyncHarness, expectStoreToEqualEmulator, type SyncHarness } from '../support/sync-harness';

let harness: SyncHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const distinct = (keys: string[]) => new Set(keys).size === keys.length;

describe('sync: first run and steady state', () => {
  it('ingests the whole history, files included, then a run with nothing new makes at most 2 requests and writes nothing', async () => {
    harness = await createSyncHarness({
      emulator: { demo: { seed: 7, executions: 300 }, unknownFields: true },
    });
    const first = await harness.sync({ config: { pageSize: 1000 } });
    expect(first.error).toBeNull();
    expect(first.moreRemaining).toBe(false);
    expect(first.executions.new).toBe(300);
    expect(first.files.copied).toBeGreaterThan(50);
    expect(first.files.failed).toBe(0);
    await expectStoreToEqualEmulator(harness);

    const before = await harness.storedItems();
    const uploadsBefore = harness.uploads.length;
    harness.emulator.clearRequests();
    const second = await harness.sync({ config: { pageSize: 1000 } });
    expect(second.apiRequests).toBeLessThanOrEqual(2);
    expect(harness.emulator.requests.length).toBe(second.apiRequests);
    expect(second.executions).toMatchObject({ new: 0, updated: 0 });
    expect(second.files.copied).toBe(0);
    expect(harness.uploads.length).toBe(uploadsBefore);
    const after = await harness.storedItems();
    const byId = new Map(before.map((item) => [item.id, item]));
    expect(after.every((item) => item.syncedAt === byId.get(item.id)?.syncedAt)).toBe(true);
  });

  it('keeps unknown API fields in the stored JSON', async () => {
    harness = await createSyncHarness({
      emulator: { demo: { seed: 3, executions: 60 }, unknownFields: true },
    });
    await harness.sync();
    const withExtras = (await harness.storedItems()).filter((item) => {
      const raw = JSON.parse(item.raw) as Record<string, unknown>;
      return 'priority' in raw || 'tags' in raw || 'trigger' in raw;
    });
    expect(withExtras.length).toBeGreaterThan(0);
    await expectStoreToEqualEmulator(harness, { files: false });
  });

  // biome-ignore lint/suspicious/useExpect: expectStoreToEqualEmulator asserts
  it('starts at SYNC_START_DATE on the first run', async () => {
    harness = await createSyncHarness({ emulator: { demo: { seed: 5, executions: 120, days: 30 } } });
    const since = new Date(harness.clock.now() - 10 * 24 * 3600_000).toISOString();
    await harness.sync({ config: { startDate: since } });
    await expectStoreToEqualEmulator(harness, { since, files: false });
  });
});

describe.each<ExecutionOrder>(['ascending', 'descending', 'insertion', 'shuffled'])(
  'sync with %s result order',
  (order) => {
    it('misses nothing when 50 executions share a createdAt across page boundaries and new ones arrive while paging', async () => {
      harness = await createSyncHarness({
        emulator: { order, demo: { seed: 11, executions: 250, sameCreatedAt: { count: 50 } } },
        config: { pageSize: 20 },
      });
      const h = harness;
      const [job] = h.emulator.jobs().filter((candidate) => candidate.pipelineId !== null);
      let created = 0;
      const stop = h.emulator.onRequest((request) => {
        if (request.endpoint === 'find' && created < 30) {
          h.clock.advance(7);
          h.emulator.createExecution(job?.id ?? '');
          created += 1;
        }
      });
      const runStart = new Date(h.clock.now()).toISOString();
      const first = await h.sync();
      stop();
      expect(first.error).toBeNull();
      // Everything that existed when the run started is stored after that one run.
      const storedIds = new Set((await h.storedItems()).map((item) => item.id));
      const existedAtStart = h.emulator.executions().filter((execution) => execution.createdAt < runStart);
      expect(existedAtStart.filter((execution) => !storedIds.has(execution.id))).toEqual([]);
      // The next run picks up the rest; the store then equals the API exactly.
      h.clock.advance(1_000);
      const second = await h.sync();
      expect(second.error).toBeNull();
      await expectStoreToEqualEmulator(h);
      expect(distinct(h.uploads)).toBe(true);
    });
  },
);

describe('sync: completeness check', () => {
  it('finds executions that moved to already-read pages when the result order changes while paging', async () => {
    harness = await createSyncHarness({
      emulator: { order: 'ascending', demo: { seed: 12, executions: 200 } },
      config: { pageSize: 20 },
    });
    const h = harness;
    let finds = 0;
    const stop = h.emulator.onRequest((request) => {
      // An API sorting on a field that changes (say, last update) moves items between pages mid-pass.
      if (request.endpoint === 'find' && ++finds === 4) h.emulator.setOrder('shuffled');
    });
    const summary = await h.sync();
    stop();
    expect(summary.error).toBeNull();
    expect(h.logs.some((log) => log.message.includes('verifying with a second pass'))).toBe(true);
    await expectStoreToEqualEmulator(h, { files: false });
  });
});

describe('sync: executions too large for a DynamoDB item', () => {
  it('keeps the JSON in the files bucket, uploads it only when it changes, and inlines it again when it shrinks', async () => {
    harness = await createSyncHarness();
    const h = harness;
    const job = h.emulator.addJob({ title: 'Import Schema', kind: 'no-files' });
    const execution = h.emulator.createExecution(job.id, {}, { runTimeMs: 1_000, outcome: 'COMPLETED' });
    h.emulator.setExecutionOutput(execution.id, { log: 'x'.repeat(400_000) });
    h.clock.advance(5_000);
    await h.sync();
    const stored = await h.executions.get(execution.id);
    const key = `executions/${job.id}/${execution.id}/execution.json`;
    expect(stored).toMatchObject({ raw: '', rawS3Key: key, status: 'COMPLETED' });
    await expectStoreToEqualEmulator(h);

    h.clock.advance(60_000);
    await h.sync();
    expect(h.uploads.filter((upload) => upload === key)).toHaveLength(1);

    h.emulator.setExecutionOutput(execution.id, { log: 'short' });
    h.clock.advance(60_000);
    const summary = await h.sync({ config: { lookbackMs: 3_600_000 } });
    expect(summary.executions.updated).toBe(1);
    const shrunk = await h.executions.get(execution.id);
    expect(shrunk?.rawS3Key).toBeUndefined();
    expect(JSON.parse(shrunk?.raw ?? '{}').output).toEqual({ log: 'short' });
  });
});

describe('sync: open executions', () => {
  it('re-reads a RUNNING execution until it ends, then stores its final state and copies its files', async () => {
    harness = await createSyncHarness({ emulator: {} });
    const job = harness.emulator.addJob({ title: 'Export Products to Amazon', kind: 'export' });
    const running = harness.emulator.createExecution(
      job.id,
      {},
      { runTimeMs: 120_000, outcome: 'COMPLETED' },
    );
    harness.clock.advance(1_000);
    await harness.sync();
    expect((await harness.executions.get(running.id))?.status).toBe('RUNNING');

    harness.clock.advance(300_000);
    harness.emulator.clearRequests();
    const summary = await harness.sync();
    expect(summary.executions.openRefreshed).toBe(1);
    const findBodies = harness.emulator.requests.filter((request) => request.endpoint === 'find');
    expect(findBodies.length).toBeLessThanOrEqual(2);
    const stored = await harness.executions.get(running.id);
    const truth = harness.emulator.execution(running.id);
    expect(stored?.status).toBe('COMPLETED');
    expect(stored?.endedAt).toBe(truth?.endedAt);
    expect(JSON.parse(stored?.raw ?? '{}').output).toEqual(truth?.output);
    expect(stored?.files.length).toBeGreaterThan(0);
    expect(stored?.files.every((file) => file.status === 'copied')).toBe(true);
    expect(stored?.openFlag).toBeUndefined();
    await expectStoreToEqualEmulator(harness);
  });

  it('re-reads many open executions, and the window, with one request', async () => {
    harness = await createSyncHarness({ emulator: {} });
    const job = harness.emulator.addJob({ title: 'Sync Prices', kind: 'no-files' });
    for (let index = 0; index < 40; index++) harness.emulator.createExecution(job.id);
    await harness.sync();
    harness.clock.advance(10_000_000);
    harness.emulator.clearRequests();
    const summary = await harness.sync({ config: { pageSize: 1000 } });
    expect(summary.executions.openRefreshed).toBe(40);
    // One find: `createdAt >= lower OR id in [40 ids]`.
    expect(summary.apiRequests).toBe(1);
    expect(harness.emulator.requests.map((request) => request.endpoint)).toEqual(['find']);
    await expectStoreToEqualEmulator(harness);
  });

  it('never lets an older, open view replace a terminal one', async () => {
    harness = await createSyncHarness({ emulator: {} });
    const job = harness.emulator.addJob({ title: 'Sync Prices', kind: 'no-files' });
    const execution = harness.emulator.createExecution(job.id, {}, { runTimeMs: 1_000, outcome: 'FAILED' });
    harness.clock.advance(5_000);
    await harness.sync();
    const stored = await harness.executions.get(execution.id);
    expect(stored?.status).toBe('FAILED');
    // A stale writer (for example a slow launch) tries to write the earlier RUNNING view.
    const { endedAt: _ended, ...runningView } = JSON.parse(stored?.raw ?? '{}') as JobExecution;
    const fields = toExecutionFields({ ...runningView, status: 'RUNNING' });
    const staleItem: ExecutionItem = {
      ...fields,
      files: [],
      firstSyncedAt: 'x',
      syncedAt: 'x',
      source: 'launch',
    };
    expect(await harness.executions.upsert(staleItem)).toBe('stale');
    expect((await harness.executions.get(execution.id))?.status).toBe('FAILED');
  });
});
