// Layer flow: use cases (sync, launch) -> ProductLiveClient -> fetch -> Product-Live Data Factory API.
// The client owns the HTTP contract: URLs, headers, the shared rate budget, retries, response validation
// and error naming. It never logs or throws the API key.
import type { z } from 'zod';
import {
  findErrorCode,
  type HttpMethod,
  isRetryable,
  isSafeToRepeat,
  ProductLiveApiError,
  ProductLiveAuthError,
  ProductLiveError,
  ProductLiveNetworkError,
  ProductLiveNotFoundError,
  ProductLiveRateLimitError,
  ProductLiveResponseError,
} from './product-live.errors';
import {
  CreateJobExecutionRequest,
  type FindQuery,
  JobExecution,
  JobExecutionList,
} from './product-live.schema';
import { RateBudget } from './rate-budget';
import { createSecretRedactor, type SecretRedactor } from './redact-secret';
import { sleep as defaultSleep } from './sleep';

/** The `fetch` subset the client uses; `globalThis.fetch` fits, and so does a small fake in tests. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** A minimal logger; Powertools' `Logger` satisfies it. The client passes one attributes object. */
export interface ProductLiveLogger {
  debug(message: string, ...attributes: Record<string, unknown>[]): void;
  info(message: string, ...attributes: Record<string, unknown>[]): void;
  warn(message: string, ...attributes: Record<string, unknown>[]): void;
  error(message: string, ...attributes: Record<string, unknown>[]): void;
}

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
  /** Per-attempt limit, covering the response body too. Default 30 000 ms. */
  timeoutMs?: number;
  /** Attempts per call, the first included. Default 6. */
  maxAttempts?: number;
  /** First backoff cap; doubles per attempt up to `retryMaxMs`. Default 1 000 ms. */
  retryBaseMs?: number;
  /** Longest wait between attempts, and the longest `Retry-After` the client waits out. Default 60 000 ms. */
  retryMaxMs?: number;
  fetch?: FetchLike;
  /** Waits between attempts. Default: `setTimeout`-based, abortable. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Source of jitter in [0, 1). Default `Math.random`. */
  random?: () => number;
  logger?: ProductLiveLogger;
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

/** One page of a `findAllPages` iteration. */
export interface FindPage {
  page: number;
  /** The size that was requested (the server may return fewer items per page). */
  size: number;
  data: JobExecution[];
  totalElements: number;
}

/** Page size `findAllPages` requests when none is given. */
export const DEFAULT_FIND_PAGE_SIZE = 100;

const DEFAULT_FIND_PATH = '/v1/job_executions/find';
const EXECUTIONS_PATH = '/v1/data_factory/job_executions';
const MAX_ERROR_BODY_CHARS = 4_096;
/** Connection failures that prove no byte of the request reached the server. */
const NOT_SENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

type ResponseKind = 'execution' | 'list';

interface RequestSpec<T> {
  method: HttpMethod;
  path: string;
  query?: PageOptions;
  body?: unknown;
  schema: z.ZodType<T>;
  kind: ResponseKind;
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
 * failures, timeouts, and 2xx bodies that are not JSON. 400/401/403/404 and schema failures are thrown
 * at once. Every 2xx body is validated; unknown fields are kept.
 */
export class ProductLiveClient {
  /** The budget every attempt of this client goes through; pass it to other clients to share it. */
  readonly rateBudget: RateBudget;
  private readonly root: string;
  private findPath: string;
  /** Set once a find succeeded: from then on a 404 is an answer, not a wrong path. */
  private findPathSettled = false;
  // An ECMAScript private field: invisible to util.inspect and JSON.stringify if the client is ever logged.
  readonly #apiKey: string;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly fetchFn: FetchLike;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  private readonly logger: ProductLiveLogger | undefined;
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
    this.findPath = `/${(options.findPath ?? DEFAULT_FIND_PATH).replace(/^\/+/, '')}`;
    this.rateBudget = options.rateBudget ?? new RateBudget({ limit: options.requestsPerMinute ?? 50 });
    this.timeoutMs = requireNumber('timeoutMs', options.timeoutMs ?? 30_000, 1);
    this.maxAttempts = Math.floor(requireNumber('maxAttempts', options.maxAttempts ?? 6, 1));
    this.retryBaseMs = requireNumber('retryBaseMs', options.retryBaseMs ?? 1_000, 0);
    this.retryMaxMs = requireNumber('retryMaxMs', options.retryMaxMs ?? 60_000, 0);
    this.fetchFn = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
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
        query: pageQuery(options),
        body: query,
        schema: JobExecutionList,
        kind: 'list',
        idempotent: true,
        signal: options.signal,
      });
    try {
      const list = await find(this.findPath);
      this.findPathSettled = true;
      return list;
    } catch (error) {
      const alternative = alternativeFindPath(this.findPath);
      if (!(error instanceof ProductLiveNotFoundError) || !alternative || this.findPathSettled) throw error;
      const list = await find(alternative);
      this.logger?.warn('the find path answered 404; using the other documented spelling', {
        configured: this.findPath,
        used: alternative,
      });
      this.findPath = alternative;
      this.findPathSettled = true;
      return list;
    }
  }

  /**
   * Yields every page of a find query, from `startPage` (default 0) upwards, with the same `size` each
   * time. Stops after an empty page, or once the items seen reach the latest `totalElements`. A page
   * shorter than `size` does not end the iteration by itself: servers may cap the page size.
   * Offset paging drifts when executions are created meanwhile; callers dedupe by id.
   */
  async *findAllPages(
    query: FindQuery,
    options: { size?: number; startPage?: number } & CallOptions = {},
  ): AsyncGenerator<FindPage, void, undefined> {
    const size = options.size ?? DEFAULT_FIND_PAGE_SIZE;
    const startPage = options.startPage ?? 0;
    let received = 0;
    let firstPageLength: number | undefined;
    for (let page = startPage; ; page += 1) {
      const list = await this.findJobExecutions(query, { page, size, signal: options.signal });
      if (list.data.length === 0) return;
      firstPageLength ??= list.data.length;
      received += list.data.length;
      yield { page, size, data: list.data, totalElements: list.totalElements };
      // The pages before startPage hold at least startPage × firstPageLength items (no page holds more
      // than the server's effective page size), so this position is a lower bound: never stops early.
      if (startPage * firstPageLength + received >= list.totalElements) return;
    }
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
    this.requests += 1;
    const startedAt = Date.now();
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.timeoutMs);
    const signal = spec.signal ? AbortSignal.any([timeout.signal, spec.signal]) : timeout.signal;
    let status: number | undefined;
    let failure: ProductLiveError | undefined;
    try {
      let text: string;
      try {
        const response = await this.fetchFn(url, {
          method: spec.method,
          headers: this.headers(spec.body !== undefined),
          body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
          // Never follow a redirect: fetch would send X-Api-Key on to wherever it points.
          redirect: 'manual',
          signal,
        });
        status = response.status;
        if (status === 429) this.throttled += 1;
        text = await response.text();
        if (status < 200 || status > 299) throw this.httpError(spec, status, text, response.headers);
      } catch (error) {
        if (error instanceof ProductLiveError) throw error;
        if (spec.signal?.aborted) throw spec.signal.reason;
        const timedOut = timeout.signal.aborted;
        const code = findErrorCode(error);
        throw new ProductLiveNetworkError({
          method: spec.method,
          path: spec.path,
          timedOut,
          timeoutMs: this.timeoutMs,
          requestMayHaveBeenSent:
            timedOut || status !== undefined || code === undefined || !NOT_SENT_CODES.has(code),
          cause: this.redactor.redactError(error),
        });
      }
      return this.parseBody(spec, status, text);
    } catch (error) {
      if (error instanceof ProductLiveError) failure = error;
      throw error;
    } finally {
      clearTimeout(timer);
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

  private headers(hasBody: boolean): Record<string, string> {
    const headers: Record<string, string> = { 'X-Api-Key': this.#apiKey, accept: 'application/json' };
    if (hasBody) headers['content-type'] = 'application/json';
    if (this.userAgent) headers['user-agent'] = this.userAgent;
    return headers;
  }

  private httpError<T>(
    spec: RequestSpec<T>,
    status: number,
    text: string,
    headers: Headers,
  ): ProductLiveError {
    const fields = { method: spec.method, path: spec.path, status, body: this.redactBody(text) };
    if (status === 401 || status === 403) return new ProductLiveAuthError(fields);
    if (status === 404) return new ProductLiveNotFoundError(fields);
    if (status === 429) {
      return new ProductLiveRateLimitError({
        ...fields,
        retryAfterMs: parseRetryAfter(headers.get('retry-after'), Date.now()),
      });
    }
    if (status >= 300 && status < 400) {
      return new ProductLiveApiError({
        ...fields,
        message: `Product-Live ${spec.method} ${spec.path} answered a redirect (HTTP ${status}), which the client does not follow`,
      });
    }
    return new ProductLiveApiError(fields);
  }

  private parseBody<T>(spec: RequestSpec<T>, status: number, text: string): T {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new ProductLiveResponseError({
        method: spec.method,
        path: spec.path,
        status,
        problem: 'malformed-json',
        body: this.redactBody(text),
        message: `Malformed JSON from Product-Live ${spec.method} ${spec.path} (HTTP ${status}, ${text.length} characters)`,
        cause: this.redactor.redactError(error),
      });
    }
    const parsed = spec.schema.safeParse(json);
    if (parsed.success) return parsed.data;
    throw this.schemaError(spec, status, text, json, parsed.error);
  }

  private schemaError<T>(
    spec: RequestSpec<T>,
    status: number,
    text: string,
    json: unknown,
    error: z.ZodError,
  ): ProductLiveResponseError {
    const [first] = error.issues;
    const issuePath = first?.path ?? [];
    let subject = spec.kind === 'list' ? 'job execution list' : 'job execution';
    let executionId = spec.kind === 'execution' ? idOf(json) : undefined;
    let fieldPath = issuePath;
    const index = issuePath[1];
    if (spec.kind === 'list' && issuePath[0] === 'data' && typeof index === 'number') {
      subject = 'job execution';
      const item = isRecord(json) && Array.isArray(json.data) ? json.data[index] : undefined;
      executionId = idOf(item);
      fieldPath = issuePath.slice(2);
      if (executionId === undefined) subject += ` at data[${index}]`;
    }
    const field = formatPath(fieldPath);
    const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more issues)` : '';
    const message =
      `Invalid ${subject}${executionId ? ` ${executionId}` : ''} in ${spec.method} ${spec.path}: ` +
      `${field ? `field "${field}": ` : ''}${first?.message ?? 'invalid'}${more}`;
    return new ProductLiveResponseError({
      method: spec.method,
      path: spec.path,
      status,
      problem: 'schema',
      body: this.redactBody(text),
      message: this.redactor.redactText(message),
      executionId: executionId === undefined ? undefined : this.redactor.redactText(executionId),
      field: field || undefined,
      issues: error.issues.slice(0, 20).map((issue) => ({
        field: formatPath(issue.path),
        message: this.redactor.redactText(issue.message),
      })),
    });
  }

  private redactBody(text: string): string {
    const redacted = this.redactor.redactText(text);
    return redacted.length > MAX_ERROR_BODY_CHARS ? `${redacted.slice(0, MAX_ERROR_BODY_CHARS)}…` : redacted;
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

/** Milliseconds to wait from a `Retry-After` value (delay-seconds or HTTP-date); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1_000);
  const date = Date.parse(trimmed);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
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

/** `/v1/job_executions/find` <-> `/v1/data_factory/job_executions/find`, or undefined for other paths. */
function alternativeFindPath(path: string): string | undefined {
  if (path.endsWith('/v1/job_executions/find'))
    return path.replace(/\/v1\/job_executions\/find$/, '/v1/data_factory/job_executions/find');
  if (path.endsWith('/v1/data_factory/job_executions/find'))
    return path.replace(/\/data_factory\/job_executions\/find$/, '/job_executions/find');
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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function idOf(value: unknown): string | undefined {
  if (!isRecord(value) || typeof value.id !== 'string' || value.id.length === 0) return undefined;
  return value.id.length > 64 ? `${value.id.slice(0, 64)}…` : value.id;
}

/** `output.report.url`, `input.files[2]`; empty for the root. */
function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((text, segment) => {
    if (typeof segment === 'number') return `${text}[${segment}]`;
    const name = String(segment);
    return text ? `${text}.${name}` : name;
  }, '');
}
