// Layer flow: domain. Turns an execution as the API returned it into the stored record: the API's fields
// kept verbatim (as JSON), plus the derived fields the indexes and analytics need.
import { createHash } from 'node:crypto';
import { FILES_KEY_PREFIX } from '../defaults';
import { isTerminalStatus, type JobExecution } from '../product-live/product-live.schema';
import { discoverFiles, type FileReference, pathSegment } from './file-discovery';

/** The value of `openFlag` while an execution has not ended (the partition of the sparse index byOpen). */
export const OPEN_FLAG = 'OPEN';
/** The value of `filesPending` while a file copy is pending (the partition of the sparse index byFilesDue). */
export const FILES_PENDING_FLAG = 'PENDING';
/** The value of `filesFailed` while a file copy has failed for good (the partition of byFilesFailed). */
export const FILES_FAILED_FLAG = 'FAILED';

/** Orders views of one execution: a view never replaces one of a higher rank. */
export function statusRank(status: string): number {
  if (isTerminalStatus(status)) return 2;
  if (status === 'PENDING') return 0;
  return 1;
}

/** The fields derived from an execution; `raw` holds the API object exactly as returned. */
export interface ExecutionFields {
  id: string;
  jobId: string;
  pipelineId?: string;
  status: string;
  /** Normalised to `Date#toISOString()` so that sort keys order by time; `raw` keeps the API's text. */
  createdAt: string;
  startedAt?: string;
  endedAt?: string;
  title?: string;
  durationMs?: number;
  day: string;
  month: string;
  statusRank: number;
  openFlag?: typeof OPEN_FLAG;
  fingerprint: string;
  /** The API object as returned, as JSON text; empty when it was too large and lives at `rawS3Key`. */
  raw: string;
  rawS3Key?: string;
}

/** Derives the stored fields of an execution. */
export function toExecutionFields(execution: JobExecution): ExecutionFields {
  const raw = JSON.stringify(execution);
  const createdAt = normaliseDate(execution.createdAt);
  const startedAt = execution.startedAt ? normaliseDate(execution.startedAt) : undefined;
  const endedAt = execution.endedAt ? normaliseDate(execution.endedAt) : undefined;
  const terminal = isTerminalStatus(execution.status);
  const durationMs =
    terminal && startedAt && endedAt ? Math.max(0, Date.parse(endedAt) - Date.parse(startedAt)) : undefined;
  return {
    id: execution.id,
    jobId: execution.jobId,
    ...(execution.pipelineId ? { pipelineId: execution.pipelineId } : {}),
    status: execution.status,
    createdAt,
    ...(startedAt ? { startedAt } : {}),
    ...(endedAt ? { endedAt } : {}),
    ...(execution.info?.title ? { title: execution.info.title } : {}),
    ...(durationMs !== undefined ? { durationMs } : {}),
    day: createdAt.slice(0, 10),
    month: createdAt.slice(0, 7),
    statusRank: statusRank(execution.status),
    ...(terminal ? {} : { openFlag: OPEN_FLAG }),
    fingerprint: fingerprint(execution),
    raw,
  };
}

/** A stable hash of the API object (key order ignored): equal fingerprints mean nothing changed. */
export function fingerprint(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 32);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, child]) => child !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, child]) => `${JSON.stringify(key)}:${canonicalJson(child)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function normaliseDate(value: string): string {
  return new Date(value).toISOString();
}

/** One file of an execution and the state of its copy in S3. */
export interface FileCopy {
  path: string;
  sourceUrl: string;
  fileName: string;
  s3Key: string;
  status: 'copied' | 'pending' | 'failed';
  attempts: number;
  size?: number;
  sha256?: string;
  contentType?: string;
  copiedAt?: string;
  lastError?: string;
  /** When a pending copy may be tried again (ISO date). */
  nextAttemptAt?: string;
  /** How many times the copy was left for a later run after transient failures (the backoff doubles). */
  deferrals?: number;
}

/**
 * The launch request that started an execution, recorded by the launch function on the execution's item (and
 * never overwritten by the sync): the history, the warehouse and every event of the execution carry it.
 */
export interface LaunchInfo {
  /** The request's key: its `idempotencyKey`, the inbox's key (`inbox:bucket/key#version`), or null when keyed by its SQS message id. */
  idempotencyKey: string | null;
  messageId: string;
  /** When the request was sent to the launch queue (ISO date). */
  requestedAt: string;
  /** True while a Step Functions task token waits on the result (cleared when every token was refused). */
  awaited?: boolean;
  /**
   * How many task tokens were attached (each attach adds one): the write that the callbacks function reads
   * as "a new waiter", so that a token attached after the result is known still gets it.
   */
  waiters?: number;
}

/** The launch request of an execution as the history, the exports and every event show it. */
export interface LaunchView {
  idempotencyKey: string | null;
  messageId: string;
  requestedAt: string;
  /** True while a Step Functions task token waits on the execution's result. */
  awaited: boolean;
}

/** The launch of a stored execution as it is shown (null: started elsewhere). Internal counters stay out. */
export function launchViewOf(launch: LaunchInfo | undefined): LaunchView | null {
  if (!launch) return null;
  return {
    idempotencyKey: launch.idempotencyKey ?? null,
    messageId: launch.messageId,
    requestedAt: launch.requestedAt,
    awaited: launch.awaited === true,
  };
}

/** True when the execution has ended and no copy of its files is pending: what its result names is readable. */
export function isSettled(item: { status: string; files?: readonly FileCopy[] } | undefined): boolean {
  if (!item || !isTerminalStatus(item.status)) return false;
  return (item.files ?? []).every((file) => file.status !== 'pending');
}

/** Where an execution's objects live in the files bucket: `executions/<jobId>/<executionId>`. */
export function executionS3Prefix(execution: { jobId: string; id: string }): string {
  const segment = (value: string) => value.replace(/[^\w.-]+/g, '_').replace(/^\.+/, '_') || '_';
  return `${FILES_KEY_PREFIX}${segment(execution.jobId)}/${segment(execution.id)}`;
}

/** Where the copy of a file lives: `executions/<jobId>/<executionId>/<json path>/<file name>`. */
export function fileS3Key(execution: { jobId: string; id: string }, file: FileReference): string {
  return `${executionS3Prefix(execution)}/${pathSegment(file.path)}/${file.fileName}`;
}

/**
 * Merges the files an execution references now with the copies recorded so far: a copied file stays
 * copied, a new reference becomes a pending copy due at once, a reference that disappeared is kept (its
 * copy is the only lasting record).
 */
export function mergeFileCopies(
  execution: { jobId: string; id: string; input?: unknown; output?: unknown },
  recorded: readonly FileCopy[],
  nowIso: string,
): FileCopy[] {
  const byPath = new Map(recorded.map((copy) => [copy.path, copy]));
  for (const reference of discoverFiles(execution)) {
    const existing = byPath.get(reference.path);
    if (!existing) {
      byPath.set(reference.path, {
        path: reference.path,
        sourceUrl: reference.url,
        fileName: reference.fileName,
        s3Key: fileS3Key(execution, reference),
        status: 'pending',
        attempts: 0,
        nextAttemptAt: nowIso,
      });
    } else if (existing.status !== 'copied' && existing.sourceUrl !== reference.url) {
      // A refreshed download URL for a file not yet copied: retry with the new one, from scratch.
      byPath.set(reference.path, {
        ...existing,
        sourceUrl: reference.url,
        status: 'pending',
        nextAttemptAt: nowIso,
      });
    }
  }
  return [...byPath.values()];
}

/** The sparse-index attributes for a set of copies: present only while a copy is pending. */
export function pendingFilesMarker(files: readonly FileCopy[]): { filesDueAt: string } | undefined {
  const due = files
    .filter((file) => file.status === 'pending')
    .map((file) => file.nextAttemptAt ?? '')
    .sort();
  return due.length > 0 ? { filesDueAt: due[0] ?? '' } : undefined;
}

/** True when a copy failed for good (the execution then sits in the sparse index byFilesFailed). */
export function hasFailedCopy(files: readonly FileCopy[]): boolean {
  return files.some((file) => file.status === 'failed');
}
