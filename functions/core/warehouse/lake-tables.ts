// Layer flow: domain. The tables of the warehouse (docs/warehouse.md): their columns, defined once for the Parquet
// writer (the lake function), the Glue tables (the CDK stack) and the views of the SQL engine (the history CLI,
// the dashboard); where their objects live; and how a stored execution, and a sync run, become their rows.
import type { FileCopy } from '../executions/execution-record';
import type { ExecutionItem } from '../store/execution-repository';
import type { SyncRunRecord } from '../store/sync-run-repository';

/** Column types, named as Athena and Glue name them. */
export type LakeColumnType = 'string' | 'timestamp' | 'bigint' | 'int' | 'boolean';

export interface LakeColumn {
  readonly name: string;
  readonly type: LakeColumnType;
  readonly comment: string;
}

export type LakeTableName = 'executions' | 'files' | 'sync_runs';

export interface LakeTable {
  readonly name: LakeTableName;
  readonly comment: string;
  /** The columns stored in the Parquet objects; `day` is the partition, taken from the object's key. */
  readonly columns: readonly LakeColumn[];
  /** What the `day` partition is the day of. */
  readonly partitionComment: string;
}

/** The partition column of every table: a UTC day, `YYYY-MM-DD`. */
export const PARTITION_COLUMN = 'day';

const EXECUTION_DAY = "UTC day of the execution's createdAt";

const column = (name: string, type: LakeColumnType, comment: string): LakeColumn => ({ name, type, comment });

export const EXECUTIONS_TABLE: LakeTable = {
  name: 'executions',
  comment: 'One row per Product-Live job execution, as last stored by the sync or the launcher',
  columns: [
    column('id', 'string', 'execution id'),
    column('job_id', 'string', 'job id'),
    column('pipeline_id', 'string', 'pipeline id'),
    column('title', 'string', "the job's title (info.title)"),
    column('status', 'string', 'PENDING, RUNNING, COMPLETED, USER_ERROR, FAILED, TERMINATED or TIMEDOUT'),
    column('created_at', 'timestamp', 'UTC, millisecond precision'),
    column('started_at', 'timestamp', 'UTC'),
    column('ended_at', 'timestamp', 'UTC'),
    column('duration_ms', 'bigint', 'ended_at - started_at of an ended run; null while open'),
    column('input', 'string', "the API's input JSON, as text"),
    column('output', 'string', "the API's output JSON, as text"),
    column('info', 'string', "the API's info JSON, as text"),
    column('files_total', 'int', 'files referenced by input and output'),
    column('files_copied', 'int', 'file copies done'),
    column('files_pending', 'int', 'file copies left for a later sync run'),
    column('files_failed', 'int', 'file copies failed for good'),
    column('first_synced_at', 'timestamp', 'when the execution was first stored'),
    column('synced_at', 'timestamp', 'when it was last written'),
    column('source', 'string', 'sync or launch: which function wrote it last'),
    column('removed_from_api_at', 'timestamp', 'when the sync found it no longer in the API; null otherwise'),
    column(
      'launch_key',
      'string',
      'the launch request that started it: its idempotencyKey, else its SQS message id; null when started elsewhere',
    ),
    column('launch_requested_at', 'timestamp', 'when that launch request was sent to the queue, UTC'),
  ],
  partitionComment: EXECUTION_DAY,
};

export const FILES_TABLE: LakeTable = {
  name: 'files',
  comment: 'One row per input or output file of an execution, and the state of its copy in S3',
  columns: [
    column('execution_id', 'string', 'execution id'),
    column('job_id', 'string', 'job id'),
    column('path', 'string', 'where the execution references it, e.g. output.report or output.files[0]'),
    column('file_name', 'string', 'file name'),
    column('s3_key', 'string', 'key of the copy in the files bucket'),
    column('size', 'bigint', 'bytes (once copied)'),
    column('sha256', 'string', 'SHA-256 of the copy, hex'),
    column('content_type', 'string', 'Content-Type of the download'),
    column('status', 'string', 'copied, pending or failed'),
    column('attempts', 'int', 'download attempts so far'),
    column('last_error', 'string', 'why the last attempt failed'),
    column('copied_at', 'timestamp', 'UTC'),
    column('created_at', 'timestamp', "the execution's createdAt, UTC"),
  ],
  partitionComment: EXECUTION_DAY,
};

export const SYNC_RUNS_TABLE: LakeTable = {
  name: 'sync_runs',
  comment: "One row per sync run (the sync function's summary of it), skipped runs included",
  columns: [
    column('run_id', 'string', 'the invocation and a random part'),
    column('started_at', 'timestamp', 'UTC'),
    column('finished_at', 'timestamp', 'UTC'),
    column('duration_ms', 'bigint', 'the run, health evaluation included'),
    column('result', 'string', 'ok, failed (stopped on an error) or skipped (another run held the lease)'),
    column('error', 'string', 'why a failed run stopped; null otherwise'),
    column('more_remaining', 'boolean', 'the run left work for the next one (time budget, or an error)'),
    column('watermark', 'timestamp', 'every execution created before it was stored when the run ended'),
    column('api_requests', 'int', 'Product-Live requests of the run'),
    column('throttled', 'int', '429 responses waited out'),
    column('executions_new', 'int', 'executions stored for the first time'),
    column('executions_updated', 'int', 'executions whose stored view changed'),
    column('executions_unchanged', 'int', 'executions read again without a change'),
    column('executions_open_refreshed', 'int', 'open executions re-read'),
    column('files_copied', 'int', 'file copies made'),
    column('files_skipped', 'int', 'files already copied'),
    column('files_pending', 'int', 'file copies left for a later run'),
    column('files_failed', 'int', 'file copies failed for good'),
    column('audit_months_checked', 'int', 'months the completeness audit compared; null without an audit'),
    column('audit_months_differing', 'int', 'months whose counts differed'),
    column('audit_executions_recovered', 'int', 'executions the audit stored'),
    column('audit_executions_removed', 'int', 'executions the audit found gone from the API'),
    column('audit_api_requests', 'int', "the audit's Product-Live requests"),
    column('health_jobs', 'int', 'jobs evaluated after the run; null when none was'),
    column('health_changes', 'int', 'jobs whose health state changed'),
    column('health_duration_ms', 'bigint', 'time of the health evaluation'),
  ],
  partitionComment: 'UTC day the run started',
};

export const LAKE_TABLES: Readonly<Record<LakeTableName, LakeTable>> = {
  executions: EXECUTIONS_TABLE,
  files: FILES_TABLE,
  sync_runs: SYNC_RUNS_TABLE,
};

/** The Glue database of the deployed stack (CDK context `glueDatabaseName` may name another). */
export const DEFAULT_GLUE_DATABASE = 'product_live_sync';

/** Where the lake keeps its objects in the lake bucket. */
export const LAKE_KEY_PREFIX = 'lake/';

/** The folder of one table: `lake/executions/`. */
export function lakeTablePrefix(table: LakeTableName): string {
  return `${LAKE_KEY_PREFIX}${table}/`;
}

/** The one object of a table for a day: `lake/executions/day=2024-06-01/executions.parquet`. */
export function lakeObjectKey(table: LakeTableName, day: string): string {
  return `${lakeTablePrefix(table)}${PARTITION_COLUMN}=${day}/${table}.parquet`;
}

/** A cell: text, an instant, a whole number (bigint columns as bigint), or null. */
export type LakeValue = string | Date | bigint | number | boolean | null;
export type LakeRow = Record<string, LakeValue>;

const instant = (iso: string | undefined): Date | null => (iso ? new Date(iso) : null);
const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));

/** The executions row of a stored execution; `api` is its API object (the item's `raw`, or its S3 copy). */
export function executionRow(item: ExecutionItem, api: Record<string, unknown>): LakeRow {
  const count = (status: FileCopy['status']) => item.files.filter((file) => file.status === status).length;
  return {
    id: item.id,
    job_id: item.jobId,
    pipeline_id: item.pipelineId ?? null,
    title: item.title ?? null,
    status: item.status,
    created_at: instant(item.createdAt),
    started_at: instant(item.startedAt),
    ended_at: instant(item.endedAt),
    duration_ms: typeof item.durationMs === 'number' ? BigInt(item.durationMs) : null,
    input: json(api.input),
    output: json(api.output),
    info: json(api.info),
    files_total: item.files.length,
    files_copied: count('copied'),
    files_pending: count('pending'),
    files_failed: count('failed'),
    first_synced_at: instant(item.firstSyncedAt),
    synced_at: instant(item.syncedAt),
    source: item.source,
    removed_from_api_at: instant(item.removedFromApiAt),
    launch_key: item.launch ? (item.launch.idempotencyKey ?? item.launch.messageId) : null,
    launch_requested_at: instant(item.launch?.requestedAt),
  };
}

/** The files rows of a stored execution, by path. */
export function fileRows(item: ExecutionItem): LakeRow[] {
  return [...item.files]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((file) => ({
      execution_id: item.id,
      job_id: item.jobId,
      path: file.path,
      file_name: file.fileName,
      s3_key: file.s3Key,
      size: typeof file.size === 'number' ? BigInt(file.size) : null,
      sha256: file.sha256 ?? null,
      content_type: file.contentType ?? null,
      status: file.status,
      attempts: file.attempts,
      last_error: file.lastError ?? null,
      copied_at: instant(file.copiedAt),
      created_at: instant(item.createdAt),
    }));
}

/** The sync_runs row of a kept run. */
export function syncRunRow(run: SyncRunRecord): LakeRow {
  return {
    run_id: run.runId,
    started_at: instant(run.startedAt),
    finished_at: instant(run.finishedAt),
    duration_ms: BigInt(run.durationMs),
    result: run.result,
    error: run.error,
    more_remaining: run.moreRemaining,
    watermark: instant(run.watermark ?? undefined),
    api_requests: run.apiRequests,
    throttled: run.throttled,
    executions_new: run.executions.new,
    executions_updated: run.executions.updated,
    executions_unchanged: run.executions.unchanged,
    executions_open_refreshed: run.executions.openRefreshed,
    files_copied: run.files.copied,
    files_skipped: run.files.skipped,
    files_pending: run.files.pending,
    files_failed: run.files.failed,
    audit_months_checked: run.audit?.monthsChecked ?? null,
    audit_months_differing: run.audit?.monthsDiffering ?? null,
    audit_executions_recovered: run.audit?.executionsRecovered ?? null,
    audit_executions_removed: run.audit?.executionsRemovedFromApi ?? null,
    audit_api_requests: run.audit?.apiRequests ?? null,
    health_jobs: run.health?.jobs ?? null,
    health_changes: run.health?.changed ?? null,
    health_duration_ms: run.health ? BigInt(run.health.durationMs) : null,
  };
}

/** The UTC day (`YYYY-MM-DD`) of an ISO instant. */
export function dayOf(iso: string): string {
  return new Date(iso).toISOString().slice(0, 10);
}

/** The half-open createdAt range of a day: [day 00:00, next day 00:00). */
export function dayRange(day: string): { since: string; until: string } {
  const start = Date.parse(`${day}T00:00:00.000Z`);
  return { since: new Date(start).toISOString(), until: new Date(start + 86_400_000).toISOString() };
}
