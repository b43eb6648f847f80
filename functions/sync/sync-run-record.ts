// Layer flow: the sync handler (after each run) -> this mapping -> the sync run's record in the state table
// (SyncRunRepository) and, through the lake, the warehouse table `sync_runs`.
import type { SyncRunRecord } from '#core/store/sync-run-repository';
import type { SyncSummary } from './sync-summary';

/** The record of a run from its summary, its id and when it started and ended. */
export function toSyncRunRecord(
  summary: SyncSummary,
  run: { runId: string; startedAt: number; finishedAt: number },
): SyncRunRecord {
  return {
    runId: run.runId,
    startedAt: new Date(run.startedAt).toISOString(),
    finishedAt: new Date(run.finishedAt).toISOString(),
    durationMs: summary.durationMs,
    result: summary.skipped ? 'skipped' : summary.error ? 'failed' : 'ok',
    error: summary.error,
    apiRequests: summary.apiRequests,
    throttled: summary.throttled,
    moreRemaining: summary.moreRemaining,
    watermark: summary.watermark,
    executions: { ...summary.executions },
    files: { ...summary.files },
    audit: summary.audit
      ? {
          monthsChecked: summary.audit.monthsChecked,
          monthsDiffering: summary.audit.monthsDiffering,
          executionsRecovered: summary.audit.executionsRecovered,
          executionsRemovedFromApi: summary.audit.executionsRemovedFromApi,
          apiRequests: summary.audit.apiRequests,
          complete: summary.audit.complete,
        }
      : null,
    health: summary.health
      ? {
          jobs: summary.health.jobs,
          changed: summary.health.changed,
          eventsPublished: summary.health.eventsPublished,
          durationMs: summary.health.durationMs,
        }
      : null,
  };
}
