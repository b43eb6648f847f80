// Layer flow: domain. What a change of an execution's stored status becomes as an event (docs/events.md): the
// EventBridge source and detail-type, and the detail built from the stored item before and after a write.
import { isTerminalStatus } from '../product-live/product-live.schema';
import type { ExecutionItem } from '../store/execution-repository';

export const EVENT_SOURCE = 'product-live.job-executions';
export const EVENT_DETAIL_TYPE = 'Job Execution Status Change';

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
}

/** An event as a sink receives it (EventBridge's entry fields). */
export interface ExecutionEvent {
  source: typeof EVENT_SOURCE;
  detailType: typeof EVENT_DETAIL_TYPE;
  /** When the status was stored (the item's `syncedAt`). */
  time: string;
  detail: ExecutionEventDetail;
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
      eventId: `${after.id}:${after.status}`,
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
      files: ended
        ? (after.files ?? []).map((file) => ({
            path: file.path,
            s3Key: file.s3Key,
            size: typeof file.size === 'number' ? file.size : null,
            sha256: file.sha256 ?? null,
          }))
        : [],
      origin: after.source,
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
  const size = (detail: ExecutionEventDetail) => Buffer.byteLength(JSON.stringify(detail));
  if (size(event.detail) <= maxBytes) return event;
  const files = event.detail.files;
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
    detail: { ...event.detail, files: files.slice(0, kept), filesOmitted: files.length - kept },
  };
}
