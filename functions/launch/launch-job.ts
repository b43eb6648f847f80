// Layer flow: launch record processing (inside the Powertools idempotency wrapper) -> launchJob (use case)
// -> S3 (the referenced objects: HeadObject, then streamed), Product-Live client (upload, create, find), attempt
// store (markers with the uploads made, claims, outcomes), execution repository. Dependencies are passed in;
// nothing here reads the environment.
//
// Why markers and claims, and where the guarantee ends: docs/launches.md "Exactly once".
import { MAX_INLINE_RAW_BYTES } from '#core/defaults';
import { describeError } from '#core/errors';
import type { LaunchInfo } from '#core/executions/execution-record';
import { fingerprint, mergeFileCopies, toExecutionFields } from '#core/executions/execution-record';
import type { AppLogger } from '#core/observability';
import { findAllPages } from '#core/product-live/find-pages';
import { and, eq, greaterOrEqual } from '#core/product-live/find-query';
import { startedNothing } from '#core/product-live/product-live.errors';
import type {
  CreateJobExecutionRequest,
  FindQuery,
  JobExecution,
  JobExecutionList,
} from '#core/product-live/product-live.schema';
import type {
  CallOptions,
  PageOptions,
  UploadedFile,
  UploadSource,
} from '#core/product-live/product-live-client';
import type { ExecutionItem, WriteOutcome } from '#core/store/execution-repository';
import { type FileReference, pathKey, replaceFileReferences } from './file-references';
import type { ObjectInfo, ObjectSource } from './s3-objects';

/** The Product-Live calls a launch makes; `ProductLiveClient` fits. */
export interface LaunchApi {
  createJobExecution(request: CreateJobExecutionRequest, options?: CallOptions): Promise<JobExecution>;
  findJobExecutions(query: FindQuery, options?: PageOptions & CallOptions): Promise<JobExecutionList>;
  uploadFile(source: UploadSource, options?: CallOptions): Promise<UploadedFile>;
}

/** A file uploaded for a launch key, kept on its attempt marker: later attempts reuse it. */
export interface RecordedUpload {
  /** The object it was uploaded from: `s3://bucket/key`, with `?versionId=` when versioned. */
  source: string;
  /** The `data_factory_file` Product-Live answered. */
  file: UploadedFile;
  uploadedAt: string;
}

/** What became of a launch request (its attempt marker; `npm run launch -- --wait` reads it). */
export interface LaunchRecord {
  /**
   * launched/adopted: the request's key started `executionId`; refused: dead-lettered; duplicate (recorded under
   * `messageId:<id>` only): this message repeated a request its key had already started.
   */
  outcome: 'launched' | 'adopted' | 'refused' | 'duplicate';
  executionId?: string;
  jobId?: string;
  /** Why the request was refused (dead-lettered): the DLQ message's FailureReason. */
  reason?: string;
  failureKind?: string;
  messageId?: string;
}

/** What `launchJob` knows of earlier attempts for a launch key. */
export interface LaunchAttempt {
  /** Epoch ms of the first attempt ever recorded for the key (this one, when it is the first). */
  firstAttemptAt: number;
  /** Attempts recorded for the key before this one. */
  previousAttempts: number;
  /** Earlier attempts not known to have started nothing: each may have created an execution. */
  unsettledAttempts: number;
  /** Files uploaded by earlier attempts, by input path (pathKey). */
  uploads: Record<string, RecordedUpload>;
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
  /** Records a file uploaded for `key` at an input path (before the create). */
  recordUpload(key: string, path: string, upload: RecordedUpload): Promise<void>;
  /** Records the execution the request started, or why it was refused. */
  recordOutcome(key: string, record: LaunchRecord, nowMs: number): Promise<void>;
}

export interface LaunchDeps {
  api: LaunchApi;
  executions: {
    insertIfAbsent(item: ExecutionItem): Promise<WriteOutcome>;
    setLaunch(item: Pick<ExecutionItem, 'id' | 'createdAt'>, launch: LaunchInfo): Promise<WriteOutcome>;
  };
  attempts: LaunchAttemptStore;
  now: () => number;
  logger: AppLogger;
  /** How far before the first attempt an execution's `createdAt` may lie (clocks differ). Default 60 s. */
  clockSkewMs?: number;
  /** Page size of the lookup of an earlier launch. Default 200. */
  lookupPageSize?: number;
  /** The S3 objects that requests reference (absent: a request with file references cannot be served). */
  objects?: ObjectSource;
}

/** One launch request, keyed. */
export interface LaunchRequest {
  /** The launch key: `idempotencyKey:<key>` when the message has one, else `messageId:<SQS message id>`. */
  key: string;
  jobId: string;
  input?: Record<string, unknown>;
  /** The file references of `input` (found and checked when the message was parsed). */
  references?: readonly FileReference[];
  /** The request as the history records it on its execution (absent: nothing is recorded). */
  launch?: LaunchInfo;
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
 * Starts the job of `request` at most once per launch key: records an attempt marker; checks every referenced
 * S3 object not uploaded yet (HeadObject: a missing, unreadable or too large one refuses the request before
 * anything is uploaded); adopts the execution of an earlier interrupted attempt when there is one; else
 * uploads each file not uploaded yet, recording it on the marker before the next step, and creates the
 * execution with the files in place of their references; then claims the execution for the key and records
 * it in the executions table (a later sync's view is never overwritten). API and store failures propagate; the
 * marker stays, so a retry resolves an ambiguous create and reuses the uploads. A failure that proves nothing
 * was started settles the attempt, so that the retry need not look first. docs/launches.md "Exactly once".
 */
export async function launchJob(
  deps: LaunchDeps,
  request: LaunchRequest,
  options: LaunchOptions = {},
): Promise<LaunchResult> {
  const attempt = await deps.attempts.recordAttempt(request.key, request.jobId, deps.now());
  let phase: 'before-create' | 'create' | 'after-create' = 'before-create';
  try {
    const references = request.references ?? [];
    const toUpload = references.filter((reference) => !attempt.uploads[pathKey(reference.path)]);
    // Every object is checked before the first upload: a request that would be refused uploads nothing.
    const checked = await checkObjects(deps, toUpload, options.signal);
    // Every create follows the recording of all its uploads: with one missing, no earlier attempt created.
    if (attempt.unsettledAttempts > 0 && toUpload.length === 0) {
      const earlier = await findEarlierLaunch(
        deps,
        { ...request, input: resolvedInput(request, attempt.uploads) },
        attempt.firstAttemptAt,
        options.signal,
      );
      if (earlier) {
        await recordExecution(deps, earlier, request.launch);
        return await recorded(deps, request, toResult('adopted', earlier));
      }
    }
    const uploads = { ...attempt.uploads };
    for (const [index, reference] of toUpload.entries()) {
      const info = checked[index] as ObjectInfo;
      uploads[pathKey(reference.path)] = await uploadOnce(deps, request.key, reference, info, options.signal);
    }
    const input = resolvedInput(request, uploads);

    phase = 'create';
    const execution = await deps.api.createJobExecution(
      input === undefined ? { jobId: request.jobId } : { jobId: request.jobId, input },
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
    await recordExecution(deps, execution, request.launch);
    return await recorded(deps, request, toResult('launched', execution));
  } catch (error) {
    if (phase === 'before-create' || (phase === 'create' && startedNothing(error))) {
      await settle(deps, request.key);
    }
    throw error;
  }
}

/** Checks the objects to upload, in order; the first refusal refuses the request. */
async function checkObjects(
  deps: LaunchDeps,
  references: readonly FileReference[],
  signal: AbortSignal | undefined,
): Promise<ObjectInfo[]> {
  if (references.length === 0) return [];
  const { objects } = deps;
  if (!objects) throw new Error('this launcher has no S3 access: it cannot launch with files');
  const infos: ObjectInfo[] = [];
  for (const reference of references) {
    infos.push(await objects.head(reference.bucket, reference.key, reference.versionId, signal));
  }
  return infos;
}

/**
 * Uploads one referenced object (streamed from S3 to Product-Live; the client retries what is safe to repeat)
 * and records the answer on the key's marker before anything else happens.
 */
async function uploadOnce(
  deps: LaunchDeps,
  key: string,
  reference: FileReference,
  info: ObjectInfo,
  signal: AbortSignal | undefined,
): Promise<RecordedUpload> {
  const objects = deps.objects as ObjectSource;
  const file = await deps.api.uploadFile(
    {
      fileName: reference.fileName,
      size: info.size,
      ...(info.contentType ? { contentType: info.contentType } : {}),
      open: () => objects.open(reference.bucket, reference.key, info, signal),
    },
    { signal },
  );
  const upload: RecordedUpload = {
    source: `s3://${reference.bucket}/${reference.key}${info.versionId ? `?versionId=${info.versionId}` : ''}`,
    file,
    uploadedAt: new Date(deps.now()).toISOString(),
  };
  await deps.attempts.recordUpload(key, pathKey(reference.path), upload);
  deps.logger.info('file uploaded for a launch', {
    key,
    source: upload.source,
    fileId: file.id,
    bytes: info.size,
  });
  return upload;
}

/** The request's input with each reference replaced by its uploaded file. */
function resolvedInput(
  request: LaunchRequest,
  uploads: Readonly<Record<string, RecordedUpload>>,
): Record<string, unknown> | undefined {
  if (request.input === undefined || !request.references?.length) return request.input;
  const replacements = new Map<string, unknown>(
    request.references.map((reference) => [pathKey(reference.path), uploads[pathKey(reference.path)]?.file]),
  );
  return replaceFileReferences(request.input, replacements) as Record<string, unknown>;
}

/** Records the outcome on the marker (for `--wait`); a failure to record it is logged, not raised. */
async function recorded(
  deps: LaunchDeps,
  request: LaunchRequest,
  result: LaunchResult,
): Promise<LaunchResult> {
  try {
    await deps.attempts.recordOutcome(
      request.key,
      {
        outcome: result.outcome,
        executionId: result.executionId,
        jobId: result.jobId,
        ...(request.launch ? { messageId: request.launch.messageId } : {}),
      },
      deps.now(),
    );
  } catch (error) {
    deps.logger.warn('could not record the outcome of a launch on its marker', {
      key: request.key,
      error: describeError(error),
    });
  }
  return result;
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
  if (typeof input !== 'object' || Array.isArray(input)) return fingerprint(filesById(input));
  const { context: _context, ...rest } = input as Record<string, unknown>;
  return fingerprint(filesById(rest));
}

/**
 * The input with each uploaded file reduced to its id: the API may answer a file with another `url` or
 * `updatedAt` than the upload did, and it is the same file.
 */
function filesById(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(filesById);
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  if (record.object === 'data_factory_file' && typeof record.id === 'string') {
    return { object: 'data_factory_file', id: record.id };
  }
  return Object.fromEntries(Object.entries(record).map(([key, child]) => [key, filesById(child)]));
}

/**
 * Inserts the execution unless any view of it is stored (a sync's view always wins), then records the launch
 * request on it (once: the first launch recorded stays).
 */
async function recordExecution(
  deps: LaunchDeps,
  execution: JobExecution,
  launch?: LaunchInfo,
): Promise<void> {
  const fields = toExecutionFields(execution);
  if (Buffer.byteLength(fields.raw) > MAX_INLINE_RAW_BYTES) {
    deps.logger.warn('launched execution too large to record inline; the next sync stores it', {
      executionId: execution.id,
    });
  } else {
    const nowIso = new Date(deps.now()).toISOString();
    // The launch is part of the first write: the execution's first event already names its request.
    const inserted = await deps.executions.insertIfAbsent({
      ...fields,
      files: mergeFileCopies(execution, [], nowIso),
      firstSyncedAt: nowIso,
      syncedAt: nowIso,
      source: 'launch',
      ...(launch ? { launch } : {}),
    });
    if (inserted === 'written') return;
  }
  if (launch && (await deps.executions.setLaunch(fields, launch)) === 'stale') {
    deps.logger.warn('the launch request could not be recorded on its execution (not stored yet)', {
      executionId: execution.id,
    });
  }
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
