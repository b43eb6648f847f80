// Layer flow: history CLI, dashboard (or a notebook) -> these use cases -> HistoryReader (DynamoDB Queries)
// and the pure statistics, timeline and export modules. Each takes the reader as its dependency.
import { type FileCopy, launchViewOf } from '#core/executions/execution-record';
import { ExecutionNotFoundError } from '#core/history/history.errors';
import type { HistoryReader } from '#core/history/history-reader';
import type { Period } from '#core/history/period';
import type { ExecutionItem } from '#core/store/execution-repository';
import { type HistoryStats, StatsAccumulator } from './execution-stats';
import { type ExportRecord, toExportRecord } from './export-record';
import {
  bucketStart,
  checkBucketCount,
  computeTimeline,
  type Timeline,
  type TimelineBucket,
} from './timeline';

export interface StatsFilter {
  jobId?: string;
  period: Period;
}

const STATS_ATTRIBUTES = ['jobId', 'title', 'status', 'createdAt', 'durationMs'] as const;

/** Per-job statistics (and the total) of the executions created in the period. */
export async function queryStats(reader: HistoryReader, filter: StatsFilter): Promise<HistoryStats> {
  const accumulator = new StatsAccumulator();
  for await (const item of reader.select({
    period: filter.period,
    ...(filter.jobId !== undefined ? { jobId: filter.jobId } : {}),
    order: 'oldest',
    attributes: STATS_ATTRIBUTES,
  })) {
    accumulator.add(item);
  }
  return accumulator.result(filter.period);
}

export interface ListFilter {
  jobId?: string;
  status?: string;
  period: Period;
  /** At most this many (newest first); absent: all. */
  limit?: number;
}

/** What every view of one execution starts with (a `history list` line, the dashboard's execution page). */
export interface ExecutionHeading {
  id: string;
  jobId: string;
  title: string | null;
  status: string;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
}

/** The heading of a stored execution (what it does not record: null). */
export function headingOf(item: ExecutionItem): ExecutionHeading {
  return {
    id: item.id,
    jobId: item.jobId,
    title: item.title ?? null,
    status: item.status,
    createdAt: item.createdAt,
    startedAt: item.startedAt ?? null,
    endedAt: item.endedAt ?? null,
    durationMs: item.durationMs ?? null,
  };
}

/** One line of `history list`. */
export interface ExecutionSummary extends ExecutionHeading {
  pipelineId: string | null;
  files: { total: number; copied: number; pending: number; failed: number };
}

export interface ExecutionList {
  executions: ExecutionSummary[];
  /** True when more executions match than the limit let through. */
  more: boolean;
}

/** The fields of a `history list` line but its file counts, in the order of its JSON and CSV. */
export const SUMMARY_FIELDS = [
  'id',
  'jobId',
  'pipelineId',
  'title',
  'status',
  'createdAt',
  'startedAt',
  'endedAt',
  'durationMs',
] as const satisfies readonly (keyof ExecutionSummary)[];

const LIST_ATTRIBUTES = [...SUMMARY_FIELDS, 'files'];

/** The executions matching the filter, newest first. */
export async function listExecutions(reader: HistoryReader, filter: ListFilter): Promise<ExecutionList> {
  const executions: ExecutionSummary[] = [];
  // One more than asked tells whether the limit cut the list.
  const probe = filter.limit !== undefined ? filter.limit + 1 : undefined;
  for await (const item of reader.select({
    period: filter.period,
    ...(filter.jobId !== undefined ? { jobId: filter.jobId } : {}),
    ...(filter.status !== undefined ? { status: filter.status } : {}),
    order: 'newest',
    ...(probe !== undefined ? { limit: probe } : {}),
    attributes: LIST_ATTRIBUTES,
  })) {
    executions.push(toSummary(item));
  }
  const more = filter.limit !== undefined && executions.length > filter.limit;
  return { executions: more ? executions.slice(0, filter.limit) : executions, more };
}

/** The summary of a stored execution. */
function toSummary(item: ExecutionItem): ExecutionSummary {
  const files = item.files ?? [];
  const count = (status: FileCopy['status']) => files.filter((file) => file.status === status).length;
  const { id, jobId, ...heading } = headingOf(item);
  return {
    id,
    jobId,
    pipelineId: item.pipelineId ?? null,
    ...heading,
    files: {
      total: files.length,
      copied: count('copied'),
      pending: count('pending'),
      failed: count('failed'),
    },
  };
}

/** One execution in full: the API object as returned, and the stored record (file copies, sync times). */
export interface ExecutionDetail {
  execution: Record<string, unknown>;
  item: ExecutionItem;
}

/** One execution by id; ExecutionNotFoundError when it is not stored. */
export async function showExecution(reader: HistoryReader, id: string): Promise<ExecutionDetail> {
  const item = await reader.get(id);
  if (!item) throw new ExecutionNotFoundError(id, reader.tableName);
  return { execution: await reader.apiObject(item), item: { ...item, files: item.files ?? [] } };
}

export interface ExportFilter {
  jobId?: string;
  status?: string;
  period: Period;
}

/** An exported execution, with the stored record it was made from. */
export interface ExportedExecution {
  record: ExportRecord;
  item: ExecutionItem;
}

/** Every execution of the period, oldest first, one at a time (memory does not grow with the period). */
export async function* exportExecutions(
  reader: HistoryReader,
  filter: ExportFilter,
): AsyncGenerator<ExportedExecution> {
  for await (const item of reader.select({
    period: filter.period,
    ...(filter.jobId !== undefined ? { jobId: filter.jobId } : {}),
    ...(filter.status !== undefined ? { status: filter.status } : {}),
    order: 'oldest',
  })) {
    yield {
      record: toExportRecord(await reader.apiObject(item), item.files ?? [], launchViewOf(item.launch)),
      item,
    };
  }
}

export interface TimelineFilter {
  jobId?: string;
  period: Period;
  bucket: TimelineBucket;
  /** The chart runs up to now when the period has no end (ms since the epoch). */
  now: number;
}

/**
 * Runs and failures per bucket over the period (byJob for one job, else byMonth). The start of the period
 * moves back to the start of its bucket, so that the first bucket counts a whole day (hour) like the others.
 */
export async function queryTimeline(reader: HistoryReader, filter: TimelineFilter): Promise<Timeline> {
  const nowIso = new Date(filter.now).toISOString();
  const to = filter.period.until ? new Date(Date.parse(filter.period.until) - 1).toISOString() : nowIso;
  const from = filter.period.since ? bucketStart(filter.period.since, filter.bucket) : undefined;
  const period: Period = { ...filter.period, ...(from !== undefined ? { since: from } : {}) };
  if (from !== undefined) checkBucketCount(from, to, filter.bucket);
  const rows: Array<Pick<ExecutionItem, 'status' | 'createdAt'>> = [];
  for await (const item of reader.select({
    period,
    ...(filter.jobId !== undefined ? { jobId: filter.jobId } : {}),
    order: 'oldest',
    attributes: ['status', 'createdAt'],
  })) {
    rows.push({ status: item.status, createdAt: item.createdAt });
  }
  // Without an end, the chart reaches now (quiet recent hours show), or the newest run if that is later.
  const newest = rows.at(-1)?.createdAt;
  const end = filter.period.until ? to : newest && newest > nowIso ? newest : nowIso;
  return computeTimeline(
    rows,
    { bucket: filter.bucket, ...(from !== undefined ? { from } : {}), to: end },
    {
      ...(filter.jobId !== undefined ? { jobId: filter.jobId } : {}),
      ...(period.since !== undefined ? { since: period.since } : {}),
      ...(period.until !== undefined ? { until: period.until } : {}),
    },
  );
}

/** One file copy that is not done: left pending for a later run, or failed for good. */
export interface CopyNotDone {
  executionId: string;
  jobId: string;
  title: string | null;
  createdAt: string;
  path: string;
  s3Key: string;
  status: 'pending' | 'failed';
  attempts: number;
  lastError: string | null;
  /** When a pending copy is tried again (null for a failed one). */
  nextAttemptAt: string | null;
}

/** Every file copy not done, oldest execution first (the failed ones too, unless `status` says which). */
export async function listCopiesNotDone(
  reader: HistoryReader,
  filter: { status?: 'pending' | 'failed' },
): Promise<CopyNotDone[]> {
  const copies = new Map<string, CopyNotDone>();
  for await (const item of reader.withCopiesNotDone(filter.status)) {
    for (const file of item.files ?? []) {
      if (file.status === 'copied' || (filter.status !== undefined && file.status !== filter.status))
        continue;
      copies.set(`${item.id} ${file.path}`, {
        executionId: item.id,
        jobId: item.jobId,
        title: item.title ?? null,
        createdAt: item.createdAt,
        path: file.path,
        s3Key: file.s3Key,
        status: file.status,
        attempts: file.attempts,
        lastError: file.lastError ?? null,
        nextAttemptAt: file.status === 'pending' ? (file.nextAttemptAt ?? null) : null,
      });
    }
  }
  return [...copies.values()].sort(
    (a, b) =>
      a.createdAt.localeCompare(b.createdAt) ||
      a.executionId.localeCompare(b.executionId) ||
      a.path.localeCompare(b.path),
  );
}
