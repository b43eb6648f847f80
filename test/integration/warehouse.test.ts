// The lake against the emulator, DynamoDB Local and s3rver: after every successful lake run it equals the store,
// row for row and column for column (read back with DuckDB): after runs with changes, after crashes between the
// store write and the lake write, after a first build over a history written before the lake existed and cut
// short, and with executions too large for DynamoDB. Also the day marks in DynamoDB and the lake's local copy.

import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { toExecutionFields } from '#core/executions/execution-record';
import { ExecutionRepository } from '#core/store/execution-repository';
import { LAKE_MARKS_ITEM, LakeMarks } from '#core/store/lake-marks';
import { lakeObjectKey } from '#core/warehouse/lake-tables';
import { ManualClock } from '#local/emulator/index';
import { refreshLakeCache, removeLakeCopies } from '#local/warehouse/lake-cache';
import { aJobExecution } from '../builders/job-execution.builder';
import { expectLakeToEqualStore, queryLake } from '../support/lake-check';
import { storeOffloadedExecution } from '../support/local-aws';
import { createSyncHarness, type SyncHarness } from '../support/sync-harness';

let harness: SyncHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const HOUR = 3_600_000;

class KilledError extends Error {
  override readonly name = 'KilledError';
}

describe('the lake equals the store', () => {
  it('after a first sync, and after runs in which executions end and new ones arrive', async () => {
    harness = await createSyncHarness({ emulator: { demo: { seed: 81, executions: 150, days: 20 } } });
    const h = harness;
    await h.sync();
    const first = await h.lake();
    expect(first).toMatchObject({ firstBuild: true, complete: true, error: null });
    expect(first.daysWritten).toBeGreaterThanOrEqual(15);
    expect(first.executionRows).toBe(150);
    expect(first.fileRows).toBeGreaterThan(0);
    await expectLakeToEqualStore(h, 'first build');

    // Two days later every open run has ended: the sync rewrites them, on the days they started.
    h.clock.advance(48 * HOUR);
    const endings = await h.sync();
    expect(endings.executions.updated).toBeGreaterThan(0);
    expect(await h.lake()).toMatchObject({ complete: true });
    await expectLakeToEqualStore(h, 'after the open runs ended');

    // New runs on a day that held none: only that day is rewritten, from the marks of their inserts.
    const job = h.emulator.addJob({ title: 'Refresh Prices', kind: 'no-files' });
    for (let index = 0; index < 3; index++) h.emulator.createExecution(job.id, {}, { runTimeMs: 60_000 });
    h.clock.advance(10 * 60_000);
    const sync = await h.sync();
    expect(sync.executions).toMatchObject({ new: 3, updated: 0 });
    const next = await h.lake();
    // That day's executions and files, and the day of sync_runs the sync run marked (every run is kept).
    expect(next).toMatchObject({ firstBuild: false, complete: true, daysWritten: 2, executionRows: 3 });
    expect(next.syncRunRows).toBeGreaterThan(0);
    await expectLakeToEqualStore(h, 'after new runs');
    expect(h.metrics.total('ExecutionsNew')).toBe(153);
  });

  it('after a sync killed between its store writes and the lake, and a lake run that failed half-way', async () => {
    harness = await createSyncHarness({ emulator: { demo: { seed: 82, executions: 120, days: 10 } } });
    const h = harness;
    // The sync dies after its second page's writes: its marks were written before them.
    let writes = 0;
    const executions = new ExecutionRepository(h.clients.doc, h.store.executionsTable, {
      marks: new LakeMarks(h.clients.doc, h.store.stateTable),
    });
    const dying = new Proxy(executions, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (property !== 'insertMany' || typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          await value.apply(target, args);
          writes += 1;
          if (writes === 2) throw new KilledError('killed after the second page was written');
        };
      },
    });
    const killed = await h.sync({ deps: { executions: dying }, config: { pageSize: 40 } });
    expect(killed.error).toContain('KilledError');
    expect((await h.storedItems()).length).toBe(80);
    // The lake dies too, after three objects.
    let puts = 0;
    const partial = await h.lake({
      deps: {
        objects: {
          put: async (key, body) => {
            puts += 1;
            if (puts > 3) throw new KilledError('the lake died mid-run');
            await h.clients.s3.send(
              new PutObjectCommand({ Bucket: h.store.lakeBucket, Key: key, Body: body }),
            );
          },
          delete: async (key) => {
            await h.clients.s3.send(new DeleteObjectCommand({ Bucket: h.store.lakeBucket, Key: key }));
          },
        },
      },
    });
    expect(partial.daysFailed).toBeGreaterThan(0);
    expect(partial.complete).toBe(false);
    // Nothing was lost: the next lake run rewrites what is marked, and equals the store as it stands.
    expect(await h.lake()).toMatchObject({ complete: true, daysFailed: 0 });
    await expectLakeToEqualStore(h, 'after the crashes');
    // The sync resumes; its new writes are marked, and the lake follows.
    h.clock.advance(60_000);
    expect((await h.sync()).error).toBeNull();
    expect(await h.lake()).toMatchObject({ complete: true });
    await expectLakeToEqualStore(h, 'after the resumed sync');
  });

  it('builds the whole lake over a history stored before it existed, resumably, and with large executions', async () => {
    harness = await createSyncHarness({ emulator: { clock: new ManualClock('2024-06-15T00:00:00.000Z') } });
    const h = harness;
    // 40 days of history written without marks (an older version of the project), one execution too large
    // for DynamoDB among them.
    const unmarked = new ExecutionRepository(h.clients.doc, h.store.executionsTable);
    const items = Array.from({ length: 40 }, (_, index) => {
      const createdAt = new Date(Date.parse('2024-05-01T06:00:00.000Z') + index * 24 * HOUR).toISOString();
      const fields = toExecutionFields(
        aJobExecution({ createdAt, status: index % 4 ? 'COMPLETED' : 'FAILED' }),
      );
      return { ...fields, files: [], firstSyncedAt: createdAt, syncedAt: createdAt, source: 'sync' as const };
    });
    await unmarked.insertMany(items);
    await storeOffloadedExecution(
      h.clients,
      h.store,
      aJobExecution({ createdAt: '2024-05-20T12:00:00.000Z', output: { big: 'x'.repeat(1_000) } }),
    );
    // The first run is cut short after 10 days; the next ones go on where it stopped.
    let budget = 10;
    const cut = await h.lake({ remainingTimeMs: () => (budget-- > 0 ? 900_000 : 0) });
    expect(cut).toMatchObject({ firstBuild: true, daysMarked: 40, complete: false });
    expect(cut.daysWritten).toBeGreaterThanOrEqual(10);
    expect(cut.daysLeft).toBe(40 - cut.daysWritten);
    const rest = await h.lake();
    expect(rest).toMatchObject({ firstBuild: false, complete: true, daysWritten: cut.daysLeft });
    await expectLakeToEqualStore(h, 'first build');
    const big = await queryLake(
      h,
      `SELECT length(output) AS length FROM executions WHERE output LIKE '%xxxx%'`,
    );
    expect(big.rows).toEqual([{ length: expect.any(Number) }]);
    expect(big.rows[0]?.length).toBeGreaterThan(1_000);
  });
});

describe('day marks in DynamoDB', () => {
  it('are made before writes, cleared only if unchanged, and not repeated within the reuse window', async () => {
    harness = await createSyncHarness();
    const h = harness;
    const clock = new ManualClock('2024-06-01T00:00:00.000Z');
    const marks = new LakeMarks(h.clients.doc, h.store.stateTable, {
      now: () => clock.now(),
      reuseMs: 10_000,
    });
    await marks.mark(['2024-05-01', '2024-05-02']);
    const first = await marks.read();
    expect(Object.keys(first.marks).sort()).toEqual(['2024-05-01', '2024-05-02']);
    // Within the window, the same process does not mark again; after it, it does (a new token).
    clock.advance(5_000);
    await marks.mark(['2024-05-01']);
    expect((await marks.read()).marks['2024-05-01']).toBe(first.marks['2024-05-01']);
    clock.advance(10_000);
    await marks.mark(['2024-05-01']);
    const second = await marks.read();
    expect(second.marks['2024-05-01']).not.toBe(first.marks['2024-05-01']);
    // A clear with a stale token keeps the newer mark; with the current one it removes it.
    expect(await marks.clear('2024-05-01', first.marks['2024-05-01'] ?? '')).toBe(false);
    expect(await marks.clear('2024-05-01', second.marks['2024-05-01'] ?? '')).toBe(true);
    expect(Object.keys((await marks.read()).marks)).toEqual(['2024-05-02']);
    const item = await h.clients.doc.send(
      new GetCommand({ TableName: h.store.stateTable, Key: { name: LAKE_MARKS_ITEM }, ConsistentRead: true }),
    );
    expect(item.Item?.days).toEqual({ '2024-05-02': first.marks['2024-05-02'] });
  });

  it('are written by the launcher too (insertIfAbsent marks the day of the execution it records)', async () => {
    harness = await createSyncHarness();
    const h = harness;
    const repository = new ExecutionRepository(h.clients.doc, h.store.executionsTable, {
      marks: new LakeMarks(h.clients.doc, h.store.stateTable),
    });
    const fields = toExecutionFields(
      aJobExecution({ createdAt: '2024-03-03T03:03:03.000Z', status: 'PENDING' }),
    );
    await repository.insertIfAbsent({
      ...fields,
      files: [],
      firstSyncedAt: fields.createdAt,
      syncedAt: fields.createdAt,
      source: 'launch',
    });
    expect(Object.keys((await new LakeMarks(h.clients.doc, h.store.stateTable).read()).marks)).toEqual([
      '2024-03-03',
    ]);
  });
});

describe("the lake's local copy", () => {
  it('downloads only the objects whose ETag changed, and removes the ones gone from the bucket', async () => {
    harness = await createSyncHarness({ emulator: { demo: { seed: 83, executions: 60, days: 5 } } });
    const h = harness;
    await h.sync();
    await h.lake();
    const directory = await mkdtemp(join(tmpdir(), 'plsync-lake-cache-'));
    try {
      const first = await refreshLakeCache(h.clients.s3, h.store.lakeBucket, directory);
      expect(first.downloaded).toBe(first.objects);
      expect(first.objects).toBeGreaterThan(4);
      const again = await refreshLakeCache(h.clients.s3, h.store.lakeBucket, directory);
      expect(again).toMatchObject({ downloaded: 0, removed: 0, objects: first.objects });
      // One day changes (a new execution on it): its executions object is downloaded again (its files object
      // too, if any), and the sync_runs object of that day (every sync run is kept), nothing else.
      h.clock.advance(HOUR);
      const job = h.emulator.addJob({ title: 'Refresh Stock', kind: 'no-files' });
      h.emulator.createExecution(job.id, {}, { runTimeMs: 1_000 });
      h.clock.advance(60_000);
      await h.sync();
      await h.lake();
      const changed = await refreshLakeCache(h.clients.s3, h.store.lakeBucket, directory);
      expect(changed.downloaded).toBeGreaterThanOrEqual(2);
      expect(changed.downloaded).toBeLessThanOrEqual(3);
      const today = new Date(h.clock.now()).toISOString().slice(0, 10);
      const files = await readdir(join(directory, 'lake', 'executions', `day=${today}`));
      expect(files).toEqual(['executions.parquet']);
      // An object removed from the bucket is removed from the copy.
      await h.clients.s3.send(
        new DeleteObjectCommand({ Bucket: h.store.lakeBucket, Key: lakeObjectKey('executions', today) }),
      );
      const removed = await refreshLakeCache(h.clients.s3, h.store.lakeBucket, directory);
      expect(removed).toMatchObject({
        downloaded: 0,
        removed: 1,
        objects: first.objects - 1 + (changed.objects - first.objects),
      });
      await expect(readdir(join(directory, 'lake', 'executions', `day=${today}`))).resolves.toEqual([]);
    } finally {
      await removeLakeCopies(directory);
    }
  });
});
