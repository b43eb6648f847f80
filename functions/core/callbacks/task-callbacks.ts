// Layer flow: the callbacks function (a settled execution), the launch function (a refused request) and the
// follow function (open executions) -> these use cases -> the task tokens of the request (TaskTokenRepository)
// and a TaskCallbackClient (Step Functions in AWS, a file locally). What a waiting state machine receives:
// SendTaskSuccess for COMPLETED, SendTaskFailure `ProductLive.<STATUS>` for any other end and
// `ProductLive.Rejected` for a refused request, SendTaskHeartbeat while open (docs/launches.md "Step Functions").
// A token Step Functions refuses is marked and never retried; any other failure propagates, to be retried.
import { describeError } from '../errors';
import { executionS3Prefix, isSettled, type LaunchInfo } from '../executions/execution-record';
import type { AppLogger } from '../observability';
import type { ExecutionItem } from '../store/execution-repository';
import { launchKeyOf, type StoredTaskToken } from '../store/task-token-repository';

/** Step Functions' limit on a task's output (SendTaskSuccess), in bytes. */
const MAX_TASK_OUTPUT_BYTES = 256 * 1024;
/** Step Functions' limit on a failure's cause (SendTaskFailure), in characters. */
const MAX_TASK_CAUSE_CHARS = 32_768;
/** The error of a request that was refused (dead-lettered) instead of launched. */
export const REJECTED_ERROR = 'ProductLive.Rejected';

/** Step Functions no longer accepts the token (timed out, unknown, invalid): nothing more is sent to it. */
export class TaskTokenRejectedError extends Error {
  override readonly name = 'TaskTokenRejectedError';
}

/** Sends task callbacks. A token Step Functions refuses throws TaskTokenRejectedError; anything else is retried. */
export interface TaskCallbackClient {
  success(token: string, output: string): Promise<void>;
  failure(token: string, error: string, cause: string): Promise<void>;
  heartbeat(token: string): Promise<void>;
}

/** The tokens of launch requests, as task-token-repository.ts keeps them. */
export interface TaskTokenStore {
  tokensOf(launchKey: string): Promise<StoredTaskToken[]>;
  markSent(launchKey: string, id: string, nowMs: number): Promise<void>;
  markRejected(launchKey: string, id: string, reason: string, nowMs: number): Promise<void>;
  markHeartbeat(launchKey: string, id: string, nowMs: number): Promise<void>;
}

export interface CallbackDeps {
  client: TaskCallbackClient;
  tokens: TaskTokenStore;
  now: () => number;
  logger: AppLogger;
  /** Told of each token Step Functions refused (a metric). */
  onRejected?: () => void;
}

/** One file of a task's output: its copy in S3 (`s3Uri` null when the copy failed for good). */
export interface TaskOutputFile {
  path: string;
  s3Uri: string | null;
  size: number | null;
  sha256: string | null;
  status: 'copied' | 'failed';
}

/** What a state machine receives for an ended execution (the output of success, the `cause` of failure). */
export interface TaskResultOutput {
  executionId: string;
  jobId: string;
  status: string;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  /** The execution's `output` as Product-Live returned it (null when left out to fit, see `omitted`). */
  output: unknown;
  files: TaskOutputFile[];
  /** Present only when something did not fit in Step Functions' limit: what was left out, and where it is. */
  omitted?: { output: boolean; files: number; readFrom: string };
}

/** The callback of an ended execution: success for COMPLETED, else failure `ProductLive.<STATUS>`. */
export type TaskResult =
  | { kind: 'success'; output: string }
  | { kind: 'failure'; error: string; cause: string };

/** Reads an execution's `output` from its stored item (offloaded ones from S3). */
export type OutputLoader = (item: ExecutionItem) => Promise<unknown>;

/**
 * The callback for a settled execution, within Step Functions' limits: when the whole does not fit, `output`
 * is left out first, then files from the end, and `omitted` says so and where to read everything.
 */
function taskResultOf(item: ExecutionItem, output: unknown, filesBucket: string): TaskResult {
  const files: TaskOutputFile[] = (item.files ?? []).map((file) => {
    const copied = file.status === 'copied';
    return {
      path: file.path,
      s3Uri: copied ? `s3://${filesBucket}/${file.s3Key}` : null,
      size: copied && typeof file.size === 'number' ? file.size : null,
      sha256: copied ? (file.sha256 ?? null) : null,
      status: copied ? 'copied' : 'failed',
    };
  });
  const whole: TaskResultOutput = {
    executionId: item.id,
    jobId: item.jobId,
    status: item.status,
    createdAt: item.createdAt,
    startedAt: item.startedAt ?? null,
    endedAt: item.endedAt ?? null,
    durationMs: typeof item.durationMs === 'number' ? item.durationMs : null,
    output: output ?? null,
    files,
  };
  const readFrom = `the executions table (npm run history -- show ${item.id}) and s3://${filesBucket}/${executionS3Prefix(item)}/`;
  if (item.status === 'COMPLETED') {
    return { kind: 'success', output: fitted(whole, readFrom, MAX_TASK_OUTPUT_BYTES, byteLength) };
  }
  const message = `Product-Live job ${item.jobId}: execution ${item.id} ended ${item.status}${
    typeof item.durationMs === 'number' ? ` after ${Math.round(item.durationMs / 1000)} s` : ''
  }`;
  return {
    kind: 'failure',
    error: `ProductLive.${item.status}`,
    cause: fitted({ message, ...whole }, readFrom, MAX_TASK_CAUSE_CHARS, (text) => text.length),
  };
}

/** The JSON of `value`, with `output` then trailing files left out until it is at most `limit` long. */
function fitted<T extends TaskResultOutput>(
  value: T,
  readFrom: string,
  limit: number,
  measure: (text: string) => number,
): string {
  let text = JSON.stringify(value);
  if (measure(text) <= limit) return text;
  const omitted = { output: value.output !== null, files: 0, readFrom };
  let files = value.files;
  text = JSON.stringify({ ...value, output: null, omitted });
  while (measure(text) > limit && files.length > 0) {
    // Drop about as many files as the excess needs, at least one.
    const excess = measure(text) - limit;
    const per = Math.max(1, Math.ceil(measure(JSON.stringify(files)) / files.length));
    const drop = Math.min(files.length, Math.max(1, Math.ceil(excess / per)));
    files = files.slice(0, files.length - drop);
    omitted.files = value.files.length - files.length;
    text = JSON.stringify({ ...value, output: null, files, omitted });
  }
  return text;
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** What a round of callbacks did. */
export interface CallbackCounts {
  sent: number;
  rejected: number;
}

/**
 * Sends a settled execution's result to every token still waiting on its launch request and marks each one
 * sent. A failure other than a refused token propagates (the stream delivers the record again: a token whose
 * callback went out but was not marked gets it twice, never none).
 */
export async function sendResult(
  deps: CallbackDeps,
  item: ExecutionItem & { launch: LaunchInfo },
  loadOutput: OutputLoader,
  filesBucket: string,
): Promise<CallbackCounts> {
  const key = launchKeyOf(item.launch);
  const waiting = (await deps.tokens.tokensOf(key)).filter((token) => token.state === 'waiting');
  const counts: CallbackCounts = { sent: 0, rejected: 0 };
  if (waiting.length === 0) return counts;
  const result = taskResultOf(item, await loadOutput(item), filesBucket);
  for (const token of waiting) {
    const sent = await sendOrReject(deps, key, token, item.id, async () => {
      if (result.kind === 'success') await deps.client.success(token.token, result.output);
      else await deps.client.failure(token.token, result.error, result.cause);
    });
    if (sent) {
      await deps.tokens.markSent(key, token.id, deps.now());
      counts.sent += 1;
      deps.logger.info('task result sent', {
        executionId: item.id,
        tokenId: token.id,
        callback: result.kind === 'success' ? 'SendTaskSuccess' : `SendTaskFailure ${result.error}`,
      });
    } else {
      counts.rejected += 1;
    }
  }
  return counts;
}

/** A refused (dead-lettered) request's failure for its token: `ProductLive.Rejected` with the reason. */
export async function sendRejection(
  deps: Omit<CallbackDeps, 'tokens'>,
  token: string,
  refusal: { reason: string; failureKind: string; messageId: string; jobId?: string },
): Promise<boolean> {
  const cause = JSON.stringify({
    message: refusal.reason.slice(0, MAX_TASK_CAUSE_CHARS / 2),
    ...refusal,
  }).slice(0, MAX_TASK_CAUSE_CHARS);
  try {
    await deps.client.failure(token, REJECTED_ERROR, cause);
    return true;
  } catch (error) {
    if (!(error instanceof TaskTokenRejectedError)) throw error;
    deps.logger.warn('Step Functions refused the task token of a refused launch request', {
      messageId: refusal.messageId,
      reason: error.message,
    });
    deps.onRejected?.();
    return false;
  }
}

/**
 * Sends a heartbeat to every token waiting on each open execution; a refused token is marked and gets
 * nothing more. Returns the executions none of whose tokens still waits (their follow-up ends). Heartbeats
 * are best effort: any other failure is logged and the next pass sends again.
 */
export async function sendHeartbeats(
  deps: CallbackDeps,
  executions: ReadonlyArray<{ id: string; launch?: LaunchInfo | undefined }>,
): Promise<{ sent: number; rejected: number; unawaited: string[] }> {
  const outcome = { sent: 0, rejected: 0, unawaited: [] as string[] };
  for (const execution of executions) {
    if (!execution.launch?.awaited) continue;
    const key = launchKeyOf(execution.launch);
    let waiting: StoredTaskToken[];
    try {
      waiting = (await deps.tokens.tokensOf(key)).filter((token) => token.state === 'waiting');
    } catch (error) {
      deps.logger.warn('could not read the task tokens of an open execution', {
        executionId: execution.id,
        error: describeError(error),
      });
      continue;
    }
    let alive = 0;
    for (const token of waiting) {
      try {
        if (await sendOrReject(deps, key, token, execution.id, () => deps.client.heartbeat(token.token))) {
          await deps.tokens.markHeartbeat(key, token.id, deps.now());
          outcome.sent += 1;
          alive += 1;
        } else {
          outcome.rejected += 1;
        }
      } catch (error) {
        alive += 1;
        deps.logger.warn('task heartbeat not sent; the next pass sends it again', {
          executionId: execution.id,
          tokenId: token.id,
          error: describeError(error),
        });
      }
    }
    if (alive === 0) outcome.unawaited.push(execution.id);
  }
  return outcome;
}

/** Runs a callback: true when sent, false when Step Functions refused the token (marked rejected). */
async function sendOrReject(
  deps: CallbackDeps,
  key: string,
  token: StoredTaskToken,
  executionId: string,
  send: () => Promise<void>,
): Promise<boolean> {
  try {
    await send();
    return true;
  } catch (error) {
    if (!(error instanceof TaskTokenRejectedError)) throw error;
    await deps.tokens.markRejected(key, token.id, error.message, deps.now());
    deps.onRejected?.();
    deps.logger.warn('Step Functions refused a task token; nothing more is sent to it', {
      executionId,
      tokenId: token.id,
      reason: error.message,
    });
    return false;
  }
}

/**
 * True when a write makes a result due to the tokens of the execution's launch: the execution is settled and
 * awaited after it, and before it was not, or a token was attached since (a reattached waiter).
 */
export function callbackDue(
  before: ExecutionItem | undefined,
  after: ExecutionItem | undefined,
): after is ExecutionItem & { launch: LaunchInfo } {
  if (!after?.launch?.awaited || !isSettled(after)) return false;
  if (!before?.launch?.awaited || !isSettled(before)) return true;
  return (before.launch.waiters ?? 0) !== (after.launch.waiters ?? 0);
}
