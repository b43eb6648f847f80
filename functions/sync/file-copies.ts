// Layer flow: runSync -> FileCopies (the files phase of a run) -> the file copier (download -> S3) and the
// execution store (each execution's copy records). Every file of a written execution is copied; a failed
// copy is recorded with its error and retried by a later run (see docs/sync.md "Files").
import Bottleneck from 'bottleneck';
import { settleAll } from '../core/concurrency';
import { describeError } from '../core/errors';
import type { FileCopy } from '../core/executions/execution-record';
import type { CopyRequest, CopyResult } from '../core/files/file-copier';
import type { AppLogger } from '../core/observability';
import type { ExecutionItem, ExecutionRepository } from '../core/store/execution-repository';

/** What the files phase needs from the execution store. */
export type FileCopyStore = Pick<ExecutionRepository, 'get' | 'saveFiles' | 'listFilesDue'>;

export interface FileCopiesDeps {
  copier: { copy(request: CopyRequest): Promise<CopyResult> };
  executions: FileCopyStore;
  now: () => number;
  logger: AppLogger;
  /** True once no new copy may start (the run's time budget). */
  outOfTime: () => boolean;
  /** Told when copies were left for a later run. */
  onDeferred: () => void;
  onProgress?: (counts: { copied: number; failed: number }) => void;
}

export interface FileCopiesOptions {
  concurrency: number;
  maxAttempts: number;
}

/** The copies of one run: what it copied, found already copied, and failed to copy. */
export class FileCopies {
  readonly counts = { copied: 0, skipped: 0, failed: 0 };
  private readonly limiter: Bottleneck;

  constructor(
    private readonly deps: FileCopiesDeps,
    private readonly options: FileCopiesOptions,
  ) {
    this.limiter = new Bottleneck({ maxConcurrent: options.concurrency });
  }

  /** Copies the due files of executions just written (their copied files count as skipped). */
  async copyWritten(items: readonly ExecutionItem[]): Promise<void> {
    const nowIso = this.nowIso();
    this.counts.skipped += items
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
    const dueIds: string[] = [];
    for await (const item of this.deps.executions.listFilesDue(this.nowIso())) dueIds.push(item.id);
    for (const id of dueIds) {
      if (this.deps.outOfTime()) {
        this.deps.onDeferred();
        return;
      }
      // The index is eventually consistent: decide from a consistent read of the item.
      const item = await this.deps.executions.get(id);
      if (item) await this.copyFilesOf(item);
    }
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
            this.deps.onDeferred();
            return;
          }
          attempted += 1;
          await this.copyOne(item, file);
        }),
      ),
    );
    if (attempted > 0) await this.deps.executions.saveFiles(item.id, files);
    this.deps.onProgress?.({ copied: this.counts.copied, failed: this.counts.failed });
  }

  private async copyOne(item: ExecutionItem, file: FileCopy): Promise<void> {
    try {
      const result = await this.deps.copier.copy({
        sourceUrl: file.sourceUrl,
        s3Key: file.s3Key,
        metadata: { 'execution-id': item.id, 'job-id': item.jobId, 'source-path': file.path },
      });
      Object.assign(file, {
        status: 'copied',
        attempts: file.attempts + 1,
        size: result.size,
        sha256: result.sha256,
        contentType: result.contentType,
        copiedAt: this.nowIso(),
      });
      delete file.lastError;
      delete file.nextAttemptAt;
      this.counts.copied += 1;
    } catch (error) {
      const attempts = file.attempts + 1;
      const permanent = (error as { permanent?: boolean }).permanent === true;
      const giveUp = permanent || attempts >= this.options.maxAttempts;
      file.attempts = attempts;
      file.lastError = error instanceof Error ? error.message : describeError(error);
      if (giveUp) {
        file.status = 'failed';
        delete file.nextAttemptAt;
      } else {
        file.status = 'pending';
        file.nextAttemptAt = new Date(this.deps.now() + retryDelayMs(attempts)).toISOString();
      }
      this.counts.failed += 1;
      this.deps.logger.warn('file copy failed', {
        executionId: item.id,
        path: file.path,
        attempts,
        willRetry: !giveUp,
        error: file.lastError,
      });
    }
  }

  private nowIso(): string {
    return new Date(this.deps.now()).toISOString();
  }
}

/** True for a pending copy whose next attempt is due. */
export function isDue(file: FileCopy, nowIso: string): boolean {
  return file.status === 'pending' && (file.nextAttemptAt ?? '') <= nowIso;
}

/** Backoff between attempts of a failed copy: 5 minutes, doubling, at most a day. */
function retryDelayMs(attempts: number): number {
  return Math.min(24 * 3600_000, 5 * 60_000 * 2 ** (attempts - 1));
}
