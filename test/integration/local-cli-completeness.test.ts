// Drives `npm start -- --once --json` as a user (and the independent checks) would, with the audit in every
// run and no delay before a deferred file copy is retried (SYNC_AUDIT_INTERVAL_SECONDS=0,
// FILE_COPY_RETRY_DELAY_SECONDS=0 in the environment), against an emulator in this process whose clock follows
// real time: late executions are recovered by the audit, and transient download faults leave nothing missing.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverFiles } from '#core/executions/file-discovery';
import type { SyncSummary } from '#functions/sync/sync-summary';
import { findFreePort } from '#local/aws/local-aws-servers';
import { createEmulator, type Emulator, ManualClock } from '#local/emulator/index';
import { closed } from '../support/child-output';

const root = resolve(import.meta.dirname, '../..');
const HOUR = 3_600_000;
let dataDir: string;
let emulator: Emulator;
let clock: ManualClock;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'plsync-cli-audit-'));
  clock = new ManualClock(Date.now() - 3 * HOUR);
  emulator = createEmulator({ clock, seed: 'cli-audit', maxGeneratedFileBytes: 8 * 1024, rateLimit: false });
  await emulator.start();
});
afterAll(async () => {
  await emulator.stop();
  await rm(dataDir, { recursive: true, force: true });
});

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function startOnce(extra: string[] = []): Promise<Result> {
  const ports = await Promise.all(['dynamodb', 's3', 'sqs'].map((name) => findFreePort(name)));
  const args = ['-s', 'start', '--', '--once', '--json', '--data-dir', dataDir, '--api-url', emulator.url];
  args.push(
    '--dynamodb-port',
    String(ports[0]),
    '--s3-port',
    String(ports[1]),
    '--sqs-port',
    String(ports[2]),
  );
  const child: ChildProcess = spawn('npm', [...args, ...extra], {
    cwd: root,
    env: {
      ...process.env,
      PRODUCT_LIVE_API_KEY: emulator.apiKey,
      SYNC_AUDIT_INTERVAL_SECONDS: '0',
      FILE_COPY_RETRY_DELAY_SECONDS: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return closed(child);
}

function summaryOf(result: Result): SyncSummary {
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as SyncSummary;
}

describe('npm start -- --once --json with SYNC_AUDIT_INTERVAL_SECONDS=0 and FILE_COPY_RETRY_DELAY_SECONDS=0', () => {
  it('recovers executions that appeared hours late, and leaves no file copy missing after download faults', async () => {
    const exportJob = emulator.addJob({ title: 'Export Products', kind: 'export' });
    const quietJob = emulator.addJob({ title: 'Sync Prices', kind: 'no-files' });
    for (let i = 0; i < 12; i++) {
      emulator.createExecution(i % 2 ? exportJob.id : quietJob.id, {}, { runTimeMs: 30_000 });
      clock.advance(60_000);
    }
    // Created three hours ago, visible in the API only a minute after the first run: far behind the lookback.
    const firstRunAt = Date.now();
    const late = [exportJob, quietJob, exportJob].map((job) =>
      emulator.createExecution(
        job.id,
        {},
        { runTimeMs: 30_000, visibleAfterMs: firstRunAt + 60_000 - clock.now() },
      ),
    );
    clock.set(firstRunAt);

    const first = summaryOf(await startOnce());
    expect(first.error).toBeNull();
    expect(first.executions.new).toBe(12);
    expect(first.audit).toMatchObject({ complete: true, monthsDiffering: 0, executionsRecovered: 0 });

    // The late ones appear; a quarter of the downloads now break off half-way.
    clock.set(Date.now() + 120_000);
    expect(emulator.executions()).toHaveLength(15);
    emulator.setFaults({ rate: 0.25, kinds: ['truncated-download'], seed: 'cli-audit' });
    const second = summaryOf(await startOnce());
    expect(second.error).toBeNull();
    expect(second.audit).toMatchObject({ complete: true, executionsRecovered: late.length });
    const faultedDownloads = emulator.requests.filter(
      (request) => request.endpoint === 'download' && request.fault === 'truncated-download',
    );
    expect(faultedDownloads.length).toBeGreaterThan(0);

    // Faults stop: whatever was deferred is due at once, and the next run copies it; then nothing is left.
    emulator.setFaults(undefined);
    const third = summaryOf(await startOnce());
    expect(third.error).toBeNull();
    expect(third.files).toMatchObject({ failed: 0, pending: 0 });
    expect(third.audit).toMatchObject({ complete: true, monthsDiffering: 0, executionsRecovered: 0 });
    const copied = first.files.copied + second.files.copied + third.files.copied;
    const expected = emulator.executions().flatMap((execution) => discoverFiles(execution)).length;
    expect(copied).toBe(expected);
    expect(expected).toBeGreaterThan(0);
  }, 240_000);
});
