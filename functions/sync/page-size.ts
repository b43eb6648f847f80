// Layer flow: the window (sync-window.ts), the open refresh's `in` batches (open-refresh.ts) and the run's
// audit hand-off (run-sync.ts) -> windowPageSize, smallerPageSize. The page size has three sources (the
// configuration, what the API was learned to accept, the pass under way); this file is the one place that
// says which wins, and what to try after a refusal (docs/sync.md, step 4).

/** The smallest page size asked for after the API refused a larger one. */
export const MIN_PAGE_SIZE = 10;

export interface PageSizeSources {
  /** The configured size (`SyncOptions.pageSize`, `SYNC_PAGE_SIZE`). */
  configured: number;
  /** The size the API accepted after refusing a larger one (`ApiProfileTracker.pageSize`), once learned. */
  learned?: number | undefined;
  /** The size of the pass under way (the checkpoint's `pass.pageSize`), when one is resumed. */
  resumed?: number | undefined;
}

/**
 * The page size of window pages and of the audit's re-reads. A pass under way keeps its own size (its page
 * numbers are offsets in that size, and a checkpointed pass is resumed as stored); a new pass takes the
 * configured size, lowered to the learned one, never raised above the configuration.
 */
export function windowPageSize({ configured, learned, resumed }: PageSizeSources): number {
  if (resumed !== undefined) return resumed;
  return Math.min(configured, learned ?? configured);
}

/**
 * The size to try after the API refused `size` (HTTP 400 on a pass's first page, or on an `in` query of
 * that many ids): half of it, at least MIN_PAGE_SIZE; undefined when `size` is already at the minimum. What
 * is accepted is then learned.
 */
export function smallerPageSize(size: number): number | undefined {
  return size > MIN_PAGE_SIZE ? Math.max(MIN_PAGE_SIZE, Math.floor(size / 2)) : undefined;
}
