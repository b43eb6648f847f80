// Layer flow: Product-Live HTTP failure -> these named errors -> mapped to outcomes by the use cases.
// Every message and field here is built from redacted text: the API key never reaches an error object.

/** HTTP method of a Product-Live request, as named in error messages. */
export type HttpMethod = 'GET' | 'POST';

/**
 * What a request does: only `create` starts anything on Product-Live's side (an `upload` stores a file, which
 * Product-Live deletes after 90 days unless a job uses it: repeating one leaves at most a harmless orphan).
 */
export type ProductLiveOperation = 'create' | 'get' | 'list' | 'find' | 'upload';

/** Base class of every error the Product-Live client throws (except a caller's own abort reason). */
export class ProductLiveError extends Error {
  override name = 'ProductLiveError';
  /** The operation that failed; a failed read or upload (anything but `create`) certainly started nothing. */
  readonly operation: ProductLiveOperation | undefined;

  constructor(message: string, options?: { cause?: unknown; operation?: ProductLiveOperation | undefined }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.operation = options?.operation;
  }
}

interface RequestFailureFields {
  method: HttpMethod;
  /** API path without the base URL prefix and without the query string. */
  path: string;
  operation?: ProductLiveOperation;
  cause?: unknown;
}

/** A non-2xx answer. `body` is the raw response text, redacted and truncated. */
export class ProductLiveApiError extends ProductLiveError {
  override name = 'ProductLiveApiError';
  readonly status: number;
  readonly body: string;
  readonly method: HttpMethod;
  readonly path: string;

  constructor(fields: RequestFailureFields & { status: number; body: string; message?: string }) {
    const snippet = fields.body.length > 200 ? `${fields.body.slice(0, 200)}…` : fields.body;
    super(
      fields.message ??
        `Product-Live ${fields.method} ${fields.path} answered HTTP ${fields.status}${snippet ? `: ${snippet}` : ''}`,
      { cause: fields.cause, operation: fields.operation },
    );
    this.status = fields.status;
    this.body = fields.body;
    this.method = fields.method;
    this.path = fields.path;
  }
}

/** 401 or 403: the key is wrong, revoked, or lacks the right. Never retried. */
export class ProductLiveAuthError extends ProductLiveApiError {
  override name = 'ProductLiveAuthError';
}

/** 404: the execution (or job, on create) does not exist. Never retried. */
export class ProductLiveNotFoundError extends ProductLiveApiError {
  override name = 'ProductLiveNotFoundError';
}

/**
 * 429 that retries could not get past: either every attempt was throttled, or the server asked for a
 * wait longer than the client's `retryMaxMs` (then `retryAfterMs` says how long, and the caller decides
 * whether it has that much time left).
 */
export class ProductLiveRateLimitError extends ProductLiveApiError {
  override name = 'ProductLiveRateLimitError';
  readonly retryAfterMs: number | undefined;

  constructor(fields: RequestFailureFields & { status: number; body: string; retryAfterMs?: number }) {
    super({
      ...fields,
      message:
        `Product-Live ${fields.method} ${fields.path} was throttled (HTTP ${fields.status})` +
        (fields.retryAfterMs === undefined ? '' : `; server asked to retry after ${fields.retryAfterMs} ms`),
    });
    this.retryAfterMs = fields.retryAfterMs;
  }
}

/**
 * No HTTP answer: connection failure, reset, or the client's per-request timeout (`timedOut`).
 * `requestMayHaveBeenSent` is false only when the failure proves nothing reached the server (connection
 * refused, DNS failure): a create that failed that way certainly did not start a job.
 */
export class ProductLiveNetworkError extends ProductLiveError {
  override name = 'ProductLiveNetworkError';
  readonly method: HttpMethod;
  readonly path: string;
  readonly timedOut: boolean;
  readonly requestMayHaveBeenSent: boolean;

  constructor(
    fields: RequestFailureFields & { timedOut: boolean; requestMayHaveBeenSent: boolean; timeoutMs?: number },
  ) {
    const what = fields.timedOut
      ? `timed out after ${fields.timeoutMs ?? '?'} ms`
      : `failed: ${describeCause(fields.cause)}`;
    super(`Product-Live ${fields.method} ${fields.path} ${what}`, {
      cause: fields.cause,
      operation: fields.operation,
    });
    this.method = fields.method;
    this.path = fields.path;
    this.timedOut = fields.timedOut;
    this.requestMayHaveBeenSent = fields.requestMayHaveBeenSent;
  }
}

/** Why an upload's source failed an attempt: it yielded another byte count than announced, or its read failed. */
export type UploadSourceProblem = 'size-mismatch' | 'read-failed';

/**
 * The file being uploaded, not Product-Live, failed the attempt: the source yielded more or fewer bytes than
 * its `size` (the request is cut short, so the server never receives a complete body), or reading it threw
 * (`cause`). Retried like a network failure, each attempt opening the source afresh: a stream cut short by
 * its own network usually reads whole the next time.
 */
export class ProductLiveUploadSourceError extends ProductLiveError {
  override name = 'ProductLiveUploadSourceError';
  readonly problem: UploadSourceProblem;
  readonly fileName: string;
  /** The announced size. */
  readonly expectedBytes: number;
  /** What the source yielded before the attempt stopped (for a size mismatch: at least one byte beyond, or all it had). */
  readonly actualBytes: number;

  constructor(fields: {
    problem: UploadSourceProblem;
    fileName: string;
    expectedBytes: number;
    actualBytes: number;
    cause?: unknown;
  }) {
    const name = JSON.stringify(fields.fileName);
    super(
      fields.problem === 'size-mismatch'
        ? `Upload source ${name} yielded ${fields.actualBytes > fields.expectedBytes ? 'more than' : 'only'} ${fields.actualBytes} bytes, not the ${fields.expectedBytes} announced`
        : `Upload source ${name} failed after ${fields.actualBytes} of ${fields.expectedBytes} bytes: ${describeCause(fields.cause)}`,
      { cause: fields.cause, operation: 'upload' },
    );
    this.problem = fields.problem;
    this.fileName = fields.fileName;
    this.expectedBytes = fields.expectedBytes;
    this.actualBytes = fields.actualBytes;
  }
}

/** Where a 2xx body went wrong: not JSON at all, or JSON that fails the response schema. */
export type ResponseProblem = 'malformed-json' | 'schema';

/**
 * A 2xx answer the client cannot use. The message names the request, the execution id when known and
 * the first failing field, e.g. `Invalid job execution 6584… in POST /v1/job_executions/find: field
 * "createdAt": expected an ISO 8601 date-time`.
 */
export class ProductLiveResponseError extends ProductLiveError {
  override name = 'ProductLiveResponseError';
  readonly problem: ResponseProblem;
  readonly status: number;
  readonly method: HttpMethod;
  readonly path: string;
  readonly body: string;
  readonly executionId: string | undefined;
  /** Dotted path of the first failing field inside the execution (or the list), e.g. `info.title`. */
  readonly field: string | undefined;
  /** Every schema issue, as field path and message (no input values). */
  readonly issues: ReadonlyArray<{ field: string; message: string }>;

  constructor(
    fields: RequestFailureFields & {
      message: string;
      problem: ResponseProblem;
      status: number;
      body: string;
      executionId?: string;
      field?: string;
      issues?: ReadonlyArray<{ field: string; message: string }>;
    },
  ) {
    super(fields.message, { cause: fields.cause, operation: fields.operation });
    this.problem = fields.problem;
    this.status = fields.status;
    this.method = fields.method;
    this.path = fields.path;
    this.body = fields.body;
    this.executionId = fields.executionId;
    this.field = fields.field;
    this.issues = fields.issues ?? [];
  }
}

/**
 * True when repeating the same *safe* request (a read, or an upload) may succeed: throttling, a 5xx, a
 * network failure or timeout, an upload source that failed, or a 2xx body that is not JSON (usually
 * truncated). A body that parses but fails the schema is deterministic and is not retryable, nor is any
 * other 4xx (a 413 included).
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof ProductLiveRateLimitError) return true;
  if (error instanceof ProductLiveApiError) return error.status === 429 || error.status >= 500;
  if (error instanceof ProductLiveNetworkError) return true;
  if (error instanceof ProductLiveUploadSourceError) return true;
  if (error instanceof ProductLiveResponseError) return error.problem === 'malformed-json';
  return false;
}

/**
 * True when Product-Live answered this HTTP status: a `ProductLiveApiError` (or a subclass) with that
 * `status`. Any other error, whatever fields it carries, is not an answer of the API.
 */
export function isApiStatus(error: unknown, status: number): error is ProductLiveApiError {
  return error instanceof ProductLiveApiError && error.status === status;
}

/**
 * True when a *non-idempotent* request (create) may be repeated without risk of doing its work twice:
 * the server rejected it before processing (429), or the connection failed before anything was sent.
 */
export function isSafeToRepeat(error: unknown): boolean {
  if (error instanceof ProductLiveApiError) return error.status === 429;
  if (error instanceof ProductLiveNetworkError) return !error.requestMayHaveBeenSent;
  return false;
}

/** True when the failure proves that nothing was started: a read failed, or create was refused or never sent. */
export function startedNothing(error: unknown): boolean {
  if (!(error instanceof ProductLiveError)) return false;
  if (error.operation !== undefined && error.operation !== 'create') return true;
  return !isOutcomeUnknown(error);
}

/**
 * True when a failed create may nevertheless have started a job: a 5xx, a timeout or network failure
 * after the request may have left, or a 2xx whose body could not be read. The launch use case must
 * resolve such an outcome (look for the execution) before creating again.
 */
export function isOutcomeUnknown(error: unknown): boolean {
  if (error instanceof ProductLiveApiError) return error.status >= 500;
  if (error instanceof ProductLiveNetworkError) return error.requestMayHaveBeenSent;
  return error instanceof ProductLiveResponseError;
}

/** The messages along a cause chain (`fetch failed: connect ECONNREFUSED 127.0.0.1:443`), plus its code. */
function describeCause(cause: unknown): string {
  const messages: string[] = [];
  let current: unknown = cause;
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    if (current.message && !messages.includes(current.message)) messages.push(current.message);
    current = current.cause;
  }
  const code = findErrorCode(cause);
  const text = messages.join(': ') || String(cause);
  return code && !text.includes(code) ? `${text} (${code})` : text;
}

/** The first `code` (e.g. `ECONNREFUSED`) found along an error's `cause` chain. */
export function findErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Object; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
