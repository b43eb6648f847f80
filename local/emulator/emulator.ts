// The Product-Live emulator: the Job Execution API of shared/reference/000_04e6b0a5f196ec9a.txt (create, get,
// list, find), the Files API's upload, the files that execution inputs and outputs point to, a real lifecycle,
// and knobs for tests (order, page size, faults, latency, clock). Its HTTP side (routing, auth, rate limit,
// faults, the upload's multipart parsing) is http-front-end.ts.
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { JobExecution } from '#core/product-live/product-live.schema';
import { type Clock, createMonotonicNow, systemClock } from './clock';
import { generateDemoData } from './demo-data';
import {
  BadRequestError,
  EmulatorConfigError,
  EmulatorNotStartedError,
  UnknownExecutionError,
  UnknownUploadError,
} from './emulator-errors';
import {
  DEFAULT_API_KEY,
  DEFAULT_FIND_PATH,
  DEFAULT_MAX_PAGE_SIZE,
  DEFAULT_MAX_UPLOAD_BYTES,
  type EmulatorOptions,
  type RateLimitOptions,
  validateEmulatorOptions,
  validateOrder,
} from './emulator-options';
import { type ExecutionOrder, type ExecutionRecord, ExecutionStore } from './execution-store';
import type { Endpoint, FaultKind, FaultOptions } from './fault-injector';
import { createFileContentStream, downloadPathOf, type EmulatorFile, FileStore } from './file-store';
import { compileFindQuery } from './find-query';
import {
  type EmulatorApi,
  HttpFrontEnd,
  type JsonAnswer,
  type RequestInfo,
  type RequestLogEntry,
  type UploadMode,
} from './http-front-end';
import type { Paging } from './http-io';
import {
  DEFAULT_OUTCOME_WEIGHTS,
  drawRunTimeMs,
  JOB_KINDS,
  type JobKind,
  TERMINAL_OUTCOMES,
  type TerminalOutcome,
} from './job-templates';
import { isJsonObject, type JsonObject, toJsonObject } from './json-value';
import { createSeededRandom, type SeededRandom } from './seeded-random';
import type { ReceivedUpload } from './upload-receiver';

export type { ExecutionOrder } from './execution-store';
export type { Endpoint, FaultKind, FaultOptions } from './fault-injector';
export type { RequestInfo, RequestLogEntry } from './http-front-end';
export type { JobKind, TerminalOutcome } from './job-templates';

/** A job as the emulator knows it (the API has no job endpoint; tests use this to launch runs). */
export interface EmulatorJob {
  id: string;
  title: string;
  pipelineId: string | null;
  kind: JobKind;
  runTimeMs?: number;
  outcome?: TerminalOutcome;
}

export interface AddJobSpec {
  title: string;
  /** undefined: a new pipeline of its own; null: no pipeline (the job cannot be run). */
  pipelineId?: string | null;
  /** What its runs produce (default 'import': a report). */
  kind?: JobKind;
  /** How long its runs created at run time last before they end on their own (default: lifecycle.runTimeMs, else per kind). */
  runTimeMs?: number;
  /** How its runs created at run time end (default: drawn from lifecycle.outcomes). */
  outcome?: TerminalOutcome;
}

/** A file received by `POST /v1/data_factory/files`, as the emulator stored it. */
export interface EmulatorUpload {
  /** 64 hex characters: the `id` of the answered `data_factory_file`. */
  id: string;
  /** The multipart filename, as sent. */
  fileName: string;
  size: number;
  sha256: string;
  /** The part's Content-Type. */
  contentType: string;
  /** Where the bytes are downloaded from (the existing download route, its `fileAuth` applying). */
  url: string;
  createdAt: string;
  /** The status the upload was answered with: 201, or 500 when a 'store-then-500' fault hid it (an orphan). */
  status: 201 | 500;
}

/** Per-execution overrides of the planned run, for tests that need an exact outcome or duration. */
export interface ExecutionOverrides {
  runTimeMs?: number;
  outcome?: TerminalOutcome;
  /** The API shows the execution only this long after its createdAt (late visibility). */
  visibleAfterMs?: number;
}

export interface AddFileSpec {
  size: number;
  filename: string;
  contentType?: string;
  /** The download answers 302 to this Location instead of the bytes. */
  redirectTo?: string;
}

export interface Emulator {
  /** Base URL of the API (`http://127.0.0.1:PORT`); throws before start(). */
  readonly url: string;
  readonly apiKey: string;
  readonly clock: Clock;
  readonly order: ExecutionOrder;
  /** Requests received, oldest first (the same array across calls; cleared in place). */
  readonly requests: readonly RequestLogEntry[];
  /** Listens on `port` (0: any free port) and `host`. */
  start(port?: number, host?: string): Promise<void>;
  /** Stops listening and destroys every connection, including hung ones. */
  stop(): Promise<void>;
  jobs(): EmulatorJob[];
  addJob(spec: AddJobSpec): EmulatorJob;
  /** Runs a job like `POST /v1/data_factory/job_executions`, without HTTP, rate limit or faults. */
  createExecution(
    jobId: string,
    input?: Record<string, unknown>,
    overrides?: ExecutionOverrides,
  ): JobExecution;
  /** Every execution the API shows now (deep copies), in the current order: late ones once visible. */
  executions(): JobExecution[];
  /** Every execution, also those not visible yet (ground truth for tests of late visibility). */
  allExecutions(): JobExecution[];
  execution(id: string): JobExecution | undefined;
  /** Replaces the caller part of an execution's input (the platform context is kept). */
  setExecutionInput(id: string, input: Record<string, unknown>): void;
  /** Replaces an execution's output; like any output it is shown once the execution has ended. */
  setExecutionOutput(id: string, output: Record<string, unknown>): void;
  /** Deletes an execution, as the platform may purge one: no endpoint returns it from now on. */
  deleteExecution(id: string): void;
  /** Registers a downloadable file (available at once) and returns its id and URL. */
  addFile(spec: AddFileSpec): { id: string; url: string };
  /** Makes GET `path` (any path) answer 302 with `location`. */
  addRedirect(path: string, location: string): void;
  /** Every upload received, oldest first (those answered 500 included). */
  uploads(): EmulatorUpload[];
  /** How many uploads were stored. */
  uploadCount(): number;
  /** The bytes of an upload (small files: it reads them whole). */
  uploadBytes(id: string): Promise<Buffer>;
  /** A stream of an upload's bytes. */
  openUpload(id: string): Readable;
  /** SHA-256 (hex) of the bytes a download of `url` returns. */
  fileSha256(url: string): Promise<string>;
  /** Size in bytes of the file at `url`. */
  fileSize(url: string): number;
  setOrder(order: ExecutionOrder): void;
  setFaults(faults: FaultOptions | undefined): void;
  failNext(kind: FaultKind, options?: { count?: number; endpoint?: Endpoint }): void;
  /** Replaces the rate limit (`false`: none); the new window starts empty. */
  setRateLimit(rateLimit: RateLimitOptions | false): void;
  clearRequests(): void;
  /** Calls `listener` synchronously when a request arrives, before it is handled; returns an unsubscribe. */
  onRequest(listener: (request: RequestInfo) => void): () => void;
}

/** Creates an emulator (not yet listening). Invalid options throw EmulatorConfigError. */
export function createEmulator(options: EmulatorOptions = {}): Emulator {
  return new ProductLiveEmulator(options);
}

/** Where a file URL points when the server has not started and no publicUrl is set (`.invalid` is reserved). */
const UNSTARTED_BASE_URL = 'http://emulator.invalid';
const API_USER_ID = '5443';

class ProductLiveEmulator implements Emulator {
  readonly apiKey: string;
  readonly clock: Clock;
  private readonly now: () => number;
  private readonly files = new FileStore();
  private readonly store: ExecutionStore;
  private readonly random: SeededRandom;
  private readonly http: HttpFrontEnd;
  private readonly publicUrl: string | undefined;
  private readonly runTimeMs: readonly [number, number] | undefined;
  private readonly outcomeWeights: Record<TerminalOutcome, number>;
  private readonly findOperators: ReadonlySet<string> | undefined;
  private readonly lateVisibility: { share: number; delayMs: number } | undefined;
  private readonly uploadRecords: { upload: Omit<EmulatorUpload, 'url'>; file: EmulatorFile }[] = [];
  private readonly configuredUploadDir: string | undefined;
  private uploadDir: Promise<string> | undefined;
  private currentOrder: ExecutionOrder;

  constructor(options: EmulatorOptions) {
    validateEmulatorOptions(options);
    this.apiKey = options.apiKey ?? DEFAULT_API_KEY;
    this.clock = options.clock ?? systemClock;
    this.now = createMonotonicNow(this.clock);
    this.currentOrder = options.order ?? 'insertion';
    this.findOperators = options.findOperators ? new Set(options.findOperators) : undefined;
    this.publicUrl = options.publicUrl?.replace(/\/+$/, '');
    this.configuredUploadDir = options.uploadDir;
    this.lateVisibility = options.lifecycle?.lateVisibility;
    this.runTimeMs = toRange(options.lifecycle?.runTimeMs);
    const outcomes = options.lifecycle?.outcomes;
    this.outcomeWeights = outcomes
      ? { COMPLETED: 0, USER_ERROR: 0, FAILED: 0, TERMINATED: 0, TIMEDOUT: 0, ...outcomes }
      : { ...DEFAULT_OUTCOME_WEIGHTS };
    if (!TERMINAL_OUTCOMES.some((outcome) => this.outcomeWeights[outcome] > 0)) {
      throw new EmulatorConfigError('lifecycle.outcomes needs at least one positive weight');
    }
    this.store = new ExecutionStore({
      accountId: options.accountId ?? '2629',
      files: this.files,
      unknownFields: options.unknownFields ?? false,
      maxGeneratedFileBytes: options.maxGeneratedFileBytes ?? Number.POSITIVE_INFINITY,
    });
    const demo = options.demo === true ? {} : options.demo || undefined;
    const seed = options.seed ?? demo?.seed ?? 0;
    this.random = createSeededRandom(`runtime/${seed}`);
    this.http = new HttpFrontEnd(this.httpApi(), {
      findPath: options.findPath ?? DEFAULT_FIND_PATH,
      maxPageSize: options.maxPageSize ?? DEFAULT_MAX_PAGE_SIZE,
      pageSizeOverflow: options.pageSizeOverflow ?? 'reject',
      fileAuth: options.fileAuth ?? 'none',
      rateLimitDownloads: options.rateLimitDownloads ?? false,
      rateLimit: options.rateLimit ?? {},
      faults: options.faults,
      latencyMs: toRange(options.latencyMs),
      latencyRandom: createSeededRandom(`latency/${seed}`),
      maxUploadBytes: options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
    });
    if (demo) {
      const endAt = demo.endAt === undefined ? this.now() : Date.parse(demo.endAt);
      if (!Number.isFinite(endAt))
        throw new EmulatorConfigError(`demo.endAt must be an ISO date, got ${demo.endAt}`);
      generateDemoData(this.store, demo, Math.min(endAt, this.now()));
    }
  }

  get url(): string {
    const url = this.http.url;
    if (!url) throw new EmulatorNotStartedError('emulator.url');
    return url;
  }

  get order(): ExecutionOrder {
    return this.currentOrder;
  }

  get requests(): readonly RequestLogEntry[] {
    return this.http.log;
  }

  start(port = 0, host = '127.0.0.1'): Promise<void> {
    return this.http.start(port, host);
  }

  async stop(): Promise<void> {
    await this.http.stop();
    const created = this.uploadDir;
    if (created && this.configuredUploadDir === undefined) {
      this.uploadDir = undefined;
      await rm(await created, { recursive: true, force: true });
    }
  }

  jobs(): EmulatorJob[] {
    return this.store.jobs().map((job) => ({ ...job }));
  }

  addJob(spec: AddJobSpec): EmulatorJob {
    if (typeof spec.title !== 'string' || spec.title.length === 0) {
      throw new EmulatorConfigError('addJob needs a title');
    }
    if (spec.kind !== undefined && !(JOB_KINDS as readonly string[]).includes(spec.kind)) {
      throw new EmulatorConfigError(
        `addJob: unknown kind ${spec.kind} (expected one of ${JOB_KINDS.join(', ')})`,
      );
    }
    const pipelineId =
      spec.pipelineId === undefined
        ? this.newObjectId((id) => this.store.hasPipelineId(id))
        : spec.pipelineId;
    if (spec.runTimeMs !== undefined && !(Number.isFinite(spec.runTimeMs) && spec.runTimeMs >= 1)) {
      throw new EmulatorConfigError(`addJob: runTimeMs must be >= 1, got ${spec.runTimeMs}`);
    }
    if (spec.outcome !== undefined && !(TERMINAL_OUTCOMES as readonly string[]).includes(spec.outcome)) {
      throw new EmulatorConfigError(`addJob: unknown outcome ${spec.outcome}`);
    }
    const job = this.store.addJob({
      id: this.newObjectId((id) => this.store.hasJobId(id)),
      title: spec.title,
      pipelineId,
      kind: spec.kind ?? 'import',
      ...(spec.runTimeMs === undefined ? {} : { runTimeMs: spec.runTimeMs }),
      ...(spec.outcome === undefined ? {} : { outcome: spec.outcome }),
    });
    return { ...job };
  }

  createExecution(
    jobId: string,
    input: Record<string, unknown> = {},
    overrides: ExecutionOverrides = {},
  ): JobExecution {
    if (!isJsonObject(input)) throw new BadRequestError('input must be a JSON object');
    const record = this.runJob(jobId, toJsonObject(input, 'input'), overrides);
    return this.render(record);
  }

  executions(): JobExecution[] {
    const now = this.now();
    const base = this.renderBaseUrl();
    return this.visible(now).map((record) => this.store.render(record, now, base));
  }

  allExecutions(): JobExecution[] {
    const now = this.now();
    const base = this.renderBaseUrl();
    return this.store.ordered(this.currentOrder).map((record) => this.store.render(record, now, base));
  }

  execution(id: string): JobExecution | undefined {
    const record = this.store.get(id);
    return record ? this.render(record) : undefined;
  }

  deleteExecution(id: string): void {
    this.store.remove(id);
  }

  /** The executions the API shows at `now`, in the current order. */
  private visible(now: number): readonly ExecutionRecord[] {
    const all = this.store.ordered(this.currentOrder);
    return all.some((record) => record.visibleFromMs > now)
      ? all.filter((record) => record.visibleFromMs <= now)
      : all;
  }

  setExecutionInput(id: string, input: Record<string, unknown>): void {
    this.store.setInput(id, toJsonObject(input, 'input'));
  }

  setExecutionOutput(id: string, output: Record<string, unknown>): void {
    this.store.setOutput(id, toJsonObject(output, 'output'));
  }

  addFile(spec: AddFileSpec): { id: string; url: string } {
    if (typeof spec.filename !== 'string' || spec.filename.length === 0 || spec.filename.includes('/')) {
      throw new EmulatorConfigError(`addFile needs a file name without '/', got ${String(spec.filename)}`);
    }
    if (!Number.isSafeInteger(spec.size) || spec.size < 0) {
      throw new EmulatorConfigError(`addFile needs a size >= 0, got ${spec.size}`);
    }
    const file = this.store.createFile({
      filename: spec.filename,
      size: spec.size,
      availableAtMs: Number.NEGATIVE_INFINITY,
      random: this.random,
      ...(spec.contentType === undefined ? {} : { contentType: spec.contentType }),
      ...(spec.redirectTo === undefined ? {} : { redirectTo: spec.redirectTo }),
    });
    const base = this.publicUrl ?? this.http.url;
    if (!base) throw new EmulatorNotStartedError('addFile (to build the file URL; or set publicUrl)');
    return { id: file.id, url: base + downloadPathOf(file) };
  }

  addRedirect(path: string, location: string): void {
    this.http.addRedirect(path, location);
  }

  uploads(): EmulatorUpload[] {
    const base = this.renderBaseUrl();
    return this.uploadRecords.map(({ upload, file }) => ({ ...upload, url: base + downloadPathOf(file) }));
  }

  uploadCount(): number {
    return this.uploadRecords.length;
  }

  uploadBytes(id: string): Promise<Buffer> {
    const file = this.uploadFile(id);
    return file.content?.kind === 'disk' ? readFile(file.content.path) : Promise.resolve(Buffer.alloc(0));
  }

  openUpload(id: string): Readable {
    return createFileContentStream(this.uploadFile(id));
  }

  private uploadFile(id: string): EmulatorFile {
    const record = this.uploadRecords.find(({ upload }) => upload.id === id);
    if (!record) throw new UnknownUploadError(id);
    return record.file;
  }

  fileSha256(url: string): Promise<string> {
    return this.files.sha256(this.files.require(url));
  }

  fileSize(url: string): number {
    return this.files.require(url).size;
  }

  setOrder(order: ExecutionOrder): void {
    validateOrder(order);
    this.currentOrder = order;
  }

  setFaults(faults: FaultOptions | undefined): void {
    this.http.faults.setFaults(faults);
  }

  failNext(kind: FaultKind, options: { count?: number; endpoint?: Endpoint } = {}): void {
    this.http.faults.failNext(kind, options);
  }

  setRateLimit(rateLimit: RateLimitOptions | false): void {
    this.http.setRateLimit(rateLimit);
  }

  clearRequests(): void {
    this.http.log.length = 0;
  }

  onRequest(listener: (request: RequestInfo) => void): () => void {
    return this.http.onRequest(listener);
  }

  // ---- run-time lifecycle -------------------------------------------------------------------------

  private runJob(jobId: string, input: JsonObject, overrides: ExecutionOverrides): ExecutionRecord {
    if (
      overrides.outcome !== undefined &&
      !(TERMINAL_OUTCOMES as readonly string[]).includes(overrides.outcome)
    ) {
      throw new EmulatorConfigError(`unknown outcome ${overrides.outcome}`);
    }
    if (overrides.runTimeMs !== undefined && !(overrides.runTimeMs >= 1)) {
      throw new EmulatorConfigError(`runTimeMs must be >= 1, got ${overrides.runTimeMs}`);
    }
    if (overrides.visibleAfterMs !== undefined && !(overrides.visibleAfterMs >= 0)) {
      throw new EmulatorConfigError(`visibleAfterMs must be >= 0, got ${overrides.visibleAfterMs}`);
    }
    const job = this.store.runnableJob(jobId);
    const now = this.now();
    const random = this.random;
    const outcome = overrides.outcome ?? job.outcome ?? random.weighted(this.outcomeWeights);
    const runTimeMs =
      overrides.runTimeMs ??
      job.runTimeMs ??
      (this.runTimeMs
        ? random.int(this.runTimeMs[0], this.runTimeMs[1])
        : drawRunTimeMs(job.kind, outcome, random));
    const schedule = this.store.schedule(job.pipelineId, now, runTimeMs, random);
    const record = this.store.build(
      { job, createdAtMs: now, userId: API_USER_ID, input, runTimeMs, outcome },
      schedule,
      random,
    );
    const late = this.lateVisibility;
    const delay =
      overrides.visibleAfterMs ?? (late && late.share > 0 && random.next() < late.share ? late.delayMs : 0);
    record.visibleFromMs = now + Math.max(0, delay);
    return this.store.insert(record);
  }

  private newObjectId(taken: (id: string) => boolean): string {
    const prefix = Math.floor(this.now() / 1000)
      .toString(16)
      .padStart(8, '0')
      .slice(-8);
    let id = prefix + this.random.hex(16);
    while (taken(id)) id = prefix + this.random.hex(16);
    return id;
  }

  private render(record: ExecutionRecord): JobExecution {
    return this.store.render(record, this.now(), this.renderBaseUrl());
  }

  private renderBaseUrl(): string {
    return this.publicUrl ?? this.http?.url ?? UNSTARTED_BASE_URL;
  }

  // ---- the API's answers, for the HTTP front end ----------------------------------------------------

  private httpApi(): EmulatorApi {
    return {
      apiKey: this.apiKey,
      now: () => this.now(),
      create: (body, dryRun) => this.answerCreate(body, dryRun),
      get: (executionId) => {
        const record = this.store.require(executionId);
        if (record.visibleFromMs > this.now()) throw new UnknownExecutionError(executionId);
        return { statusCode: 200, text: this.store.renderText(record, this.now(), this.renderBaseUrl()) };
      },
      list: (paging: Paging) => {
        const ordered = this.visible(this.now());
        const start = paging.page * paging.size;
        return this.listAnswer(ordered.slice(start, start + paging.size), ordered.length);
      },
      find: (body, paging) => this.answerFind(body, paging.page, paging.size),
      upload: (received, mode) => this.answerUpload(received, mode),
      uploadDirectory: () => this.uploadDirectory(),
      file: (path) => {
        const file = this.files.resolve(path);
        return file && this.now() >= file.availableAtMs ? file : undefined;
      },
    };
  }

  private answerCreate(body: unknown, dryRun: boolean): JsonAnswer {
    if (!isJsonObject(body)) throw new BadRequestError('Request body must be a JSON object with a jobId');
    const { jobId, input } = body;
    if (jobId === undefined) throw new BadRequestError('jobId is required');
    if (typeof jobId !== 'string' || jobId.length === 0)
      throw new BadRequestError('jobId must be a non-empty string');
    if (input !== undefined && !isJsonObject(input)) throw new BadRequestError('input must be a JSON object');
    if (dryRun) {
      // A broken answer must not hide a created execution: only 'commit-then-500' creates and fails.
      this.store.runnableJob(jobId);
      const text = JSON.stringify({ object: 'job_execution', jobId, id: '000000000000000000000000' });
      return { statusCode: 200, text };
    }
    const record = this.runJob(jobId, input ?? {}, {});
    return { statusCode: 200, text: this.store.renderText(record, this.now(), this.renderBaseUrl()) };
  }

  private uploadDirectory(): Promise<string> {
    this.uploadDir ??= (async () => {
      const configured = this.configuredUploadDir;
      if (configured === undefined) return mkdtemp(join(tmpdir(), 'product-live-emulator-uploads-'));
      await mkdir(configured, { recursive: true });
      return configured;
    })();
    return this.uploadDir;
  }

  private async answerUpload(received: ReceivedUpload, mode: UploadMode): Promise<JsonAnswer> {
    const now = this.now();
    const createdAt = new Date(now).toISOString();
    if (mode === 'dry-run') {
      // The answer will be broken: nothing may be kept that the client cannot learn about.
      await rm(received.path, { force: true });
      const text = JSON.stringify({ object: 'data_factory_file', id: '0'.repeat(64), createdAt });
      return { statusCode: 201, text };
    }
    const file = this.store.createFile({
      filename: received.fileName,
      size: received.size,
      availableAtMs: now,
      random: this.random,
      contentType: received.contentType,
      content: { kind: 'disk', path: received.path },
      sha256: received.sha256,
    });
    this.uploadRecords.push({
      upload: {
        id: file.id,
        fileName: received.fileName,
        size: received.size,
        sha256: received.sha256,
        contentType: received.contentType,
        createdAt,
        status: mode === 'store-then-500' ? 500 : 201,
      },
      file,
    });
    const url = this.renderBaseUrl() + downloadPathOf(file);
    const answer = { object: 'data_factory_file', id: file.id, createdAt, updatedAt: createdAt, url };
    return { statusCode: 201, text: JSON.stringify(answer) };
  }

  private answerFind(body: unknown, page: number, size: number): JsonAnswer {
    const now = this.now();
    const base = this.renderBaseUrl();
    const store = this.store;
    const matches = compileFindQuery<ExecutionRecord>(body, {
      isKnownField: (name) => store.isKnownField(name),
      isDateField: (name) => store.isDateField(name),
      read: (record, field) => store.readField(record, field, now, base),
      supportsType: (type) => this.findOperators?.has(type) ?? true,
    });
    const start = page * size;
    const end = start + size;
    const pageItems: ExecutionRecord[] = [];
    let total = 0;
    for (const record of this.visible(now)) {
      if (!matches(record)) continue;
      if (total >= start && total < end) pageItems.push(record);
      total++;
    }
    return this.listAnswer(pageItems, total);
  }

  private listAnswer(records: readonly ExecutionRecord[], totalElements: number): JsonAnswer {
    const now = this.now();
    const base = this.renderBaseUrl();
    const data = records.map((record) => this.store.renderText(record, now, base)).join(',');
    return { statusCode: 200, text: `{"object":"list","data":[${data}],"totalElements":${totalElements}}` };
  }
}

function toRange(
  value: number | readonly [number, number] | undefined,
): readonly [number, number] | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'number' ? [value, value] : value;
}
