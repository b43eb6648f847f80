import { afterEach, describe, expect, it } from 'vitest';
import { type CopyRequest, FileCopyError } from '#core/files/file-copier';
import type { ExecutionItem } from '#core/store/execution-repository';
import { ExecutionRepository } from '#core/store/execution-repository';
import { createSyncHarness, expectStoreToEqualEmulator, type SyncHarness } from '../support/sync-harness';

let harness: SyncHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const distinct = (keys: string[]) => new Set(keys).size === keys.length;

/** An execution repository whose writes start failing after `budget` successful page writes. */
class CrashingRepository extends ExecutionRepository {
  budget = Number.POSITIVE_INFINITY;
  override async insertMany(items: readonly ExecutionItem[]): Promise<void> {
    if (items.length > 0 && this.budget-- <= 0) throw new Error('simulated crash while writing a page');
    return super.insertMany(items);
  }
}

describe('sync: interrupted runs', () => {
  it('converges when each run is killed after one page more than the previous one', async () => {
    harness = await createSyncHarness({
      emulator: { demo: { seed: 21, executions: 140 } },
      config: { pageSize: 20 },
    });
    const crashing = new CrashingRepository(harness.clients.doc, harness.store.executionsTable);
    const pagesWritten: number[] = [];
    for (let pages = 0; pages < 20; pages++) {
      crashing.budget = pages;
      const summary = await harness.sync({ deps: { executions: crashing } });
      pagesWritten.push(summary.executions.new);
      if (!summary.error && !summary.moreRemaining) break;
      expect(summary.error).toMatch(/simulated crash/);
      expect(summary.moreRemaining).toBe(true);
    }
    expect(pagesWritten.length).toBeGreaterThan(3);
    await expectStoreToEqualEmulator(harness);
    expect(distinct(harness.uploads)).toBe(true);
  });

  it('stops before the time budget ends, says so, and the next run resumes the window from its checkpoint', async () => {
    harness = await createSyncHarness({
      emulator: { demo: { seed: 22, executions: 150 } },
      config: { pageSize: 20 },
    });
    let pagesLeft = 3;
    const h = harness;
    const stop = h.emulator.onRequest((request) => {
      if (request.endpoint === 'find') pagesLeft -= 1;
    });
    const first = await h.sync({ deps: { remainingTimeMs: () => (pagesLeft > 0 ? 900_000 : 1_000) } });
    stop();
    expect(first.error).toBeNull();
    expect(first.moreRemaining).toBe(true);
    expect(first.watermark).toBeNull();
    const checkpoint = await h.state.getCheckpoint();
    expect(checkpoint?.pass?.nextPage).toBeGreaterThan(0);

    h.emulator.clearRequests();
    const second = await h.sync();
    expect(second.moreRemaining).toBe(false);
    // The store proves the window complete: no verification pass re-reads what the first run saw.
    expect(h.logs.some((log) => log.message.includes('verifying with a second pass'))).toBe(false);
    const pagesRequested = h.emulator.requests
      .filter((request) => request.endpoint === 'find' && request.query.page !== undefined)
      .map((request) => Number(request.query.page));
    expect(Math.min(...pagesRequested)).toBe(0); // the open-executions query
    expect(pagesRequested).toContain(checkpoint?.pass?.nextPage);
    await expectStoreToEqualEmulator(h);
    expect(distinct(h.uploads)).toBe(true);
  });

  it('never uploads a file twice when a run dies between the upload and recording it', async () => {
    harness = await createSyncHarness({ emulator: { demo: { seed: 23, executions: 40 } } });
    class ForgetfulRepository extends ExecutionRepository {
      override async saveFiles(): Promise<void> {
        throw new Error('simulated crash after the upload');
      }
    }
    const forgetful = new ForgetfulRepository(harness.clients.doc, harness.store.executionsTable);
    const first = await harness.sync({ deps: { executions: forgetful } });
    expect(first.error).toMatch(/simulated crash after the upload/);
    const uploaded = harness.uploads.length;
    expect(uploaded).toBeGreaterThan(0);
    const second = await harness.sync();
    expect(second.error).toBeNull();
    await expectStoreToEqualEmulator(harness);
    expect(distinct(harness.uploads)).toBe(true);
  });

  it('retries a failing copy in place, then defers it to a later run, keeps syncing, and copies it then', async () => {
    harness = await createSyncHarness({ emulator: { demo: { seed: 24, executions: 40 } } });
    const h = harness;
    const real = (await import('#core/files/file-copier')).FileCopier;
    const copier = new real({
      s3: h.clients.s3,
      bucket: h.store.filesBucket,
      policy: { apiUrl: h.emulator.url, allowedHosts: [] },
      apiKey: h.emulator.apiKey,
      idleTimeoutMs: 2_000,
    });
    // Three files fail every attempt of the first run (a transient failure: a reset connection).
    const failing = new Set<string>();
    const attempts = new Map<string, number>();
    let outage = true;
    const flaky = {
      copy: (request: CopyRequest) => {
        attempts.set(request.s3Key, (attempts.get(request.s3Key) ?? 0) + 1);
        if (outage && (failing.has(request.s3Key) || failing.size < 3)) {
          failing.add(request.s3Key);
          return Promise.reject(new FileCopyError('download failed: socket hang up', 'transient'));
        }
        return copier.copy(request);
      },
    };
    const first = await h.sync({ deps: { copier: flaky } });
    expect(first.error).toBeNull();
    expect(first.executions.new).toBe(40);
    expect(first.files).toMatchObject({ failed: 0, pending: 3 });
    expect([...failing].map((key) => attempts.get(key))).toEqual([3, 3, 3]);
    const pending = (await h.storedItems())
      .flatMap((item) => item.files)
      .filter((file) => file.status === 'pending');
    expect(pending).toHaveLength(3);
    for (const file of pending) {
      expect(file).toMatchObject({ attempts: 3, deferrals: 1, lastError: 'download failed: socket hang up' });
      // The first deferral: FILE_COPY_RETRY_DELAY_SECONDS (300) after the run.
      expect(Date.parse(file.nextAttemptAt ?? '')).toBe(h.clock.now() + 300_000);
    }

    // Not due yet: a run right away leaves them alone.
    outage = false;
    const early = await h.sync();
    expect(early.files.copied).toBe(0);
    h.clock.advance(6 * 60_000);
    const later = await h.sync();
    expect(later.files.copied).toBe(3);
    await expectStoreToEqualEmulator(h);
  });

  it('doubles the delay of a copy deferred again, and fails it for good only for a permanent reason', async () => {
    harness = await createSyncHarness({ emulator: { demo: { seed: 25, executions: 10 } } });
    const transient = { copy: () => Promise.reject(new FileCopyError('answered HTTP 503', 'transient')) };
    await harness.sync({ deps: { copier: transient } });
    harness.clock.advance(301_000);
    await harness.sync({ deps: { copier: transient } });
    const files = (await harness.storedItems()).flatMap((item) => item.files);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      expect(file).toMatchObject({ status: 'pending', attempts: 6, deferrals: 2 });
      expect(Date.parse(file.nextAttemptAt ?? '')).toBe(harness.clock.now() + 600_000);
    }
    harness.clock.advance(601_000);
    const permanent = { copy: () => Promise.reject(new FileCopyError('answered HTTP 404', 'permanent')) };
    const summary = await harness.sync({ deps: { copier: permanent } });
    expect(summary.files).toMatchObject({ failed: files.length, pending: 0 });
    const after = (await harness.storedItems()).flatMap((item) => item.files);
    expect(after.every((file) => file.status === 'failed' && file.attempts === 7)).toBe(true);
    const items = await harness.storedItems();
    expect(items.every((item) => item.filesPending === undefined)).toBe(true);
    expect(items.filter((item) => item.files.length > 0).every((item) => item.filesFailed === 'FAILED')).toBe(
      true,
    );
  });
});

describe('sync: lease', () => {
  it('skips at once while another run holds a live lease, and runs once that lease has expired', async () => {
    harness = await createSyncHarness({ emulator: { demo: { seed: 26, executions: 10 } } });
    expect(await harness.state.acquireLease('crashed-run', harness.clock.now(), 60_000)).toBe(true);
    harness.emulator.clearRequests();
    const skipped = await harness.sync();
    expect(skipped.skipped).toBe(true);
    expect(skipped.apiRequests).toBe(0);
    expect(harness.emulator.requests).toHaveLength(0);
    harness.clock.advance(61_000);
    const ran = await harness.sync();
    expect(ran.skipped).toBe(false);
    expect(ran.executions.new).toBe(10);
  });
});

describe('sync: faults', () => {
  it('converges to the exact API state with 20% of requests failing, every run ending with a summary', async () => {
    harness = await createSyncHarness({
      emulator: {
        demo: { seed: 27, executions: 200 },
        faults: {
          rate: 0.2,
          seed: 27,
          kinds: ['429', '429-no-retry-after', '500', 'malformed-json', 'truncated-download'],
        },
      },
      config: { pageSize: 50 },
      client: { retryMaxMs: 1_500 },
    });
    const summaries: Awaited<ReturnType<SyncHarness['sync']>>[] = [];
    for (let run = 0; run < 30; run++) {
      const summary = await harness.sync();
      summaries.push(summary);
      expect(summary.skipped).toBe(false);
      if (summary.error !== null) expect(summary.moreRemaining).toBe(true);
      const clean = !summary.error && !summary.moreRemaining && summary.files.pending === 0;
      if (clean && run > 0 && summary.executions.new === 0 && summary.executions.updated === 0) break;
      harness.clock.advance(3_600_000);
    }
    harness.emulator.setFaults(undefined);
    // The faults did hit file copies (truncated downloads, retried in place or in a later run).
    expect(
      harness.emulator.requests.some(
        (request) => request.endpoint === 'download' && request.fault !== undefined,
      ),
    ).toBe(true);
    expect(summaries.every((summary) => summary.files.failed === 0)).toBe(true);
    await expectStoreToEqualEmulator(harness);
    expect(distinct(harness.uploads)).toBe(true);
  });
});
