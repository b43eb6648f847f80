// Layer flow: runSync -> FileCopies (the files phase of a run) -> the file copier (download -> S3) and the
// execution store (each execution's copy records). A transient failure is retried in place, then deferred
// to a later run with a doubling delay; a copy fails for good only for a permanent reason or once it is past
// Product-Live's 90-day retention (docs/sync.md "Files").
import Bottleneck from 'bottleneck/light';
import { settleAll } from '#core/concurrency';
import { describeError } from '#core/errors';
import type { FileCopy } from '#core/executions/execution-record';
import type { CopyRequest, CopyResult, FileCopyFailure } from '#core/files/file-copier';
import type { AppLogger } from '#core/observability';
import type { ExecutionItem, ExecutionRepository } from '#core/store/execution-repository';

/** What the files phase needs from the execution store. */
export type FileCopyStore = Pick<
  ExecutionRepository,
  'get' | 'saveFiles' | 'listFilesDue' | 'listFilesFailed'
>;

/** Copies one file; FileCopier fits. */
export interface Copier {
  copy(request: CopyRequest): Promise<CopyResult>;
}

export interface FileCopiesDeps {
  copier: Copier;
  /**
   * A copier with the API key read afresh from its secret, after a download was refused (401/403): the key
   * may have been rotated. Absent: a refusal is final.
   */
  renewCopier?: () => Promise<Copier>;
  executions: FileCopyStore;
  now: () => number;
  /** Waits between in-place attempts (tests: instantly). */
  sleep?: (ms: number) => Promise<void>;
  logger: AppLogger;
  /** True once no new copy may start (the run's time budget). */
  outOfTime: () => boolean;
  /** Told when due copies were left for a later run because the time budget ran out. */
  onDeferred: () => void;
  onProgress?: (counts: { copied: number; failed: number }) => void;
}

export interface FileCopiesOptions {
  concurrency: number;
  /** First delay before a deferred copy is tried again; it doubles with each deferral, up to a day. */
  retryDelayMs: number;
}

/** Attempts of one copy within a run before it is deferred. */
export const IN_PLACE_ATTEMPTS = 3;
/** Pause before the second in-place attempt; doubled before the third. */
const IN_PLACE_BACKOFF_MS = 250;
/** The longest a deferred copy waits. */
const MAX_RETRY_DELAY_MS = 24 * 3600_000;
/** Product-Live deletes uploaded files after 90 days: past that, a failing download will not come back. */
const PRODUCT_LIVE_FILE_RETENTION_MS = 90 * 24 * 3600_000;

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The copies of one run: copied, already copied (skipped), failed for good, and left for a later run. */
export class FileCopies {
  private readonly tally = { copied: 0, skipped: 0, failed: 0 };
  /** Copies this run left pending (deferred, or not reached in time), by execution and path. */
  private readonly leftPending = new Set<string>();
  private readonly limiter: Bottleneck;
  private copier: Copier;
  private renewing: Promise<Copier> | undefined;

  constructor(
    private readonly deps: FileCopiesDeps,
    private readonly options: FileCopiesOptions,
  ) {
    this.limiter = new Bottleneck({ maxConcurrent: options.concurrency });
    this.copier = deps.copier;
  }

  /** What this run did: copied, skipped (already copied), failed for good, and left pending at its end. */
  get counts(): { copied: number; skipped: number; failed: number; pending: number } {
    return { ...this.tally, pending: this.leftPending.size };
  }

  /** Copies the due files of executions just written (their copied files count as skipped). */
  async copyWritten(items: readonly ExecutionItem[]): Promise<void> {
    const nowIso = this.nowIso();
    this.tally.skipped += items
      .flatMap((item) => item.files)
      .filter((file) => file.status === 'copied').length;
    await settleAll(
      items
        .filter((item) => item.files.some((file) => isDue(file, nowIso)))
        .map((item) => this.copyFilesOf(item)),
    );
  }

  /** Copies left over by earlier runs (failures due for a retry, runs that stopped mid-way). */
  async copyDue(): Promise<void> {
    const due: ExecutionItem[] = [];
    for await (const item of this.deps.executions.listFilesDue(this.nowIso())) due.push(item);
    for (const [position, { id }] of due.entries()) {
      if (this.deps.outOfTime()) {
        for (const left of due.slice(position)) {
          for (const file of left.files)
            if (file.status === 'pending') this.leftPending.add(keyOf(left, file));
        }
        this.deps.onDeferred();
        return;
      }
      // The index is eventually consistent: decide from a consistent read of the item.
      const item = await this.deps.executions.get(id);
      if (item) await this.copyFilesOf(item);
    }
  }

  /** Puts every copy that failed for good back in the queue, due at once; returns how many. */
  async requeueFailed(): Promise<number> {
    const ids: string[] = [];
    for await (const item of this.deps.executions.listFilesFailed()) ids.push(item.id);
    const nowIso = this.nowIso();
    let requeued = 0;
    for (const id of ids) {
      const item = await this.deps.executions.get(id);
      if (!item) continue;
      const failed = item.files.filter((file) => file.status === 'failed');
      if (failed.length === 0) continue;
      const files = item.files.map((file) =>
        file.status === 'failed'
          ? { ...file, status: 'pending' as const, nextAttemptAt: nowIso, deferrals: 0 }
          : file,
      );
      await this.deps.executions.saveFiles(item, files);
      requeued += failed.length;
    }
    return requeued;
  }

  /** Copies the due files of one execution, then records the outcome of each on the execution. */
  private async copyFilesOf(item: ExecutionItem): Promise<void> {
    const nowIso = this.nowIso();
    const files = item.files.map((file) => ({ ...file }));
    const due = files.filter((file) => isDue(file, nowIso));
    if (due.length === 0) return;
    let attempted = 0;
    await settleAll(
      due.map((file) =>
        this.limiter.schedule(async () => {
          if (this.deps.outOfTime()) {
            this.leftPending.add(keyOf(item, file));
            this.deps.onDeferred();
            return;
          }
          attempted += 1;
          await this.copyOne(item, file);
        }),
      ),
    );
    if (attempted > 0) await this.deps.executions.saveFiles(item, files);
    this.deps.onProgress?.({ copied: this.tally.copied, failed: this.tally.failed });
  }

  /** One copy: in-place attempts, then success, a deferral, or a failure for good. Updates `file`. */
  private async copyOne(item: ExecutionItem, file: FileCopy): Promise<void> {
    let renewed = false;
    let lastFailure: { failure: FileCopyFailure; message: string } | undefined;
    for (let attempt = 1; attempt <= IN_PLACE_ATTEMPTS; attempt++) {
      file.attempts += 1;
      try {
        const result = await this.copier.copy({
          sourceUrl: file.sourceUrl,
          s3Key: file.s3Key,
          metadata: { 'execution-id': item.id, 'job-id': item.jobId, 'source-path': file.path },
        });
        Object.assign(file, {
          status: 'copied',
          size: result.size,
          sha256: result.sha256,
          contentType: result.contentType,
          copiedAt: this.nowIso(),
        });
        delete file.lastError;
        delete file.nextAttemptAt;
        delete file.deferrals;
        this.tally.copied += 1;
        this.leftPending.delete(keyOf(item, file));
        return;
      } catch (error) {
        lastFailure = {
          failure: failureOf(error),
          message: error instanceof Error ? error.message : describeError(error),
        };
      }
      if (lastFailure.failure === 'forbidden' && !renewed && this.deps.renewCopier) {
        // The key may have been rotated: read it again once, and retry with it at once.
        renewed = true;
        this.copier = await this.renewCopierOnce();
        attempt -= 1;
        continue;
      }
      if (lastFailure.failure !== 'transient') break;
      if (attempt < IN_PLACE_ATTEMPTS)
        await (this.deps.sleep ?? realSleep)(IN_PLACE_BACKOFF_MS * 2 ** (attempt - 1));
    }
    this.settleFailure(item, file, lastFailure ?? { failure: 'transient', message: 'unknown failure' });
  }

  /** After the in-place attempts: defer a transient failure, or fail the copy for good. */
  private settleFailure(
    item: ExecutionItem,
    file: FileCopy,
    last: { failure: FileCopyFailure; message: string },
  ): void {
    const pastRetention = this.deps.now() - Date.parse(item.createdAt) > PRODUCT_LIVE_FILE_RETENTION_MS;
    const forGood = last.failure !== 'transient' || pastRetention;
    file.lastError =
      last.failure === 'transient' && pastRetention
        ? `past Product-Live's 90-day retention of files; last failure: ${last.message}`
        : last.failure === 'forbidden'
          ? `${last.message} (refused again after the API key was read afresh)`
          : last.message;
    if (forGood) {
      file.status = 'failed';
      delete file.nextAttemptAt;
      this.tally.failed += 1;
      this.leftPending.delete(keyOf(item, file));
    } else {
      const deferrals = (file.deferrals ?? 0) + 1;
      file.status = 'pending';
      file.deferrals = deferrals;
      file.nextAttemptAt = new Date(
        this.deps.now() + retryDelayMs(this.options.retryDelayMs, deferrals),
      ).toISOString();
      this.leftPending.add(keyOf(item, file));
    }
    this.deps.logger.warn(forGood ? 'file copy failed for good' : 'file copy deferred to a later run', {
      executionId: item.id,
      path: file.path,
      attempts: file.attempts,
      ...(forGood ? {} : { nextAttemptAt: file.nextAttemptAt }),
      error: file.lastError,
    });
  }

  private renewCopierOnce(): Promise<Copier> {
    this.renewing ??= (this.deps.renewCopier as () => Promise<Copier>)().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private nowIso(): string {
    return new Date(this.deps.now()).toISOString();
  }
}

function keyOf(item: Pick<ExecutionItem, 'id'>, file: Pick<FileCopy, 'path'>): string {
  return `${item.id}\u0000${file.path}`;
}

/** True for a pending copy whose next attempt is due. */
function isDue(file: FileCopy, nowIso: string): boolean {
  return file.status === 'pending' && (file.nextAttemptAt ?? '') <= nowIso;
}

/** The kind of a copy failure; an error the copier did not classify is taken as transient. */
function failureOf(error: unknown): FileCopyFailure {
  const failure = (error as { failure?: unknown }).failure;
  if (failure === 'transient' || failure === 'forbidden' || failure === 'permanent') return failure;
  return (error as { permanent?: unknown }).permanent === true ? 'permanent' : 'transient';
}

/** Delay before the next try of a copy deferred `deferrals` times: doubling from `firstMs`, at most a day. */
export function retryDelayMs(firstMs: number, deferrals: number): number {
  return Math.min(MAX_RETRY_DELAY_MS, firstMs * 2 ** Math.max(0, deferrals - 1));
}
