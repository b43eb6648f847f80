// The Product-Live emulator: an HTTP server implementing the Job Execution API of
// shared/reference/000_04e6b0a5f196ec9a.txt (create, get, list, find), the file downloads that execution
// outputs point to, the 50 requests/minute limit, and knobs for tests (order, page size, faults, latency,
// clock). Request flow: route -> request log + onRequest hooks -> latency -> auth -> rate limit -> fault
// -> endpoint. Faulted requests change no state, except 'commit-then-500', whose point is to.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { JobExecution } from '../../functions/core/product-live/product-live.schema';
import { type Clock, createMonotonicNow, systemClock } from './clock';
import { generateDemoData } from './demo-data';
import {
  BadRequestError,
  EmulatorAlreadyStartedError,
  EmulatorConfigError,
  EmulatorError,
  EmulatorNotStartedError,
  UnknownFileError,
} from './emulator-errors';
import {
  DEFAULT_API_KEY,
  DEFAULT_FIND_PATH,
  DEFAULT_MAX_PAGE_SIZE,
  type EmulatorOptions,
  FIND_PATH_ALIAS,
  type RateLimitOptions,
  type RateLimitSettings,
  resolveRateLimit,
  validateEmulatorOptions,
  validateOrder,
} from './emulator-options';
import { type ExecutionOrder, type ExecutionRecord, ExecutionStore } from './execution-store';
import { type Endpoint, FaultInjector, type FaultKind, type FaultOptions } from './fault-injector';
import { createFileContentStream, downloadPathOf, type EmulatorFile, FileStore } from './file-store';
import { compileFindQuery } from './find-query';
import { parseJsonBody, parsePaging, readBody, sendError, sendText } from './http-io';
import {
  DEFAULT_OUTCOME_WEIGHTS,
  drawRunTimeMs,
  JOB_KINDS,
  type JobKind,
  TERMINAL_OUTCOMES,
  type TerminalOutcome,
} from './job-templates';
import { isJsonObject, type JsonObject, toJsonObject } from './json-value';
import { SlidingWindowRateLimiter } from './rate-limiter';
import { createSeededRandom, type SeededRandom } from './seeded-random';

export type { ExecutionOrder } from './execution-store';
export type { Endpoint, FaultKind, FaultOptions } from './fault-injector';
export type { JobKind, TerminalOutcome } from './job-templates';

/** A job as the emulator knows it (the API has no job endpoint; tests use this to launch runs). */
export interface EmulatorJob {
  id: string;
  title: string;
  pipelineId: string | null;
  kind: JobKind;
}

/**
 * One request as the emulator saw it. `status` is set when an answer completes: it stays 0 while the
 * request is pending and for exchanges that never complete (reset, hung, truncated download).
 */
export interface RequestLogEntry {
  /** Clock time of arrival, epoch ms. */
  at: number;
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  endpoint: Endpoint | 'unknown';
  fault?: FaultKind;
}

/** What an `onRequest` listener is told, before the request is handled. */
export interface RequestInfo {
  method: string;
  path: string;
  query: Record<string, string>;
  endpoint: Endpoint | 'unknown';
}

export interface AddJobSpec {
  title: string;
  /** undefined: a new pipeline of its own; null: no pipeline (the job cannot be run). */
  pipelineId?: string | null;
  /** What its runs produce (default 'import': a report). */
  kind?: JobKind;
}

/** Per-execution overrides of the planned run, for tests that need an exact outcome or duration. */
export interface ExecutionOverrides {
  runTimeMs?: number;
  outcome?: TerminalOutcome;
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
  /** Every execution as GET would return it now (deep copies), in the current order. */
  executions(): JobExecution[];
  execution(id: string): JobExecution | undefined;
  /** Replaces the caller part of an execution's input (the platform context is kept). */
  setExecutionInput(id: string, input: Record<string, unknown>): void;
  /** Replaces an execution's output; like any output it is shown once the execution has ended. */
  setExecutionOutput(id: string, output: Record<string, unknown>): void;
  /** Registers a downloadable file (available at once) and returns its id and URL. */
  addFile(spec: AddFileSpec): { id: string; url: string };
  /** Makes GET `path` (any path) answer 302 with `location`. */
  addRedirect(path: string, location: string): void;
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
const REQUEST_LOG_LIMIT = 100_000;
const EXECUTIONS_PATH = '/v1/data_factory/job_executions';

interface Route {
  endpoint: Endpoint;
  executionId?: string;
}

/** A successful API answer, already serialized (pages are concatenations of cached execution texts). */
interface JsonAnswer {
  statusCode: number;
  text: string;
}

class ProductLiveEmulator implements Emulator {
  readonly apiKey: string;
  readonly clock: Clock;
  private readonly now: () => number;
  private readonly files = new FileStore();
  private readonly store: ExecutionStore;
  private readonly random: SeededRandom;
  private readonly latencyRandom: SeededRandom;
  private readonly faults: FaultInjector;
  private readonly findPath: string;
  private readonly maxPageSize: number;
  private readonly pageSizeOverflow: 'reject' | 'clamp';
  private readonly fileAuth: 'none' | 'api-key';
  private readonly rateLimitDownloads: boolean;
  private readonly publicUrl: string | undefined;
  private readonly latencyMs: readonly [number, number] | undefined;
  private readonly runTimeMs: readonly [number, number] | undefined;
  private readonly outcomeWeights: Record<TerminalOutcome, number>;
  private readonly findOperators: ReadonlySet<string> | undefined;
  private readonly redirects = new Map<string, string>();
  private readonly listeners = new Set<(request: RequestInfo) => void>();
  private readonly log: RequestLogEntry[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private rateLimit: RateLimitSettings | undefined;
  private limiter: SlidingWindowRateLimiter | undefined;
  private currentOrder: ExecutionOrder;
  private server: Server | undefined;
  private baseUrl: string | undefined;

  constructor(options: EmulatorOptions) {
    validateEmulatorOptions(options);
    this.apiKey = options.apiKey ?? DEFAULT_API_KEY;
    this.clock = options.clock ?? systemClock;
    this.now = createMonotonicNow(this.clock);
    this.currentOrder = options.order ?? 'insertion';
    this.findPath = options.findPath ?? DEFAULT_FIND_PATH;
    this.findOperators = options.findOperators ? new Set(options.findOperators) : undefined;
    this.maxPageSize = options.maxPageSize ?? DEFAULT_MAX_PAGE_SIZE;
    this.pageSizeOverflow = options.pageSizeOverflow ?? 'reject';
    this.fileAuth = options.fileAuth ?? 'none';
    this.rateLimitDownloads = options.rateLimitDownloads ?? false;
    this.publicUrl = options.publicUrl?.replace(/\/+$/, '');
    this.latencyMs = toRange(options.latencyMs);
    this.runTimeMs = toRange(options.lifecycle?.runTimeMs);
    const outcomes = options.lifecycle?.outcomes;
    this.outcomeWeights = outcomes
      ? { COMPLETED: 0, USER_ERROR: 0, FAILED: 0, TERMINATED: 0, TIMEDOUT: 0, ...outcomes }
      : { ...DEFAULT_OUTCOME_WEIGHTS };
    if (!TERMINAL_OUTCOMES.some((outcome) => this.outcomeWeights[outcome] > 0)) {
      throw new EmulatorConfigError('lifecycle.outcomes needs at least one positive weight');
    }
    this.faults = new FaultInjector(options.faults);
    this.setRateLimit(options.rateLimit ?? {});
    this.store = new ExecutionStore({
      accountId: options.accountId ?? '2629',
      files: this.files,
      unknownFields: options.unknownFields ?? false,
      maxGeneratedFileBytes: options.maxGeneratedFileBytes ?? Number.POSITIVE_INFINITY,
    });
    const demo = options.demo === true ? {} : options.demo || undefined;
    const seed = options.seed ?? demo?.seed ?? 0;
    this.random = createSeededRandom(`runtime/${seed}`);
    this.latencyRandom = createSeededRandom(`latency/${seed}`);
    if (demo) {
      const endAt = demo.endAt === undefined ? this.now() : Date.parse(demo.endAt);
      if (!Number.isFinite(endAt))
        throw new EmulatorConfigError(`demo.endAt must be an ISO date, got ${demo.endAt}`);
      generateDemoData(this.store, demo, Math.min(endAt, this.now()));
    }
  }

  get url(): string {
    if (!this.baseUrl) throw new EmulatorNotStartedError('emulator.url');
    return this.baseUrl;
  }

  get order(): ExecutionOrder {
    return this.currentOrder;
  }

  get requests(): readonly RequestLogEntry[] {
    return this.log;
  }

  async start(port = 0, host = '127.0.0.1'): Promise<void> {
    if (this.server) throw new EmulatorAlreadyStartedError();
    const server = createServer((request, response) => {
      void this.handle(request, response);
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    server.listen(port, host);
    await once(server, 'listening');
    this.server = server;
    const address = server.address() as AddressInfo;
    const urlHost =
      address.family === 'IPv6'
        ? `[${hostForUrl(address.address, '::1')}]`
        : hostForUrl(address.address, '127.0.0.1');
    this.baseUrl = `http://${urlHost}:${address.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
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
    const job = this.store.addJob({
      id: this.newObjectId((id) => this.store.hasJobId(id)),
      title: spec.title,
      pipelineId,
      kind: spec.kind ?? 'import',
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
    return this.store.ordered(this.currentOrder).map((record) => this.store.render(record, now, base));
  }

  execution(id: string): JobExecution | undefined {
    const record = this.store.get(id);
    return record ? this.render(record) : undefined;
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
    const base = this.publicUrl ?? this.baseUrl;
    if (!base) throw new EmulatorNotStartedError('addFile (to build the file URL; or set publicUrl)');
    return { id: file.id, url: base + downloadPathOf(file) };
  }

  addRedirect(path: string, location: string): void {
    if (!path.startsWith('/'))
      throw new EmulatorConfigError(`addRedirect needs a path starting with '/', got ${path}`);
    this.redirects.set(path, location);
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
    this.faults.setFaults(faults);
  }

  failNext(kind: FaultKind, options: { count?: number; endpoint?: Endpoint } = {}): void {
    this.faults.failNext(kind, options);
  }

  setRateLimit(rateLimit: RateLimitOptions | false): void {
    this.rateLimit = resolveRateLimit(rateLimit);
    this.limiter = this.rateLimit
      ? new SlidingWindowRateLimiter(this.rateLimit.requestsPerMinute, this.rateLimit.windowMs)
      : undefined;
  }

  clearRequests(): void {
    this.log.length = 0;
  }

  onRequest(listener: (request: RequestInfo) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
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
    const job = this.store.runnableJob(jobId);
    const now = this.now();
    const random = this.random;
    const outcome = overrides.outcome ?? random.weighted(this.outcomeWeights);
    const runTimeMs =
      overrides.runTimeMs ??
      (this.runTimeMs
        ? random.int(this.runTimeMs[0], this.runTimeMs[1])
        : drawRunTimeMs(job.kind, outcome, random));
    const schedule = this.store.schedule(job.pipelineId, now, runTimeMs, random);
    const record = this.store.build(
      { job, createdAtMs: now, userId: API_USER_ID, input, runTimeMs, outcome },
      schedule,
      random,
    );
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
    return this.publicUrl ?? this.baseUrl ?? UNSTARTED_BASE_URL;
  }

  // ---- HTTP ---------------------------------------------------------------------------------------

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    const parsed = parseRequestUrl(request.url);
    if (!parsed) {
      sendError(response, 400, 'Malformed request target');
      return;
    }
    const path = parsed.pathname.length > 1 ? parsed.pathname.replace(/\/+$/, '') : parsed.pathname;
    const query = Object.fromEntries(parsed.searchParams);
    const route = this.route(method, path);
    const entry: RequestLogEntry = {
      at: this.now(),
      method,
      path,
      query,
      status: 0,
      endpoint: route?.endpoint ?? 'unknown',
    };
    this.log.push(entry);
    if (this.log.length > REQUEST_LOG_LIMIT) this.log.splice(0, this.log.length - REQUEST_LOG_LIMIT);
    response.once('finish', () => {
      entry.status = response.statusCode;
    });

    try {
      for (const listener of this.listeners) {
        listener({ method, path, query: { ...query }, endpoint: entry.endpoint });
      }
      await this.delay(this.latencyMs ? this.latencyRandom.int(this.latencyMs[0], this.latencyMs[1]) : 0);
      if (!this.server) return;
      if (!route) {
        sendError(response, 404, `Cannot ${method} ${path}`);
        return;
      }
      if (!this.admit(request, response, route.endpoint)) return;
      const fault = this.faults.decide(route.endpoint);
      if (fault) entry.fault = fault;
      if (fault && this.answerWithFault(fault, request, response)) return;
      if (route.endpoint === 'download') {
        await this.download(path, method, response, fault === 'truncated-download');
        return;
      }
      const answer = await this.answerApi(route, request, parsed.searchParams, fault);
      if (fault === 'malformed-json') {
        // Any strict prefix of a JSON object is invalid JSON.
        sendText(
          response,
          answer.statusCode,
          answer.text.slice(0, Math.max(1, Math.floor(answer.text.length / 2))),
        );
      } else if (fault === 'commit-then-500') {
        sendError(response, 500, 'Internal server error');
      } else {
        sendText(response, answer.statusCode, answer.text);
      }
    } catch (error) {
      this.answerError(error, response);
    }
  }

  private route(method: string, path: string): Route | undefined {
    if (method === 'POST' && path === EXECUTIONS_PATH) return { endpoint: 'create' };
    if (method === 'GET' && path === EXECUTIONS_PATH) return { endpoint: 'list' };
    if (method === 'POST' && (path === this.findPath || path === FIND_PATH_ALIAS))
      return { endpoint: 'find' };
    if (method === 'GET' && path.startsWith(`${EXECUTIONS_PATH}/`)) {
      const executionId = decodeSegment(path.slice(EXECUTIONS_PATH.length + 1));
      if (executionId && !executionId.includes('/')) return { endpoint: 'get', executionId };
    }
    if (
      (method === 'GET' || method === 'HEAD') &&
      (path.startsWith('/data-factory/') || this.redirects.has(path))
    ) {
      return { endpoint: 'download' };
    }
    return undefined;
  }

  /** Authentication, then the rate limit. Answers 401/429 itself and returns false when refused. */
  private admit(request: IncomingMessage, response: ServerResponse, endpoint: Endpoint): boolean {
    const isDownload = endpoint === 'download';
    const key = request.headers['x-api-key'];
    if (!isDownload || this.fileAuth === 'api-key') {
      if (key !== this.apiKey) {
        sendError(response, 401, key === undefined ? 'Missing X-Api-Key header' : 'Invalid API key');
        return false;
      }
    }
    if (!this.limiter || !this.rateLimit || (isDownload && !this.rateLimitDownloads)) return true;
    const now = this.now();
    // Counted per account: the emulator has one, and downloads without a key belong to it too.
    const decision = this.limiter.tryAcquire(this.apiKey, now);
    if (decision.allowed) return true;
    sendError(
      response,
      429,
      `Rate limit exceeded: ${this.rateLimit.requestsPerMinute} requests per ${this.rateLimit.windowMs / 1000} seconds`,
      retryAfterHeader(this.rateLimit.retryAfter, decision.retryAfterMs, now),
    );
    return false;
  }

  /** Answers the faults that replace the whole exchange; returns false for those applied later. */
  private answerWithFault(fault: FaultKind, request: IncomingMessage, response: ServerResponse): boolean {
    switch (fault) {
      case '429': {
        const style = this.rateLimit?.retryAfter === 'http-date' ? 'http-date' : 'seconds';
        sendError(
          response,
          429,
          'Too many requests',
          retryAfterHeader(style, this.faults.retryAfterSeconds * 1000, this.now()),
        );
        return true;
      }
      case '429-no-retry-after':
        sendError(response, 429, 'Too many requests');
        return true;
      case '500':
      case '502':
      case '503':
        sendError(response, Number(fault), `Injected fault ${fault}`);
        return true;
      case 'reset':
        request.socket.resetAndDestroy();
        return true;
      case 'timeout': {
        const timeoutMs = this.faults.timeoutMs;
        if (timeoutMs !== undefined) {
          const timer = setTimeout(() => {
            this.timers.delete(timer);
            if (!response.destroyed) sendError(response, 504, 'Upstream timed out');
          }, timeoutMs);
          this.timers.add(timer);
          response.once('close', () => {
            clearTimeout(timer);
            this.timers.delete(timer);
          });
        }
        return true;
      }
      default:
        return false;
    }
  }

  private async answerApi(
    route: Route,
    request: IncomingMessage,
    search: URLSearchParams,
    fault: FaultKind | undefined,
  ): Promise<JsonAnswer> {
    switch (route.endpoint) {
      case 'create':
        return this.answerCreate(parseJsonBody(await readBody(request)), fault === 'malformed-json');
      case 'get': {
        const record = this.store.require(route.executionId ?? '');
        return { statusCode: 200, text: this.store.renderText(record, this.now(), this.renderBaseUrl()) };
      }
      case 'list': {
        const paging = parsePaging(search, 20, this.maxPageSize, this.pageSizeOverflow);
        const ordered = this.store.ordered(this.currentOrder);
        const start = paging.page * paging.size;
        return this.listAnswer(ordered.slice(start, start + paging.size), ordered.length);
      }
      case 'find': {
        const paging = parsePaging(search, 10, this.maxPageSize, this.pageSizeOverflow);
        const body = parseJsonBody(await readBody(request));
        return this.answerFind(body, paging.page, paging.size);
      }
      default:
        throw new EmulatorError(500, `no handler for ${route.endpoint}`);
    }
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
    for (const record of store.ordered(this.currentOrder)) {
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

  private async download(
    path: string,
    method: string,
    response: ServerResponse,
    truncate: boolean,
  ): Promise<void> {
    const redirect = this.redirects.get(path);
    if (redirect !== undefined) {
      response.writeHead(302, { Location: redirect, 'Content-Length': '0' });
      response.end();
      return;
    }
    const file = this.files.resolve(path);
    if (!file || this.now() < file.availableAtMs) throw new UnknownFileError(path);
    if (file.redirectTo !== undefined) {
      response.writeHead(302, { Location: file.redirectTo, 'Content-Length': '0' });
      response.end();
      return;
    }
    response.writeHead(200, {
      'Content-Type': file.contentType,
      'Content-Length': String(file.size),
      'Content-Disposition': `attachment; filename="${file.filename.replace(/["\\]/g, '_')}"`,
    });
    if (method === 'HEAD') {
      response.end();
      return;
    }
    const content = createFileContentStream(file);
    if (truncate) {
      await sendTruncated(content, response, file);
      return;
    }
    try {
      await pipeline(content, response);
    } catch {
      // The client went away mid-download: nothing to answer.
    }
  }

  private answerError(error: unknown, response: ServerResponse): void {
    if (response.headersSent || response.destroyed) {
      response.destroy();
      return;
    }
    if (error instanceof EmulatorError) {
      sendError(response, error.statusCode, error.message);
      return;
    }
    if (error instanceof EmulatorConfigError) {
      sendError(response, 500, error.message);
      return;
    }
    // A client that aborts while its body is read lands here too; the socket is gone then.
    sendError(response, 500, `Emulator error: ${error instanceof Error ? error.message : String(error)}`);
  }

  private delay(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}

/**
 * Sends the headers of the whole file (full Content-Length) but only about half of its bytes, then
 * destroys the socket: what a dropped connection looks like to a client.
 */
async function sendTruncated(content: Readable, response: ServerResponse, file: EmulatorFile): Promise<void> {
  const limit = Math.min(Math.max(0, file.size - 1), Math.floor(file.size / 2));
  response.flushHeaders();
  let sent = 0;
  try {
    for await (const chunk of content) {
      if (response.destroyed) break;
      const buffer = chunk as Buffer;
      const piece = buffer.subarray(0, limit - sent);
      sent += piece.length;
      if (piece.length > 0 && !response.write(piece)) await once(response, 'drain');
      if (sent >= limit) break;
    }
  } catch {
    // Client gone.
  }
  content.destroy();
  if (response.destroyed) return;
  response.write('', () => response.socket?.destroy());
}

/** The Retry-After header for a wait of `waitMs` from `now`, in the configured style. */
function retryAfterHeader(
  style: RateLimitSettings['retryAfter'],
  waitMs: number,
  now: number,
): Record<string, string> {
  if (style === 'none') return {};
  if (style === 'http-date')
    return { 'Retry-After': new Date(Math.ceil((now + waitMs) / 1000) * 1000).toUTCString() };
  return { 'Retry-After': String(Math.max(1, Math.ceil(waitMs / 1000))) };
}

function toRange(
  value: number | readonly [number, number] | undefined,
): readonly [number, number] | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'number' ? [value, value] : value;
}

function hostForUrl(address: string, loopback: string): string {
  return address === '0.0.0.0' || address === '::' ? loopback : address;
}

// Prefixed rather than resolved, so that a path like `//x` stays a path and is not read as a host.
function parseRequestUrl(target: string | undefined): URL | undefined {
  const url = `http://emulator.invalid${target?.startsWith('/') ? target : '/'}`;
  return URL.canParse(url) ? new URL(url) : undefined;
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
