// File copies that recover within the run and go only where they belong: transient download faults, failed
// copies put back in the queue, and file URLs on another port of the loopback host (direct or redirected),
// against the emulator, DynamoDB Local and s3rver.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { FileCopy } from '../../functions/core/executions/execution-record';
import {
  createSyncHarness,
  expectStoreToEqualEmulator,
  listKeys,
  type SyncHarness,
} from '../support/sync-harness';

let harness: SyncHarness | undefined;
let server: Server | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
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

describe('downloads only where they belong', () => {
  it('never requests a file URL on another port of the loopback host, given directly or through a redirect', async () => {
    const requests: string[] = [];
    server = createServer((request, response) => {
      requests.push(`${request.method} ${request.url} key=${String(request.headers['x-api-key'])}`);
      response.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' }).end('stolen');
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const otherPort = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    harness = await createSyncHarness();
    const h = harness;
    const job = h.emulator.addJob({ title: 'Export', kind: 'no-files' });
    const execution = h.emulator.createExecution(job.id, {}, { runTimeMs: 1_000, outcome: 'COMPLETED' });
    h.emulator.addRedirect('/data-factory/redirected.csv', `${otherPort}/redirected.csv`);
    h.emulator.setExecutionOutput(execution.id, {
      direct: { url: `${otherPort}/direct.csv`, filename: 'direct.csv' },
      redirected: { url: `${h.emulator.url}/data-factory/redirected.csv`, filename: 'redirected.csv' },
    });
    h.clock.advance(5_000);
    const summary = await h.sync();
    expect(summary.files).toMatchObject({ failed: 2, copied: 0, pending: 0 });
    expect(requests).toEqual([]);
    expect(await copyOf(h, execution.id, 'output.direct')).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: expect.stringContaining("only the local API's own origin"),
    });
    expect(await copyOf(h, execution.id, 'output.redirected')).toMatchObject({
      status: 'failed',
      lastError: expect.stringContaining("only the local API's own origin"),
    });
    expect(await listKeys(h)).toEqual([]);
    // Once: a later run does not try again.
    h.clock.advance(DAY);
    h.emulator.clearRequests();
    await h.sync();
    expect(requests).toEqual([]);
    expect(h.emulator.requests.filter((request) => request.endpoint === 'download')).toEqual([]);
  });
});

const DAY = 24 * 3_600_000;
