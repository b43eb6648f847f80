// Layer flow: process.env -> this module (parsed once, at cold start) -> typed config for the handlers.
// Every variable is defined once below (parser, default, meaning); the docs table is generated from it.
// Nothing else in the functions reads process.env; a bad value fails loudly, naming the variable.
import {
  DEFAULT_API_URL,
  DEFAULT_FIND_PATH,
  PRODUCT_LIVE_REQUESTS_PER_MINUTE_LIMIT,
  PRODUCT_LIVE_TIMEOUT_SECONDS,
} from './defaults';
import type { FunctionName } from './function-registry';
import {
  JOB_EXPECTATIONS_HELP,
  type JobExpectations,
  JobExpectationsSchema,
} from './health/job-expectations';
import { type InboxRule, InboxRules } from './inbox-rules';
import type { S3Location } from './s3-locations';
import {
  hostList,
  httpUrl,
  integer,
  isoDate,
  jsonSetting,
  oneOf,
  readSettings,
  type Setting,
  s3LocationList,
  secretText,
  setting,
  text,
  urlPath,
} from './settings';

/**
 * Settings that are missing or invalid, every problem at once (one line each, as readSettings words them):
 * a function's environment at cold start, or the CDK context at synth (infra/config.ts, with its own message).
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly problems: readonly string[],
    message = `Invalid configuration: ${problems.join('; ')}`,
  ) {
    super(message);
  }
}

type Env = Record<string, string | undefined>;

/** An environment variable: which functions read it, and its setting (parser, default, meaning). */
export interface EnvVariable<T> extends Setting<T> {
  readonly functions: readonly FunctionName[];
  /** The default as the docs describe it, when it is not a literal (e.g. derived from another variable). */
  readonly defaultNote?: string;
}

const env = <T>(functions: readonly FunctionName[], definition: Setting<T> & { defaultNote?: string }) => ({
  functions,
  ...setting(definition),
});

/** The functions that call Product-Live. */
const BOTH: readonly FunctionName[] = ['sync', 'launch', 'follow'];
const SYNC: readonly FunctionName[] = ['sync'];
/** The sync and the follow function: they store executions' views and copy their files. */
const COPIERS: readonly FunctionName[] = ['sync', 'follow'];
const FOLLOW: readonly FunctionName[] = ['follow'];
const LAUNCH: readonly FunctionName[] = ['launch'];
const LAKE: readonly FunctionName[] = ['lake'];
const EVENTS: readonly FunctionName[] = ['events'];
/** The functions that keep or send to the Step Functions task tokens of launch requests. */
const TOKENS: readonly FunctionName[] = ['launch', 'follow', 'callbacks'];
/** Every function writes executions or reads them, and marks (or rewrites) the lake's days. */
const ALL: readonly FunctionName[] = ['sync', 'launch', 'lake', 'follow'];

/** Every environment variable the functions read. */
export const ENV_VARIABLES = {
  PRODUCT_LIVE_API_URL: env(BOTH, {
    schema: httpUrl,
    defaultValue: DEFAULT_API_URL,
    description: 'API base URL (may include a path prefix)',
  }),
  PRODUCT_LIVE_API_KEY_SECRET_ID: env(BOTH, {
    schema: text,
    defaultNote: '— (required in AWS)',
    description:
      'Secrets Manager secret (name or ARN) holding the API key, as plain text or JSON `{"apiKey": "…"}`; ' +
      're-read every 5 minutes, so a rotated key is picked up',
  }),
  PRODUCT_LIVE_API_KEY: env(BOTH, {
    schema: secretText,
    description: 'the key itself, **local runs only** (refused inside Lambda)',
  }),
  PRODUCT_LIVE_FIND_PATH: env(BOTH, {
    schema: urlPath,
    defaultValue: DEFAULT_FIND_PATH,
    description: 'path of the find endpoint (the reference page has no `/data_factory/` segment)',
  }),
  PRODUCT_LIVE_TIMEOUT_SECONDS: env(BOTH, {
    schema: integer(1, 300),
    defaultValue: String(PRODUCT_LIVE_TIMEOUT_SECONDS),
    description: 'per-request timeout',
  }),
  EXECUTIONS_TABLE_NAME: env(ALL, { schema: text, required: true, description: 'the executions table' }),
  STATE_TABLE_NAME: env(ALL, {
    schema: text,
    required: true,
    description: "sync checkpoint and lease, the lake's day marks, the sync runs and the job health records",
  }),
  FILES_BUCKET_NAME: env(['sync', 'lake', 'follow', 'callbacks'], {
    schema: text,
    required: true,
    description: 'where file copies (and execution JSON too large for DynamoDB) go',
  }),
  LAKE_BUCKET_NAME: env(LAKE, {
    schema: text,
    required: true,
    description:
      'where the warehouse tables go (`lake/executions/day=…/`, `lake/files/day=…/`, `lake/sync_runs/day=…/`)',
  }),
  EVENT_BUS_NAME: env([...EVENTS, 'sync'], {
    schema: text,
    defaultValue: 'default',
    description:
      "the EventBridge bus the status-change events (events) and the job health changes (sync) go to (name or ARN; the account's default bus)",
  }),
  LAKE_TIME_MARGIN_SECONDS: env(LAKE, {
    schema: integer(0, 900),
    defaultValue: '30',
    description: 'no new day is rewritten with less time left in the invocation',
  }),
  SYNC_START_DATE: env(SYNC, {
    schema: isoDate,
    defaultValue: '1970-01-01',
    defaultNote: '`1970-01-01` (all history)',
    description: 'oldest `createdAt` to sync (ISO 8601 date or date-time)',
  }),
  SYNC_PAGE_SIZE: env(SYNC, {
    schema: integer(1, 10_000),
    defaultValue: '1000',
    description: 'find page size; halved automatically if the API refuses it',
  }),
  SYNC_REQUESTS_PER_MINUTE: env(SYNC, {
    schema: integer(1, 10_000),
    defaultValue: '40',
    description: `the sync's share of the ${PRODUCT_LIVE_REQUESTS_PER_MINUTE_LIMIT} requests/minute`,
  }),
  SYNC_LOOKBACK_SECONDS: env(SYNC, {
    schema: integer(0, 7 * 24 * 3600),
    defaultValue: '600',
    description:
      'how far before the watermark each run re-reads; raise it when audits recover executions (they appeared later than this)',
  }),
  SYNC_TIME_MARGIN_SECONDS: env(SYNC, {
    schema: integer(0, 900),
    defaultValue: '60',
    description: 'no new page or file copy starts with less time left in the invocation',
  }),
  SYNC_AUDIT_INTERVAL_SECONDS: env(SYNC, {
    schema: integer(0, 365 * 24 * 3600),
    defaultValue: '86400',
    description:
      'time between completeness audits (the API counts month by month against the store); `0` = every run',
  }),
  JOB_EXPECTATIONS: env(SYNC, {
    schema: jsonSetting(JobExpectationsSchema, JOB_EXPECTATIONS_HELP),
    defaultValue: '{}',
    description:
      'what is expected of the jobs (`jobExpectations`), as JSON: per job id or `*`, `every`, `maxConsecutiveFailures`, `maxDuration`, `grace`; what is not set is learned (docs/health.md)',
  }),
  SYNC_RUN_RETENTION_DAYS: env(SYNC, {
    schema: integer(1, 3650),
    defaultValue: '400',
    description:
      "days each sync run's record is kept in the state table (the warehouse's `sync_runs` keeps them)",
  }),
  SYNC_LEASE_SECONDS: env(SYNC, {
    schema: integer(30, 24 * 3600),
    defaultValue: '960',
    description: 'lease length; longer than the function timeout',
  }),
  FILE_ALLOWED_HOSTS: env(COPIERS, {
    schema: hostList,
    defaultNote: "the API's host and `*.product-live.com`",
    description: 'comma-separated hosts files may be downloaded from (`host`, `host:port`, `*.domain`)',
  }),
  FILE_COPY_CONCURRENCY: env(COPIERS, {
    schema: integer(1, 64),
    defaultValue: '4',
    description: 'parallel file copies',
  }),
  FILE_COPY_RETRY_DELAY_SECONDS: env(COPIERS, {
    schema: integer(0, 24 * 3600),
    defaultValue: '300',
    description:
      'a copy still failing after 3 tries in the run (transient failures) is tried again by a later run this long after, doubling each time, at most a day apart',
  }),
  FILE_DOWNLOAD_IDLE_TIMEOUT_SECONDS: env(COPIERS, {
    schema: integer(1, 900),
    defaultValue: '60',
    description: 'abort a download that sends nothing for this long',
  }),
  FOLLOW_REQUESTS_PER_MINUTE: env(FOLLOW, {
    schema: integer(1, 10_000),
    defaultValue: '2',
    description:
      "the follow function's share of the requests/minute, taken from the launch share (`followRequestsPerMinute`)",
  }),
  FOLLOW_SCOPE: env(FOLLOW, {
    schema: oneOf(['awaited', 'launched'] as const),
    defaultValue: 'awaited',
    description:
      'which open executions a pass re-reads: those a Step Functions task token waits on (`awaited`), or every one a launch started (`launched`, the local stack)',
  }),
  FOLLOW_LEASE_SECONDS: env(FOLLOW, {
    schema: integer(30, 3600),
    defaultValue: '180',
    description:
      "the sync lease a pass holds (a pass never runs beside a sync run); longer than the function's timeout",
  }),
  FOLLOW_TIME_MARGIN_SECONDS: env(FOLLOW, {
    schema: integer(0, 900),
    defaultValue: '15',
    description: 'no new request or file copy of a pass starts with less time left in the invocation',
  }),
  IDEMPOTENCY_TABLE_NAME: env(TOKENS, {
    schema: text,
    required: true,
    description: 'Powertools idempotency records, attempt markers (with their task tokens) and claims',
  }),
  LAUNCH_QUEUE_URL: env(LAUNCH, {
    schema: text,
    required: true,
    description: "the launch queue (its messages' visibility is extended on retries)",
  }),
  LAUNCH_DLQ_URL: env(LAUNCH, {
    schema: text,
    required: true,
    description: 'where messages that can never succeed go',
  }),
  LAUNCH_REQUESTS_PER_MINUTE: env(LAUNCH, {
    schema: integer(1, 10_000),
    defaultValue: '10',
    description:
      'requests/minute of one launch instance; the deployed stack sets the launch share ÷ its maximum ' +
      'concurrency (10 ÷ 2 = 5), so all instances together stay within the share',
  }),
  LAUNCH_INPUT_BUCKETS: env(LAUNCH, {
    schema: s3LocationList,
    defaultNote: 'none (the inbox only)',
    description:
      'where launch requests may reference S3 objects (`bucket` or `bucket/prefix/`, comma-separated or a JSON list); the deployed stack sets it from `launchInputBuckets`',
  }),
  LAUNCH_INBOX_BUCKET: env(LAUNCH, {
    schema: text,
    defaultNote: 'none',
    description:
      'the inbox bucket: requests may reference its objects, and objects created in it launch by its rules',
  }),
  LAUNCH_INBOX_RULES: env(LAUNCH, {
    schema: jsonSetting(InboxRules, 'a JSON list of inbox rules {"prefix", "jobId", "inputKey"?, "input"?}'),
    defaultValue: '[]',
    description: 'the inbox rules (`launchInbox`), as JSON',
  }),
  LAUNCH_IDEMPOTENCY_TTL_SECONDS: env(LAUNCH, {
    schema: integer(3600, 365 * 24 * 3600),
    defaultValue: String(30 * 24 * 3600),
    defaultNote: '`2592000` (30 days)',
    description: 'how long a launch key is remembered',
  }),
  LAUNCH_MAX_RECEIVE_COUNT: env(LAUNCH, {
    schema: integer(1, 1000),
    defaultValue: '10',
    description:
      "the launch queue's redrive `maxReceiveCount` (the deployed stack sets both from `launchMaxReceiveCount`): " +
      'a request still failing on that delivery is dead-lettered by the function, with its reason',
  }),
} as const satisfies Record<string, EnvVariable<unknown>>;

export type EnvVariableName = keyof typeof ENV_VARIABLES;

/** The variables one function reads. */
export function variablesOf(fn: FunctionName): EnvVariableName[] {
  return (Object.keys(ENV_VARIABLES) as EnvVariableName[]).filter((name) =>
    (ENV_VARIABLES[name].functions as readonly FunctionName[]).includes(fn),
  );
}

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
  fileCopyRetryDelayMs: number;
  fileDownloadIdleTimeoutMs: number;
  auditIntervalMs: number;
  /** What users set of the jobs (JOB_EXPECTATIONS); what is not set is learned. */
  jobExpectations: JobExpectations;
  /** Days a sync run's record is kept (SYNC_RUN_RETENTION_DAYS). */
  syncRunRetentionDays: number;
  /** Where the job health changes are published (EVENT_BUS_NAME). */
  eventBusName: string;
}

export interface LaunchConfig extends ApiConfig {
  /** Where the launch marks the lake's days of the executions it records. */
  stateTableName: string;
  idempotencyTableName: string;
  queueUrl: string;
  dlqUrl: string;
  requestsPerMinute: number;
  idempotencyTtlSeconds: number;
  /** The launch queue's redrive `maxReceiveCount`: a message failing on that delivery is dead-lettered here. */
  maxReceiveCount: number;
  /** Where requests may reference S3 objects: the configured buckets and prefixes, and the inbox bucket. */
  readable: S3Location[];
  /** The inbox bucket and its rules. */
  inbox: { bucket: string | undefined; rules: InboxRule[] };
}

export interface FollowConfig extends ApiConfig {
  stateTableName: string;
  /** The attempt markers, where the task tokens to send heartbeats to are kept. */
  idempotencyTableName: string;
  filesBucketName: string;
  requestsPerMinute: number;
  scope: 'awaited' | 'launched';
  leaseMs: number;
  timeMarginMs: number;
  allowedFileHosts: string[];
  fileCopyConcurrency: number;
  fileCopyRetryDelayMs: number;
  fileDownloadIdleTimeoutMs: number;
}

/** Parses the follow function's environment; throws ConfigError naming every bad variable. */
export function loadFollowConfig(environment: Env = process.env): FollowConfig {
  const v = parse('follow', environment);
  return {
    ...toApiConfig(v, environment),
    stateTableName: v.STATE_TABLE_NAME as string,
    idempotencyTableName: v.IDEMPOTENCY_TABLE_NAME as string,
    filesBucketName: v.FILES_BUCKET_NAME as string,
    requestsPerMinute: v.FOLLOW_REQUESTS_PER_MINUTE as number,
    scope: v.FOLLOW_SCOPE as 'awaited' | 'launched',
    leaseMs: (v.FOLLOW_LEASE_SECONDS as number) * 1000,
    timeMarginMs: (v.FOLLOW_TIME_MARGIN_SECONDS as number) * 1000,
    allowedFileHosts: v.FILE_ALLOWED_HOSTS ?? defaultAllowedFileHosts(v.PRODUCT_LIVE_API_URL as string),
    fileCopyConcurrency: v.FILE_COPY_CONCURRENCY as number,
    fileCopyRetryDelayMs: (v.FILE_COPY_RETRY_DELAY_SECONDS as number) * 1000,
    fileDownloadIdleTimeoutMs: (v.FILE_DOWNLOAD_IDLE_TIMEOUT_SECONDS as number) * 1000,
  };
}

/** Parses the sync function's environment; throws ConfigError naming every bad variable. */
export function loadSyncConfig(environment: Env = process.env): SyncConfig {
  const v = parse('sync', environment);
  return {
    ...toApiConfig(v, environment),
    stateTableName: v.STATE_TABLE_NAME as string,
    filesBucketName: v.FILES_BUCKET_NAME as string,
    startDate: v.SYNC_START_DATE as string,
    pageSize: v.SYNC_PAGE_SIZE as number,
    requestsPerMinute: v.SYNC_REQUESTS_PER_MINUTE as number,
    lookbackMs: (v.SYNC_LOOKBACK_SECONDS as number) * 1000,
    timeMarginMs: (v.SYNC_TIME_MARGIN_SECONDS as number) * 1000,
    leaseMs: (v.SYNC_LEASE_SECONDS as number) * 1000,
    allowedFileHosts: v.FILE_ALLOWED_HOSTS ?? defaultAllowedFileHosts(v.PRODUCT_LIVE_API_URL as string),
    fileCopyConcurrency: v.FILE_COPY_CONCURRENCY as number,
    fileCopyRetryDelayMs: (v.FILE_COPY_RETRY_DELAY_SECONDS as number) * 1000,
    fileDownloadIdleTimeoutMs: (v.FILE_DOWNLOAD_IDLE_TIMEOUT_SECONDS as number) * 1000,
    auditIntervalMs: (v.SYNC_AUDIT_INTERVAL_SECONDS as number) * 1000,
    jobExpectations: v.JOB_EXPECTATIONS as JobExpectations,
    syncRunRetentionDays: v.SYNC_RUN_RETENTION_DAYS as number,
    eventBusName: v.EVENT_BUS_NAME as string,
  };
}

/** Parses the launch function's environment; throws ConfigError naming every bad variable. */
export function loadLaunchConfig(environment: Env = process.env): LaunchConfig {
  const v = parse('launch', environment);
  return {
    ...toApiConfig(v, environment),
    stateTableName: v.STATE_TABLE_NAME as string,
    idempotencyTableName: v.IDEMPOTENCY_TABLE_NAME as string,
    queueUrl: v.LAUNCH_QUEUE_URL as string,
    dlqUrl: v.LAUNCH_DLQ_URL as string,
    requestsPerMinute: v.LAUNCH_REQUESTS_PER_MINUTE as number,
    idempotencyTtlSeconds: v.LAUNCH_IDEMPOTENCY_TTL_SECONDS as number,
    maxReceiveCount: v.LAUNCH_MAX_RECEIVE_COUNT as number,
    readable: [
      ...((v.LAUNCH_INPUT_BUCKETS as S3Location[] | undefined) ?? []),
      ...(v.LAUNCH_INBOX_BUCKET ? [{ bucket: v.LAUNCH_INBOX_BUCKET as string, prefix: '' }] : []),
    ],
    inbox: {
      bucket: v.LAUNCH_INBOX_BUCKET as string | undefined,
      rules: (v.LAUNCH_INBOX_RULES as InboxRule[] | undefined) ?? [],
    },
  };
}

export interface LakeConfig {
  executionsTableName: string;
  stateTableName: string;
  filesBucketName: string;
  lakeBucketName: string;
  timeMarginMs: number;
  /** True when AWS_ENDPOINT_URL_S3 points at an S3 emulator, which needs path-style URLs. */
  s3ForcePathStyle: boolean;
}

/** Parses the lake function's environment; throws ConfigError naming every bad variable. */
export function loadLakeConfig(environment: Env = process.env): LakeConfig {
  const v = parse('lake', environment);
  return {
    executionsTableName: v.EXECUTIONS_TABLE_NAME as string,
    stateTableName: v.STATE_TABLE_NAME as string,
    filesBucketName: v.FILES_BUCKET_NAME as string,
    lakeBucketName: v.LAKE_BUCKET_NAME as string,
    timeMarginMs: (v.LAKE_TIME_MARGIN_SECONDS as number) * 1000,
    s3ForcePathStyle: Boolean(environment.AWS_ENDPOINT_URL_S3),
  };
}

export interface EventsConfig {
  eventBusName: string;
}

/** Parses the events function's environment; throws ConfigError naming every bad variable. */
export function loadEventsConfig(environment: Env = process.env): EventsConfig {
  const v = parse('events', environment);
  return { eventBusName: v.EVENT_BUS_NAME as string };
}

export interface CallbacksConfig {
  /** The attempt markers, where the task tokens waiting on launch requests are kept. */
  idempotencyTableName: string;
  /** Where the files' copies (named in the task output) and offloaded large executions are. */
  filesBucketName: string;
  /** Path-style S3 URLs (an S3 emulator: AWS_ENDPOINT_URL_S3 is set). */
  s3ForcePathStyle: boolean;
}

/** Parses the callbacks function's environment; throws ConfigError naming every bad variable. */
export function loadCallbacksConfig(environment: Env = process.env): CallbacksConfig {
  const v = parse('callbacks', environment);
  return {
    idempotencyTableName: v.IDEMPOTENCY_TABLE_NAME as string,
    filesBucketName: v.FILES_BUCKET_NAME as string,
    s3ForcePathStyle: Boolean(environment.AWS_ENDPOINT_URL_S3),
  };
}

/** The API's own host and every *.product-live.com host (invariant 8). */
function defaultAllowedFileHosts(apiUrl: string): string[] {
  return [...new Set([new URL(apiUrl).host.toLowerCase(), '*.product-live.com'])];
}

type ParsedEnv = { [K in EnvVariableName]?: (typeof ENV_VARIABLES)[K] extends Setting<infer T> ? T : never };

function parse(fn: FunctionName, environment: Env): ParsedEnv {
  const names = variablesOf(fn);
  const selected = Object.fromEntries(names.map((name) => [name, ENV_VARIABLES[name]]));
  const { values, problems } = readSettings(selected, (name) => environment[name]);
  if (problems.length > 0) throw new ConfigError(problems);
  return values as ParsedEnv;
}

function toApiConfig(v: ParsedEnv, environment: Env): ApiConfig {
  const secretId = v.PRODUCT_LIVE_API_KEY_SECRET_ID;
  const key = v.PRODUCT_LIVE_API_KEY;
  const problems: string[] = [];
  if (secretId && key) {
    problems.push('PRODUCT_LIVE_API_KEY_SECRET_ID and PRODUCT_LIVE_API_KEY: set only one of them');
  } else if (!secretId && !key) {
    problems.push(
      'PRODUCT_LIVE_API_KEY_SECRET_ID: is required (the Secrets Manager secret holding the API key; ' +
        'PRODUCT_LIVE_API_KEY instead for local runs)',
    );
  } else if (key && environment.AWS_LAMBDA_FUNCTION_NAME) {
    // Read only to tell a Lambda from a local run.
    problems.push(
      'PRODUCT_LIVE_API_KEY: must not be used in AWS Lambda; store the key in Secrets Manager and set ' +
        'PRODUCT_LIVE_API_KEY_SECRET_ID',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    apiUrl: v.PRODUCT_LIVE_API_URL as string,
    findPath: v.PRODUCT_LIVE_FIND_PATH as string,
    apiKey: secretId ? { kind: 'secret', secretId } : { kind: 'env', value: key ?? '' },
    timeoutMs: (v.PRODUCT_LIVE_TIMEOUT_SECONDS as number) * 1000,
    executionsTableName: v.EXECUTIONS_TABLE_NAME as string,
    // An S3 emulator (AWS_ENDPOINT_URL_S3, the SDK's own variable) needs path-style URLs.
    s3ForcePathStyle: Boolean(environment.AWS_ENDPOINT_URL_S3),
  };
}
