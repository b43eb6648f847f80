// The sync summary: the Lambda's return value, the log line and `npm start -- --once --json` all print
// exactly this shape (DESIGN.md "Machine-readable output"); scripts and monitoring parse it.
import type { AuditSummary } from './audit';
import type { HealthSummary } from './job-health-pass';

export interface SyncSummary {
  executions: { new: number; updated: number; unchanged: number; openRefreshed: number };
  /**
   * File copies of this run: `copied`, `skipped` (already copied), `failed` (for good: a permanent reason,
   * or past Product-Live's retention) and `pending` (left for a later run: a transient failure that outlived
   * the in-place retries, or the time budget).
   */
  files: { copied: number; skipped: number; failed: number; pending: number };
  apiRequests: number;
  throttled: number;
  /** True when the run stopped before the end of its work (time budget, or an error); the next run goes on. */
  moreRemaining: boolean;
  /** Every execution created before this instant is stored (null until the first window completes). */
  watermark: string | null;
  durationMs: number;
  /** True when another run held the lease, so this one did nothing. */
  skipped: boolean;
  /** Why the run stopped early, when it failed; progress made before the failure is kept. */
  error: string | null;
  /** The completeness audit of this run (null when none was due); cumulative when it took several runs. */
  audit: AuditSummary | null;
  /**
   * The job health evaluation after the run (docs/health.md): null when none ran (the run was skipped, the
   * first window is not complete yet, or no time was left).
   */
  health: HealthSummary | null;
}
