// Layer flow: ProductLiveClient -> these mappers -> a validated body, or a named error. An HTTP answer becomes
// the error its status means; a 2xx body becomes the schema's value or a ProductLiveResponseError naming the
// execution id and the first failing field. Every text handed out is redacted (the API key never leaks).
import type * as z from '../zod';
import {
  type HttpMethod,
  ProductLiveApiError,
  ProductLiveAuthError,
  type ProductLiveError,
  ProductLiveNotFoundError,
  type ProductLiveOperation,
  ProductLiveRateLimitError,
  ProductLiveResponseError,
} from './product-live.errors';
import type { SecretRedactor } from './redact-secret';

/** The request an answer belongs to: what every error names. */
export interface AnsweredRequest {
  method: HttpMethod;
  path: string;
  operation: ProductLiveOperation;
  /** A single execution, a list or an uploaded file: how a schema failure names its subject. */
  kind: 'execution' | 'list' | 'file';
}

const MAX_ERROR_BODY_CHARS = 4_096;

/** The body of a response, redacted and truncated for an error. */
function redactBody(text: string, redactor: SecretRedactor): string {
  const redacted = redactor.redactText(text);
  return redacted.length > MAX_ERROR_BODY_CHARS ? `${redacted.slice(0, MAX_ERROR_BODY_CHARS)}…` : redacted;
}

/** The error a non-2xx status means: 401/403 auth, 404 not found, 429 throttled, a redirect, anything else. */
export function errorForStatus(
  request: AnsweredRequest,
  status: number,
  text: string,
  headers: Headers,
  redactor: SecretRedactor,
): ProductLiveError {
  const fields = {
    method: request.method,
    path: request.path,
    operation: request.operation,
    status,
    body: redactBody(text, redactor),
  };
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
      message: `Product-Live ${request.method} ${request.path} answered a redirect (HTTP ${status}), which the client does not follow`,
    });
  }
  return new ProductLiveApiError(fields);
}

/** The validated body of a 2xx answer; throws ProductLiveResponseError for malformed JSON or a schema failure. */
export function parseBody<T>(
  request: AnsweredRequest,
  schema: z.ZodMiniType<T>,
  status: number,
  text: string,
  redactor: SecretRedactor,
): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ProductLiveResponseError({
      method: request.method,
      path: request.path,
      operation: request.operation,
      status,
      problem: 'malformed-json',
      body: redactBody(text, redactor),
      message: `Malformed JSON from Product-Live ${request.method} ${request.path} (HTTP ${status}, ${text.length} characters)`,
      cause: redactor.redactError(error),
    });
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  throw schemaError(request, status, text, json, parsed.error, redactor);
}

const SUBJECTS: Readonly<Record<AnsweredRequest['kind'], string>> = {
  execution: 'job execution',
  list: 'job execution list',
  file: 'data factory file',
};

function schemaError(
  request: AnsweredRequest,
  status: number,
  text: string,
  json: unknown,
  error: z.core.$ZodError,
  redactor: SecretRedactor,
): ProductLiveResponseError {
  const [first] = error.issues;
  const issuePath = first?.path ?? [];
  let subject = SUBJECTS[request.kind];
  let executionId = request.kind === 'execution' ? idOf(json) : undefined;
  let fieldPath = issuePath;
  const index = issuePath[1];
  if (request.kind === 'list' && issuePath[0] === 'data' && typeof index === 'number') {
    subject = 'job execution';
    const item = isRecord(json) && Array.isArray(json.data) ? json.data[index] : undefined;
    executionId = idOf(item);
    fieldPath = issuePath.slice(2);
    if (executionId === undefined) subject += ` at data[${index}]`;
  }
  const field = formatPath(fieldPath);
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more issues)` : '';
  const message =
    `Invalid ${subject}${executionId ? ` ${executionId}` : ''} in ${request.method} ${request.path}: ` +
    `${field ? `field "${field}": ` : ''}${first?.message ?? 'invalid'}${more}`;
  return new ProductLiveResponseError({
    method: request.method,
    path: request.path,
    operation: request.operation,
    status,
    problem: 'schema',
    body: redactBody(text, redactor),
    message: redactor.redactText(message),
    executionId: executionId === undefined ? undefined : redactor.redactText(executionId),
    field: field || undefined,
    issues: error.issues.slice(0, 20).map((issue) => ({
      field: formatPath(issue.path),
      message: redactor.redactText(issue.message),
    })),
  });
}

/** Milliseconds to wait from a `Retry-After` value (delay-seconds or HTTP-date); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1_000);
  const date = Date.parse(trimmed);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
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
