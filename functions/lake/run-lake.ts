// Layer flow: the lake handler -> runLake (this use case) -> the day marks (state table), the stored
// executions (HistoryReader: byMonth queries) and sync runs (the state table's index byKind), the Parquet writer,
// the lake bucket. Each marked day is rewritten whole from the store, one object per table, replaced atomically;
// its mark is cleared only if nobody marked the day again meanwhile and the mark has settled (docs/warehouse.md
// "How the lake stays current").
import { forEachConcurrently } from '#core/concurrency';
import { describeError } from '#core/errors';
import type { AppLogger } from '#core/observability';
import type { ExecutionItem } from '#core/store/execution-repository';
import { LAKE_SETTLE_MS, type LakeMarksState, type MarkToken, markedAt } from '#core/store/lake-marks';
import type { SyncRunRecord } from '#core/store/sync-run-repository';
import {
  dayOf,
  EXECUTIONS_TABLE,
  executionRow,
  FILES_TABLE,
  fileRows,
  type LakeRow,
  lakeObjectKey,
  SYNC_RUNS_TABLE,
  syncRunRow,
} from '#core/warehouse/lake-tables';
import { toParquet } from '#core/warehouse/parquet';
import type { LakeSummary } from './lake-summary';

/** The lease of the lake in the state table (one lake run at a time). */
const LAKE_LEASE = 'lake-lease';

export interface LakeMarkStore {
  read(): Promise<LakeMarksState>;
  clear(day: string, token: MarkToken): Promise<boolean>;
  mark(days: Iterable<string>): Promise<void>;
  setInitialized(atIso: string): Promise<void>;
}

/** The store's executions of a day, and their API objects. */
export interface LakeSource {
  executionsOfDay(day: string): AsyncIterable<ExecutionItem>;
  apiObject(item: ExecutionItem): Promise<Record<string, unknown>>;
  createdAtRange(): Promise<{ first: string; last: string } | undefined>;
}

/** The lake bucket. */
export interface LakeObjects {
  put(key: string, body: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface LakeLease {
  acquireLease(owner: string, nowMs: number, durationMs: number, lease?: string): Promise<boolean>;
  releaseLease(owner: string, lease?: string): Promise<void>;
}

/** The kept sync runs of a day (and the days they span), for the `sync_runs` table. */
export interface SyncRunSource {
  runsOfDay(day: string): AsyncIterable<SyncRunRecord>;
  range(): Promise<{ first: string; last: string } | undefined>;
}

export interface LakeDeps {
  marks: LakeMarkStore;
  source: LakeSource;
  /** The `sync_runs` table: its own day marks (the days runs started on) and the kept runs. */
  syncRuns?: { marks: LakeMarkStore; source: SyncRunSource };
  objects: LakeObjects;
  lease: LakeLease;
  now: () => number;
  remainingTimeMs: () => number;
  logger: AppLogger;
}

export interface LakeOptions {
  runId: string;
  /** No new day starts with less than this left in the invocation. */
  timeMarginMs: number;
  leaseMs: number;
  /** See LAKE_SETTLE_MS (tests with a manual clock pass 0). */
  settleMs?: number;
  /** Days rewritten in parallel. */
  concurrency?: number;
}

/** Rewrites every marked day of the lake (the first run marks every stored day); never throws. */
export async function runLake(deps: LakeDeps, options: LakeOptions): Promise<LakeSummary> {
  const startedAt = deps.now();
  const summary: LakeSummary = {
    daysMarked: 0,
    daysWritten: 0,
    daysFailed: 0,
    daysLeft: 0,
    marksKept: 0,
    executionRows: 0,
    fileRows: 0,
    syncRunRows: 0,
    bytesWritten: 0,
    firstBuild: false,
    complete: false,
    durationMs: 0,
    skipped: false,
    error: null,
  };
  const finish = () => ({ ...summary, durationMs: Math.max(0, deps.now() - startedAt) });
  let acquired: boolean;
  try {
    acquired = await deps.lease.acquireLease(options.runId, startedAt, options.leaseMs, LAKE_LEASE);
  } catch (error) {
    summary.error = describeError(error);
    deps.logger.error('lake run stopped: the lease could not be taken', { error: summary.error });
    await deps.lease.releaseLease(options.runId, LAKE_LEASE).catch(() => undefined);
    return finish();
  }
  if (!acquired) {
    deps.logger.info('another lake run holds the lease; skipping this one');
    return { ...finish(), skipped: true };
  }
  try {
    await rewriteMarkedDays(deps, options, summary);
  } catch (error) {
    summary.error = describeError(error);
    deps.logger.error('lake run stopped on an error; the marked days stay marked for the next run', {
      error: summary.error,
    });
  } finally {
    await deps.lease.releaseLease(options.runId, LAKE_LEASE).catch((error: unknown) => {
      deps.logger.warn('could not release the lake lease; it will expire', { error: describeError(error) });
    });
  }
  summary.complete = summary.error === null && summary.daysLeft === 0;
  return finish();
}

/** A table's marked days and how one of them is rewritten. */
interface MarkedTable {
  marks: LakeMarkStore;
  /** The days a first build marks (undefined: nothing stored yet). */
  range(): Promise<{ first: string; last: string } | undefined>;
  rewrite(day: string): Promise<void>;
}

async function rewriteMarkedDays(deps: LakeDeps, options: LakeOptions, summary: LakeSummary): Promise<void> {
  const tables: MarkedTable[] = [
    {
      marks: deps.marks,
      range: () => deps.source.createdAtRange(),
      rewrite: (day) => rewriteDay(deps, day, summary),
    },
  ];
  const syncRuns = deps.syncRuns;
  if (syncRuns) {
    tables.push({
      marks: syncRuns.marks,
      range: () => syncRuns.source.range(),
      rewrite: (day) => rewriteSyncRunsDay(deps, syncRuns.source, day, summary),
    });
  }
  const work: Array<{ table: MarkedTable; day: string; token: MarkToken }> = [];
  for (const table of tables) {
    let state = await table.marks.read();
    if (state.initializedAt === undefined) {
      // The first build: every day that holds a row (days without one cost a Query and write nothing).
      const range = await table.range();
      if (range) await table.marks.mark(daysBetween(dayOf(range.first), dayOf(range.last)));
      await table.marks.setInitialized(new Date(deps.now()).toISOString());
      if (table === tables[0]) summary.firstBuild = true;
      state = await table.marks.read();
    }
    for (const [day, token] of Object.entries(state.marks)) work.push({ table, day, token });
  }
  // Newest first: the days people look at are current soonest during a long first build.
  work.sort((a, b) => (a.day < b.day ? 1 : a.day > b.day ? -1 : 0));
  summary.daysMarked = work.length;
  const settleMs = options.settleMs ?? LAKE_SETTLE_MS;
  let done = 0;
  let outOfTime = false;
  await forEachConcurrently(work, options.concurrency ?? 4, async ({ table, day, token }) => {
    if (deps.remainingTimeMs() < options.timeMarginMs) {
      outOfTime = true;
      return;
    }
    const readAt = deps.now();
    try {
      await table.rewrite(day);
      done += 1;
      summary.daysWritten += 1;
    } catch (error) {
      summary.daysFailed += 1;
      deps.logger.warn('lake: a day could not be rewritten; it stays marked for the next run', {
        day,
        error: describeError(error),
      });
      return;
    }
    const cleared = markedAt(token) <= readAt - settleMs && (await table.marks.clear(day, token));
    if (!cleared) summary.marksKept += 1;
  });
  summary.daysLeft = work.length - done;
  if (outOfTime) deps.logger.info('lake: out of time; the next run goes on', { daysLeft: summary.daysLeft });
}

/** Rewrites the `sync_runs` object of a day from the kept runs (or deletes it when none is kept). */
async function rewriteSyncRunsDay(
  deps: LakeDeps,
  source: SyncRunSource,
  day: string,
  summary: LakeSummary,
): Promise<void> {
  const runs: SyncRunRecord[] = [];
  for await (const run of source.runsOfDay(day)) runs.push(run);
  runs.sort((a, b) =>
    a.startedAt < b.startedAt ? -1 : a.startedAt > b.startedAt ? 1 : a.runId < b.runId ? -1 : 1,
  );
  const key = lakeObjectKey('sync_runs', day);
  if (runs.length === 0) {
    await deps.objects.delete(key);
    return;
  }
  const body = toParquet(SYNC_RUNS_TABLE, runs.map(syncRunRow));
  await deps.objects.put(key, body);
  summary.bytesWritten += body.byteLength;
  summary.syncRunRows += runs.length;
}

/** Rewrites both objects of a day from the store (or deletes them when the day has no execution). */
async function rewriteDay(deps: LakeDeps, day: string, summary: LakeSummary): Promise<void> {
  const executions: LakeRow[] = [];
  const files: LakeRow[] = [];
  const items: ExecutionItem[] = [];
  for await (const item of deps.source.executionsOfDay(day)) items.push(item);
  items.sort((a, b) =>
    a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1,
  );
  for (const item of items) {
    executions.push(executionRow(item, await deps.source.apiObject(item)));
    files.push(...fileRows(item));
  }
  const executionsKey = lakeObjectKey('executions', day);
  const filesKey = lakeObjectKey('files', day);
  if (executions.length === 0) {
    await Promise.all([deps.objects.delete(executionsKey), deps.objects.delete(filesKey)]);
    return;
  }
  const executionsBody = toParquet(EXECUTIONS_TABLE, executions);
  await deps.objects.put(executionsKey, executionsBody);
  summary.bytesWritten += executionsBody.byteLength;
  summary.executionRows += executions.length;
  if (files.length === 0) {
    await deps.objects.delete(filesKey);
  } else {
    const filesBody = toParquet(FILES_TABLE, files);
    await deps.objects.put(filesKey, filesBody);
    summary.bytesWritten += filesBody.byteLength;
    summary.fileRows += files.length;
  }
}

/** Every day from `first` to `last`, inclusive (`YYYY-MM-DD`). */
export function daysBetween(first: string, last: string): string[] {
  const days: string[] = [];
  for (let ms = Date.parse(`${first}T00:00:00Z`); ms <= Date.parse(`${last}T00:00:00Z`); ms += 86_400_000) {
    days.push(new Date(ms).toISOString().slice(0, 10));
  }
  return days;
}
