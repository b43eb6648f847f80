// Layer flow: process.env -> this module (parsed once, at cold start) -> typed config for handlers.
// Nothing else in the code base reads process.env; a bad value fails loudly, naming the variable.
import { z } from 'zod';

/** Raised at cold start when an environment variable is missing or invalid. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
  }
}

type Env = Record<string, string | undefined>;

const DEFAULT_API_URL = 'https://api.product-live.com';
const DEFAULT_FIND_PATH = '/v1/job_executions/find';

const integer = (min: number, max: number, fallback: number) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === '') return fallback;
      const parsed = Number(value);
      if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
        ctx.addIssue({
          code: 'custom',
          message: `expected an integer from ${min} to ${max}, got "${value}"`,
        });
        return z.NEVER;
      }
      return parsed;
    });

const required = z.string({ error: 'is required' }).trim().min(1, 'is required');

const httpUrl = z
  .string()
  .trim()
  .refine((value) => /^https?:\/\//.test(value) && URL.canParse(value), 'expected an http(s) URL')
  .transform((value) => value.replace(/\/+$/, ''));

const isoDate = z
  .string()
  .trim()
  .refine((value) => /^\d{4}-\d{2}-\d{2}/.test(value) && Number.isFinite(Date.parse(value)), {
    message: 'expected an ISO 8601 date such as 2024-01-31 or 2024-01-31T00:00:00Z',
  })
  .transform((value) => new Date(value).toISOString());

const hostList = z
  .string()
  .optional()
  .transform((value, ctx) => {
    if (value === undefined || value.trim() === '') return undefined;
    const hosts = value
      .split(',')
      .map((host) => host.trim().toLowerCase())
      .filter(Boolean);
    const bad = hosts.filter((host) => !/^(\*\.)?[a-z0-9.-]+(:\d+)?$/.test(host));
    if (bad.length > 0) {
      ctx.addIssue({ code: 'custom', message: `not host names: ${bad.join(', ')}` });
      return z.NEVER;
    }
    return hosts;
  });

const apiSettings = {
  PRODUCT_LIVE_API_URL: httpUrl.default(DEFAULT_API_URL),
  PRODUCT_LIVE_FIND_PATH: z
    .string()
    .trim()
    .startsWith('/', 'expected a path starting with /')
    .default(DEFAULT_FIND_PATH),
  PRODUCT_LIVE_API_KEY_SECRET_ID: z.string().trim().min(1).optional(),
  PRODUCT_LIVE_API_KEY: z.string().min(1).optional(),
  PRODUCT_LIVE_TIMEOUT_SECONDS: integer(1, 300, 30),
  EXECUTIONS_TABLE_NAME: required,
  // Read only to tell a Lambda from a local run, and an S3 emulator (path-style URLs) from S3.
  AWS_LAMBDA_FUNCTION_NAME: z.string().optional(),
  AWS_ENDPOINT_URL_S3: z.string().optional(),
};

const SyncEnv = z.object({
  ...apiSettings,
  STATE_TABLE_NAME: required,
  FILES_BUCKET_NAME: required,
  SYNC_START_DATE: isoDate.default('1970-01-01T00:00:00.000Z'),
  SYNC_PAGE_SIZE: integer(1, 10_000, 1000),
  SYNC_REQUESTS_PER_MINUTE: integer(1, 10_000, 40),
  SYNC_LOOKBACK_SECONDS: integer(0, 7 * 24 * 3600, 600),
  SYNC_TIME_MARGIN_SECONDS: integer(0, 900, 60),
  SYNC_LEASE_SECONDS: integer(30, 24 * 3600, 960),
  FILE_ALLOWED_HOSTS: hostList,
  FILE_COPY_CONCURRENCY: integer(1, 64, 4),
  FILE_COPY_MAX_ATTEMPTS: integer(1, 100, 8),
  FILE_DOWNLOAD_IDLE_TIMEOUT_SECONDS: integer(1, 900, 60),
});

const LaunchEnv = z.object({
  ...apiSettings,
  IDEMPOTENCY_TABLE_NAME: required,
  LAUNCH_QUEUE_URL: required,
  LAUNCH_DLQ_URL: required,
  LAUNCH_REQUESTS_PER_MINUTE: integer(1, 10_000, 10),
  LAUNCH_IDEMPOTENCY_TTL_SECONDS: integer(3600, 365 * 24 * 3600, 30 * 24 * 3600),
  LAUNCH_MAX_RECEIVE_COUNT: integer(1, 1000, 10),
});

/** Where the API key comes from: a Secrets Manager secret (AWS) or the environment (local runs only). */
export type ApiKeySource = { kind: 'secret'; secretId: string } | { kind: 'env'; value: string };

export interface ApiConfig {
  apiUrl: string;
  findPath: string;
  apiKey: ApiKeySource;
  timeoutMs: number;
  executionsTableName: string;
  /** True when AWS_ENDPOINT_URL_S3 points at an S3 emulator, which needs path-style URLs. */
  s3ForcePathStyle: boolean;
}

export interface SyncConfig extends ApiConfig {
  stateTableName: string;
  filesBucketName: string;
  startDate: string;
  pageSize: number;
  requestsPerMinute: number;
  lookbackMs: number;
  timeMarginMs: number;
  leaseMs: number;
  allowedFileHosts: string[];
  fileCopyConcurrency: number;
  fileCopyMaxAttempts: number;
  fileDownloadIdleTimeoutMs: number;
}

export interface LaunchConfig extends ApiConfig {
  idempotencyTableName: string;
  queueUrl: string;
  dlqUrl: string;
  requestsPerMinute: number;
  idempotencyTtlSeconds: number;
  /** The launch queue's redrive `maxReceiveCount`: a message failing on that delivery is dead-lettered here. */
  maxReceiveCount: number;
}

/** Parses the sync function's environment; throws ConfigError naming every bad variable. */
export function loadSyncConfig(env: Env = process.env): SyncConfig {
  const parsed = parseEnv(SyncEnv, env);
  return {
    ...toApiConfig(parsed),
    stateTableName: parsed.STATE_TABLE_NAME,
    filesBucketName: parsed.FILES_BUCKET_NAME,
    startDate: parsed.SYNC_START_DATE,
    pageSize: parsed.SYNC_PAGE_SIZE,
    requestsPerMinute: parsed.SYNC_REQUESTS_PER_MINUTE,
    lookbackMs: parsed.SYNC_LOOKBACK_SECONDS * 1000,
    timeMarginMs: parsed.SYNC_TIME_MARGIN_SECONDS * 1000,
    leaseMs: parsed.SYNC_LEASE_SECONDS * 1000,
    allowedFileHosts: parsed.FILE_ALLOWED_HOSTS ?? defaultAllowedFileHosts(parsed.PRODUCT_LIVE_API_URL),
    fileCopyConcurrency: parsed.FILE_COPY_CONCURRENCY,
    fileCopyMaxAttempts: parsed.FILE_COPY_MAX_ATTEMPTS,
    fileDownloadIdleTimeoutMs: parsed.FILE_DOWNLOAD_IDLE_TIMEOUT_SECONDS * 1000,
  };
}

/** Parses the launch function's environment; throws ConfigError naming every bad variable. */
export function loadLaunchConfig(env: Env = process.env): LaunchConfig {
  const parsed = parseEnv(LaunchEnv, env);
  return {
    ...toApiConfig(parsed),
    idempotencyTableName: parsed.IDEMPOTENCY_TABLE_NAME,
    queueUrl: parsed.LAUNCH_QUEUE_URL,
    dlqUrl: parsed.LAUNCH_DLQ_URL,
    requestsPerMinute: parsed.LAUNCH_REQUESTS_PER_MINUTE,
    idempotencyTtlSeconds: parsed.LAUNCH_IDEMPOTENCY_TTL_SECONDS,
    maxReceiveCount: parsed.LAUNCH_MAX_RECEIVE_COUNT,
  };
}

/** The API's own host and every *.product-live.com host (invariant 8). */
export function defaultAllowedFileHosts(apiUrl: string): string[] {
  return [...new Set([new URL(apiUrl).host.toLowerCase(), '*.product-live.com'])];
}

function parseEnv<T extends z.ZodType>(schema: T, env: Env): z.output<T> {
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => `${issue.path.join('.') || 'environment'}: ${issue.message}`),
    );
  }
  return result.data;
}

function toApiConfig(parsed: z.output<typeof SyncEnv> | z.output<typeof LaunchEnv>): ApiConfig {
  const secretId = parsed.PRODUCT_LIVE_API_KEY_SECRET_ID;
  const key = parsed.PRODUCT_LIVE_API_KEY;
  const problems: string[] = [];
  if (secretId && key) {
    problems.push('PRODUCT_LIVE_API_KEY_SECRET_ID and PRODUCT_LIVE_API_KEY: set only one of them');
  } else if (!secretId && !key) {
    problems.push(
      'PRODUCT_LIVE_API_KEY_SECRET_ID: is required (the Secrets Manager secret holding the API key; ' +
        'PRODUCT_LIVE_API_KEY instead for local runs)',
    );
  } else if (key && parsed.AWS_LAMBDA_FUNCTION_NAME) {
    problems.push(
      'PRODUCT_LIVE_API_KEY: must not be used in AWS Lambda; store the key in Secrets Manager and set ' +
        'PRODUCT_LIVE_API_KEY_SECRET_ID',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    apiUrl: parsed.PRODUCT_LIVE_API_URL,
    findPath: parsed.PRODUCT_LIVE_FIND_PATH,
    apiKey: secretId ? { kind: 'secret', secretId } : { kind: 'env', value: key ?? '' },
    timeoutMs: parsed.PRODUCT_LIVE_TIMEOUT_SECONDS * 1000,
    executionsTableName: parsed.EXECUTIONS_TABLE_NAME,
    s3ForcePathStyle: Boolean(parsed.AWS_ENDPOINT_URL_S3),
  };
}
