// Layer flow: the follow schedule (or the local stack, every few seconds) -> runFollow (use case) -> the store's
// open executions that a launch started -> one Product-Live find (`in` on their ids) -> the sync's writer and
// files phase, under the sync's lease. So a launched execution's end, and its files, are stored within one
// follow interval, whatever the sync's own schedule (docs/launches.md "Following a launch").
import { describeError } from '#core/errors';
import type { AppLogger } from '#core/observability';
import {
  type FindQuery,
  isTerminalStatus,
  type JobExecution,
  type JobExecutionList,
} from '#core/product-live/product-live.schema';
import type { ExecutionItem } from '#core/store/execution-repository';
import { ExecutionWriter } from '#functions/sync/execution-writer';
import { type Copier, FileCopies, type FileCopyStore } from '#functions/sync/file-copies';
import type { SyncExecutionStore, SyncStateStore } from '#functions/sync/sync-deps';

/** Ids per `in` query (the sync's own bound). */
const MAX_IDS_PER_QUERY = 100;
/** The files-due index read to its end: every execution with a pending copy, due or not. */
const EVERY_DUE_TIME = '9999-12-31T23:59:59.999Z';

/** Which open executions a pass follows: every one a launch started, or only those a task token waits on. */
export type FollowScope = 'launched' | 'awaited';

/** An open execution a pass follows. */
export type FollowedExecution = Pick<ExecutionItem, 'id' | 'status' | 'createdAt' | 'launch'>;

export interface FollowDeps {
  api: {
    findJobExecutions(query: FindQuery, page: { page: number; size: number }): Promise<JobExecutionList>;
    readonly requestCount: number;
  };
  executions: Pick<SyncExecutionStore, 'listOpen' | 'getStates' | 'insertMany' | 'upsert'> & FileCopyStore;
  state: Pick<SyncStateStore, 'acquireLease' | 'releaseLease'>;
  copier: Copier;
  renewCopier?: () => Promise<Copier>;
  storeLargePayload?: (key: string, json: string) => Promise<void>;
  now: () => number;
  remainingTimeMs: () => number;
  sleep?: (ms: number) => Promise<void>;
  logger: AppLogger;
  /**
   * Told, once per pass, the followed executions still unsettled after it: open, or ended with file copies
   * still pending (their waiters wait for the files too; heartbeats keep them waiting).
   */
  onStillOpen?: (executions: readonly FollowedExecution[]) => Promise<void>;
}

export interface FollowOptions {
  runId: string;
  scope: FollowScope;
  leaseMs: number;
  timeMarginMs: number;
  fileCopyConcurrency: number;
  fileCopyRetryDelayMs: number;
}

/** What one pass did (the follow function's return value and metrics). */
export interface FollowSummary {
  /** Open launched executions found in the store (0: no API call was made). */
  followed: number;
  /** Of those, how many the API now reports ended. */
  ended: number;
  /** Ended executions of the scope whose file copies were pending at the pass's start (no API call). */
  settling: number;
  apiRequests: number;
  files: { copied: number; skipped: number; failed: number; pending: number };
  /** The sync held the lease: it does this work itself. */
  skipped: boolean;
  error: string | null;
  durationMs: number;
}

/**
 * One follow pass: under the sync's lease (a pass never runs beside a sync run; when the sync holds it, the
 * pass is skipped), re-reads the open executions of `scope` with one `in` query per hundred, stores the
 * changed views and copies their files. With none open, no Product-Live request is made.
 */
export async function runFollow(deps: FollowDeps, options: FollowOptions): Promise<FollowSummary> {
  const startedAt = deps.now();
  const requestsBefore = deps.api.requestCount;
  const outOfTime = () => deps.remainingTimeMs() < options.timeMarginMs;
  const files = new FileCopies(
    {
      copier: deps.copier,
      ...(deps.renewCopier ? { renewCopier: deps.renewCopier } : {}),
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
      executions: deps.executions,
      now: deps.now,
      logger: deps.logger,
      outOfTime,
      onDeferred: () => undefined,
    },
    { concurrency: options.fileCopyConcurrency, retryDelayMs: options.fileCopyRetryDelayMs },
  );
  const summary = (overrides: Partial<FollowSummary>): FollowSummary => ({
    followed: 0,
    ended: 0,
    settling: 0,
    apiRequests: deps.api.requestCount - requestsBefore,
    files: files.counts,
    skipped: false,
    error: null,
    durationMs: Math.max(0, deps.now() - startedAt),
    ...overrides,
  });

  const followed = await openFollowed(deps, options.scope);
  const settling = await endedWithFilesPending(deps, options.scope);
  if (followed.length === 0 && settling.length === 0) return summary({});
  const counts = { followed: followed.length, settling: settling.length };
  if (!(await deps.state.acquireLease(options.runId, startedAt, options.leaseMs))) {
    deps.logger.info('a sync run holds the lease: it re-reads the open executions itself');
    // Their waiters still hear that they are open: a long sync run must not run out their heartbeats.
    await stillOpen(deps, [...followed, ...settling]);
    return summary({ ...counts, skipped: true });
  }
  try {
    const writer = new ExecutionWriter({
      executions: deps.executions,
      ...(deps.storeLargePayload ? { storeLargePayload: deps.storeLargePayload } : {}),
      files,
      now: deps.now,
    });
    const views: JobExecution[] = [];
    for (let start = 0; start < followed.length && !outOfTime(); start += MAX_IDS_PER_QUERY) {
      const ids = followed.slice(start, start + MAX_IDS_PER_QUERY).map((execution) => execution.id);
      const wanted = new Set(ids);
      const list = await deps.api.findJobExecutions(
        { type: 'in', field: 'id', value: ids },
        { page: 0, size: ids.length },
      );
      views.push(...list.data.filter((execution) => wanted.has(execution.id)));
    }
    await writer.write(views);
    const ended = views.filter((view) => isTerminalStatus(view.status));
    const open = followed.filter((execution) => !ended.some((view) => view.id === execution.id));
    // The copies of ended awaited executions that are due now; those still pending keep their waiters waiting.
    const stillSettling = await copyPendingFiles(deps, files, settling, outOfTime);
    await stillOpen(deps, [...open, ...stillSettling]);
    return summary({ ...counts, ended: ended.length });
  } catch (error) {
    const text = describeError(error);
    deps.logger.error('follow pass stopped on an error; the next pass (or sync run) tries again', {
      error: text,
    });
    return summary({ ...counts, error: text });
  } finally {
    await deps.state
      .releaseLease(options.runId)
      .catch((error: unknown) =>
        deps.logger.warn('could not release the sync lease; it will expire', { error: describeError(error) }),
      );
  }
}

/** Tells the hook which followed executions are still open; its failure is logged (heartbeats are best effort). */
async function stillOpen(deps: FollowDeps, open: readonly FollowedExecution[]): Promise<void> {
  if (open.length === 0 || !deps.onStillOpen) return;
  try {
    await deps.onStillOpen(open);
  } catch (error) {
    deps.logger.warn('the still-open hook failed; the next pass calls it again', {
      error: describeError(error),
    });
  }
}

/**
 * Ended executions of the scope with a file copy pending (the files-due index, due or not): their result waits
 * for their files. From the store alone (no API call).
 */
async function endedWithFilesPending(deps: FollowDeps, scope: FollowScope): Promise<ExecutionItem[]> {
  const found: ExecutionItem[] = [];
  for await (const item of deps.executions.listFilesDue(EVERY_DUE_TIME)) {
    if (!item.launch || (scope === 'awaited' && !item.launch.awaited)) continue;
    if (isTerminalStatus(item.status)) found.push(item);
  }
  return found;
}

/** Copies the due files of these executions (read again, consistently); returns those still unsettled. */
async function copyPendingFiles(
  deps: FollowDeps,
  files: FileCopies,
  settling: readonly ExecutionItem[],
  outOfTime: () => boolean,
): Promise<ExecutionItem[]> {
  const unsettled: ExecutionItem[] = [];
  for (const execution of settling) {
    if (outOfTime()) {
      unsettled.push(execution);
      continue;
    }
    const item = await deps.executions.get(execution.id);
    if (!item) continue;
    await files.copyWritten([item]);
    const after = await deps.executions.get(execution.id);
    if (after?.files.some((file) => file.status === 'pending')) unsettled.push(after);
  }
  return unsettled;
}

/** The open executions a pass follows, from the store alone (no API call). */
async function openFollowed(deps: FollowDeps, scope: FollowScope): Promise<FollowedExecution[]> {
  const followed: FollowedExecution[] = [];
  for await (const execution of deps.executions.listOpen()) {
    if (!execution.launch) continue;
    if (scope === 'awaited' && !execution.launch.awaited) continue;
    followed.push(execution);
  }
  return followed;
}
