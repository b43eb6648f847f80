// Layer flow: the events handler -> publishStatusChanges (this use case) -> an event sink (EventBridge in AWS,
// a file locally). The records of a stream batch are turned into status-change and result events in order;
// events are sent in order, ten at a time; entries the sink refuses are retried in place; if some still fail,
// the batch reports the first record whose event was not published as failed, and nothing after it is sent:
// the stream redelivers from there, so events stay in order per execution and none is lost (docs/events.md).
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchItemFailure, DynamoDBRecord } from 'aws-lambda';
import { describeError } from '#core/errors';
import { type ExecutionEvent, fitToEventSize, resultOf, statusChangeOf } from '#core/events/execution-event';
import type { AppLogger } from '#core/observability';
import type { ExecutionItem } from '#core/store/execution-repository';

/** PutEvents takes at most 10 entries and 256 KB per call. */
const MAX_ENTRIES_PER_CALL = 10;
const MAX_BYTES_PER_CALL = 200 * 1024;

/** Where events go. `put` returns, for each entry in order, null (accepted) or why it was refused. */
export interface EventSink {
  put(events: readonly ExecutionEvent[]): Promise<Array<string | null>>;
}

export interface PublishDeps {
  sink: EventSink;
  logger: AppLogger;
  sleep?: (ms: number) => Promise<void>;
}

export interface PublishOptions {
  /** Tries of a refused entry within the invocation (default 4). */
  maxAttempts?: number;
  /** First wait between tries, doubling (default 200 ms). */
  baseDelayMs?: number;
}

export interface PublishResult {
  batchItemFailures: DynamoDBBatchItemFailure[];
  /** Events accepted by the sink. */
  published: number;
  /** Records that changed no status and settled nothing (a rewrite, a copy of a file among others, a removal). */
  unchanged: number;
  /** Entries retried in place after a refusal. */
  retried: number;
  /** Events still refused after the last try (the first one's record is reported as the batch's failure). */
  failed: number;
}

interface Pending {
  record: DynamoDBRecord;
  event: ExecutionEvent;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Publishes the status changes of a stream batch, in order; never throws for a refused event. */
export async function publishStatusChanges(
  records: readonly DynamoDBRecord[],
  deps: PublishDeps,
  options: PublishOptions = {},
): Promise<PublishResult> {
  const result: PublishResult = { batchItemFailures: [], published: 0, unchanged: 0, retried: 0, failed: 0 };
  const pending: Pending[] = [];
  for (const record of records) {
    const after = imageOf(record.dynamodb?.NewImage);
    if (after && !isExecutionImage(after)) {
      // Not an execution (no id, job, status or dates): nothing to announce, and retrying cannot help.
      result.unchanged += 1;
      deps.logger.error('a stream record is not an execution; it publishes nothing', {
        sequenceNumber: record.dynamodb?.SequenceNumber,
        keys: record.dynamodb?.Keys,
      });
      continue;
    }
    const before = imageOf(record.dynamodb?.OldImage);
    // A status change, then (when this write settled the execution) its result: in that order.
    const events = [statusChangeOf(before, after), resultOf(before, after)].filter(
      (event): event is ExecutionEvent => event !== undefined,
    );
    for (const event of events) pending.push({ record, event: fitToEventSize(event) });
    if (events.length === 0) result.unchanged += 1;
  }
  for (const chunk of chunks(pending)) {
    const stillRefused = await putWithRetries(chunk, deps, options, result);
    const refused = stillRefused[0];
    if (refused === undefined) continue;
    // Everything from the first refused event on is delivered again, in order.
    const sequence = refused.record.dynamodb?.SequenceNumber ?? '';
    result.batchItemFailures.push({ itemIdentifier: sequence });
    result.failed += stillRefused.length;
    deps.logger.warn('events not published after retries; the stream delivers them again from this record', {
      sequenceNumber: sequence,
      eventId: refused.event.detail.eventId,
    });
    break;
  }
  return result;
}

/** Sends a chunk, retrying refused entries; returns the entries still refused after the last try. */
async function putWithRetries(
  chunk: Pending[],
  deps: PublishDeps,
  options: PublishOptions,
  result: PublishResult,
): Promise<Pending[]> {
  const maxAttempts = options.maxAttempts ?? 4;
  const sleep = deps.sleep ?? realSleep;
  let remaining = chunk;
  for (let attempt = 1; ; attempt++) {
    let outcomes: Array<string | null>;
    try {
      outcomes = await deps.sink.put(remaining.map((item) => item.event));
    } catch (error) {
      // The call itself failed (after the SDK's own retries): every entry of it is refused.
      const reason = describeError(error);
      outcomes = remaining.map(() => reason);
    }
    const refused = remaining.filter((_, index) => outcomes[index] !== null && outcomes[index] !== undefined);
    result.published += remaining.length - refused.length;
    if (refused.length === 0 || attempt >= maxAttempts) return refused;
    deps.logger.warn('the event sink refused events; retrying them', {
      attempt,
      refused: refused.length,
      reason: outcomes.find((outcome) => outcome !== null),
    });
    result.retried += refused.length;
    remaining = refused;
    await sleep((options.baseDelayMs ?? 200) * 2 ** (attempt - 1));
  }
}

/**
 * Consecutive groups within PutEvents' limits (entries and bytes), order kept, and never two events of one
 * execution in a group: a partly refused call can then not publish an execution's later status before its
 * earlier one.
 */
function chunks(items: Pending[]): Pending[][] {
  const groups: Pending[][] = [];
  let current: Pending[] = [];
  let executions = new Set<string>();
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item.event.detail)) + 200;
    const full = current.length === MAX_ENTRIES_PER_CALL || bytes + size > MAX_BYTES_PER_CALL;
    if (current.length > 0 && (full || executions.has(item.event.detail.executionId))) {
      groups.push(current);
      current = [];
      executions = new Set();
      bytes = 0;
    }
    current.push(item);
    executions.add(item.event.detail.executionId);
    bytes += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** The fields an event is built from, with their types (anything else an item has is not read). */
function isExecutionImage(item: ExecutionItem): boolean {
  const text = (value: unknown) => typeof value === 'string' && value !== '';
  return (
    text(item.id) &&
    text(item.jobId) &&
    text(item.status) &&
    text(item.createdAt) &&
    text(item.syncedAt) &&
    (item.source === 'sync' || item.source === 'launch')
  );
}

function imageOf(image: Record<string, unknown> | undefined): ExecutionItem | undefined {
  return image ? (unmarshall(image as never) as ExecutionItem) : undefined;
}
