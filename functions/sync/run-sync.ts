// Layer flow: sync handler -> runSync (use case) -> its parts: the open refresh, the window, the audit, the
// writer and the files phase. This file holds the lease, what the run learned about the API, the audit
// hand-off and the summary. The algorithm and its reasons: docs/sync.md.
import { describeError } from '#core/errors';
import type { JobExecution } from '#core/product-live/product-live.schema';
import type { Checkpoint } from '#core/store/sync-state-repository';
import { ApiProfileTracker } from './api-profile';
import { type AuditSummary, runAudit } from './audit';
import { ExecutionWriter } from './execution-writer';
import { FileCopies } from './file-copies';
import { type HealthSummary, runHealthPass } from './job-health-pass';
import { OpenRefresh } from './open-refresh';
import { windowPageSize } from './page-size';
import type { RunContext, SyncDeps, SyncOptions } from './sync-deps';
import type { SyncSummary } from './sync-summary';
import { SyncWindow } from './sync-window';

export type {
  SyncApi,
  SyncDeps,
  SyncExecutionStore,
  SyncOptions,
  SyncProgress,
  SyncStateStore,
} from './sync-deps';

/** Runs one sync: returns its summary, also when it stops early on an error (the error is in it). */
export async function runSync(deps: SyncDeps, options: SyncOptions): Promise<SyncSummary> {
  return new SyncRun(deps, options).run();
}

/** One run: takes the lease, composes the parts, hands over to the audit, and sums up. */
class SyncRun {
  private readonly startedAt: number;
  private readonly apiRequestsAtStart: number;
  private readonly throttledAtStart: number;
  private moreRemaining = false;
  private profile: ApiProfileTracker | undefined;
  private audit: AuditSummary | null = null;
  private health: HealthSummary | null = null;
  private readonly files: FileCopies;
  private readonly writer: ExecutionWriter;
  private readonly open: OpenRefresh;
  private readonly window: SyncWindow;

  constructor(
    private readonly deps: SyncDeps,
    private readonly options: SyncOptions,
  ) {
    this.startedAt = deps.now();
    this.apiRequestsAtStart = deps.api.requestCount;
    this.throttledAtStart = deps.api.throttledCount;
    const context: RunContext = {
      now: deps.now,
      logger: deps.logger,
      ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
      outOfTime: () => this.outOfTime(),
      leaveForLater: () => {
        this.moreRemaining = true;
      },
      profile: () => this.requireProfile(),
    };
    this.files = new FileCopies(
      {
        copier: deps.copier,
        ...(deps.renewCopier ? { renewCopier: deps.renewCopier } : {}),
        ...(deps.sleep ? { sleep: deps.sleep } : {}),
        executions: deps.executions,
        now: deps.now,
        logger: deps.logger,
        outOfTime: context.outOfTime,
        onDeferred: context.leaveForLater,
        onProgress: (counts) => deps.onProgress?.({ phase: 'files', ...counts }),
      },
      { concurrency: options.fileCopyConcurrency, retryDelayMs: options.fileCopyRetryDelayMs },
    );
    this.writer = new ExecutionWriter({
      executions: deps.executions,
      ...(deps.storeLargePayload ? { storeLargePayload: deps.storeLargePayload } : {}),
      files: this.files,
      now: deps.now,
    });
    const write = (executions: readonly JobExecution[]) => this.writer.write(executions);
    this.open = new OpenRefresh({ ...context, api: deps.api, executions: deps.executions, write }, options);
    this.window = new SyncWindow(
      { ...context, api: deps.api, executions: deps.executions, state: deps.state, write },
      { ...options, startedAt: this.startedAt },
    );
  }

  async run(): Promise<SyncSummary> {
    const { state, logger } = this.deps;
    let acquired: boolean;
    try {
      acquired = await state.acquireLease(this.options.runId, this.startedAt, this.options.leaseMs);
    } catch (caught) {
      // Not even the lease: nothing was done. The write may have taken effect with its response lost: give
      // back what this run may hold, so that the next run does not wait for it to expire.
      this.moreRemaining = true;
      const error = this.stopped(caught);
      await state.releaseLease(this.options.runId).catch(() => undefined);
      return this.summary({ error });
    }
    if (!acquired) {
      logger.info('another sync run holds the lease; skipping this one');
      return this.summary({ skipped: true });
    }
    let error: string | null = null;
    try {
      const checkpoint = await state.getCheckpoint();
      this.window.resumeFrom(checkpoint?.watermark);
      this.profile = new ApiProfileTracker(await state.getApiProfile(), this.deps.now());
      if (this.profile.findPath) this.deps.api.useFindPath?.(this.profile.findPath);
      if (this.options.retryFailedFiles) {
        const requeued = await this.files.requeueFailed();
        logger.info('file copies that had failed are queued again', { requeued });
      }
      await this.syncOpenAndWindow(checkpoint);
      await this.auditWhenDue(checkpoint);
      await this.files.copyDue();
    } catch (caught) {
      this.moreRemaining = true;
      error = this.stopped(caught);
    } finally {
      await this.saveProfile();
      // Still under the lease: two evaluations never overlap, so each change is recorded (and published) once.
      await this.evaluateHealth();
      await state.releaseLease(this.options.runId).catch((releaseError: unknown) => {
        logger.warn('could not release the sync lease; it will expire', { error: String(releaseError) });
      });
    }
    return this.summary({ error });
  }

  /**
   * Re-reads the open executions and pages the window. A quiet run (a fresh window, at most one page of open
   * ids) asks both in one request, `createdAt >= lower OR id in [...]`, when the API accepts `or`.
   */
  private async syncOpenAndWindow(checkpoint: Checkpoint | undefined): Promise<void> {
    const ids = await this.open.listOpen();
    const pass = checkpoint?.pass ?? this.window.open(checkpoint?.watermark);
    if (this.open.canJoinWindow(ids, pass)) {
      const union = await this.open.firstPageOfUnion(ids, pass);
      if (union === 'complete') return this.window.complete(pass);
      if (union !== 'refused') {
        await this.open.refresh(ids.filter((id) => !union.has(id)));
        await this.window.sync(pass);
        return;
      }
    }
    await this.open.refresh(ids);
    await this.window.sync(pass);
  }

  /** Runs (or resumes) the audit when it is due and the incremental window is caught up. */
  private async auditWhenDue(checkpoint: Checkpoint | undefined): Promise<void> {
    const watermark = this.window.watermark;
    if (!watermark || this.moreRemaining || this.outOfTime()) return;
    this.audit = await runAudit(
      {
        api: this.deps.api,
        executions: this.deps.executions,
        state: this.deps.state,
        store: (executions) => this.writer.write(executions),
        profile: this.requireProfile(),
        now: this.deps.now,
        logger: this.deps.logger,
        outOfTime: () => this.outOfTime(),
      },
      {
        startDate: this.options.startDate,
        upper: watermark,
        intervalMs: this.options.auditIntervalMs,
        force: this.options.forceAudit ?? false,
        pageSize: windowPageSize({
          configured: this.options.pageSize,
          learned: this.requireProfile().pageSize,
          resumed: checkpoint?.pass?.pageSize,
        }),
      },
    );
    if (this.audit && !this.audit.complete) this.moreRemaining = true;
  }

  /**
   * The job health pass: every job judged as of the watermark (every run created before it is stored), from the
   * store alone. Not while the first window is incomplete (the store is not complete up to any instant yet), nor
   * once the time budget is spent; its failure never fails the run.
   */
  private async evaluateHealth(): Promise<void> {
    const health = this.deps.health;
    const watermark = this.window.watermark;
    if (!health) return;
    if (!watermark) {
      this.deps.logger.info('job health: not evaluated until the first window is complete');
      return;
    }
    if (this.outOfTime()) {
      this.deps.logger.info('job health: not evaluated, no time left in this run');
      return;
    }
    this.health = await runHealthPass(
      {
        records: health.records,
        runs: health.runs,
        ...(health.sink ? { sink: health.sink } : {}),
        now: this.deps.now,
        logger: this.deps.logger,
        outOfTime: () => this.outOfTime(),
      },
      { expectations: this.options.jobExpectations ?? {}, touchedJobs: this.writer.jobIds, asOf: watermark },
    );
  }

  private outOfTime(): boolean {
    return this.deps.remainingTimeMs() < this.options.timeMarginMs;
  }

  /** Logs why the run stopped and returns the summary's `error` text. */
  private stopped(caught: unknown): string {
    const error = describeError(caught);
    this.deps.logger.error('sync run stopped on an error; progress up to the last checkpoint is kept', {
      error,
    });
    return error;
  }

  private requireProfile(): ApiProfileTracker {
    this.profile ??= new ApiProfileTracker(undefined, this.deps.now());
    return this.profile;
  }

  /** Keeps what was learned about the API (the find path in use included) for the next runs. */
  private async saveProfile(): Promise<void> {
    if (!this.profile) return;
    if (this.deps.api.findPath) this.profile.learn({ findPath: this.deps.api.findPath });
    const profile = this.profile.toSave(this.deps.now());
    if (!profile) return;
    try {
      await this.deps.state.saveApiProfile(profile);
    } catch (error) {
      this.deps.logger.warn('could not save what the sync learned about the API', {
        error: describeError(error),
      });
    }
  }

  private summary(overrides: { skipped?: boolean; error?: string | null }): SyncSummary {
    return {
      executions: { ...this.writer.counts, openRefreshed: this.open.refreshed },
      files: { ...this.files.counts },
      audit: this.audit,
      health: this.health,
      apiRequests: this.deps.api.requestCount - this.apiRequestsAtStart,
      throttled: this.deps.api.throttledCount - this.throttledAtStart,
      moreRemaining: this.moreRemaining,
      watermark: this.window.watermark,
      durationMs: Math.max(0, this.deps.now() - this.startedAt),
      skipped: overrides.skipped ?? false,
      error: overrides.error ?? null,
    };
  }
}
