// The launch use case with fakes: a tiny in-memory Product-Live (upload + create + find), S3 objects, attempt
// store and executions repository. Covers the crash window: ambiguous creates, crashes after the API call,
// claims; and requests with files: checked first, uploaded at most once per successful upload, never created twice.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { LaunchInfo } from '#core/executions/execution-record';
import {
  ProductLiveApiError,
  ProductLiveNetworkError,
  ProductLiveRateLimitError,
} from '#core/product-live/product-live.errors';
import type {
  CreateJobExecutionRequest,
  FindQuery,
  JobExecution,
} from '#core/product-live/product-live.schema';
import type { UploadedFile, UploadSource } from '#core/product-live/product-live-client';
import type { ExecutionItem, WriteOutcome } from '#core/store/execution-repository';
import { findFileReferences } from '#functions/launch/file-references';
import {
  DEFAULT_CLOCK_SKEW_MS,
  EarlierLaunchLookupError,
  type LaunchApi,
  type LaunchAttempt,
  type LaunchAttemptStore,
  type LaunchDeps,
  type LaunchRecord,
  type LaunchRequest,
  launchJob,
  type RecordedUpload,
} from '#functions/launch/launch-job';
import { type ObjectInfo, ObjectRefusedError, type ObjectSource } from '#functions/launch/s3-objects';
import { aJobExecution, aJobExecutionList, anId } from '../../../builders/job-execution.builder';

const JOB_ID = '65819ba43ad5b963658ab35d';
const OTHER_JOB_ID = '65819ba43ad5b963658ab35e';
const T0 = Date.parse('2024-06-01T12:00:00.000Z');
const CREATE_PATH = '/v1/data_factory/job_executions';

type CreateStep = 'ok' | 'throttled' | 'commit-then-500' | 'commit-then-reset' | 'refused-before-sending';
type UploadStep = 'ok' | 'store-then-500' | 'too-large';

/** Product-Live in memory: create appends an execution (input + platform context), find interprets the query. */
class FakeProductLive implements LaunchApi {
  readonly executions: JobExecution[] = [];
  readonly findQueries: FindQuery[] = [];
  readonly script: CreateStep[] = [];
  readonly uploadScript: UploadStep[] = [];
  /** Every upload stored (an answered 500 after storing included), with its bytes. */
  readonly uploads: Array<UploadedFile & { fileName: string; bytes: string }> = [];
  creates = 0;

  constructor(private readonly now: () => number) {}

  async createJobExecution(request: CreateJobExecutionRequest): Promise<JobExecution> {
    this.creates += 1;
    const step = this.script.shift() ?? 'ok';
    const fields = { method: 'POST' as const, path: CREATE_PATH };
    if (step === 'throttled') throw new ProductLiveRateLimitError({ ...fields, status: 429, body: '' });
    if (step === 'refused-before-sending') {
      throw new ProductLiveNetworkError({ ...fields, timedOut: false, requestMayHaveBeenSent: false });
    }
    const execution = this.addExecution(request.jobId, request.input ?? {}, this.now());
    if (step === 'commit-then-500') throw new ProductLiveApiError({ ...fields, status: 500, body: 'oops' });
    if (step === 'commit-then-reset') {
      throw new ProductLiveNetworkError({ ...fields, timedOut: false, requestMayHaveBeenSent: true });
    }
    return execution;
  }

  async uploadFile(source: UploadSource): Promise<UploadedFile> {
    const step = this.uploadScript.shift() ?? 'ok';
    const fields = { method: 'POST' as const, path: '/v1/data_factory/files', operation: 'upload' as const };
    if (step === 'too-large') throw new ProductLiveApiError({ ...fields, status: 413, body: 'too large' });
    const chunks: Buffer[] = [];
    for await (const chunk of await source.open()) chunks.push(Buffer.from(chunk));
    const file = {
      object: 'data_factory_file' as const,
      id: `${'f'.repeat(62)}${String(this.uploads.length).padStart(2, '0')}`,
      url: `https://files.example/${this.uploads.length}`,
    };
    this.uploads.push({ ...file, fileName: source.fileName, bytes: Buffer.concat(chunks).toString() });
    if (step === 'store-then-500') throw new ProductLiveApiError({ ...fields, status: 500, body: 'oops' });
    return file;
  }

  async findJobExecutions(query: FindQuery, options: { page?: number; size?: number } = {}) {
    this.findQueries.push(query);
    const page = options.page ?? 0;
    const size = options.size ?? 10;
    const matching = this.executions.filter((execution) => matches(query, execution));
    return aJobExecutionList(matching.slice(page * size, page * size + size), matching.length);
  }

  /** An execution started by someone else (or earlier), as the API would show it. */
  addExecution(jobId: string, input: Record<string, unknown>, createdAtMs: number): JobExecution {
    const execution = aJobExecution({
      id: anId('6660'),
      jobId,
      status: 'RUNNING',
      createdAt: new Date(createdAtMs).toISOString(),
      input: { ...input, context: { jobAccountId: '2629', jobId, userId: '5443', userAccountId: '2629' } },
      output: {},
    });
    this.executions.push(execution);
    return execution;
  }
}

function matches(query: FindQuery, execution: JobExecution): boolean {
  const value = (field: string) => (execution as Record<string, unknown>)[field];
  switch (query.type) {
    case 'and':
      return query.queries.every((inner) => matches(inner, execution));
    case 'or':
      return query.queries.some((inner) => matches(inner, execution));
    case 'eq':
      return value(query.field) === query.value;
    case 'greaterOrEqual':
      return Date.parse(String(value(query.field))) >= Date.parse(String(query.value));
    default:
      throw new Error(`the launch must only use confirmed operators, used ${query.type}`);
  }
}

class InMemoryAttemptStore implements LaunchAttemptStore {
  readonly markers = new Map<
    string,
    { firstAttemptAt: number; attempts: number; settled: number; uploads: Record<string, RecordedUpload> }
  >();
  readonly claims = new Map<string, string>();
  readonly outcomes = new Map<string, LaunchRecord>();
  /** Makes the next upload record fail like a crash right after the upload's answer. */
  failNextUploadRecord: Error | undefined;
  /** Makes the next claim fail like a crash right after the create call. */
  failNextClaim: Error | undefined;

  async recordAttempt(key: string, _jobId: string, nowMs: number): Promise<LaunchAttempt> {
    const marker = this.markers.get(key) ?? { firstAttemptAt: nowMs, attempts: 0, settled: 0, uploads: {} };
    marker.attempts += 1;
    this.markers.set(key, marker);
    return {
      firstAttemptAt: marker.firstAttemptAt,
      previousAttempts: marker.attempts - 1,
      unsettledAttempts: marker.attempts - 1 - marker.settled,
      uploads: { ...marker.uploads },
    };
  }

  async recordUpload(key: string, path: string, upload: RecordedUpload): Promise<void> {
    const failure = this.failNextUploadRecord;
    this.failNextUploadRecord = undefined;
    if (failure) throw failure;
    const marker = this.markers.get(key);
    if (!marker) throw new Error('no marker');
    marker.uploads[path] = upload;
  }

  async recordOutcome(key: string, record: LaunchRecord): Promise<void> {
    this.outcomes.set(key, record);
  }

  async settleAttempt(key: string): Promise<void> {
    const marker = this.markers.get(key);
    if (marker) marker.settled += 1;
  }

  async claimExecution(executionId: string, key: string): Promise<boolean> {
    const failure = this.failNextClaim;
    this.failNextClaim = undefined;
    if (failure) throw failure;
    const owner = this.claims.get(executionId);
    if (owner !== undefined && owner !== key) return false;
    this.claims.set(executionId, key);
    return true;
  }

  async findClaims(executionIds: readonly string[]): Promise<Map<string, string>> {
    return new Map(
      executionIds.flatMap((id) => (this.claims.has(id) ? [[id, this.claims.get(id) ?? '']] : [])),
    );
  }
}

class InMemoryExecutions {
  readonly items = new Map<string, ExecutionItem>();
  async insertIfAbsent(item: ExecutionItem): Promise<WriteOutcome> {
    if (this.items.has(item.id)) return 'stale';
    this.items.set(item.id, item);
    return 'written';
  }
  async setLaunch(item: Pick<ExecutionItem, 'id'>, launch: LaunchInfo): Promise<WriteOutcome> {
    const stored = this.items.get(item.id);
    if (!stored) return 'stale';
    stored.launch ??= launch;
    return 'written';
  }
}

/** S3 in memory: objects by `bucket/key`, HeadObject and GetObject counted. */
class InMemoryObjects implements ObjectSource {
  readonly objects = new Map<string, string>();
  heads = 0;
  async head(bucket: string, key: string): Promise<ObjectInfo> {
    this.heads += 1;
    const body = this.objects.get(`${bucket}/${key}`);
    if (body === undefined) throw new ObjectRefusedError(`s3://${bucket}/${key} does not exist`);
    return { size: Buffer.byteLength(body), etag: `"${body.length}"` };
  }
  async open(bucket: string, key: string): Promise<AsyncIterable<Uint8Array>> {
    const body = this.objects.get(`${bucket}/${key}`) ?? '';
    return (async function* () {
      yield Buffer.from(body);
    })();
  }
}

let nowMs: number;
let api: FakeProductLive;
let attempts: InMemoryAttemptStore;
let executions: InMemoryExecutions;
let objects: InMemoryObjects;
let deps: LaunchDeps;

beforeEach(() => {
  nowMs = T0;
  const now = () => nowMs;
  api = new FakeProductLive(now);
  attempts = new InMemoryAttemptStore();
  executions = new InMemoryExecutions();
  objects = new InMemoryObjects();
  deps = {
    api,
    attempts,
    executions,
    objects,
    now,
    logger: { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() },
  };
});

const request = (overrides: Partial<LaunchRequest> = {}): LaunchRequest => ({
  key: 'idempotencyKey:order-1',
  jobId: JOB_ID,
  input: { sku: 'A-1' },
  ...overrides,
});

/** An attempt that died after recording its marker (Lambda killed around create): it may have started the job. */
const crashedAttempt = async (crashed: LaunchRequest) => {
  await attempts.recordAttempt(crashed.key, crashed.jobId, nowMs);
};

const executionsOf = (jobId: string) => api.executions.filter((execution) => execution.jobId === jobId);

describe('launchJob: first attempt', () => {
  it('creates the execution, claims it for the key and records it as a launch, without any lookup', async () => {
    const result = await launchJob(deps, request());

    expect(api.creates).toBe(1);
    expect(api.findQueries).toEqual([]);
    const [execution] = api.executions;
    expect(result).toEqual({
      outcome: 'launched',
      executionId: execution?.id,
      jobId: JOB_ID,
      status: 'RUNNING',
      createdAt: execution?.createdAt,
    });
    expect(attempts.claims.get(execution?.id ?? '')).toBe('idempotencyKey:order-1');
    const stored = executions.items.get(execution?.id ?? '');
    expect(stored).toMatchObject({
      id: execution?.id,
      jobId: JOB_ID,
      status: 'RUNNING',
      source: 'launch',
      firstSyncedAt: new Date(T0).toISOString(),
      syncedAt: new Date(T0).toISOString(),
      files: [],
    });
    expect(JSON.parse(stored?.raw ?? '{}')).toEqual(execution);
  });

  it('sends the input as given, and no input at all when the request has none', async () => {
    const spy = vi.spyOn(api, 'createJobExecution');
    await launchJob(deps, request({ key: 'k1' }));
    await launchJob(deps, request({ key: 'k2', input: undefined }));
    expect(spy.mock.calls.map(([sent]) => sent)).toEqual([
      { jobId: JOB_ID, input: { sku: 'A-1' } },
      { jobId: JOB_ID },
    ]);
  });

  it('does not overwrite a view the sync stored first', async () => {
    const spy = vi.spyOn(executions, 'insertIfAbsent').mockResolvedValue('stale');
    const result = await launchJob(deps, request());
    expect(result.outcome).toBe('launched');
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('leaves an execution too large for one item to the sync', async () => {
    const huge = 'x'.repeat(310_000);
    const result = await launchJob(deps, request({ input: { huge } }));
    expect(result.outcome).toBe('launched');
    expect(executions.items.size).toBe(0);
    expect(deps.logger.warn).toHaveBeenCalledWith(expect.stringContaining('too large'), expect.any(Object));
  });
});

describe('launchJob: the crash window', () => {
  it('adopts the execution of a create that failed ambiguously (created, then HTTP 500) instead of launching again', async () => {
    api.script.push('commit-then-500');
    await expect(launchJob(deps, request())).rejects.toBeInstanceOf(ProductLiveApiError);
    expect(executionsOf(JOB_ID)).toHaveLength(1);

    nowMs += 30_000;
    const retry = await launchJob(deps, request());

    expect(retry.outcome).toBe('adopted');
    expect(retry.executionId).toBe(executionsOf(JOB_ID)[0]?.id);
    expect(api.creates).toBe(1);
    expect(executionsOf(JOB_ID)).toHaveLength(1);
    expect(attempts.claims.get(retry.executionId)).toBe('idempotencyKey:order-1');
    expect(executions.items.has(retry.executionId)).toBe(true);
  });

  it('adopts after a reset connection whose request may have been sent', async () => {
    api.script.push('commit-then-reset');
    await expect(launchJob(deps, request())).rejects.toBeInstanceOf(ProductLiveNetworkError);
    const retry = await launchJob(deps, request());
    expect(retry.outcome).toBe('adopted');
    expect(api.creates).toBe(1);
  });

  it('adopts after a crash right after the API call (nothing recorded but the attempt marker)', async () => {
    attempts.failNextClaim = new Error('Lambda killed');
    await expect(launchJob(deps, request())).rejects.toThrow('Lambda killed');
    expect(attempts.claims.size).toBe(0);
    expect(executions.items.size).toBe(0);

    const retry = await launchJob(deps, request());

    expect(retry.outcome).toBe('adopted');
    expect(api.creates).toBe(1);
    expect(executionsOf(JOB_ID)).toHaveLength(1);
    expect(executions.items.has(retry.executionId)).toBe(true);
  });

  it('after a crash that followed the claim, adopts the execution the key already owns, not an earlier identical one', async () => {
    const foreign = api.addExecution(JOB_ID, { sku: 'A-1' }, T0 - 10_000);
    vi.spyOn(executions, 'insertIfAbsent').mockRejectedValueOnce(new Error('DynamoDB unavailable'));
    await expect(launchJob(deps, request())).rejects.toThrow('DynamoDB unavailable');
    const ours = executionsOf(JOB_ID).find((execution) => execution.id !== foreign.id);

    const retry = await launchJob(deps, request());

    expect(retry).toMatchObject({ outcome: 'adopted', executionId: ours?.id });
    expect(attempts.claims.has(foreign.id)).toBe(false);
  });

  it('launches at once, without any lookup, when the earlier attempts certainly started nothing (throttled, refused connection)', async () => {
    api.script.push('throttled', 'refused-before-sending');
    await expect(launchJob(deps, request())).rejects.toBeInstanceOf(ProductLiveRateLimitError);
    await expect(launchJob(deps, request())).rejects.toBeInstanceOf(ProductLiveNetworkError);
    const third = await launchJob(deps, request());
    expect(third.outcome).toBe('launched');
    expect(executionsOf(JOB_ID)).toHaveLength(1);
    expect(api.findQueries).toEqual([]);
    expect(attempts.markers.get('idempotencyKey:order-1')).toMatchObject({ attempts: 3, settled: 2 });
  });

  it('keeps looking after an ambiguous create, however many settled attempts follow it', async () => {
    api.script.push('commit-then-500');
    await expect(launchJob(deps, request())).rejects.toBeInstanceOf(ProductLiveApiError);
    const lookupFailure = new ProductLiveApiError({ method: 'POST', path: '/find', status: 503, body: '' });
    const find = vi.spyOn(api, 'findJobExecutions');
    find.mockRejectedValueOnce(lookupFailure).mockRejectedValueOnce(lookupFailure);
    await expect(launchJob(deps, request())).rejects.toBe(lookupFailure);
    await expect(launchJob(deps, request())).rejects.toBe(lookupFailure);
    expect(attempts.markers.get('idempotencyKey:order-1')).toMatchObject({ attempts: 3, settled: 2 });

    const retry = await launchJob(deps, request());

    expect(retry.outcome).toBe('adopted');
    expect(api.creates).toBe(1);
  });

  it('does not settle an attempt whose create answered 5xx or whose store writes failed after create', async () => {
    api.script.push('commit-then-500');
    await expect(launchJob(deps, request({ key: 'k1' }))).rejects.toThrow();
    attempts.failNextClaim = new Error('DynamoDB unavailable');
    await expect(launchJob(deps, request({ key: 'k2' }))).rejects.toThrow('DynamoDB unavailable');
    expect(attempts.markers.get('k1')).toMatchObject({ attempts: 1, settled: 0 });
    expect(attempts.markers.get('k2')).toMatchObject({ attempts: 1, settled: 0 });
  });

  it('when settling fails, warns and keeps the original error: the retry merely looks first', async () => {
    api.script.push('throttled');
    vi.spyOn(attempts, 'settleAttempt').mockRejectedValueOnce(new Error('DynamoDB unavailable'));
    await expect(launchJob(deps, request())).rejects.toBeInstanceOf(ProductLiveRateLimitError);
    expect(deps.logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('could not settle'),
      expect.objectContaining({ key: 'idempotencyKey:order-1', error: 'Error: DynamoDB unavailable' }),
    );

    const retry = await launchJob(deps, request());

    expect(retry.outcome).toBe('launched');
    expect(api.findQueries).toHaveLength(1);
    expect(executionsOf(JOB_ID)).toHaveLength(1);
  });

  it('looks up only with confirmed operators: jobId eq and createdAt greaterOrEqual the first attempt minus the skew allowance', async () => {
    api.script.push('commit-then-500');
    await expect(launchJob(deps, request())).rejects.toThrow();
    nowMs += 600_000;
    await launchJob(deps, request());
    expect(api.findQueries).toEqual([
      {
        type: 'and',
        queries: [
          { type: 'eq', caseSensitive: true, field: 'jobId', value: JOB_ID },
          {
            type: 'greaterOrEqual',
            caseSensitive: true,
            field: 'createdAt',
            value: new Date(T0 - DEFAULT_CLOCK_SKEW_MS).toISOString(),
          },
        ],
      },
    ]);
  });

  it('ignores the platform-added input.context but not any other difference of input', async () => {
    await crashedAttempt(request({ input: undefined }));
    api.addExecution(JOB_ID, { sku: 'A-1' }, T0 + 1_000); // another input
    api.addExecution(OTHER_JOB_ID, {}, T0 + 1_000); // another job
    const empty = api.addExecution(JOB_ID, {}, T0 + 2_000); // only the platform context: a match

    const retry = await launchJob(deps, request({ input: undefined }));

    expect(retry).toMatchObject({ outcome: 'adopted', executionId: empty.id });
  });

  it('compares inputs whatever their key order', async () => {
    const input = { a: 1, nested: { x: [1, 2], y: 'z' } };
    await crashedAttempt(request({ input }));
    const match = api.addExecution(JOB_ID, { nested: { y: 'z', x: [1, 2] }, a: 1 }, T0 + 500);
    expect(await launchJob(deps, request({ input }))).toMatchObject({
      outcome: 'adopted',
      executionId: match.id,
    });
  });

  it('adopts an execution created within the clock-skew allowance before the first attempt, never one before it', async () => {
    await crashedAttempt(request());
    api.addExecution(JOB_ID, { sku: 'A-1' }, T0 - DEFAULT_CLOCK_SKEW_MS - 1);
    const withinSkew = api.addExecution(JOB_ID, { sku: 'A-1' }, T0 - DEFAULT_CLOCK_SKEW_MS + 1);
    expect(await launchJob(deps, request())).toMatchObject({
      outcome: 'adopted',
      executionId: withinSkew.id,
    });
  });

  it('never adopts an execution another launch key owns; creates instead', async () => {
    await crashedAttempt(request());
    const owned = api.addExecution(JOB_ID, { sku: 'A-1' }, T0 + 1_000);
    attempts.claims.set(owned.id, 'idempotencyKey:someone-else');

    const retry = await launchJob(deps, request());

    expect(retry.outcome).toBe('launched');
    expect(retry.executionId).not.toBe(owned.id);
    expect(attempts.claims.get(owned.id)).toBe('idempotencyKey:someone-else');
  });

  it('lets only one of two interrupted keys adopt a single matching execution', async () => {
    const first = request({ key: 'idempotencyKey:a' });
    const second = request({ key: 'idempotencyKey:b' });
    await crashedAttempt(first);
    await crashedAttempt(second);
    const single = api.addExecution(JOB_ID, { sku: 'A-1' }, T0 + 1_000);

    const [a, b] = await Promise.all([launchJob(deps, first), launchJob(deps, second)]);

    expect([a.outcome, b.outcome].sort()).toEqual(['adopted', 'launched']);
    expect(new Set([a.executionId, b.executionId]).size).toBe(2);
    expect([a.executionId, b.executionId]).toContain(single.id);
  });

  it('pages through every lookup result', async () => {
    deps.lookupPageSize = 2;
    await crashedAttempt(request());
    for (let index = 0; index < 5; index++) api.addExecution(JOB_ID, { sku: `other-${index}` }, T0 + index);
    const match = api.addExecution(JOB_ID, { sku: 'A-1' }, T0 + 100);

    const retry = await launchJob(deps, request());

    expect(retry).toMatchObject({ outcome: 'adopted', executionId: match.id });
    expect(api.findQueries).toHaveLength(3);
  });

  it('refuses to guess when the lookup finds more executions than it can page through', async () => {
    deps.lookupPageSize = 1;
    await crashedAttempt(request());
    for (let index = 0; index < 30; index++) api.addExecution(JOB_ID, { sku: `other-${index}` }, T0 + index);
    await expect(launchJob(deps, request())).rejects.toBeInstanceOf(EarlierLaunchLookupError);
    expect(api.creates).toBe(0);
  });

  it('propagates a failed lookup without creating (the retry looks again)', async () => {
    api.script.push('commit-then-500');
    await expect(launchJob(deps, request())).rejects.toThrow();
    const failure = new ProductLiveApiError({ method: 'POST', path: '/find', status: 503, body: '' });
    vi.spyOn(api, 'findJobExecutions').mockRejectedValueOnce(failure);
    await expect(launchJob(deps, request())).rejects.toBe(failure);
    expect(api.creates).toBe(1);
    expect((await launchJob(deps, request())).outcome).toBe('adopted');
    expect(executionsOf(JOB_ID)).toHaveLength(1);
  });

  it('warns when the launched execution was claimed by another key in the meantime, and still reports it', async () => {
    vi.spyOn(attempts, 'claimExecution').mockResolvedValueOnce(false);
    const result = await launchJob(deps, request());
    expect(result.outcome).toBe('launched');
    expect(deps.logger.warn).toHaveBeenCalledWith(
      'launched execution was already claimed by another launch key',
      expect.objectContaining({ executionId: result.executionId }),
    );
  });
});

describe('launchJob: requests that carry files', () => {
  const readable = [{ bucket: 'acme', prefix: '' }];
  /** A request whose input references two objects, one of them deep in an array. */
  const withFiles = (key = 'idempotencyKey:prices-1'): LaunchRequest => {
    const input = {
      file: { object: 's3_object', uri: 's3://acme/erp/prices décembre.csv' },
      options: {
        sheet: 'EU',
        attachments: [{ object: 's3_object', uri: 's3://acme/notes.pdf', fileName: 'Notes.pdf' }],
      },
    };
    return { key, jobId: JOB_ID, input, references: findFileReferences(input, readable) };
  };
  beforeEach(() => {
    objects.objects.set('acme/erp/prices décembre.csv', 'sku;price\nA-1;12.5\n');
    objects.objects.set('acme/notes.pdf', '%PDF-notes');
  });
  const createdInput = () => api.executions[0]?.input as Record<string, unknown>;

  it('uploads each referenced object once and creates the execution with the uploaded files in their places', async () => {
    const result = await launchJob(deps, withFiles());

    expect(result.outcome).toBe('launched');
    expect(api.uploads.map(({ fileName, bytes }) => ({ fileName, bytes }))).toEqual([
      { fileName: 'prices décembre.csv', bytes: 'sku;price\nA-1;12.5\n' },
      { fileName: 'Notes.pdf', bytes: '%PDF-notes' },
    ]);
    expect(api.creates).toBe(1);
    expect(createdInput()).toMatchObject({
      file: { object: 'data_factory_file', id: api.uploads[0]?.id },
      options: { sheet: 'EU', attachments: [{ object: 'data_factory_file', id: api.uploads[1]?.id }] },
    });
    expect(Object.values(attempts.markers.get('idempotencyKey:prices-1')?.uploads ?? {})).toHaveLength(2);
    expect(attempts.outcomes.get('idempotencyKey:prices-1')).toMatchObject({ outcome: 'launched' });
  });

  it('checks every object before the first upload: a missing one refuses the request with nothing uploaded or launched', async () => {
    objects.objects.delete('acme/notes.pdf');

    await expect(launchJob(deps, withFiles())).rejects.toBeInstanceOf(ObjectRefusedError);
    expect(objects.heads).toBe(2);
    expect(api.uploads).toEqual([]);
    expect(api.creates).toBe(0);
  });

  it('after an ambiguous create (created, then HTTP 500), adopts the execution with the recorded files: one upload each, one execution', async () => {
    api.script.push('commit-then-500');
    await expect(launchJob(deps, withFiles())).rejects.toBeInstanceOf(ProductLiveApiError);
    nowMs += 60_000;

    const retry = await launchJob(deps, withFiles());

    expect(retry.outcome).toBe('adopted');
    expect(api.uploads).toHaveLength(2);
    expect(api.creates).toBe(1);
    expect(executionsOf(JOB_ID)).toHaveLength(1);
  });

  it('after a crash between create and its record, a redelivery reuses the files and adopts: never a second upload or create', async () => {
    attempts.failNextClaim = new Error('Lambda killed');
    await expect(launchJob(deps, withFiles())).rejects.toThrow('Lambda killed');
    nowMs += 60_000;

    const retry = await launchJob(deps, withFiles());

    expect(retry).toMatchObject({ outcome: 'adopted', executionId: api.executions[0]?.id });
    expect([api.uploads.length, api.creates]).toEqual([2, 1]);
  });

  it('an upload answered ambiguously (stored, then 500) is repeated by the retry: an orphan upload, one execution', async () => {
    api.uploadScript.push('store-then-500');
    await expect(launchJob(deps, withFiles())).rejects.toBeInstanceOf(ProductLiveApiError);
    expect(api.creates).toBe(0);

    await launchJob(deps, withFiles());

    // The first file twice (the orphan, then the one used), the second once.
    expect(api.uploads.map((upload) => upload.fileName)).toEqual([
      'prices décembre.csv',
      'prices décembre.csv',
      'Notes.pdf',
    ]);
    expect(api.creates).toBe(1);
    expect(createdInput()).toMatchObject({ file: { id: api.uploads[1]?.id } });
  });

  it('a crash between an upload and its record uploads that file again; the files recorded before it are reused', async () => {
    // The second upload is answered, then the function dies before its record is written.
    let records = 0;
    const recordUpload = attempts.recordUpload.bind(attempts);
    attempts.recordUpload = async (key, path, upload) => {
      records += 1;
      if (records === 2) throw new Error('Lambda killed after the upload answered');
      await recordUpload(key, path, upload);
    };
    await expect(launchJob(deps, withFiles())).rejects.toThrow('Lambda killed');
    attempts.recordUpload = recordUpload;
    expect(api.creates).toBe(0);

    const retry = await launchJob(deps, withFiles());

    expect(retry.outcome).toBe('launched');
    // The first file once (recorded), the second twice (its first record was lost): one orphan, one execution.
    expect(api.uploads.map((upload) => upload.fileName)).toEqual([
      'prices décembre.csv',
      'Notes.pdf',
      'Notes.pdf',
    ]);
    expect(api.creates).toBe(1);
    expect(createdInput()).toMatchObject({ options: { attachments: [{ id: api.uploads[2]?.id }] } });
  });

  it('a file Product-Live refuses (413) fails the attempt before any create, and settles it: the retry looks for nothing', async () => {
    api.uploadScript.push('too-large');
    const failure = await launchJob(deps, withFiles()).catch((error: unknown) => error);

    expect(failure).toMatchObject({ status: 413, operation: 'upload' });
    expect(api.creates).toBe(0);
    expect(attempts.markers.get('idempotencyKey:prices-1')?.settled).toBe(1);
  });

  it('records the launch request on the execution it started', async () => {
    const launch = { idempotencyKey: 'prices-1', messageId: 'm-1', requestedAt: new Date(T0).toISOString() };
    const result = await launchJob(deps, { ...withFiles(), launch });

    expect(executions.items.get(result.executionId)?.launch).toEqual(launch);
  });
});
