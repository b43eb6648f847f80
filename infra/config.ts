// Layer flow: CDK context (cdk.json, `-c key=value`) -> this module (parsed once, before any construct) ->
// typed settings for the stacks. Nothing else in infra/ reads context. A bad value fails the synth with a
// message naming the context key, what was expected and what was given.
//
// Every key, its default and its meaning are in CONTEXT_KEYS below (the README "Deploy" table mirrors it).
import { Duration } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';

/** Raised when a context value is missing or invalid; lists every problem at once. */
export class InfraConfigError extends Error {
  override readonly name = 'InfraConfigError';
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid CDK context (cdk.json "context" or -c key=value):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
}

/** Product-Live's limit for one API key: all calls of the deployment, both functions together (invariant 6). */
export const PRODUCT_LIVE_REQUESTS_PER_MINUTE_LIMIT = 50;
/** Per-request timeout of the Product-Live client (PRODUCT_LIVE_TIMEOUT_SECONDS), the same in both functions. */
export const PRODUCT_LIVE_TIMEOUT_SECONDS = 30;
/** The launch handler stops starting calls once less than the request timeout plus this is left. */
const LAUNCH_RESERVE_MARGIN_SECONDS = 5;
/** The longest visibility timeout SQS accepts. */
const MAX_VISIBILITY_TIMEOUT_SECONDS = 12 * 3600;

/** The Secrets Manager secret holding the API key, as the user named it. */
export type SecretReference =
  | { kind: 'name'; name: string }
  /** `complete`: the ARN ends with the 6-character suffix Secrets Manager appends (exact IAM resource). */
  | { kind: 'arn'; arn: string; complete: boolean };

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export interface InfraConfig {
  /** Prefix of the two stack names: `<prefix>-Stateful`, `<prefix>-Stateless`. */
  stackPrefix: string;
  productLiveApiUrl: string;
  productLiveFindPath: string;
  apiKeySecret: SecretReference;
  /** Customer-managed KMS key of the secret, when it has one (the functions need kms:Decrypt on it). */
  apiKeySecretKmsKeyArn?: string;
  syncSchedule: Duration;
  /** ISO 8601; executions created before it are not synced. */
  syncStartDate: string;
  syncPageSize: number;
  /** Deployment-wide Product-Live budgets; their sum is at most PRODUCT_LIVE_REQUESTS_PER_MINUTE_LIMIT. */
  syncRequestsPerMinute: number;
  launchRequestsPerMinute: number;
  /** Hosts the sync may download files from; undefined: the API's host and *.product-live.com. */
  fileAllowedHosts?: string[];
  alarmEmail?: string;
  syncLagAlarmMinutes: number;
  syncTimeout: Duration;
  syncMemoryMb: number;
  launchTimeout: Duration;
  launchMemoryMb: number;
  launchBatchSize: number;
  launchMaxBatchingWindow: Duration;
  launchMaxConcurrency: number;
  launchMaxReceiveCount: number;
  launchIdempotencyTtlDays: number;
  logRetention: RetentionDays;
  logLevel: LogLevel;
  tracing: boolean;
  filesNoncurrentVersionDays: number;
  accessLogsExpirationDays: number;
  /** Values derived from the ones above (one place, so that tests and stacks agree). */
  derived: DerivedSettings;
}

export interface DerivedSettings {
  /** SYNC_TIME_MARGIN_SECONDS: no page or file copy starts once less than this is left of the timeout. */
  syncTimeMarginSeconds: number;
  /** SYNC_LEASE_SECONDS: outlives the longest possible run, so a crashed run's lease expires on its own. */
  syncLeaseSeconds: number;
  /** LAUNCH_REQUESTS_PER_MINUTE of one launch instance: the launch budget split over maxConcurrency. */
  launchRequestsPerMinutePerInstance: number;
  /** Visibility timeout of the launch queue: 6 × the launch function timeout (AWS's advice for SQS sources). */
  launchVisibilityTimeout: Duration;
  /** Period of the sync lag alarm: long enough to contain at least two scheduled runs. */
  syncLagAlarmPeriod: Duration;
}

type ContextValue = unknown;
type Parser<T> = (raw: ContextValue) => { ok: true; value: T } | { ok: false; expected: string };

interface KeySpec<T> {
  /** The default, as a user would type it (documentation), or undefined when the key is optional. */
  readonly defaultValue: string | undefined;
  readonly description: string;
  readonly parse: Parser<T>;
}

const text = (raw: ContextValue): string | undefined => {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string') return raw.trim() === '' ? undefined : raw.trim();
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  return undefined;
};

const integer =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    const value = typeof raw === 'number' ? raw : Number(text(raw));
    return Number.isInteger(value) && value >= min && value <= max
      ? { ok: true, value }
      : { ok: false, expected: `an integer from ${min} to ${max}` };
  };

const boolean: Parser<boolean> = (raw) => {
  const value = typeof raw === 'boolean' ? String(raw) : text(raw)?.toLowerCase();
  if (value === 'true') return { ok: true, value: true };
  if (value === 'false') return { ok: true, value: false };
  return { ok: false, expected: 'true or false' };
};

const httpsUrl: Parser<string> = (raw) => {
  const value = text(raw);
  // Lambda cannot reach a loopback emulator, so only https is deployable (invariant 8).
  return value && /^https:\/\//.test(value) && URL.canParse(value) && new URL(value).hostname !== ''
    ? { ok: true, value: value.replace(/\/+$/, '') }
    : { ok: false, expected: 'an https:// URL' };
};

const urlPath: Parser<string> = (raw) => {
  const value = text(raw);
  return value?.startsWith('/') && !/\s/.test(value)
    ? { ok: true, value }
    : { ok: false, expected: 'a path starting with /' };
};

const isoDate: Parser<string> = (raw) => {
  const value = text(raw);
  return value && /^\d{4}-\d{2}-\d{2}/.test(value) && Number.isFinite(Date.parse(value))
    ? { ok: true, value: new Date(value).toISOString() }
    : { ok: false, expected: 'an ISO 8601 date such as 2024-01-31 or 2024-01-31T00:00:00Z' };
};

const RATE = /^(?:rate\(\s*)?(\d+)\s*(minute|minutes|hour|hours|day|days)\s*\)?$/i;

/** `5 minutes`, `1 hour`, `rate(2 hours)`: from 1 minute to 1 day. */
const rate: Parser<Duration> = (raw) => {
  const match = RATE.exec(text(raw) ?? '');
  const expected = 'a rate such as "5 minutes", "1 hour" or "1 day", from 1 minute to 1 day';
  if (!match?.[1] || !match[2]) return { ok: false, expected };
  const amount = Number(match[1]);
  const unit = match[2].toLowerCase();
  const minutes = unit.startsWith('minute') ? amount : unit.startsWith('hour') ? amount * 60 : amount * 1440;
  return minutes >= 1 && minutes <= 1440
    ? { ok: true, value: Duration.minutes(minutes) }
    : { ok: false, expected };
};

const HOST = /^(\*\.)?[a-z0-9.-]+(:\d+)?$/;

const hostList: Parser<string[]> = (raw) => {
  const items = Array.isArray(raw) ? raw.map(String) : (text(raw)?.split(',') ?? []);
  const hosts = items.map((host) => host.trim().toLowerCase()).filter(Boolean);
  return hosts.length > 0 && hosts.every((host) => HOST.test(host))
    ? { ok: true, value: hosts }
    : {
        ok: false,
        expected: 'a comma-separated list of host names, e.g. "files.example.com,*.product-live.com"',
      };
};

const email: Parser<string> = (raw) => {
  const value = text(raw);
  return value && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)
    ? { ok: true, value }
    : { ok: false, expected: 'an e-mail address' };
};

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:([A-Za-z0-9/_+=.@-]+)$/;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

/** A secret name, or its ARN (complete, as `describe-secret` prints it, or partial: without the suffix). */
const secretReference: Parser<SecretReference> = (raw) => {
  const value = text(raw) ?? '';
  const arn = SECRET_ARN.exec(value);
  if (arn?.[1])
    return { ok: true, value: { kind: 'arn', arn: value, complete: /-[A-Za-z0-9]{6}$/.test(arn[1]) } };
  if (!value.startsWith('arn:') && SECRET_NAME.test(value))
    return { ok: true, value: { kind: 'name', name: value } };
  return { ok: false, expected: 'a Secrets Manager secret name (e.g. product-live/api-key) or secret ARN' };
};

const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

const kmsKeyArn: Parser<string> = (raw) => {
  const value = text(raw);
  return value && KMS_KEY_ARN.test(value)
    ? { ok: true, value }
    : { ok: false, expected: 'a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)' };
};

const RETENTION_VALUES = new Set(
  Object.values(RetentionDays).filter((value): value is number => typeof value === 'number'),
);

const retentionDays: Parser<RetentionDays> = (raw) => {
  const value = typeof raw === 'number' ? raw : Number(text(raw));
  return RETENTION_VALUES.has(value) && value !== RetentionDays.INFINITE
    ? { ok: true, value: value as RetentionDays }
    : {
        ok: false,
        expected: `a CloudWatch Logs retention in days: ${[...RETENTION_VALUES]
          .filter((days) => days !== RetentionDays.INFINITE)
          .sort((a, b) => a - b)
          .join(', ')}`,
      };
};

const logLevel: Parser<LogLevel> = (raw) => {
  const value = text(raw)?.toUpperCase();
  return value === 'DEBUG' || value === 'INFO' || value === 'WARN' || value === 'ERROR'
    ? { ok: true, value }
    : { ok: false, expected: 'DEBUG, INFO, WARN or ERROR' };
};

const stackPrefix: Parser<string> = (raw) => {
  const value = text(raw);
  return value && /^[A-Za-z][A-Za-z0-9-]{0,99}$/.test(value)
    ? { ok: true, value }
    : { ok: false, expected: 'letters, digits and hyphens, starting with a letter' };
};

/** Every context key the app reads, with its default. */
export const CONTEXT_KEYS = {
  stackPrefix: {
    defaultValue: 'ProductLiveSync',
    description:
      'Prefix of the stack names (<prefix>-Stateful, <prefix>-Stateless); one deployment per prefix',
    parse: stackPrefix,
  },
  productLiveApiUrl: {
    defaultValue: 'https://api.product-live.com',
    description: 'Product-Live API base URL',
    parse: httpsUrl,
  },
  productLiveFindPath: {
    defaultValue: '/v1/job_executions/find',
    description: 'Path of the job executions find endpoint',
    parse: urlPath,
  },
  apiKeySecret: {
    defaultValue: 'product-live/api-key',
    description:
      'Secrets Manager secret holding the API key (plain text, or JSON {"apiKey": "..."}): name or ARN',
    parse: secretReference,
  },
  apiKeySecretKmsKeyArn: {
    defaultValue: undefined,
    description:
      "ARN of the secret's customer-managed KMS key, if it has one (not needed for aws/secretsmanager)",
    parse: kmsKeyArn,
  },
  syncSchedule: {
    defaultValue: '5 minutes',
    description: 'How often the sync runs (EventBridge Scheduler rate)',
    parse: rate,
  },
  syncStartDate: {
    defaultValue: '1970-01-01',
    description: 'Oldest createdAt to sync (ISO 8601); the default syncs the whole history',
    parse: isoDate,
  },
  syncPageSize: {
    defaultValue: '1000',
    description: 'Executions per find request',
    parse: integer(1, 10_000),
  },
  syncRequestsPerMinute: {
    defaultValue: '40',
    description: `Product-Live requests/minute of the sync; with launchRequestsPerMinute at most ${PRODUCT_LIVE_REQUESTS_PER_MINUTE_LIMIT}`,
    parse: integer(1, PRODUCT_LIVE_REQUESTS_PER_MINUTE_LIMIT),
  },
  launchRequestsPerMinute: {
    defaultValue: '10',
    description: 'Product-Live requests/minute of the launcher (all its instances together)',
    parse: integer(1, PRODUCT_LIVE_REQUESTS_PER_MINUTE_LIMIT),
  },
  fileAllowedHosts: {
    defaultValue: undefined,
    description:
      'Hosts files may be downloaded from (comma-separated, *.domain allowed); default: the API host and *.product-live.com',
    parse: hostList,
  },
  alarmEmail: {
    defaultValue: undefined,
    description: 'E-mail address subscribed to the alarm topic (confirm the subscription e-mail)',
    parse: email,
  },
  syncLagAlarmMinutes: {
    defaultValue: '60',
    description: 'Alarm when no sync run has brought the store closer than this to the present',
    parse: integer(1, 7 * 1440),
  },
  syncTimeoutMinutes: {
    defaultValue: '15',
    description: 'Sync function timeout; the run stops cleanly before it',
    parse: integer(3, 15),
  },
  syncMemoryMb: {
    defaultValue: '1024',
    description: 'Sync function memory (also buys CPU and network bandwidth for file copies)',
    parse: integer(256, 10_240),
  },
  launchTimeoutSeconds: {
    defaultValue: '180',
    description: 'Launch function timeout (the launch queue visibility timeout is 6 times this)',
    parse: integer(60, 900),
  },
  launchMemoryMb: {
    defaultValue: '512',
    description: 'Launch function memory',
    parse: integer(128, 10_240),
  },
  launchBatchSize: {
    defaultValue: '10',
    description: 'Launch messages per invocation',
    parse: integer(1, 100),
  },
  launchMaxBatchingWindowSeconds: {
    defaultValue: '5',
    description: 'How long the event source waits to fill a batch',
    parse: integer(0, 300),
  },
  launchMaxConcurrency: {
    defaultValue: '2',
    description: 'Most concurrent launch invocations (2 is the minimum SQS event sources accept)',
    parse: integer(2, 1000),
  },
  launchMaxReceiveCount: {
    defaultValue: '10',
    description:
      'Deliveries of a launch message before SQS moves it to the DLQ (retries back off 30 s, 1 min, ... 15 min)',
    parse: integer(1, 1000),
  },
  launchIdempotencyTtlDays: {
    defaultValue: '30',
    description: 'How long a launch request is remembered (a duplicate within it starts nothing)',
    parse: integer(1, 365),
  },
  logRetentionDays: {
    defaultValue: '90',
    description: 'CloudWatch Logs retention of both functions',
    parse: retentionDays,
  },
  logLevel: {
    defaultValue: 'INFO',
    description: 'POWERTOOLS_LOG_LEVEL of both functions',
    parse: logLevel,
  },
  tracing: {
    defaultValue: 'false',
    description: 'Active X-Ray tracing of both functions',
    parse: boolean,
  },
  filesNoncurrentVersionDays: {
    defaultValue: '30',
    description: 'Days an overwritten or deleted file version is kept in the files bucket',
    parse: integer(1, 3650),
  },
  accessLogsExpirationDays: {
    defaultValue: '365',
    description: 'Days the files bucket server access logs are kept',
    parse: integer(1, 3650),
  },
} as const satisfies Record<string, KeySpec<unknown>>;

type Keys = typeof CONTEXT_KEYS;
type ParsedValue<K extends keyof Keys> = Keys[K]['parse'] extends Parser<infer T> ? T : never;

/** Reads every key from `context` (e.g. `key => app.node.tryGetContext(key)`); throws InfraConfigError. */
export function loadInfraConfig(context: (key: string) => unknown): InfraConfig {
  const problems: string[] = [];

  function read<K extends keyof Keys>(key: K): ParsedValue<K> | undefined {
    const spec: KeySpec<unknown> = CONTEXT_KEYS[key];
    const raw = context(key);
    const given = raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '');
    const source = given ? spec.defaultValue : raw;
    if (source === undefined) return undefined;
    const result = spec.parse(source);
    if (!result.ok) {
      problems.push(`${key}: expected ${result.expected}, got ${JSON.stringify(raw)}`);
      return undefined;
    }
    return result.value as ParsedValue<K>;
  }

  const values = {
    stackPrefix: read('stackPrefix'),
    productLiveApiUrl: read('productLiveApiUrl'),
    productLiveFindPath: read('productLiveFindPath'),
    apiKeySecret: read('apiKeySecret'),
    apiKeySecretKmsKeyArn: read('apiKeySecretKmsKeyArn'),
    syncSchedule: read('syncSchedule'),
    syncStartDate: read('syncStartDate'),
    syncPageSize: read('syncPageSize'),
    syncRequestsPerMinute: read('syncRequestsPerMinute'),
    launchRequestsPerMinute: read('launchRequestsPerMinute'),
    fileAllowedHosts: read('fileAllowedHosts'),
    alarmEmail: read('alarmEmail'),
    syncLagAlarmMinutes: read('syncLagAlarmMinutes'),
    syncTimeoutMinutes: read('syncTimeoutMinutes'),
    syncMemoryMb: read('syncMemoryMb'),
    launchTimeoutSeconds: read('launchTimeoutSeconds'),
    launchMemoryMb: read('launchMemoryMb'),
    launchBatchSize: read('launchBatchSize'),
    launchMaxBatchingWindowSeconds: read('launchMaxBatchingWindowSeconds'),
    launchMaxConcurrency: read('launchMaxConcurrency'),
    launchMaxReceiveCount: read('launchMaxReceiveCount'),
    launchIdempotencyTtlDays: read('launchIdempotencyTtlDays'),
    logRetentionDays: read('logRetentionDays'),
    logLevel: read('logLevel'),
    tracing: read('tracing'),
    filesNoncurrentVersionDays: read('filesNoncurrentVersionDays'),
    accessLogsExpirationDays: read('accessLogsExpirationDays'),
  };
  if (problems.length > 0) throw new InfraConfigError(problems);
  // No problem reported: every key with a default has a value (the optional ones are read from `values`).
  const v = values as { [K in keyof typeof values]-?: NonNullable<(typeof values)[K]> };

  const total = v.syncRequestsPerMinute + v.launchRequestsPerMinute;
  if (total > PRODUCT_LIVE_REQUESTS_PER_MINUTE_LIMIT) {
    problems.push(
      `syncRequestsPerMinute + launchRequestsPerMinute: ${v.syncRequestsPerMinute} + ${v.launchRequestsPerMinute} = ${total} ` +
        `exceeds Product-Live's ${PRODUCT_LIVE_REQUESTS_PER_MINUTE_LIMIT} requests/minute per API key`,
    );
  }
  const perInstance = Math.floor(v.launchRequestsPerMinute / v.launchMaxConcurrency);
  if (perInstance < 1) {
    problems.push(
      `launchRequestsPerMinute: ${v.launchRequestsPerMinute} cannot be split over launchMaxConcurrency ` +
        `${v.launchMaxConcurrency} instances (each needs at least 1 request/minute)`,
    );
  }
  // A batch must fit in one invocation at this instance's rate, with the reserve the handler keeps free;
  // otherwise every invocation ends with messages left over, and each leftover delivery counts towards the DLQ.
  const batchSeconds = Math.ceil((v.launchBatchSize * 60) / Math.max(1, perInstance));
  const neededLaunchSeconds = batchSeconds + PRODUCT_LIVE_TIMEOUT_SECONDS + LAUNCH_RESERVE_MARGIN_SECONDS;
  if (perInstance >= 1 && v.launchTimeoutSeconds < neededLaunchSeconds) {
    problems.push(
      `launchTimeoutSeconds: ${v.launchTimeoutSeconds} is too short for a batch of ${v.launchBatchSize} at ` +
        `${perInstance} requests/minute per instance; use at least ${neededLaunchSeconds}, or a smaller launchBatchSize`,
    );
  }
  if (v.launchTimeoutSeconds * 6 > MAX_VISIBILITY_TIMEOUT_SECONDS) {
    problems.push(
      `launchTimeoutSeconds: 6 × ${v.launchTimeoutSeconds} exceeds the 12-hour SQS visibility limit`,
    );
  }
  const normalLagMinutes = v.syncSchedule.toMinutes() + v.syncTimeoutMinutes;
  if (v.syncLagAlarmMinutes < normalLagMinutes) {
    problems.push(
      `syncLagAlarmMinutes: ${v.syncLagAlarmMinutes} is below the normal lag of syncSchedule + syncTimeoutMinutes ` +
        `(${normalLagMinutes} minutes); the alarm would always be on`,
    );
  }
  if (problems.length > 0) throw new InfraConfigError(problems);

  const syncTimeoutSeconds = v.syncTimeoutMinutes * 60;
  const config: Omit<InfraConfig, 'derived'> = {
    stackPrefix: v.stackPrefix,
    productLiveApiUrl: v.productLiveApiUrl,
    productLiveFindPath: v.productLiveFindPath,
    apiKeySecret: v.apiKeySecret,
    ...(values.apiKeySecretKmsKeyArn ? { apiKeySecretKmsKeyArn: values.apiKeySecretKmsKeyArn } : {}),
    syncSchedule: v.syncSchedule,
    syncStartDate: v.syncStartDate,
    syncPageSize: v.syncPageSize,
    syncRequestsPerMinute: v.syncRequestsPerMinute,
    launchRequestsPerMinute: v.launchRequestsPerMinute,
    ...(values.fileAllowedHosts ? { fileAllowedHosts: values.fileAllowedHosts } : {}),
    ...(values.alarmEmail ? { alarmEmail: values.alarmEmail } : {}),
    syncLagAlarmMinutes: v.syncLagAlarmMinutes,
    syncTimeout: Duration.seconds(syncTimeoutSeconds),
    syncMemoryMb: v.syncMemoryMb,
    launchTimeout: Duration.seconds(v.launchTimeoutSeconds),
    launchMemoryMb: v.launchMemoryMb,
    launchBatchSize: v.launchBatchSize,
    launchMaxBatchingWindow: Duration.seconds(v.launchMaxBatchingWindowSeconds),
    launchMaxConcurrency: v.launchMaxConcurrency,
    launchMaxReceiveCount: v.launchMaxReceiveCount,
    launchIdempotencyTtlDays: v.launchIdempotencyTtlDays,
    logRetention: v.logRetentionDays,
    logLevel: v.logLevel,
    tracing: v.tracing,
    filesNoncurrentVersionDays: v.filesNoncurrentVersionDays,
    accessLogsExpirationDays: v.accessLogsExpirationDays,
  };
  return {
    ...config,
    derived: {
      // A fifth of the timeout, at least a minute: room for one find request with its retries (30 s
      // timeout each, 429 waits), the page's DynamoDB writes and the file copies already in flight.
      syncTimeMarginSeconds: Math.max(60, Math.ceil(syncTimeoutSeconds / 5)),
      syncLeaseSeconds: syncTimeoutSeconds + 60,
      launchRequestsPerMinutePerInstance: perInstance,
      launchVisibilityTimeout: Duration.seconds(v.launchTimeoutSeconds * 6),
      syncLagAlarmPeriod: lagAlarmPeriod(normalLagMinutes),
    },
  };
}

/** Twice the normal gap between lag data points, in 5-minute steps, from 1 hour to 1 day. */
function lagAlarmPeriod(normalLagMinutes: number): Duration {
  const minutes = Math.ceil((normalLagMinutes * 2) / 5) * 5;
  return Duration.minutes(Math.min(1440, Math.max(60, minutes)));
}
