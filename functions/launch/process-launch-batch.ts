// Layer flow: launch handler -> processLaunchBatch (Powertools batch processing, partial batch response) ->
// per record: parse the message (a launch request, or an inbox object's S3 event) and its file references ->
// idempotent launchJob -> map the result or failure to one outcome. Each message gets one outcome (launched,
// adopted, duplicate, dead-lettered, retry, ignored): docs/launches.md.
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyValidationError,
} from '@aws-lambda-powertools/idempotency';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { describeError as describe } from '#core/errors';
import type { InboxRule } from '#core/inbox-rules';
import type { AppLogger } from '#core/observability';
import {
  isOutcomeUnknown,
  ProductLiveApiError,
  ProductLiveAuthError,
  ProductLiveNotFoundError,
  ProductLiveRateLimitError,
  startedNothing,
} from '#core/product-live/product-live.errors';
import { FileReferenceError, findFileReferences, type ReadableLocation } from './file-references';
import { inboxRequest } from './inbox';
import { InvalidLaunchMessageError, LaunchDeadlineError } from './launch.errors';
import type { LaunchOptions, LaunchRecord, LaunchRequest, LaunchResult } from './launch-job';
import { parseLaunchBody, taskTokenOf } from './launch-message.schema';
import type { FailureKind, LaunchQueue } from './launch-queue';
import { ObjectRefusedError } from './s3-objects';

/** What happened to one message (`ignored`: an inbox object no rule claims). */
export type MessageOutcome = 'launched' | 'adopted' | 'duplicate' | 'dead-lettered' | 'retry' | 'ignored';

/** A launch result as the idempotency wrapper returns it: `replayed` when it comes from a stored record. */
export type IdempotentLaunchResult = LaunchResult & { replayed?: boolean };

/** Visibility backoff of retried messages: `baseSeconds × 2^(receiveCount − 1)`, at most `maxSeconds`. */
export interface RetryBackoff {
  baseSeconds: number;
  maxSeconds: number;
}

const DEFAULT_RETRY_BACKOFF: RetryBackoff = { baseSeconds: 30, maxSeconds: 900 };

export interface LaunchBatchDeps {
  /** launchJob behind the idempotency wrapper. */
  launch: (request: LaunchRequest, options: LaunchOptions) => Promise<IdempotentLaunchResult>;
  queue: LaunchQueue;
  logger: AppLogger;
  now: () => number;
  /** Milliseconds left in the invocation. */
  remainingTimeMs: () => number;
  /**
   * No API call may still be waiting once less than this is left (the per-request timeout plus a margin):
   * calls not yet sent are abandoned then, and their messages retried.
   */
  reserveMs: number;
  retryBackoff?: RetryBackoff;
  /**
   * The queue's redrive `maxReceiveCount`. A transient failure on that delivery (the last before SQS would
   * move the message without a word) dead-letters the message here, with its reason. Unset: SQS decides.
   */
  maxReceiveCount?: number;
  /** Told every message's outcome (metrics). */
  onOutcome?: (outcome: MessageOutcome) => void;
  /** Where objects referenced by requests may be read (the configured buckets and the inbox). Default: none. */
  readable?: readonly ReadableLocation[];
  /** The inbox: its bucket and the rules that turn its objects into launches. */
  inbox?: { bucket: string | undefined; rules: readonly InboxRule[] };
  /**
   * Records what became of a request that launched nothing (refused, or a duplicate) for whoever waits on it
   * (`npm run launch -- --wait`): on its key, or on `messageId:<id>` when the key is another request's.
   */
  recordOutcome?: (key: string, record: LaunchRecord) => Promise<void>;
  /** Step Functions task tokens: how a request's token is kept, and told of a refusal or a retry. */
  tasks?: TaskWaiters;
}

/**
 * What the launch does for a request that carries a Step Functions task token: the token is attached to the
 * request's key before the launch is tried (so the result, whenever it is known, finds it), the execution is
 * marked awaited once known (the callbacks function sends the result from there), a refusal is sent at once,
 * and a retried request's token gets a heartbeat (a long backoff must not run out its HeartbeatSeconds).
 */
export interface TaskWaiters {
  attach(key: string, token: string): Promise<void>;
  /** Marks the execution awaited by one more waiter; false when it is not stored (nothing will send its result). */
  markAwaited(executionId: string): Promise<boolean>;
  /** Sends `ProductLive.Rejected`; a transient failure throws (the message is retried, not yet dead-lettered). */
  reject(
    token: string,
    refusal: { reason: string; failureKind: string; messageId: string; jobId?: string },
  ): Promise<void>;
  /** Best effort: failures are logged by the implementation. */
  heartbeat(token: string): Promise<void>;
}

/** How a failure is handled: dead-lettered now, or retried after `retryAfterMs` at least. */
export type FailureDecision =
  | { action: 'dead-letter'; kind: FailureKind; reason: string }
  | { action: 'retry'; reason: string; retryAfterMs?: number };

/**
 * Processes an SQS batch one record at a time (duplicates in one batch then meet a completed record, not
 * an in-progress one) and returns the partial batch response: only retried records are reported as failed.
 */
export async function processLaunchBatch(deps: LaunchBatchDeps, event: SQSEvent): Promise<SQSBatchResponse> {
  const deadline = new AbortController();
  const timeLeftMs = deps.remainingTimeMs() - deps.reserveMs;
  if (timeLeftMs <= 0) deadline.abort(new LaunchDeadlineError());
  const timer = setTimeout(() => deadline.abort(new LaunchDeadlineError()), Math.max(0, timeLeftMs));
  try {
    // One processor per invocation: its state must not be shared by overlapping invocations (local runs).
    const processor = new BatchProcessor(EventType.SQS);
    return await processPartialResponse(
      event,
      (record: SQSRecord) => processLaunchRecord(deps, record, deadline.signal),
      processor,
      { processInParallel: false, throwOnFullBatchFailure: false },
    );
  } finally {
    clearTimeout(timer);
  }
}

/** Handles one message; resolves with its outcome, or rejects (a batch item failure) to have it retried. */
async function processLaunchRecord(
  deps: LaunchBatchDeps,
  record: SQSRecord,
  signal: AbortSignal,
): Promise<MessageOutcome> {
  const receiveCount = receiveCountOf(record);
  const base = { messageId: record.messageId, receiveCount };
  let request: LaunchRequest | undefined;
  // Read apart from validation: even a request refused as invalid answers the state machine waiting on it.
  const taskToken = deps.tasks ? taskTokenOf(record.body) : undefined;
  try {
    const read = readLaunchRequest(deps, record);
    if (read.kind === 'ignore') {
      report(deps, 'ignored', 'info', { ...base, reason: read.reason });
      return 'ignored';
    }
    request = read.request;
    signal.throwIfAborted();
    if (taskToken !== undefined) await deps.tasks?.attach(request.key, taskToken);
    const result = await deps.launch(request, { signal });
    const outcome: MessageOutcome = result.replayed ? 'duplicate' : result.outcome;
    // A duplicate with a token reattaches to the execution its key started, as a first request does.
    if (taskToken !== undefined && !(await deps.tasks?.markAwaited(result.executionId))) {
      deps.logger.error('the execution of an awaited launch is not stored: its result cannot be sent', {
        ...base,
        key: request.key,
        executionId: result.executionId,
      });
    }
    // A repeat under its idempotency key: recorded under its own message id, for whoever waits on that message.
    if (outcome === 'duplicate' && request.key !== `messageId:${record.messageId}`) {
      await recordOutcome(deps, `messageId:${record.messageId}`, {
        outcome: 'duplicate',
        executionId: result.executionId,
        jobId: request.jobId,
        messageId: record.messageId,
      });
    }
    report(deps, outcome, 'info', {
      ...base,
      key: request.key,
      jobId: request.jobId,
      executionId: result.executionId,
      ...(taskToken === undefined ? {} : { awaited: true }),
    });
    return outcome;
  } catch (error) {
    const decision = lastDeliveryGivesUp(classifyLaunchFailure(error, request), receiveCount, deps);
    const context = { ...base, key: request?.key, jobId: request?.jobId, reason: decision.reason };
    if (decision.action === 'dead-letter') {
      await giveUp(deps, record, { receiveCount, decision, context, request, taskToken });
      return 'dead-lettered';
    }
    await retryLater(deps, record, receiveCount, context, decision.retryAfterMs);
    if (taskToken !== undefined) await deps.tasks?.heartbeat(taskToken);
    throw error instanceof Error ? error : new Error(decision.reason);
  }
}

/**
 * The launch request a message carries (a launch message, or an S3 event of the inbox), its file references
 * checked before anything is recorded: a bad one refuses the request at once. Throws on an invalid message.
 */
function readLaunchRequest(
  deps: LaunchBatchDeps,
  record: SQSRecord,
): { kind: 'ignore'; reason: string } | { kind: 'request'; request: LaunchRequest } {
  const parsed = parseLaunchBody(record.body);
  let message: { jobId: string; input?: Record<string, unknown>; idempotencyKey?: string };
  if (parsed.kind === 's3-event') {
    const inbox = inboxRequest(parsed.event, deps.inbox?.bucket, deps.inbox?.rules ?? []);
    if (inbox.kind === 'ignore') return inbox;
    message = inbox;
  } else {
    message = parsed.message;
  }
  const references = findFileReferences(message.input, deps.readable ?? []);
  return {
    kind: 'request',
    request: {
      key:
        message.idempotencyKey === undefined
          ? `messageId:${record.messageId}`
          : `idempotencyKey:${message.idempotencyKey}`,
      jobId: message.jobId,
      ...(message.input === undefined ? {} : { input: message.input }),
      ...(references.length > 0 ? { references } : {}),
      launch: {
        idempotencyKey: message.idempotencyKey ?? null,
        messageId: record.messageId,
        requestedAt: sentAt(record, deps.now()),
      },
    },
  };
}

/**
 * A request given up for good: its task token (if any) is failed first, then the message goes to the DLQ and
 * the refusal is recorded. If the token or the DLQ cannot be told, the message is retried instead (throws):
 * nothing is dead-lettered half-way.
 */
async function giveUp(
  deps: LaunchBatchDeps,
  record: SQSRecord,
  failure: {
    receiveCount: number;
    decision: Extract<FailureDecision, { action: 'dead-letter' }>;
    context: Record<string, unknown>;
    request: LaunchRequest | undefined;
    taskToken: string | undefined;
  },
): Promise<void> {
  const { receiveCount, decision, context, request, taskToken } = failure;
  const refusal = {
    reason: decision.reason,
    failureKind: decision.kind,
    messageId: record.messageId,
    ...(request ? { jobId: request.jobId } : {}),
  };
  if (taskToken !== undefined) {
    try {
      // Before the dead letter: if this fails, the message is retried and nothing is dead-lettered yet.
      await deps.tasks?.reject(taskToken, refusal);
    } catch (callbackError) {
      const reason = `could not send the refusal to its task token (${describe(callbackError)}); ${decision.reason}`;
      await retryLater(deps, record, receiveCount, { ...context, reason }, undefined);
      throw new Error(reason, { cause: callbackError });
    }
  }
  try {
    await deps.queue.deadLetter({
      body: record.body,
      kind: decision.kind,
      reason: decision.reason,
      sourceMessageId: record.messageId,
      failedAt: new Date(deps.now()).toISOString(),
    });
  } catch (sendError) {
    const reason = `could not send to the dead-letter queue (${describe(sendError)}); ${decision.reason}`;
    await retryLater(deps, record, receiveCount, { ...context, reason }, undefined);
    throw new Error(reason, { cause: sendError });
  }
  report(deps, 'dead-lettered', 'error', { ...context, failureKind: decision.kind });
  // A key reused for another request belongs to that request: this refusal is recorded under the message.
  const key =
    request === undefined || decision.kind === 'idempotency-key-reused'
      ? `messageId:${record.messageId}`
      : request.key;
  await recordOutcome(deps, key, { outcome: 'refused', ...refusal });
}

/**
 * The one place where failures become outcomes. Never retried: an invalid message, a key reused for a
 * different request, and any API 4xx other than 429 (unknown job, job without pipeline, rejected input,
 * refused key). Everything else is retried: 429, 5xx, network failures and timeouts (an ambiguous create
 * is resolved by the retry's lookup), unreadable responses, store failures, a request in progress elsewhere.
 */
export function classifyLaunchFailure(error: unknown, request?: LaunchRequest): FailureDecision {
  if (error instanceof InvalidLaunchMessageError) {
    return { action: 'dead-letter', kind: 'invalid-message', reason: error.message };
  }
  if (error instanceof FileReferenceError) {
    return {
      action: 'dead-letter',
      kind: 'invalid-message',
      reason: `invalid file reference: ${error.message}`,
    };
  }
  if (error instanceof ObjectRefusedError) {
    return { action: 'dead-letter', kind: 'file-refused', reason: error.message };
  }
  if (error instanceof IdempotencyValidationError) {
    return {
      action: 'dead-letter',
      kind: 'idempotency-key-reused',
      reason:
        'idempotencyKey was already used for a different request (another jobId or input); ' +
        'use a new key for a new launch',
    };
  }
  if (error instanceof IdempotencyAlreadyInProgressError) {
    return { action: 'retry', reason: 'another delivery of this launch request is in progress' };
  }
  if (error instanceof ProductLiveRateLimitError) {
    return {
      action: 'retry',
      reason: describe(error),
      ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    };
  }
  if (
    error instanceof ProductLiveApiError &&
    error.status >= 400 &&
    error.status < 500 &&
    error.status !== 429
  ) {
    const answer = `HTTP ${error.status}${error.body ? `: ${snippet(error.body)}` : ''}`;
    let reason = `Product-Live refused the launch (${answer})`;
    if (error.operation === 'upload') {
      reason =
        error.status === 413
          ? `Product-Live refused the file as too large (${answer})`
          : `Product-Live refused the file upload (${answer})`;
    } else if (error instanceof ProductLiveNotFoundError) {
      reason = `unknown jobId${request ? ` ${request.jobId}` : ''}: Product-Live answered ${answer}`;
    } else if (error instanceof ProductLiveAuthError) {
      reason = `Product-Live refused the API key (${answer}); fix the key, then redrive this message`;
    }
    return { action: 'dead-letter', kind: 'rejected-by-api', reason };
  }
  if (isOutcomeUnknown(error) && !startedNothing(error)) {
    return {
      action: 'retry',
      reason: `${describe(error)} (the job may have started; the retry checks first)`,
    };
  }
  return { action: 'retry', reason: describe(error) };
}

/** Records a refusal for the waiter; a failure to record it is logged: the dead letter holds the reason anyway. */
async function recordOutcome(deps: LaunchBatchDeps, key: string, record: LaunchRecord): Promise<void> {
  try {
    await deps.recordOutcome?.(key, record);
  } catch (error) {
    deps.logger.warn(`could not record the ${record.outcome} outcome of a launch request`, {
      key,
      error: describe(error),
    });
  }
}

/** A retry on the last delivery the queue allows becomes a dead letter that says why. */
function lastDeliveryGivesUp(
  decision: FailureDecision,
  receiveCount: number,
  deps: Pick<LaunchBatchDeps, 'maxReceiveCount'>,
): FailureDecision {
  if (decision.action !== 'retry' || deps.maxReceiveCount === undefined) return decision;
  if (receiveCount < deps.maxReceiveCount) return decision;
  return {
    action: 'dead-letter',
    kind: 'retries-exhausted',
    reason: `still failing after ${receiveCount} deliveries; last failure: ${decision.reason}`,
  };
}

/** Seconds a retried message stays invisible: exponential in its receive count, never below Retry-After. */
export function retryDelaySeconds(
  receiveCount: number,
  retryAfterMs: number | undefined,
  backoff: RetryBackoff = DEFAULT_RETRY_BACKOFF,
): number {
  const exponent = Math.min(30, Math.max(0, receiveCount - 1));
  const exponential = Math.min(backoff.maxSeconds, backoff.baseSeconds * 2 ** exponent);
  const floor = retryAfterMs === undefined ? 0 : Math.ceil(retryAfterMs / 1000);
  return Math.max(exponential, floor);
}

async function retryLater(
  deps: LaunchBatchDeps,
  record: SQSRecord,
  receiveCount: number,
  context: Record<string, unknown>,
  retryAfterMs: number | undefined,
): Promise<void> {
  const retryInSeconds = retryDelaySeconds(receiveCount, retryAfterMs, deps.retryBackoff);
  try {
    await deps.queue.delayRetry(record.receiptHandle, retryInSeconds);
  } catch (error) {
    // The message still comes back, after the queue's own visibility timeout.
    deps.logger.warn('could not delay the retry of a launch message', {
      messageId: record.messageId,
      error: describe(error),
    });
  }
  report(deps, 'retry', 'warn', { ...context, retryInSeconds });
}

function report(
  deps: LaunchBatchDeps,
  outcome: MessageOutcome,
  level: 'info' | 'warn' | 'error',
  attributes: Record<string, unknown>,
): void {
  deps.logger[level](`launch ${outcome}`, { outcome, ...attributes });
  deps.onOutcome?.(outcome);
}

/** When the message was sent to the queue (SQS's SentTimestamp), else now. */
function sentAt(record: SQSRecord, nowMs: number): string {
  const sent = Number(record.attributes?.SentTimestamp);
  return new Date(Number.isFinite(sent) && sent > 0 ? sent : nowMs).toISOString();
}

function receiveCountOf(record: SQSRecord): number {
  const count = Number(record.attributes?.ApproximateReceiveCount);
  return Number.isInteger(count) && count >= 1 ? count : 1;
}

function snippet(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
