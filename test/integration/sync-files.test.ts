// File copies that recover within the run: transient download faults, failed copies put back in the queue,
// against the emulator, DynamoDB Local and s3rver. (File URLs on another port of the loopback host are a row
// of the bad-input catalogue: test/integration/bad-input.test.ts.)
import { afterEach, describe, expect, it } from 'vitest';
import type { FileCopy } from '#core/executions/execution-record';
import { createSyncHarness, expectStoreToEqualEmulator, type SyncHarness } from '../support/sync-harness';

let harness: SyncHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function copyOf(h: SyncHarness, id: string, path: string): Promise<FileCopy | undefined> {
  return (await h.executions.get(id))?.files.find((file) => file.path === path);
}

describe('file copies under transient faults', () => {
  it('leaves no copy missing after the run once 25 % transient download faults stop (retry delay 0)', async () => {
    harness = await createSyncHarness({
      emulator: {
        demo: { seed: 81, executions: 150 },
        faults: {
          rate: 0.25,
          seed: 81,
          kinds: ['reset', 'truncated-download', '500'],
          endpoints: ['download'],
        },
      },
      config: { fileCopyRetryDelayMs: 0 },
    });
    const h = harness;
    const faulty = await h.sync();
    expect(faulty.error).toBeNull();
    expect(faulty.files.failed).toBe(0);
    const downloads = h.emulator.requests.filter((request) => request.endpoint === 'download');
    expect(downloads.filter((request) => request.fault !== undefined).length).toBeGreaterThan(
      downloads.length / 10,
    );
    // Most of the faults were overcome in the run itself.
    expect(faulty.files.copied).toBeGreaterThan(faulty.files.pending * 10);
    h.emulator.setFaults(undefined);
    const after = await h.sync();
    expect(after.files.pending).toBe(0);
    expect(after.files.copied).toBe(faulty.files.pending);
    await expectStoreToEqualEmulator(h);
  });
});

describe('failed copies put back in the queue', () => {
  it('recovers, with the retryFailedFiles event, a copy whose source came back', async () => {
    harness = await createSyncHarness();
    const h = harness;
    const job = h.emulator.addJob({ title: 'Export', kind: 'no-files' });
    const execution = h.emulator.createExecution(job.id, {}, { runTimeMs: 1_000, outcome: 'COMPLETED' });
    const path = `/data-factory/2629/download/${'1'.repeat(64)}/catalog.csv`;
    h.emulator.setExecutionOutput(execution.id, {
      catalog: { url: `${h.emulator.url}${path}`, filename: 'catalog.csv' },
    });
    h.clock.advance(5_000);
    await h.sync();
    expect(await copyOf(h, execution.id, 'output.catalog')).toMatchObject({ status: 'failed' });
    // The file is back (here: its URL now leads to the bytes), and someone asks for a retry.
    const file = h.emulator.addFile({ size: 3_000, filename: 'catalog.csv' });
    h.emulator.addRedirect(path, file.url);
    h.clock.advance(60_000);
    const quiet = await h.sync();
    expect(quiet.files.copied).toBe(0);
    const retried = await h.sync({ event: { retryFailedFiles: true } });
    expect(retried.files).toMatchObject({ copied: 1, failed: 0 });
    const copy = await copyOf(h, execution.id, 'output.catalog');
    expect(copy).toMatchObject({ status: 'copied', size: 3_000 });
    expect(copy?.sha256).toBe(await h.emulator.fileSha256(file.url));
    expect((await h.executions.get(execution.id))?.filesFailed).toBeUndefined();
  });
});
