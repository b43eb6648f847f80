// Layer flow: use cases (sync, launch) -> ProductLiveClient -> fetch -> Product-Live Data Factory API.
// The client owns the HTTP contract: URLs, headers, the shared rate budget, retries and error naming; the
// answers are mapped by product-live-responses.ts, upload bodies framed by multipart-body.ts. It never logs
// or throws the API key.

import { ALTERNATIVE_FIND_PATH, DEFAULT_FIND_PATH, EXECUTIONS_PATH } from '../defaults';
import type { AppLogger } from '../observability';
import type * as z from '../zod';
import { createUploadBody, fileNameProblem, multipartFraming, type UploadBody } from './multipart-body';
import {
  findErrorCode,
  type HttpMethod,
  isRetryable,
  isSafeToRepeat,
  ProductLiveError,
  ProductLiveNetworkError,
  ProductLiveNotFoundError,
  ProductLiveRateLimitError,
} from './product-live.errors';
import {
  CreateJobExecutionRequest,
  type FindQuery,
  JobExecution,
  JobExecutionList,
  UploadedFile,
} from './product-live.schema';
import { type AnsweredRequest, errorForStatus, parseBody } from './product-live-responses';
import { RateBudget } from './rate-budget';
import { createSecretRedactor, type SecretRedactor } from './redact-secret';
import { sleep as defaultSleep } from './sleep';
import { streamingFetch } from './streaming-fetch';

export { UploadedFile } from './product-live.schema';

/** The Files API: `multipart/form-data` with the field `file`. */
export const FILES_PATH = '/v1/data_factory/files';
/**
 * Product-Live's documented upload limit, "100 MB", read as 100 × 2^20 bytes (its exact count is undocumented):
 * the launch refuses larger objects before uploading, and the emulator answers 413 above it.
 */
export const MAX_UPLOAD_BYTES = 104_857_600;

/** True when `value` can be an upload's Content-Type (`type/subtype`, parameters allowed, no line break). */
export function isUploadContentType(value: string): boolean {
  return /^[^\s\r\n;]+\/[^\r\n]+$/.test(value);
}

/** A file to upload, opened afresh for each attempt (a stream cannot be replayed). */
export interface UploadSource {
  /**
   * Sent as the multipart filename, unicode and spaces kept (RFC 7578: UTF-8 in filename="…", with quotes and
   * backslashes escaped; CR/LF refused).
   */
  fileName: string;
  /**
   * Exact byte count: the request's Content-Length is computed from it; a source that yields a different count
   * fails the attempt.
   */
  size: number;
  /** The part's Content-Type (default application/octet-stream). */
  contentType?: string;
  /** E.g. an S3 GetObject Body (a Node Readable is an AsyncIterable). Its own failure is thrown as it is. */
  open(): Promise<AsyncIterable<Uint8Array>>;
}

/** The `fetch` subset the client uses; `globalThis.fetch` fits, and so does a small fake in tests. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** What the client reports after every HTTP attempt (for metrics and progress output). */
export interface ProductLiveRequestEvent {
  method: HttpMethod;
  path: string;
  attempt: number;
  /** HTTP status, when an answer arrived. */
  status: number | undefined;
  durationMs: number;
  /** The failure of this attempt (redacted), whether or not it will be retried. */
  error: ProductLiveError | undefined;
}

export interface ProductLiveClientOptions {
  /** API root, e.g. `https://api.product-live.com`; may carry a path prefix (`http://localhost:4010/api`). */
  baseUrl: string;
  apiKey: string;
  /** Path of the find endpoint; the original documentation has no `/data_factory/` segment in it. */
  findPath?: string;
  /** Size of the client's own budget when `rateBudget` is not given. Default 50. */
  requestsPerMinute?: number;
  /** A budget shared with other clients of the process (wins over `requestsPerMinute`). */
  rateBudget?: RateBudget;
  /**
   * Per-attempt limit, covering the response body too. Default 30 000 ms. An upload's attempt fails only when
   * no byte could be sent for this long, or no answer came this long after its last byte.
   */
  timeoutMs?: number;
  /** Attempts per call, the first included. Default 6. */
  maxAttempts?: number;
  /** First backoff cap; doubles per attempt up to `retryMaxMs`. Default 1 000 ms. */
  retryBaseMs?: number;
  /** Longest wait between attempts, and the longest `Retry-After` the client waits out. Default 60 000 ms. */
  retryMaxMs?: number;
  /**
   * The transport of every call. Default: the global fetch, and for uploads `streamingFetch` (node:http), since
   * Node 22's fetch keeps a streamed request body in memory (nodejs/undici#4058).
   */
  fetch?: FetchLike;
  /** Waits between attempts. Default: `setTimeout`-based, abortable. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Source of jitter in [0, 1). Default `Math.random`. */
  random?: () => number;
  logger?: AppLogger;
  userAgent?: string;
  onRequest?: (event: ProductLiveRequestEvent) => void;
}

/** Paging of list and find calls; the server defaults are page 0, size 20 (list) or 10 (find). */
export interface PageOptions {
  page?: number;
  size?: number;
}

/** Options every call accepts. */
export interface CallOptions {
  /** Aborts waiting, the in-flight attempt and further retries; the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Connection failures that prove no byte of the request reached the server. */
const NOT_SENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

interface RequestSpec<T> extends AnsweredRequest {
  query?: PageOptions;
  /** A JSON body. */
  body?: unknown;
  /** A file streamed as `multipart/form-data` (instead of `body`). */
  upload?: UploadSource;
  schema: z.ZodMiniType<T>;
  /** False for create: only failures that prove the server did nothing are retried. */
  idempotent: boolean;
  signal: AbortSignal | undefined;
}

/**
 * HTTP client of the Product-Live Data Factory job execution API.
 *
 * Every attempt (retries included) takes a slot of the rate budget. Failures are retried with
 * exponential backoff and full jitter, at most `maxAttempts` attempts in all: 429 (waiting out
 * `Retry-After`, in seconds or as an HTTP date, and pausing the whole budget meanwhile), 5xx, network
 * failures, timeouts, and 2xx bodies that are not JSON. Any other 4xx and schema failures are thrown
 * at once. Every 2xx body is validated; unknown fields are kept.
 */
export class ProductLiveClient {
  /** The budget every attempt of this client goes through; pass it to other clients to share it. */
  readonly rateBudget: RateBudget;
  private readonly root: string;
  private currentFindPath: string;
  /** Set once a find succeeded: from then on a 404 is an answer, not a wrong path. */
  private findPathSettled = false;
  // An ECMAScript private field: invisible to util.inspect and JSON.stringify if the client is ever logged.
  readonly #apiKey: string;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly fetchFn: FetchLike;
  private readonly uploadFetchFn: FetchLike;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  private readonly logger: AppLogger | undefined;
  private readonly userAgent: string | undefined;
  private readonly onRequest: ((event: ProductLiveRequestEvent) => void) | undefined;
  private readonly redactor: SecretRedactor;
  private requests = 0;
  private throttled = 0;

  constructor(options: ProductLiveClientOptions) {
    if (!options.apiKey) throw new TypeError('ProductLiveClient apiKey must be a non-empty string');
    this.#apiKey = options.apiKey;
    this.redactor = createSecretRedactor(options.apiKey);
    this.root = parseBaseUrl(options.baseUrl);
    this.currentFindPath = `/${(options.findPath ?? DEFAULT_FIND_PATH).replace(/^\/+/, '')}`;
    this.rateBudget = options.rateBudget ?? new RateBudget({ limit: options.requestsPerMinute ?? 50 });
    this.timeoutMs = requireNumber('timeoutMs', options.timeoutMs ?? 30_000, 1);
    this.maxAttempts = Math.floor(requireNumber('maxAttempts', options.maxAttempts ?? 6, 1));
    this.retryBaseMs = requireNumber('retryBaseMs', options.retryBaseMs ?? 1_000, 0);
    this.retryMaxMs = requireNumber('retryMaxMs', options.retryMaxMs ?? 60_000, 0);
    this.fetchFn = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
    this.uploadFetchFn = options.fetch ?? streamingFetch;
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
    this.logger = options.logger;
    this.userAgent = options.userAgent;
    this.onRequest = options.onRequest;
  }

  /** HTTP attempts made so far, retries included (the sync summary's `apiRequests`). */
  get requestCount(): number {
    return this.requests;
  }

  /** 429 answers received so far (the sync summary's `throttled`). */
  get throttledCount(): number {
    return this.throttled;
  }

  /** The find path in use: the configured one, or the other spelling once the configured one answered 404. */
  get findPath(): string {
    return this.currentFindPath;
  }

  /**
   * Starts from a find path learned earlier (another process found that it answers). A 404 on it still
   * makes the client try the other documented spelling.
   */
  useFindPath(path: string): void {
    if (this.findPathSettled) return;
    this.currentFindPath = `/${path.replace(/^\/+/, '')}`;
  }

  /**
   * Runs a job: `POST /v1/data_factory/job_executions`.
   *
   * Not idempotent, so retried only when the failure proves the server did nothing: a 429, or a
   * connection that was refused or whose host did not resolve. A 5xx, a timeout, a reset connection or
   * an unreadable 2xx body is thrown at once: the job may have started, and the caller must resolve
   * that ambiguity (see `isOutcomeUnknown`) before trying again.
   */
  async createJobExecution(
    request: CreateJobExecutionRequest,
    options: CallOptions = {},
  ): Promise<JobExecution> {
    const { jobId, input } = CreateJobExecutionRequest.parse(request);
    return this.request({
      method: 'POST',
      path: EXECUTIONS_PATH,
      operation: 'create',
      body: input === undefined ? { jobId } : { jobId, input },
      schema: JobExecution,
      kind: 'execution',
      idempotent: false,
      signal: options.signal,
    });
  }

  /** Reads one execution: `GET /v1/data_factory/job_executions/{id}`. */
  async getJobExecution(id: string, options: CallOptions = {}): Promise<JobExecution> {
    if (!id) throw new TypeError('getJobExecution needs a non-empty id');
    return this.request({
      method: 'GET',
      path: `${EXECUTIONS_PATH}/${encodeURIComponent(id)}`,
      operation: 'get',
      schema: JobExecution,
      kind: 'execution',
      idempotent: true,
      signal: options.signal,
    });
  }

  /** Lists executions: `GET /v1/data_factory/job_executions?page&size` (only the given parameters are sent). */
  async listJobExecutions(options: PageOptions & CallOptions = {}): Promise<JobExecutionList> {
    return this.request({
      method: 'GET',
      path: EXECUTIONS_PATH,
      operation: 'list',
      query: pageQuery(options),
      schema: JobExecutionList,
      kind: 'list',
      idempotent: true,
      signal: options.signal,
    });
  }

  /**
   * Runs a find query: `POST {findPath}?page&size` with the query as JSON body. Read-only, so retried.
   * The reference page's find path has no `/data_factory/` segment, unlike the other endpoints: if the
   * configured path answers 404 (find never does for an empty result), the other spelling is tried once
   * and kept for the client's lifetime.
   */
  async findJobExecutions(
    query: FindQuery,
    options: PageOptions & CallOptions = {},
  ): Promise<JobExecutionList> {
    const find = (path: string) =>
      this.request({
        method: 'POST',
        path,
        operation: 'find',
        query: pageQuery(options),
        body: query,
        schema: JobExecutionList,
        kind: 'list',
        idempotent: true,
        signal: options.signal,
      });
    try {
      const list = await find(this.currentFindPath);
      this.findPathSettled = true;
      return list;
    } catch (error) {
      const alternative = alternativeFindPath(this.currentFindPath);
      if (!(error instanceof ProductLiveNotFoundError) || !alternative || this.findPathSettled) throw error;
      const list = await find(alternative);
      this.logger?.warn('the find path answered 404; using the other documented spelling', {
        configured: this.currentFindPath,
        used: alternative,
      });
      this.currentFindPath = alternative;
      this.findPathSettled = true;
      return list;
    }
  }

  /**
   * Uploads a file: `POST /v1/data_factory/files`, `multipart/form-data` with the field `file`; returns the
   * `data_factory_file` to name in a job's `input` (200 or 201 accepted, unknown fields kept).
   *
   * Streamed: each attempt opens the source afresh and sends preamble + its bytes + epilogue with an exact
   * Content-Length, pulling a chunk only when the connection takes one. Retried like a read (429, 5xx,
   * network failures, timeouts, a source that failed): an upload answered ambiguously may be repeated, the
   * orphan is harmless (Product-Live deletes unused uploads after 90 days). A 413 (too large) or any other 4xx
   * is thrown at once as a `ProductLiveApiError` with its `status`. An attempt times out when no byte could be
   * sent for `timeoutMs`, or no answer came `timeoutMs` after the last byte: no total deadline.
   *
   * Throws a TypeError, before any request, for a name with CR or LF, an empty name or a size that is not a
   * byte count; a failure of `source.open()` is thrown as it is, unretried.
   */
  async uploadFile(source: UploadSource, options: CallOptions = {}): Promise<UploadedFile> {
    const problem =
      typeof source.fileName === 'string' ? fileNameProblem(source.fileName) : 'it is not a string';
    if (problem) throw new TypeError(`uploadFile cannot send this file name: ${problem}`);
    if (!Number.isSafeInteger(source.size) || source.size < 0) {
      throw new TypeError(`uploadFile needs the exact size in bytes, got ${source.size}`);
    }
    if (source.contentType !== undefined && !isUploadContentType(source.contentType)) {
      throw new TypeError(
        `uploadFile needs a MIME type as contentType, got ${JSON.stringify(source.contentType)}`,
      );
    }
    if (typeof source.open !== 'function') throw new TypeError('uploadFile needs a source with open()');
    return this.request({
      method: 'POST',
      path: FILES_PATH,
      operation: 'upload',
      upload: source,
      schema: UploadedFile,
      kind: 'file',
      idempotent: true,
      signal: options.signal,
    });
  }

  private async request<T>(spec: RequestSpec<T>): Promise<T> {
    const url = this.buildUrl(spec.path, spec.query);
    for (let attempt = 1; ; attempt += 1) {
      let failure: ProductLiveError;
      try {
        return await this.rateBudget.schedule(() => this.attempt(spec, url, attempt), {
          signal: spec.signal,
        });
      } catch (error) {
        if (!(error instanceof ProductLiveError)) throw error; // the caller's abort reason, or a bug
        failure = error;
      }

      const retryable = spec.idempotent ? isRetryable(failure) : isSafeToRepeat(failure);
      if (!retryable || attempt >= this.maxAttempts) throw failure;

      const retryAfterMs = failure instanceof ProductLiveRateLimitError ? failure.retryAfterMs : undefined;
      if (retryAfterMs !== undefined && retryAfterMs > this.retryMaxMs) {
        // Longer than this client may wait: hand the decision to the caller, who knows its deadline.
        this.rateBudget.pauseUntil(Date.now() + retryAfterMs);
        throw failure;
      }
      const delayMs = retryAfterMs ?? this.backoffMs(attempt);
      if (failure instanceof ProductLiveRateLimitError) this.rateBudget.pauseUntil(Date.now() + delayMs);
      this.logger?.warn('Product-Live request failed, retrying', {
        method: spec.method,
        path: spec.path,
        attempt,
        maxAttempts: this.maxAttempts,
        delayMs,
        reason: failure.message,
      });
      await this.sleep(delayMs, spec.signal);
    }
  }

  /** Full jitter: uniform in [0, min(retryMaxMs, retryBaseMs × 2^(attempt − 1))). */
  private backoffMs(attempt: number): number {
    const cap = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** (attempt - 1));
    return Math.floor(this.random() * cap);
  }

  private async attempt<T>(spec: RequestSpec<T>, url: string, attempt: number): Promise<T> {
    // Opened before the attempt counts: a source that cannot be opened sends nothing.
    const source = spec.upload ? await spec.upload.open() : undefined;
    if (spec.upload && typeof source?.[Symbol.asyncIterator] !== 'function') {
      throw new TypeError('uploadFile: the source’s open() must resolve to an AsyncIterable of bytes');
    }
    this.requests += 1;
    const startedAt = Date.now();
    const timeout = new AbortController();
    const timer = new IdleTimer(this.timeoutMs, () => timeout.abort());
    const signal = spec.signal ? AbortSignal.any([timeout.signal, spec.signal]) : timeout.signal;
    let upload: UploadBody | undefined;
    let status: number | undefined;
    let failure: ProductLiveError | undefined;
    try {
      let text: string;
      try {
        // `duplex` is standard (a streamed body needs it) but missing from the DOM typings in use.
        const init: RequestInit & { duplex?: 'half' } = {
          method: spec.method,
          // Never follow a redirect: fetch would send X-Api-Key on to wherever it points.
          redirect: 'manual',
          signal,
        };
        if (spec.upload && source) {
          const framing = multipartFraming(
            spec.upload.fileName,
            spec.upload.contentType ?? 'application/octet-stream',
          );
          upload = createUploadBody({
            framing,
            fileName: spec.upload.fileName,
            size: spec.upload.size,
            source,
            // Progress restarts the timer: a large upload on a slow link fails only when it stalls.
            onProgress: () => timer.restart(),
          });
          init.headers = this.headers({
            contentType: `multipart/form-data; boundary=${framing.boundary}`,
            contentLength: upload.contentLength,
          });
          init.body = upload.stream;
          init.duplex = 'half';
        } else {
          init.headers = this.headers(spec.body === undefined ? {} : { contentType: 'application/json' });
          if (spec.body !== undefined) init.body = JSON.stringify(spec.body);
        }
        const response = await (upload ? this.uploadFetchFn : this.fetchFn)(url, init);
        status = response.status;
        if (status === 429) this.throttled += 1;
        text = await response.text();
        if (status < 200 || status > 299)
          throw errorForStatus(spec, status, text, response.headers, this.redactor);
      } catch (error) {
        if (error instanceof ProductLiveError) throw error;
        if (spec.signal?.aborted) throw spec.signal.reason;
        if (upload?.failure) throw upload.failure;
        const timedOut = timeout.signal.aborted;
        const code = findErrorCode(error);
        throw new ProductLiveNetworkError({
          method: spec.method,
          path: spec.path,
          operation: spec.operation,
          timedOut,
          timeoutMs: this.timeoutMs,
          requestMayHaveBeenSent:
            timedOut || status !== undefined || code === undefined || !NOT_SENT_CODES.has(code),
          cause: this.redactor.redactError(error),
        });
      }
      return parseBody(spec, spec.schema, status, text, this.redactor);
    } catch (error) {
      if (error instanceof ProductLiveError) failure = error;
      throw error;
    } finally {
      timer.clear();
      if (upload && !upload.complete) {
        // Answered (or failed) before the whole body was out, e.g. a 413: stop sending, release the source
        // (not awaited: a stalled source may only let go once its pending read settles).
        timeout.abort();
        void upload.close();
      }
      this.reportAttempt({
        method: spec.method,
        path: spec.path,
        attempt,
        status,
        durationMs: Date.now() - startedAt,
        error: failure,
      });
    }
  }

  private headers(body: { contentType?: string; contentLength?: number }): Record<string, string> {
    const headers: Record<string, string> = { 'X-Api-Key': this.#apiKey, accept: 'application/json' };
    if (body.contentType) headers['content-type'] = body.contentType;
    if (body.contentLength !== undefined) headers['content-length'] = String(body.contentLength);
    if (this.userAgent) headers['user-agent'] = this.userAgent;
    return headers;
  }

  private buildUrl(path: string, query: PageOptions | undefined): string {
    const params = new URLSearchParams();
    if (query?.page !== undefined) params.set('page', String(query.page));
    if (query?.size !== undefined) params.set('size', String(query.size));
    const search = params.size > 0 ? `?${params}` : '';
    return `${this.root}/${path.replace(/^\/+/, '')}${search}`;
  }

  private reportAttempt(event: ProductLiveRequestEvent): void {
    this.logger?.debug('Product-Live request', {
      method: event.method,
      path: event.path,
      attempt: event.attempt,
      status: event.status,
      durationMs: event.durationMs,
      error: event.error?.message,
    });
    try {
      this.onRequest?.(event);
    } catch (error) {
      // An observer must not break the request it observes.
      this.logger?.warn('Product-Live onRequest callback failed', {
        error: this.redactor.redactText(String(error)),
      });
    }
  }
}

/**
 * A timeout that can be restarted: a plain per-attempt limit when never restarted, an idle limit for uploads
 * (restarted on every chunk handed to fetch, and once the last byte is out).
 */
class IdleTimer {
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly ms: number,
    private readonly onTimeout: () => void,
  ) {
    this.restart();
  }

  restart(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(this.onTimeout, this.ms);
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function parseBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new TypeError(`ProductLiveClient baseUrl is not a URL: ${JSON.stringify(baseUrl)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError(`ProductLiveClient baseUrl must use http or https, got ${url.protocol}`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new TypeError('ProductLiveClient baseUrl must not carry credentials, a query or a fragment');
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** The other documented spelling of the find path (keeping any prefix), or undefined for other paths. */
function alternativeFindPath(path: string): string | undefined {
  if (path.endsWith(DEFAULT_FIND_PATH))
    return path.slice(0, -DEFAULT_FIND_PATH.length) + ALTERNATIVE_FIND_PATH;
  if (path.endsWith(ALTERNATIVE_FIND_PATH))
    return path.slice(0, -ALTERNATIVE_FIND_PATH.length) + DEFAULT_FIND_PATH;
  return undefined;
}

function pageQuery(options: PageOptions): PageOptions {
  const { page, size } = options;
  if (page !== undefined && (!Number.isInteger(page) || page < 0)) {
    throw new RangeError(`page must be a non-negative integer, got ${page}`);
  }
  if (size !== undefined && (!Number.isInteger(size) || size < 1)) {
    throw new RangeError(`size must be a positive integer, got ${size}`);
  }
  return { page, size };
}

function requireNumber(name: string, value: number, min: number): number {
  if (!Number.isFinite(value) || value < min) {
    throw new RangeError(`ProductLiveClient ${name} must be a number ≥ ${min}, got ${value}`);
  }
  return value;
}
