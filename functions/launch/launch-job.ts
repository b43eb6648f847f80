// Layer flow: launch record processing (inside the Powertools idempotency wrapper) -> launchJob (use case)
// -> Product-Live client (create, find), attempt store (markers, claims), execution repository.
// Dependencies are passed in; nothing here reads the environment.
//
// Why markers and claims, and where the guarantee ends: docs/launches.md "Exactly once".
import { MAX_INLINE_RAW_BYTES } from '../core/defaults';
import { describeError } from '../core/errors';
import { fingerprint, mergeFileCopies, toExecutionFields } from '../core/executions/execution-record';
import type { AppLogger } from '../core/observability';
import { findAllPages } from '../core/product-live/find-pages';
import { and, eq, greaterOrEqual } from '../core/product-live/find-query';
import { startedNothing } from '../core/product-live/product-live.errors';
import type {
  CreateJobExecutionRequest,
  FindQuery,
  JobExecution,
  JobExecutionList,
} from '../core/product-live/product-live.schema';
import type { CallOptions, PageOptions } from '../core/product-live/product-live-client';
import type { ExecutionItem, WriteOutcome } from '../core/store/execution-repository';

/** The Product-Live calls a launch makes; `ProductLiveClient` fits. */
export interface LaunchApi {
  createJobExecution(request: CreateJobExecutionRequest, options?: CallOptions): Promise<JobExecution>;
  findJobExecutions(query: FindQuery, options?: PageOptions & CallOptions): Promise<JobExecutionList>;
}

/** What `launchJob` knows of earlier attempts for a launch key. */
export interface LaunchAttempt {
  /** Epoch ms of the first attempt ever recorded for the key (this one, when it is the first). */
  firstAttemptAt: number;
  /** Attempts recorded for the key before this one. */
  previousAttempts: number;
  /** Earlier attempts not known to have started nothing: each may have created an execution. */
  unsettledAttempts: number;
}

/** Attempt markers and execution claims (the idempotency table in AWS). */
export interface LaunchAttemptStore {
  /** Records an attempt for `key`, keeping the earliest first-attempt time. */
  recordAttempt(key: string, jobId: string, nowMs: number): Promise<LaunchAttempt>;
  /** Records that one attempt for `key` certainly started no execution. */
  settleAttempt(key: string, nowMs: number): Promise<void>;
  /** Makes `key` own `executionId` unless another key does; true when `key` owns it afterwards. */
  claimExecution(executionId: string, key: string, nowMs: number): Promise<boolean>;
  /** The owning key of each claimed execution among `executionIds`. */
  findClaims(executionIds: readonly string[]): Promise<Map<string, string>>;
}

export interface LaunchDeps {
  api: LaunchApi;
  executions: { insertIfAbsent(item: ExecutionItem): Promise<WriteOutcome> };
  attempts: LaunchAttemptStore;
  now: () => number;
  logger: AppLogger;
  /** How far before the first attempt an execution's `createdAt` may lie (clocks differ). Default 60 s. */
  clockSkewMs?: number;
  /** Page size of the lookup of an earlier launch. Default 200. */
  lookupPageSize?: number;
}

/** One launch request, keyed. */
export interface LaunchRequest {
  /** The launch key: `idempotencyKey:<key>` when the message has one, else `messageId:<SQS message id>`. */
  key: string;
  jobId: string;
  input?: Record<string, unknown>;
}

/** `launched`: this call created the execution; `adopted`: an earlier, interrupted attempt had created it. */
export type LaunchOutcome = 'launched' | 'adopted';

/** The result stored in the idempotency record and returned to duplicates (plain JSON). */
export interface LaunchResult {
  outcome: LaunchOutcome;
  executionId: string;
  jobId: string;
  status: string;
  createdAt: string;
}

export interface LaunchOptions {
  /** Abandons API calls still waiting for the rate budget (and in-flight ones) when it aborts. */
  signal?: AbortSignal;
}

/** Raised when the lookup of an earlier launch finds more executions than it can page through. */
export class EarlierLaunchLookupError extends Error {
  override readonly name = 'EarlierLaunchLookupError';
}

export const DEFAULT_CLOCK_SKEW_MS = 60_000;
const DEFAULT_LOOKUP_PAGE_SIZE = 200;
const MAX_LOOKUP_PAGES = 25;

/**
 * Starts the job of `request` at most once per launch key: records an attempt marker, adopts the
 * execution of an earlier interrupted attempt when there is one, else creates the execution; then claims
 * the execution for the key and records it in the executions table (a later sync's view is never
 * overwritten). API and store failures propagate; the marker stays, so a retry resolves an ambiguous create.
 * A failure that proves nothing was started settles the attempt, so that the retry need not look first.
 */
export async function launchJob(
  deps: LaunchDeps,
  request: LaunchRequest,
  options: LaunchOptions = {},
): Promise<LaunchResult> {
  const attempt = await deps.attempts.recordAttempt(request.key, request.jobId, deps.now());
  let phase: 'before-create' | 'create' | 'after-create' = 'before-create';
  try {
    if (attempt.unsettledAttempts > 0) {
      const earlier = await findEarlierLaunch(deps, request, attempt.firstAttemptAt, options.signal);
      if (earlier) {
        await recordExecution(deps, earlier);
        return toResult('adopted', earlier);
      }
    }

    phase = 'create';
    const execution = await deps.api.createJobExecution(
      request.input === undefined ? { jobId: request.jobId } : { jobId: request.jobId, input: request.input },
      { signal: options.signal },
    );
    phase = 'after-create';
    if (!(await deps.attempts.claimExecution(execution.id, request.key, deps.now()))) {
      // Another key's lookup adopted this execution in the instant between create and claim: both
      // requests now report it. Only an identical launch (same job and input) can get here.
      deps.logger.warn('launched execution was already claimed by another launch key', {
        key: request.key,
        executionId: execution.id,
        jobId: request.jobId,
      });
    }
    await recordExecution(deps, execution);
    return toResult('launched', execution);
  } catch (error) {
    if (phase === 'before-create' || (phase === 'create' && startedNothing(error))) {
      await settle(deps, request.key);
    }
    throw error;
  }
}

/** Settles the attempt; if that fails, the attempt stays unsettled and the retry merely looks first. */
async function settle(deps: LaunchDeps, key: string): Promise<void> {
  try {
    await deps.attempts.settleAttempt(key, deps.now());
  } catch (error) {
    deps.logger.warn('could not settle a launch attempt; its retry will look for an earlier launch first', {
      key,
      error: describeError(error),
    });
  }
}

/**
 * An execution created by an earlier attempt for the same key: same job, `createdAt` at or after the first
 * attempt minus the skew allowance, same input (ignoring `input.context`), and owned by this key or by
 * none (it is claimed on the way). Prefers one the key already owns, then the earliest.
 */
async function findEarlierLaunch(
  deps: LaunchDeps,
  request: LaunchRequest,
  firstAttemptAt: number,
  signal: AbortSignal | undefined,
): Promise<JobExecution | undefined> {
  const sinceMs = firstAttemptAt - (deps.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS);
  // Only operators the public documentation confirms (eq, greaterOrEqual, and).
  const query = and(eq('jobId', request.jobId), greaterOrEqual('createdAt', new Date(sinceMs)));
  const size = deps.lookupPageSize ?? DEFAULT_LOOKUP_PAGE_SIZE;
  const wanted = inputFingerprint(request.input);
  const candidates = new Map<string, JobExecution>();
  for await (const page of findAllPages(deps.api, query, { size, ...(signal ? { signal } : {}) })) {
    if (page.page >= MAX_LOOKUP_PAGES) {
      throw new EarlierLaunchLookupError(
        `more than ${MAX_LOOKUP_PAGES * size} executions of job ${request.jobId} since ${new Date(sinceMs).toISOString()}; cannot tell whether an earlier attempt started one`,
      );
    }
    for (const execution of page.data) {
      // The result order is undocumented and offset pages drift: filter and dedupe here.
      if (execution.jobId !== request.jobId) continue;
      if (!(Date.parse(execution.createdAt) >= sinceMs)) continue;
      if (inputFingerprint(execution.input) !== wanted) continue;
      candidates.set(execution.id, execution);
    }
  }
  if (candidates.size === 0) return undefined;

  const ordered = [...candidates.values()].sort(
    (a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  const owners = await deps.attempts.findClaims(ordered.map((execution) => execution.id));
  const own = ordered.find((execution) => owners.get(execution.id) === request.key);
  if (own) return own;
  for (const execution of ordered) {
    if (owners.has(execution.id)) continue;
    if (await deps.attempts.claimExecution(execution.id, request.key, deps.now())) return execution;
  }
  return undefined;
}

/** The input as the caller sent it: the platform adds `input.context`, so it is left out on both sides. */
function inputFingerprint(input: unknown): string {
  if (input === undefined || input === null) return fingerprint({});
  if (typeof input !== 'object' || Array.isArray(input)) return fingerprint(input);
  const { context: _context, ...rest } = input as Record<string, unknown>;
  return fingerprint(rest);
}

/** Inserts the execution unless any view of it is stored (a sync's view always wins). */
async function recordExecution(deps: LaunchDeps, execution: JobExecution): Promise<void> {
  const fields = toExecutionFields(execution);
  if (Buffer.byteLength(fields.raw) > MAX_INLINE_RAW_BYTES) {
    deps.logger.warn('launched execution too large to record inline; the next sync stores it', {
      executionId: execution.id,
    });
    return;
  }
  const nowIso = new Date(deps.now()).toISOString();
  await deps.executions.insertIfAbsent({
    ...fields,
    files: mergeFileCopies(execution, [], nowIso),
    firstSyncedAt: nowIso,
    syncedAt: nowIso,
    source: 'launch',
  });
}

function toResult(outcome: LaunchOutcome, execution: JobExecution): LaunchResult {
  return {
    outcome,
    executionId: execution.id,
    jobId: execution.jobId,
    status: execution.status,
    createdAt: execution.createdAt,
  };
}
