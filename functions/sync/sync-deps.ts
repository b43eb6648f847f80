// Layer flow: the sync handler, the local stack, the benchmarks, the tests -> these contracts -> runSync and
// its parts (open-refresh.ts, sync-window.ts, execution-writer.ts). What a run is given, and what its parts
// share; run-sync.ts re-exports the contracts, so callers import them from there.
import type { BusEventSink } from '#core/events/bus-event';
import type { JobExpectations } from '#core/health/job-expectations';
import type { AppLogger } from '#core/observability';
import type { FindQuery, JobExecution, JobExecutionList } from '#core/product-live/product-live.schema';
import type { ExecutionRepository } from '#core/store/execution-repository';
import type { SyncStateRepository } from '#core/store/sync-state-repository';
import type { ApiProfileTracker } from './api-profile';
import type { Copier } from './file-copies';
import type { HealthRecordStore, HealthRunsSource } from './job-health-pass';

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

/** What a run is given: the API, the stores, the file copier, the clock and the time budget. */
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
  /**
   * The job health pass after the run: the health records, the runs it reads, and where the changes are
   * published (absent: no health evaluation; without a sink, changes are recorded, not published).
   */
  health?: { records: HealthRecordStore; runs: HealthRunsSource; sink?: BusEventSink };
}

/** How a run syncs (from the configuration). */
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
  /** What users set of the jobs' schedules, failures and durations (JOB_EXPECTATIONS); learned otherwise. */
  jobExpectations?: JobExpectations;
}

/** What every part of one run shares: its clock, log, progress, time budget and what it knows of the API. */
export interface RunContext {
  now: () => number;
  logger: AppLogger;
  onProgress?: (progress: SyncProgress) => void;
  /** True once no new request, page or copy may start (the run's time budget). */
  outOfTime: () => boolean;
  /** Told when work is left for a later run (the summary's `moreRemaining`). */
  leaveForLater: () => void;
  /** What the run knows about the API, loaded when the run starts (learning goes into it). */
  profile: () => ApiProfileTracker;
}
