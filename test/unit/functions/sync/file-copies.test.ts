import { describe, expect, it, vi } from 'vitest';
import type { FileCopy } from '#core/executions/execution-record';
import { type CopyResult, FileCopyError } from '#core/files/file-copier';
import type { AppLogger } from '#core/observability';
import type { ExecutionItem } from '#core/store/execution-repository';
import { type Copier, FileCopies, IN_PLACE_ATTEMPTS, retryDelayMs } from '#functions/sync/file-copies';
import { InMemoryExecutionStore } from '../../../support/in-memory-sync';

const NOW = Date.parse('2024-06-01T12:00:00.000Z');
const DAY = 86_400_000;
const silent: AppLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const copied: CopyResult = { size: 3, sha256: 'abc', contentType: 'text/plain', reusedExisting: false };

function anItem(createdAt = new Date(NOW - DAY).toISOString()): ExecutionItem {
  const file: FileCopy = {
    path: 'output.report',
    sourceUrl: 'https://app.product-live.com/report.xml',
    fileName: 'report.xml',
    s3Key: 'executions/j/e/output.report/report.xml',
    status: 'pending',
    attempts: 0,
    nextAttemptAt: new Date(NOW).toISOString(),
  };
  return {
    id: 'e',
    jobId: 'j',
    status: 'COMPLETED',
    createdAt,
    day: createdAt.slice(0, 10),
    month: createdAt.slice(0, 7),
    statusRank: 2,
    fingerprint: 'f',
    raw: '{}',
    files: [file],
    firstSyncedAt: createdAt,
    syncedAt: createdAt,
    source: 'sync',
  };
}

/** Copies the item's file with a copier that answers `outcomes` in turn (an error is thrown). */
async function copyWith(
  outcomes: Array<CopyResult | Error>,
  options: { item?: ExecutionItem; renewed?: Copier } = {},
) {
  const store = new InMemoryExecutionStore();
  const item = options.item ?? anItem();
  await store.insertMany([item]);
  const copy = vi.fn(async () => {
    const next = outcomes.shift();
    if (next instanceof Error) throw next;
    if (!next) throw new Error('no more outcomes');
    return next;
  });
  const renewCopier = vi.fn(async () => options.renewed ?? { copy });
  const copies = new FileCopies(
    {
      copier: { copy },
      renewCopier,
      executions: store,
      now: () => NOW,
      sleep: async () => {},
      logger: silent,
      outOfTime: () => false,
      onDeferred: () => {},
    },
    { concurrency: 2, retryDelayMs: 300_000 },
  );
  await copies.copyDue();
  return { copies, copy, renewCopier, file: store.items.get(item.id)?.files[0] };
}

describe('FileCopies', () => {
  it('retries a transient failure in place and records the copy', async () => {
    const { copies, file, copy } = await copyWith([new FileCopyError('reset', 'transient'), copied]);
    expect(copy).toHaveBeenCalledTimes(2);
    expect(file).toMatchObject({ status: 'copied', attempts: 2, sha256: 'abc' });
    expect(file?.lastError).toBeUndefined();
    expect(copies.counts).toEqual({ copied: 1, skipped: 0, failed: 0, pending: 0 });
  });

  it(`defers a copy still failing after ${IN_PLACE_ATTEMPTS} tries, by the retry delay`, async () => {
    const failure = () => new FileCopyError('answered HTTP 503', 'transient');
    const { copies, file } = await copyWith([failure(), failure(), failure()]);
    expect(file).toMatchObject({
      status: 'pending',
      attempts: 3,
      deferrals: 1,
      lastError: 'answered HTTP 503',
    });
    expect(file?.nextAttemptAt).toBe(new Date(NOW + 300_000).toISOString());
    expect(copies.counts).toMatchObject({ pending: 1, failed: 0 });
  });

  it('fails a permanent failure at once, without a second try', async () => {
    const { file, copy } = await copyWith([new FileCopyError('answered HTTP 404', 'permanent')]);
    expect(copy).toHaveBeenCalledTimes(1);
    expect(file).toMatchObject({ status: 'failed', attempts: 1, lastError: 'answered HTTP 404' });
  });

  it('reads the API key again after a 403 and copies with the new one', async () => {
    const renewed = { copy: vi.fn(async () => copied) };
    const { file, renewCopier } = await copyWith([new FileCopyError('answered HTTP 403', 'forbidden')], {
      renewed,
    });
    expect(renewCopier).toHaveBeenCalledTimes(1);
    expect(renewed.copy).toHaveBeenCalledTimes(1);
    expect(file).toMatchObject({ status: 'copied', attempts: 2 });
  });

  it('fails a copy refused again after the API key was read afresh', async () => {
    const forbidden = () => new FileCopyError('answered HTTP 403', 'forbidden');
    const { file, renewCopier } = await copyWith([forbidden(), forbidden()]);
    expect(renewCopier).toHaveBeenCalledTimes(1);
    expect(file).toMatchObject({
      status: 'failed',
      lastError: 'answered HTTP 403 (refused again after the API key was read afresh)',
    });
  });

  it("fails a transient failure for good once the file is past Product-Live's 90-day retention", async () => {
    const failure = () => new FileCopyError('socket hang up', 'transient');
    const old = anItem(new Date(NOW - 91 * DAY).toISOString());
    const { file } = await copyWith([failure(), failure(), failure()], { item: old });
    expect(file).toMatchObject({
      status: 'failed',
      lastError: "past Product-Live's 90-day retention of files; last failure: socket hang up",
    });
  });

  it('doubles the delay with each deferral, up to a day', () => {
    expect([1, 2, 3, 4].map((deferrals) => retryDelayMs(300_000, deferrals))).toEqual([
      300_000, 600_000, 1_200_000, 2_400_000,
    ]);
    expect(retryDelayMs(300_000, 20)).toBe(DAY);
    expect(retryDelayMs(0, 5)).toBe(0);
  });
});
