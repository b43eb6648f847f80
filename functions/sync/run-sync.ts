// Layer flow: sync handler -> runSync (use case) -> Product-Live client, execution and sync-state
// repositories, the files phase (file-copies.ts). Dependencies are passed in; nothing here reads the
// environment. The algorithm and its reasons: docs/sync.md.
import Bottleneck from 'bottleneck/light';
import { settleAll } from '../core/concurrency';
import { MAX_INLINE_RAW_BYTES } from '../core/defaults';
import { describeError } from '../core/errors';
import {
  executionS3Prefix,
  type FileCopy,
  mergeFileCopies,
  statusRank,
  toExecutionFields,
} from '../core/executions/execution-record';
import type { AppLogger } from '../core/observability';
import { isApiStatus } from '../core/product-live/product-live.errors';
import type { FindQuery, JobExecution, JobExecutionList } from '../core/product-live/product-live.schema';
import type { ExecutionItem, ExecutionRepository } from '../core/store/execution-repository';
import type { Checkpoint, PassState, SyncStateRepository } from '../core/store/sync-state-repository';
import { ApiProfileTracker } from './api-profile';
import { type AuditSummary, runAudit } from './audit';
import { type Copier, FileCopies } from './file-copies';
import type { SyncSummary } from './sync-summary';

/** The Product-Live calls the sync makes. */
export interface SyncApi {
  findJobExecutions(query: FindQuery, page: { page: number; size: number }): Promise<JobExecutionList>;
  getJobExecution(id: string): Promise<JobExecution>;
  readonly requestCount: number;
  readonly throttledCount: number;
  /** The find path in use (learned: kept between runs), when the client can change it. */
  findPath?: string;
  useFindPath?(path: string): void;
}

/** Progress for people watching a local run. */
export type SyncProgress =
  | { phase: 'open'; refreshed: number; total: number }
  | { phase: 'window'; page: number; executions: number; totalElements: number; round: 1 | 2 }
  | { phase: 'files'; copied: number; failed: number };

/** The execution store the sync needs (ExecutionRepository in production, in-memory fakes in tests). */
export type SyncExecutionStore = Pick<
  ExecutionRepository,
  | 'get'
  | 'getStates'
  | 'insertMany'
  | 'upsert'
  | 'saveFiles'
  | 'listOpen'
  | 'listFilesDue'
  | 'listFilesFailed'
  | 'countSince'
  | 'createdAtRange'
  | 'countInRange'
  | 'idsInRange'
  | 'markRemovedFromApi'
>;

/** The lease, checkpoint, audit and API profile store the sync needs. */
export type SyncStateStore = Pick<
  SyncStateRepository,
  | 'acquireLease'
  | 'releaseLease'
  | 'getCheckpoint'
  | 'saveCheckpoint'
  | 'getAudit'
  | 'saveAudit'
  | 'getApiProfile'
  | 'saveApiProfile'
>;

export interface SyncDeps {
  api: SyncApi;
  executions: SyncExecutionStore;
  state: SyncStateStore;
  copier: Copier;
  /** A copier with the API key read afresh (after a download was refused with 401/403). */
  renewCopier?: () => Promise<Copier>;
  /** Stores an execution JSON too large for a DynamoDB item; returns its S3 key. */
  storeLargePayload?: (key: string, json: string) => Promise<void>;
  now: () => number;
  /** Milliseconds left before the Lambda (or the local runner) stops this run. */
  remainingTimeMs: () => number;
  /** Waits between in-place attempts of a file copy (tests: instantly). */
  sleep?: (ms: number) => Promise<void>;
  logger: AppLogger;
  onProgress?: (progress: SyncProgress) => void;
}

export interface SyncOptions {
  /** Identifies this run in the lease. */
  runId: string;
  /** Oldest createdAt to sync (ISO). */
  startDate: string;
  pageSize: number;
  lookbackMs: number;
  /** No new page or file copy starts once less than this much time remains. */
  timeMarginMs: number;
  leaseMs: number;
  fileCopyConcurrency: number;
  /** First delay before a deferred file copy is tried again (doubling, at most a day). */
  fileCopyRetryDelayMs: number;
  /** Time between completeness audits (0: every run). */
  auditIntervalMs: number;
  /** Audit in this run, whatever the schedule says. */
  forceAudit?: boolean;
  /** Put the file copies that failed for good back in the queue first. */
  retryFailedFiles?: boolean;
}

/** Runs one sync: returns its summary, also when it stops early on an error (the error is in it). */
export async function runSync(deps: SyncDeps, options: SyncOptions): Promise<SyncSummary> {
  return new SyncRun(deps, options).run();
}

const MIN_PAGE_SIZE = 10;
/** Ids per `in` query: a small request body, whatever the page size. */
const MAX_IDS_PER_QUERY = 100;
/** Executions read one by one per run (ids an `in` query did not return, or an API without `in`). */
const MAX_ID_LOOKUPS_PER_RUN = 100;

type Outcome = 'new' | 'updated' | 'unchanged';

class SyncRun {
  private readonly startedAt: number;
  private readonly outcomes = new Map<string, Outcome>();
  private openRefreshed = 0;
  private idLookups = 0;
  /** createdAt of the executions stored as open (to mark one the API no longer returns). */
  private readonly openCreatedAt = new Map<string, string>();
  private readonly files: FileCopies;
  private moreRemaining = false;
  private watermark: string | null = null;
  private profile: ApiProfileTracker | undefined;
  private audit: AuditSummary | null = null;
  private readonly apiRequestsAtStart: number;
  private readonly throttledAtStart: number;

  constructor(
    private readonly deps: SyncDeps,
    private readonly options: SyncOptions,
  ) {
    this.startedAt = deps.now();
    this.apiRequestsAtStart = deps.api.requestCount;
    this.throttledAtStart = deps.api.throttledCount;
    this.files = new FileCopies(
      {
        copier: deps.copier,
        ...(deps.renewCopier ? { renewCopier: deps.renewCopier } : {}),
        ...(deps.sleep ? { sleep: deps.sleep } : {}),
        executions: deps.executions,
        now: deps.now,
        logger: deps.logger,
        outOfTime: () => this.outOfTime(),
        onDeferred: () => {
          this.moreRemaining = true;
        },
        onProgress: (counts) => deps.onProgress?.({ phase: 'files', ...counts }),
      },
      { concurrency: options.fileCopyConcurrency, retryDelayMs: options.fileCopyRetryDelayMs },
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
      this.watermark = checkpoint?.watermark ?? null;
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
      await state.releaseLease(this.options.runId).catch((releaseError: unknown) => {
        logger.warn('could not release the sync lease; it will expire', { error: String(releaseError) });
      });
    }
    return this.summary({ error });
  }

  /** Logs why the run stopped and returns the summary's `error` text. */
  private stopped(caught: unknown): string {
    const error = describeError(caught);
    this.deps.logger.error('sync run stopped on an error; progress up to the last checkpoint is kept', {
      error,
    });
    return error;
  }

  private outOfTime(): boolean {
    return this.deps.remainingTimeMs() < this.options.timeMarginMs;
  }

  // --- 1. open executions and the window ------------------------------------------------------------

  /**
   * Re-reads the open executions and pages the window. A quiet run (a fresh window, at most one page of open
   * ids) asks both in one request, `createdAt >= lower OR id in [...]`, when the API accepts `or`.
   */
  private async syncOpenAndWindow(checkpoint: Checkpoint | undefined): Promise<void> {
    const open: Array<{ id: string; createdAt: string; syncedAt?: string }> = [];
    for await (const execution of this.deps.executions.listOpen()) {
      open.push(execution);
      this.openCreatedAt.set(execution.id, execution.createdAt);
    }
    // The stalest first, so that a run cut short (time budget, bounded lookups) rotates through them all.
    const ids = open.sort((a, b) => ((a.syncedAt ?? '') < (b.syncedAt ?? '') ? -1 : 1)).map(({ id }) => id);
    const pass = checkpoint?.pass ?? this.openWindow(checkpoint?.watermark);
    const fresh = pass.nextPage === 0 && pass.round === 1;
    const profile = this.requireProfile();
    if (
      fresh &&
      ids.length > 0 &&
      ids.length <= MAX_IDS_PER_QUERY &&
      profile.accepts('or') &&
      profile.accepts('in')
    ) {
      const union = await this.firstPageOfUnion(ids, pass);
      if (union === 'complete') return;
      if (union !== 'refused') {
        await this.refreshOpenExecutions(ids.filter((id) => !union.has(id)));
        await this.syncWindow(pass);
        return;
      }
    }
    await this.refreshOpenExecutions(ids);
    await this.syncWindow(pass);
  }

  /**
   * The first page of `window OR open ids`: 'complete' when it held every match (the window is complete and
   * every open execution re-read), else the open ids it returned (the rest is read the usual way), or
   * 'refused' when the API does not accept `or`.
   */
  private async firstPageOfUnion(
    ids: string[],
    pass: PassState,
  ): Promise<'complete' | 'refused' | Set<string>> {
    const window: FindQuery = { type: 'greaterOrEqual', field: 'createdAt', value: pass.lower };
    const query: FindQuery = { type: 'or', queries: [window, { type: 'in', field: 'id', value: ids }] };
    let list: JobExecutionList;
    try {
      list = await this.deps.api.findJobExecutions(query, { page: 0, size: pass.pageSize });
    } catch (error) {
      if (!isApiStatus(error, 400)) throw error;
      this.deps.logger.warn('the API refused an `or` query; open executions and the window are read apart', {
        error: error.message,
      });
      this.requireProfile().learn({ orSupported: false });
      return 'refused';
    }
    const wanted = new Set(ids);
    const lowerMs = Date.parse(pass.lower);
    const relevant = list.data.filter(
      (execution) => wanted.has(execution.id) || Date.parse(execution.createdAt) >= lowerMs,
    );
    await this.processExecutions(relevant);
    const openFound = new Set(relevant.filter((execution) => wanted.has(execution.id)).map((e) => e.id));
    this.openRefreshed += openFound.size;
    const distinct = new Set(list.data.map((execution) => execution.id)).size;
    if (list.data.length === 0 || distinct < list.totalElements) return openFound;
    // Every match was on this page: the window is complete, and the open ids it did not return are gone
    // from the API or changed beyond recognition: read them one by one.
    await this.getOneByOne(ids.filter((id) => !openFound.has(id)));
    this.deps.onProgress?.({
      phase: 'window',
      page: 1,
      executions: distinct,
      totalElements: list.totalElements,
      round: 1,
    });
    await this.completeWindow(pass);
    return 'complete';
  }

  private async refreshOpenExecutions(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    if (!this.requireProfile().accepts('in')) {
      await this.getOneByOne(ids);
      return;
    }
    const chunkSize = Math.max(1, Math.min(this.options.pageSize, MAX_IDS_PER_QUERY));
    for (let start = 0; start < ids.length; start += chunkSize) {
      if (this.outOfTime()) {
        this.moreRemaining = true;
        return;
      }
      const chunk = ids.slice(start, start + chunkSize);
      let found: JobExecution[];
      try {
        found = await this.findByIds(chunk);
      } catch (error) {
        if (!isApiStatus(error, 400)) throw error;
        // An API without the `in` operator (or with a smaller limit on its list): one GET per execution.
        this.deps.logger.warn('the API refused an `in` query on id; reading open executions one by one', {
          error: error.message,
        });
        this.requireProfile().learn({ inSupported: false });
        await this.getOneByOne(ids.slice(start));
        return;
      }
      await this.processExecutions(found);
      this.openRefreshed += found.length;
      const returned = new Set(found.map((execution) => execution.id));
      await this.getOneByOne(chunk.filter((id) => !returned.has(id)));
      this.deps.onProgress?.({
        phase: 'open',
        refreshed: Math.min(ids.length, start + chunk.length),
        total: ids.length,
      });
    }
  }

  /** Many executions by id with one `in` query (more pages only if the server caps the page size). */
  private async findByIds(ids: string[]): Promise<JobExecution[]> {
    const query: FindQuery = { type: 'in', field: 'id', value: ids };
    const wanted = new Set(ids);
    const found = new Map<string, JobExecution>();
    for (let page = 0; ; page++) {
      const list = await this.deps.api.findJobExecutions(query, { page, size: ids.length });
      for (const execution of list.data) if (wanted.has(execution.id)) found.set(execution.id, execution);
      const received = (page + 1) * Math.max(list.data.length, 1);
      if (list.data.length === 0 || received >= list.totalElements || found.size >= wanted.size) break;
    }
    return [...found.values()];
  }

  /** Executions read one by one (GET), a bounded number per run. */
  private async getOneByOne(ids: string[]): Promise<void> {
    for (const id of ids) {
      if (this.outOfTime() || this.idLookups >= MAX_ID_LOOKUPS_PER_RUN) {
        this.moreRemaining ||= ids.length > 0;
        return;
      }
      this.idLookups += 1;
      let execution: JobExecution;
      try {
        execution = await this.deps.api.getJobExecution(id);
      } catch (error) {
        if (!isApiStatus(error, 404)) throw error;
        // The store is the lasting record: the execution is kept, marked, and no longer re-read.
        const createdAt = this.openCreatedAt.get(id);
        if (createdAt !== undefined) {
          await this.deps.executions.markRemovedFromApi(
            [{ id, createdAt }],
            new Date(this.deps.now()).toISOString(),
          );
        }
        this.deps.logger.warn(
          'an execution stored as open is no longer in the API; its last view is kept and marked',
          { id },
        );
        continue;
      }
      await this.processExecutions([execution]);
      this.openRefreshed += 1;
    }
  }

  // --- 2. the createdAt window --------------------------------------------------------------------

  private async syncWindow(opened: PassState): Promise<void> {
    let pass: PassState = opened;
    const resumed = pass.nextPage > 0 || pass.round === 2;
    const seen = new Set<string>();
    const query: FindQuery = { type: 'greaterOrEqual', field: 'createdAt', value: pass.lower };
    for (;;) {
      if (this.outOfTime()) {
        await this.saveCheckpoint(pass);
        this.moreRemaining = true;
        return;
      }
      const { list, size } = await this.fetchWindowPage(query, pass);
      if (size !== pass.pageSize) {
        pass = { ...pass, pageSize: size };
        this.requireProfile().learn({ pageSize: size });
      }
      const inWindow = list.data.filter(
        (execution) => Date.parse(execution.createdAt) >= Date.parse(pass.lower),
      );
      for (const execution of inWindow) seen.add(execution.id);
      await this.processExecutions(inWindow);
      const served = Math.max(pass.servedPageSize ?? 0, list.data.length);
      pass = { ...pass, nextPage: pass.nextPage + 1, servedPageSize: served };
      this.deps.onProgress?.({
        phase: 'window',
        page: pass.nextPage,
        executions: seen.size,
        totalElements: list.totalElements,
        round: pass.round,
      });
      const coversTotal = seen.size >= list.totalElements;
      const reachedEnd = list.data.length === 0 || pass.nextPage * Math.max(served, 1) >= list.totalElements;
      if (pass.round === 2 && coversTotal) return this.completeWindow(pass);
      if (!reachedEnd) {
        await this.saveCheckpoint(pass);
        continue;
      }
      if (pass.round === 2) {
        this.deps.logger.warn('the API reported more executions than a verification pass returned', {
          totalElements: list.totalElements,
          distinctSeen: seen.size,
        });
        return this.completeWindow(pass);
      }
      if (coversTotal && !resumed) return this.completeWindow(pass);
      // A window paged over several runs saw part of it in earlier runs: the store holds what they saw.
      if (resumed && (await this.deps.executions.countSince(pass.lower)) >= list.totalElements) {
        return this.completeWindow(pass);
      }
      this.deps.logger.info('window not proven complete; verifying with a second pass', {
        totalElements: list.totalElements,
        distinctSeen: seen.size,
        resumed,
      });
      pass = { ...pass, round: 2, nextPage: 0 };
      await this.saveCheckpoint(pass);
    }
  }

  private openWindow(watermark: string | undefined): PassState {
    const start = Date.parse(this.options.startDate);
    const lower = watermark ? Math.max(start, Date.parse(watermark) - this.options.lookbackMs) : start;
    return {
      lower: new Date(lower).toISOString(),
      upper: new Date(this.startedAt).toISOString(),
      nextPage: 0,
      pageSize: Math.min(this.options.pageSize, this.requireProfile().pageSize ?? this.options.pageSize),
      round: 1,
    };
  }

  /**
   * One page of the window. A server may refuse a page size above its maximum (the maximum is not
   * documented): at the first page of a pass, a 400 halves the size until it is accepted.
   */
  private async fetchWindowPage(
    query: FindQuery,
    pass: PassState,
  ): Promise<{ list: JobExecutionList; size: number }> {
    let size = pass.pageSize;
    for (;;) {
      try {
        const list = await this.deps.api.findJobExecutions(query, { page: pass.nextPage, size });
        return { list, size };
      } catch (error) {
        if (isApiStatus(error, 400) && pass.nextPage === 0 && size > MIN_PAGE_SIZE) {
          size = Math.max(MIN_PAGE_SIZE, Math.floor(size / 2));
          this.deps.logger.warn('the API refused the page size; trying a smaller one', { size });
          continue;
        }
        throw error;
      }
    }
  }

  private async completeWindow(pass: PassState): Promise<void> {
    const watermark = this.watermark && this.watermark > pass.upper ? this.watermark : pass.upper;
    this.watermark = watermark;
    await this.deps.state.saveCheckpoint({ watermark, updatedAt: new Date(this.deps.now()).toISOString() });
  }

  private async saveCheckpoint(pass: PassState): Promise<void> {
    await this.deps.state.saveCheckpoint({
      ...(this.watermark ? { watermark: this.watermark } : {}),
      pass,
      updatedAt: new Date(this.deps.now()).toISOString(),
    });
  }

  // --- writing executions ---------------------------------------------------------------------------

  /**
   * Stores new and changed executions (unchanged ones are not rewritten), then copies their files. Returns
   * how many were new to the store.
   */
  private async processExecutions(executions: readonly JobExecution[]): Promise<number> {
    const latest = new Map<string, JobExecution>();
    for (const execution of executions) {
      const previous = latest.get(execution.id);
      if (!previous || statusRank(execution.status) >= statusRank(previous.status))
        latest.set(execution.id, execution);
    }
    if (latest.size === 0) return 0;
    const stored = await this.deps.executions.getStates([...latest.keys()]);
    const nowIso = new Date(this.deps.now()).toISOString();
    const inserts: ExecutionItem[] = [];
    const updates: ExecutionItem[] = [];
    for (const execution of latest.values()) {
      const fields = toExecutionFields(execution);
      const previous = stored.get(execution.id);
      if (
        previous &&
        previous.removedFromApiAt === undefined &&
        (fields.statusRank < previous.statusRank ||
          (fields.statusRank === previous.statusRank && fields.fingerprint === previous.fingerprint))
      ) {
        this.record(execution.id, 'unchanged');
        continue;
      }
      // Only what will be written goes to S3 when too large: an unchanged execution costs no upload.
      const item = this.toItem(
        await this.offloadLargePayload(fields),
        execution,
        previous?.files ?? [],
        nowIso,
      );
      (previous ? updates : inserts).push(item);
    }
    await this.deps.executions.insertMany(inserts);
    for (const item of inserts) this.record(item.id, 'new');
    const limiter = new Bottleneck({ maxConcurrent: 8 });
    await settleAll(
      updates.map((item) =>
        limiter.schedule(async () => {
          const outcome = await this.deps.executions.upsert(item);
          this.record(item.id, outcome === 'written' ? 'updated' : 'unchanged');
        }),
      ),
    );
    await this.files.copyWritten([...inserts, ...updates]);
    return inserts.length;
  }

  private toItem(
    fields: ReturnType<typeof toExecutionFields>,
    execution: JobExecution,
    recordedFiles: FileCopy[],
    nowIso: string,
  ): ExecutionItem {
    return {
      ...fields,
      files: mergeFileCopies(execution, recordedFiles, nowIso),
      firstSyncedAt: nowIso,
      syncedAt: nowIso,
      source: 'sync',
    };
  }

  private async offloadLargePayload(fields: ReturnType<typeof toExecutionFields>) {
    if (Buffer.byteLength(fields.raw) <= MAX_INLINE_RAW_BYTES) return fields;
    if (!this.deps.storeLargePayload) throw new Error(`execution ${fields.id} is too large to store inline`);
    const rawS3Key = `${executionS3Prefix(fields)}/execution.json`;
    await this.deps.storeLargePayload(rawS3Key, fields.raw);
    return { ...fields, raw: '', rawS3Key };
  }

  private record(id: string, outcome: Outcome): void {
    const previous = this.outcomes.get(id);
    const rank = { unchanged: 0, updated: 1, new: 2 } as const;
    if (!previous || rank[outcome] > rank[previous]) this.outcomes.set(id, outcome);
  }

  // --- 3. the completeness audit --------------------------------------------------------------------

  /** Runs (or resumes) the audit when it is due and the incremental window is caught up. */
  private async auditWhenDue(checkpoint: Checkpoint | undefined): Promise<void> {
    if (!this.watermark || this.moreRemaining || this.outOfTime()) return;
    this.audit = await runAudit(
      {
        api: this.deps.api,
        executions: this.deps.executions,
        state: this.deps.state,
        store: (executions) => this.processExecutions(executions),
        profile: this.requireProfile(),
        now: this.deps.now,
        logger: this.deps.logger,
        outOfTime: () => this.outOfTime(),
      },
      {
        startDate: this.options.startDate,
        upper: this.watermark,
        intervalMs: this.options.auditIntervalMs,
        force: this.options.forceAudit ?? false,
        pageSize: checkpoint?.pass?.pageSize ?? this.openWindow(this.watermark).pageSize,
      },
    );
    if (this.audit && !this.audit.complete) this.moreRemaining = true;
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
    const counts = { new: 0, updated: 0, unchanged: 0 };
    for (const outcome of this.outcomes.values()) counts[outcome] += 1;
    return {
      executions: { ...counts, openRefreshed: this.openRefreshed },
      files: { ...this.files.counts },
      audit: this.audit,
      apiRequests: this.deps.api.requestCount - this.apiRequestsAtStart,
      throttled: this.deps.api.throttledCount - this.throttledAtStart,
      moreRemaining: this.moreRemaining,
      watermark: this.watermark,
      durationMs: Math.max(0, this.deps.now() - this.startedAt),
      skipped: overrides.skipped ?? false,
      error: overrides.error ?? null,
    };
  }
}
