// Layer flow: runLake -> this shape -> the lake handler's return value, its log line and its metrics.

/** What one lake run did: the Lambda's return value and the `lake summary` log line. */
export interface LakeSummary {
  /** Days marked for a rewrite when the run started (days of `executions` and `files`, and of `sync_runs`). */
  daysMarked: number;
  /** Days rewritten (both objects replaced, or deleted for a day without executions). */
  daysWritten: number;
  /** Days whose rewrite failed (they stay marked: the next run retries them). */
  daysFailed: number;
  /** Marked days not rewritten by this run (failed, or no time left): the work left. */
  daysLeft: number;
  /** Days rewritten whose mark was kept: marked again meanwhile, or too recent to clear (rewritten again next run). */
  marksKept: number;
  executionRows: number;
  fileRows: number;
  /** Rows of the `sync_runs` days rewritten. */
  syncRunRows: number;
  /** Parquet bytes written. */
  bytesWritten: number;
  /** True when this run started the first build of the lake (every stored day marked). */
  firstBuild: boolean;
  /** True when every marked day was rewritten: the lake then equals the store. */
  complete: boolean;
  durationMs: number;
  /** Another lake run held the lease. */
  skipped: boolean;
  /** Why the run stopped early (the marks stay), or null. */
  error: string | null;
}
