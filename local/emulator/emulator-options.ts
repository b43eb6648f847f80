// Options of `createEmulator`, validated once at construction: a typo or an out-of-range knob fails
// loudly there (EmulatorConfigError naming the option) instead of silently changing a test's meaning.
import { MAX_UPLOAD_BYTES } from '#core/product-live/product-live-client';
import type { Clock } from './clock';
import type { DemoOptions } from './demo-data';
import { EmulatorConfigError } from './emulator-errors';
import { EXECUTION_ORDERS, type ExecutionOrder } from './execution-store';
import type { FaultOptions } from './fault-injector';
import { CRITERION_TYPES, GROUP_TYPES, type QueryType } from './find-query';
import { TERMINAL_OUTCOMES, type TerminalOutcome } from './job-templates';

export interface RateLimitOptions {
  /** Requests allowed per window and API key (default 50, Product-Live's documented limit). */
  requestsPerMinute?: number;
  /** Window length (default 60 000 ms): a sliding window. */
  windowMs?: number;
  /** How a 429 says when to come back: `Retry-After: <seconds>` (default), an HTTP-date, or nothing. */
  retryAfter?: 'seconds' | 'http-date' | 'none';
}

export interface LifecycleOptions {
  /**
   * Run time of executions created at run time (via the API or createExecution), after which they end on their
   * own; default per job kind (`addJob({ runTimeMs })` sets one job's).
   */
  runTimeMs?: number | readonly [number, number];
  /** Relative weights of the terminal statuses of executions created at run time (unlisted ones: 0). */
  outcomes?: Partial<Record<TerminalOutcome, number>>;
  /**
   * Late visibility: a share (0..1) of the executions created at run time become visible to list, find and
   * get only `delayMs` after their createdAt (the documentation says nothing of how soon they appear).
   */
  lateVisibility?: { share: number; delayMs: number };
}

export interface EmulatorOptions {
  /** The only valid `X-Api-Key` (default 'local-dev-key'). */
  apiKey?: string;
  /** Drives the lifecycle, createdAt of new executions, rate-limit windows and Retry-After. */
  clock?: Clock;
  /** Seed of run-time randomness (ids and plans of new executions); default the demo seed, else 0. */
  seed?: number | string;
  /** Numeric account id of the emulated account (default '2629', as in the reference examples). */
  accountId?: string;
  /** Result order of list and find (default 'insertion'). */
  order?: ExecutionOrder;
  /** Largest accepted `size` (default 1000). */
  maxPageSize?: number;
  /** A larger `size`: 400 ('reject', default) or served with maxPageSize items ('clamp'). */
  pageSizeOverflow?: 'reject' | 'clamp';
  /** Default: 50 requests per sliding minute, `Retry-After` in seconds. `false` disables it. */
  rateLimit?: RateLimitOptions | false;
  /** Whether file downloads count toward the rate limit (default false). */
  rateLimitDownloads?: boolean;
  faults?: FaultOptions;
  /** Real (not clock) delay added to every request, fixed or drawn from [min, max]. */
  latencyMs?: number | readonly [number, number];
  /** Whether downloads need the `X-Api-Key` header (default 'none': the URL alone suffices). */
  fileAuth?: 'none' | 'api-key';
  /**
   * Caps the size of the files that runs generate (default: no cap; sizes are realistic, up to a few
   * MB). Tests set a small cap to keep copies fast; `addFile` is never capped.
   */
  maxGeneratedFileBytes?: number;
  /** Adds undocumented top-level fields (`priority`, `tags`, `trigger`) to some executions. */
  unknownFields?: boolean;
  /** Path of the find endpoint (default '/v1/job_executions/find'); '/v1/data_factory/job_executions/find' always works. */
  findPath?: string;
  /**
   * Query types the find endpoint accepts (default all). The public documentation confirms only eq,
   * greater, greaterOrEqual, in, search, and, or: leaving out `lower`/`lowerOrEqual` proves a client
   * does without them.
   */
  findOperators?: readonly QueryType[];
  /** Base URL put in file URLs instead of the listen address (e.g. behind a proxy). */
  publicUrl?: string;
  /**
   * Largest file `POST /v1/data_factory/files` accepts, in bytes (default 104,857,600: "100 MB" read as
   * 100 MiB); one byte more is a 413.
   */
  maxUploadBytes?: number;
  /**
   * Directory uploaded bytes are written to (kept when the emulator stops). Default: a fresh temporary
   * directory, removed by stop().
   */
  uploadDir?: string;
  lifecycle?: LifecycleOptions;
  /** Demo data; `true` for the defaults. Without it the emulator starts empty (no jobs). */
  demo?: DemoOptions | boolean;
}

export const DEFAULT_API_KEY = 'local-dev-key';
export const DEFAULT_FIND_PATH = '/v1/job_executions/find';
export const FIND_PATH_ALIAS = '/v1/data_factory/job_executions/find';
export const DEFAULT_MAX_PAGE_SIZE = 1000;
const DEFAULT_REQUESTS_PER_MINUTE = 50;
/** The Files API's limit as the emulator applies it: 100 MB read as 100 × 2^20 bytes (the exact count is undocumented). */
export const DEFAULT_MAX_UPLOAD_BYTES = MAX_UPLOAD_BYTES;

/** Resolved rate-limit settings. */
export interface RateLimitSettings {
  requestsPerMinute: number;
  windowMs: number;
  retryAfter: 'seconds' | 'http-date' | 'none';
}

/** Checks the options that are not checked by their own module; throws EmulatorConfigError. */
export function validateEmulatorOptions(options: EmulatorOptions): void {
  const {
    apiKey,
    order,
    maxPageSize,
    pageSizeOverflow,
    fileAuth,
    findPath,
    publicUrl,
    accountId,
    latencyMs,
  } = options;
  if (apiKey !== undefined && (typeof apiKey !== 'string' || apiKey.length === 0)) {
    throw new EmulatorConfigError('apiKey must be a non-empty string');
  }
  if (order !== undefined) validateOrder(order);
  if (maxPageSize !== undefined && !(Number.isInteger(maxPageSize) && maxPageSize >= 1)) {
    throw new EmulatorConfigError(`maxPageSize must be an integer >= 1, got ${maxPageSize}`);
  }
  if (pageSizeOverflow !== undefined && pageSizeOverflow !== 'reject' && pageSizeOverflow !== 'clamp') {
    throw new EmulatorConfigError(
      `pageSizeOverflow must be 'reject' or 'clamp', got ${String(pageSizeOverflow)}`,
    );
  }
  if (fileAuth !== undefined && fileAuth !== 'none' && fileAuth !== 'api-key') {
    throw new EmulatorConfigError(`fileAuth must be 'none' or 'api-key', got ${String(fileAuth)}`);
  }
  if (findPath !== undefined && !/^\/\S*[^/]$/.test(findPath)) {
    throw new EmulatorConfigError(
      `findPath must be a path starting with '/' (no trailing slash), got ${findPath}`,
    );
  }
  if (publicUrl !== undefined && !URL.canParse(publicUrl)) {
    throw new EmulatorConfigError(`publicUrl must be an absolute URL, got ${publicUrl}`);
  }
  if (accountId !== undefined && !/^\d+$/.test(accountId)) {
    throw new EmulatorConfigError(`accountId must be a numeric string, got ${accountId}`);
  }
  if (latencyMs !== undefined) validateRange('latencyMs', latencyMs, 0);
  const late = options.lifecycle?.lateVisibility;
  if (
    late !== undefined &&
    !(late.share >= 0 && late.share <= 1 && Number.isFinite(late.delayMs) && late.delayMs >= 0)
  ) {
    throw new EmulatorConfigError(
      `lifecycle.lateVisibility needs a share from 0 to 1 and a delayMs >= 0, got ${JSON.stringify(late)}`,
    );
  }
  const { maxUploadBytes, uploadDir } = options;
  if (maxUploadBytes !== undefined && !(Number.isSafeInteger(maxUploadBytes) && maxUploadBytes >= 0)) {
    throw new EmulatorConfigError(`maxUploadBytes must be an integer >= 0, got ${maxUploadBytes}`);
  }
  if (uploadDir !== undefined && (typeof uploadDir !== 'string' || uploadDir.length === 0)) {
    throw new EmulatorConfigError('uploadDir must be a non-empty path');
  }
  const { maxGeneratedFileBytes } = options;
  if (
    maxGeneratedFileBytes !== undefined &&
    !(Number.isInteger(maxGeneratedFileBytes) && maxGeneratedFileBytes >= 0)
  ) {
    throw new EmulatorConfigError(
      `maxGeneratedFileBytes must be an integer >= 0, got ${maxGeneratedFileBytes}`,
    );
  }
  for (const type of options.findOperators ?? []) {
    if (!([...CRITERION_TYPES, ...GROUP_TYPES] as readonly string[]).includes(type)) {
      throw new EmulatorConfigError(`findOperators: unknown query type "${type}"`);
    }
  }
  if (options.lifecycle?.runTimeMs !== undefined)
    validateRange('lifecycle.runTimeMs', options.lifecycle.runTimeMs, 1);
  for (const [outcome, weight] of Object.entries(options.lifecycle?.outcomes ?? {})) {
    if (!(TERMINAL_OUTCOMES as readonly string[]).includes(outcome)) {
      throw new EmulatorConfigError(`lifecycle.outcomes: unknown status ${outcome}`);
    }
    if (!(typeof weight === 'number' && weight >= 0)) {
      throw new EmulatorConfigError(`lifecycle.outcomes.${outcome} must be a weight >= 0`);
    }
  }
  resolveRateLimit(options.rateLimit);
}

/** Throws unless `order` is one of the supported orders. */
export function validateOrder(order: string): asserts order is ExecutionOrder {
  if (!(EXECUTION_ORDERS as readonly string[]).includes(order)) {
    throw new EmulatorConfigError(`order must be one of ${EXECUTION_ORDERS.join(', ')}, got ${order}`);
  }
}

/** Rate-limit settings with defaults applied, or undefined when the limit is off. */
export function resolveRateLimit(
  rateLimit: RateLimitOptions | false | undefined,
): RateLimitSettings | undefined {
  if (rateLimit === false) return undefined;
  const settings: RateLimitSettings = {
    requestsPerMinute: rateLimit?.requestsPerMinute ?? DEFAULT_REQUESTS_PER_MINUTE,
    windowMs: rateLimit?.windowMs ?? 60_000,
    retryAfter: rateLimit?.retryAfter ?? 'seconds',
  };
  if (!(Number.isInteger(settings.requestsPerMinute) && settings.requestsPerMinute >= 1)) {
    throw new EmulatorConfigError(
      `rateLimit.requestsPerMinute must be an integer >= 1, got ${settings.requestsPerMinute}`,
    );
  }
  if (!(settings.windowMs > 0))
    throw new EmulatorConfigError(`rateLimit.windowMs must be > 0, got ${settings.windowMs}`);
  if (!['seconds', 'http-date', 'none'].includes(settings.retryAfter)) {
    throw new EmulatorConfigError(
      `rateLimit.retryAfter must be 'seconds', 'http-date' or 'none', got ${settings.retryAfter}`,
    );
  }
  return settings;
}

function validateRange(name: string, value: number | readonly [number, number], min: number): void {
  const [low, high] = typeof value === 'number' ? [value, value] : value;
  if (
    !(
      typeof low === 'number' &&
      typeof high === 'number' &&
      low >= min &&
      high >= low &&
      Number.isFinite(high)
    )
  ) {
    throw new EmulatorConfigError(
      `${name} must be a number >= ${min} or a [min, max] range, got ${JSON.stringify(value)}`,
    );
  }
}
