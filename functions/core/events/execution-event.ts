// Layer flow: domain. What a write of an execution becomes as events (docs/events.md): the EventBridge source
// and detail-types, and the details built from the stored item before and after the write — a status change,
// and the result once the execution has ended and every file of it is settled.
import { isSettled, type LaunchView, launchViewOf } from '../executions/execution-record';
import { isTerminalStatus } from '../product-live/product-live.schema';
import type { ExecutionItem } from '../store/execution-repository';

export const EVENT_SOURCE = 'product-live.job-executions';
export const EVENT_DETAIL_TYPE = 'Job Execution Status Change';
export const RESULT_DETAIL_TYPE = 'Job Execution Result';

/** A file of an ended execution, as the event lists it (size and SHA-256 once its copy is done). */
export interface EventFile {
  path: string;
  s3Key: string;
  size: number | null;
  sha256: string | null;
}

/** The `detail` of a status-change event. */
export interface ExecutionEventDetail {
  /** `<executionId>:<status>`: the same for every delivery of one change, so consumers can drop duplicates. */
  eventId: string;
  executionId: string;
  jobId: string;
  pipelineId: string | null;
  title: string | null;
  status: string;
  /** null for an execution seen for the first time. */
  previousStatus: string | null;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  /** The files of an ended execution (an open one has none yet); copies may still be under way. */
  files: EventFile[];
  /** Which function wrote this status: `sync` or `launch`. */
  origin: 'sync' | 'launch';
  /** Present only when the file list did not fit in an event (256 KB): how many files were left out. */
  filesOmitted?: number;
  /** The launch request that started the execution; null when it was started elsewhere. */
  launch: LaunchView | null;
}

/** A file of a result event: its copy's final state (`copied`, or `failed` for good). */
export interface ResultFile extends EventFile {
  status: 'copied' | 'failed';
}

/** The `detail` of a result event: the status-change fields, each file's settled copy, eventId `<id>:result`. */
export interface ResultEventDetail extends Omit<ExecutionEventDetail, 'files'> {
  files: ResultFile[];
}

/** An event as a sink receives it (EventBridge's entry fields). */
export type ExecutionEvent =
  | {
      source: typeof EVENT_SOURCE;
      detailType: typeof EVENT_DETAIL_TYPE;
      /** When the status was stored (the item's `syncedAt`). */
      time: string;
      detail: ExecutionEventDetail;
    }
  | {
      source: typeof EVENT_SOURCE;
      detailType: typeof RESULT_DETAIL_TYPE;
      /** When the last file was settled (the item's `syncedAt` or the last copy's time). */
      time: string;
      detail: ResultEventDetail;
    };

/**
 * The result event of a write: when the write settles the execution (it has ended and the last pending file
 * copy is done or failed for good) and it was not settled before. Undefined otherwise, so a rewrite of a
 * settled execution announces nothing again; a copy retried after failing for good settles it once more and
 * yields the same `eventId` (consumers drop duplicates by it).
 */
export function resultOf(
  before: ExecutionItem | undefined,
  after: ExecutionItem | undefined,
): ExecutionEvent | undefined {
  if (!after || !isSettled(after) || isSettled(before)) return undefined;
  const common = eventFields(before, after);
  // ISO dates order as text: the latest of the write and of the copies.
  const copiedAt = [after.syncedAt, ...(after.files ?? []).map((file) => file.copiedAt ?? '')].sort().at(-1);
  return {
    source: EVENT_SOURCE,
    detailType: RESULT_DETAIL_TYPE,
    time: copiedAt ?? after.syncedAt,
    detail: {
      ...common,
      eventId: `${after.id}:result`,
      previousStatus: before?.status ?? null,
      files: (after.files ?? []).map((file) => ({
        path: file.path,
        s3Key: file.s3Key,
        size: typeof file.size === 'number' ? file.size : null,
        sha256: file.sha256 ?? null,
        status: file.status === 'copied' ? 'copied' : 'failed',
      })),
    },
  };
}

/** The fields every event of an execution carries, from its stored item. */
function eventFields(before: ExecutionItem | undefined, after: ExecutionItem) {
  return {
    executionId: after.id,
    jobId: after.jobId,
    pipelineId: after.pipelineId ?? null,
    title: after.title ?? null,
    status: after.status,
    previousStatus: before?.status ?? null,
    createdAt: after.createdAt,
    startedAt: after.startedAt ?? null,
    endedAt: after.endedAt ?? null,
    durationMs: typeof after.durationMs === 'number' ? after.durationMs : null,
    origin: after.source,
    launch: launchViewOf(after.launch),
  };
}

/**
 * The event of a write, or undefined when the write did not change the status (a file copy recorded, a
 * refreshed view) or removed the item. `before` is undefined for a new execution.
 */
export function statusChangeOf(
  before: ExecutionItem | undefined,
  after: ExecutionItem | undefined,
): ExecutionEvent | undefined {
  if (!after) return undefined;
  if (before && before.status === after.status) return undefined;
  const ended = isTerminalStatus(after.status);
  return {
    source: EVENT_SOURCE,
    detailType: EVENT_DETAIL_TYPE,
    time: after.syncedAt,
    detail: {
      ...eventFields(before, after),
      eventId: `${after.id}:${after.status}`,
      files: ended
        ? (after.files ?? []).map((file) => ({
            path: file.path,
            s3Key: file.s3Key,
            size: typeof file.size === 'number' ? file.size : null,
            sha256: file.sha256 ?? null,
          }))
        : [],
    },
  };
}

/** EventBridge takes events up to 256 KB; the detail is kept under this, leaving room for the envelope. */
export const MAX_DETAIL_BYTES = 240 * 1024;

/**
 * The event itself when its detail fits in an event, else the same event with as many files as fit and
 * `filesOmitted` counting the rest (the store and the warehouse's `files` table have them all).
 */
export function fitToEventSize(event: ExecutionEvent, maxBytes = MAX_DETAIL_BYTES): ExecutionEvent {
  const size = (detail: object) => Buffer.byteLength(JSON.stringify(detail));
  if (size(event.detail) <= maxBytes) return event;
  const files: readonly object[] = event.detail.files;
  let kept = 0;
  let bytes = size({ ...event.detail, files: [], filesOmitted: files.length });
  for (const file of files) {
    const fileBytes = Buffer.byteLength(JSON.stringify(file)) + 1;
    if (bytes + fileBytes > maxBytes) break;
    bytes += fileBytes;
    kept += 1;
  }
  return {
    ...event,
    detail: { ...event.detail, files: event.detail.files.slice(0, kept), filesOmitted: files.length - kept },
  } as ExecutionEvent;
}
