// Layer flow: CDK context (cdk.json, `-c key=value`) -> this module (parsed once, before any construct) ->
// typed settings for the stacks, and the environment of each function. Every key is defined once in
// CONTEXT_KEYS (parser, default, meaning, the variables it sets); the docs table is generated from it.
// A bad value fails the synth with a message naming the key, what was expected and what was given.
import { Duration } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { ConfigError, variablesOf } from '#core/config';
import {
  DEFAULT_API_URL,
  DEFAULT_FIND_PATH,
  LAUNCH_RESERVE_MARGIN_SECONDS,
  PRODUCT_LIVE_REQUESTS_PER_MINUTE_LIMIT,
  PRODUCT_LIVE_TIMEOUT_SECONDS,
} from '#core/defaults';
import { FUNCTION_NAMES, type FunctionName } from '#core/function-registry';
import { DEFAULT_ALERT_HEALTH_STATES, HEALTH_STATES, type HealthState } from '#core/health/health-states';
import {
  expectationsToJson,
  JOB_EXPECTATIONS_HELP,
  JobExpectationsSchema,
} from '#core/health/job-expectations';
import { InboxRules } from '#core/inbox-rules';
import { KNOWN_STATUSES, type KnownStatus } from '#core/product-live/product-live.schema';
import { locationText } from '#core/s3-locations';
import {
  boolean,
  email,
  hostList,
  httpsUrl,
  integer,
  isoDate,
  jsonSetting,
  oneOf,
  parser,
  readSettings,
  type Setting,
  s3LocationList,
  setting,
  urlPath,
} from '#core/settings';
import { LAUNCH_QUEUE } from '#core/store/queue-definitions';
import { DEFAULT_GLUE_DATABASE } from '#core/warehouse/lake-tables';
import * as z from '#core/zod';

/** A context value is missing or invalid: every problem at once, one a line. */
function contextError(problems: readonly string[]): ConfigError {
  return new ConfigError(
    problems,
    `Invalid CDK context (cdk.json "context" or -c key=value):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
  );
}

/** The longest visibility timeout SQS accepts. */
const MAX_VISIBILITY_TIMEOUT_SECONDS = 12 * 3600;

/** The Secrets Manager secret holding the API key, as the user named it. */
export type SecretReference =
  | { kind: 'name'; name: string }
  /** `complete`: the ARN ends with the 6-character suffix Secrets Manager appends (exact IAM resource). */
  | { kind: 'arn'; arn: string; complete: boolean };

const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

// --- parsers of the CDK-only settings (the shared ones are in functions/core/settings.ts) -----------------

const RATE = /^(?:rate\(\s*)?(\d+)\s*(minute|minutes|hour|hours|day|days)\s*\)?$/i;

/** `5 minutes`, `1 hour`, `rate(2 hours)`: from 1 minute to 1 day. */
const rate = parser('a rate such as "5 minutes", "1 hour" or "1 day", from 1 minute to 1 day', (raw) => {
  const match = RATE.exec(typeof raw === 'string' ? raw.trim() : '');
  if (!match?.[1] || !match[2]) return undefined;
  const amount = Number(match[1]);
  const unit = match[2].toLowerCase();
  const minutes = unit.startsWith('minute') ? amount : unit.startsWith('hour') ? amount * 60 : amount * 1440;
  return minutes >= 1 && minutes <= 1440 ? Duration.minutes(minutes) : undefined;
});

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:([A-Za-z0-9/_+=.@-]+)$/;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

/** A secret name, or its ARN (complete, as `describe-secret` prints it, or partial: without the suffix). */
const secretReference = parser<SecretReference>(
  'a Secrets Manager secret name (e.g. product-live/api-key) or secret ARN',
  (raw) => {
    const value = typeof raw === 'string' ? raw.trim() : '';
    const arn = SECRET_ARN.exec(value);
    if (arn?.[1]) return { kind: 'arn', arn: value, complete: /-[A-Za-z0-9]{6}$/.test(arn[1]) };
    if (!value.startsWith('arn:') && SECRET_NAME.test(value)) return { kind: 'name', name: value };
    return undefined;
  },
);

const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

const kmsKeyArn = parser('a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)', (raw) =>
  typeof raw === 'string' && KMS_KEY_ARN.test(raw.trim()) ? raw.trim() : undefined,
);

const RETENTION_VALUES = Object.values(RetentionDays)
  .filter((value): value is number => typeof value === 'number' && value !== RetentionDays.INFINITE)
  .sort((a, b) => a - b);

const retentionDays = parser<RetentionDays>(
  `a CloudWatch Logs retention in days: ${RETENTION_VALUES.join(', ')}`,
  (raw) => {
    const value = typeof raw === 'number' ? raw : Number(typeof raw === 'string' ? raw.trim() : Number.NaN);
    return RETENTION_VALUES.includes(value) ? (value as RetentionDays) : undefined;
  },
);

const glueName = parser(
  'lowercase letters, digits and underscores, starting with a letter (at most 255)',
  (raw) => {
    const value = typeof raw === 'string' ? raw.trim() : '';
    return /^[a-z][a-z0-9_]{0,254}$/.test(value) ? value : undefined;
  },
);

const workGroupName = parser('letters, digits, ".", "_" and "-" (1 to 128)', (raw) => {
  const value = typeof raw === 'string' ? raw.trim() : '';
  return /^[A-Za-z0-9._-]{1,128}$/.test(value) ? value : undefined;
});

const stackPrefix = parser('letters, digits and hyphens, starting with a letter', (raw) => {
  const value = typeof raw === 'string' ? raw.trim() : '';
  return /^[A-Za-z][A-Za-z0-9-]{0,99}$/.test(value) ? value : undefined;
});

/**
 * A list as `-c key='["a","b"]'` (a JSON array in a string), `-c key=a,b` (comma-separated) or cdk.json (an
 * array) gives it: the trimmed, non-blank items, or undefined when the value is none of these.
 */
function listItems(raw: unknown): string[] | undefined {
  let value = raw;
  if (typeof value === 'string' && value.trim().startsWith('[')) {
    try {
      value = JSON.parse(value) as unknown;
    } catch {
      return undefined;
    }
  }
  const items = Array.isArray(value)
    ? value.map((item) => (typeof item === 'string' ? item : JSON.stringify(item)))
    : typeof value === 'string'
      ? value.split(',')
      : undefined;
  return items?.map((item) => item.trim()).filter(Boolean);
}

/**
 * A list setting (see listItems) whose every item `check` accepts; the message names the first bad item.
 * `allowEmpty`: an empty list (`[]`) is a value, not a mistake.
 */
function listSetting<T>(
  expected: string,
  check: (item: string) => T | undefined,
  options: { allowEmpty: boolean },
): z.ZodMiniType<T[]> {
  return z.pipe(
    z.unknown(),
    z.transform((raw, context) => {
      const items = listItems(raw);
      const values = items?.map(check);
      const bad = items?.find((_, index) => values?.[index] === undefined);
      if (values && bad === undefined && (options.allowEmpty || values.length > 0)) {
        return [...new Set(values as T[])];
      }
      context.issues.push({
        code: 'custom',
        input: raw,
        message:
          `expected ${expected}, as a JSON list (["a","b"]) or separated by commas, got ${JSON.stringify(raw)}` +
          (bad === undefined ? '' : `: "${bad}" is not one`),
      });
      return z.NEVER;
    }),
  ) as unknown as z.ZodMiniType<T[]>;
}

/** Statuses out of the ones Product-Live documents (case-insensitive; at least one). */
const statusList = listSetting<KnownStatus>(
  `execution statuses out of ${KNOWN_STATUSES.join(', ')}`,
  (item) => KNOWN_STATUSES.find((status) => status === item.toUpperCase()),
  { allowEmpty: false },
);

/** Job health states (lowercase; an empty list: no health alert). */
const healthStateList = listSetting<HealthState>(
  `job health states out of ${HEALTH_STATES.join(', ')}`,
  (item) => HEALTH_STATES.find((state) => state === item.toLowerCase()),
  { allowEmpty: true },
);

const EMAIL = /^[^\s@,"]+@[^\s@,"]+\.[^\s@,"]+$/;

/** E-mail addresses (an empty list subscribes nobody); the shared emailList takes no JSON list. */
const emailList = listSetting('e-mail addresses', (item) => (EMAIL.test(item) ? item : undefined), {
  allowEmpty: true,
});

/** An EventBridge event bus name: `default` (the account's bus) or a custom bus of this account and region. */
const eventBusName = parser(
  'an EventBridge event bus name (letters, digits, ".", "-", "_" and "/", at most 256), e.g. default',
  (raw) => {
    const value = typeof raw === 'string' ? raw.trim() : '';
    return /^[A-Za-z0-9._/-]{1,256}$/.test(value) ? value : undefined;
  },
);

// --- the context keys ---------------------------------------------------------------------------------

/** How a context key sets function variables: each from the key's value and the derived settings. */
type EnvironmentOf<T> = Partial<Record<FunctionName, Record<string, ToText<T>>>>;
// Method syntax: a setter of one key's value type fits the list of all keys (parameters are bivariant).
type ToText<T> = { toText(value: T, derived: DerivedSettings): string }['toText'];

/** A context key: its setting (parser, default, meaning) and the function variables it sets. */
export interface ContextKey<T> extends Setting<T> {
  readonly environment?: EnvironmentOf<T>;
}

const key = <T>(definition: Setting<T> & { environment?: EnvironmentOf<T> }): ContextKey<T> => ({
  ...setting(definition),
  ...(definition.environment ? { environment: definition.environment } : {}),
});
const same = (value: string) => value;
/** The same variables for every function (the Powertools settings). */
const everyFunction = <T>(variables: Record<string, ToText<T>>): EnvironmentOf<T> =>
  Object.fromEntries(FUNCTION_NAMES.map((name) => [name, variables]));

/** Every context key the app reads. */
export const CONTEXT_KEYS = {
  stackPrefix: key({
    schema: stackPrefix,
    defaultValue: 'ProductLiveSync',
    description: 'stack names `<prefix>-Stateful` / `<prefix>-Stateless`; one deployment per prefix',
  }),
  productLiveApiUrl: key({
    schema: httpsUrl,
    defaultValue: DEFAULT_API_URL,
    description: 'API base URL (https only)',
    environment: {
      sync: { PRODUCT_LIVE_API_URL: same },
      launch: { PRODUCT_LIVE_API_URL: same },
      follow: { PRODUCT_LIVE_API_URL: same },
    },
  }),
  productLiveFindPath: key({
    schema: urlPath,
    defaultValue: DEFAULT_FIND_PATH,
    description: 'path of the find endpoint',
    environment: {
      sync: { PRODUCT_LIVE_FIND_PATH: same },
      launch: { PRODUCT_LIVE_FIND_PATH: same },
      follow: { PRODUCT_LIVE_FIND_PATH: same },
    },
  }),
  apiKeySecret: key({
    schema: secretReference,
    defaultValue: 'product-live/api-key',
    description:
      'the secret holding the key: name, or ARN (complete, or partial without the 6-character suffix)',
  }),
  apiKeySecretKmsKeyArn: key({
    schema: kmsKeyArn,
    description: "the secret's customer-managed KMS key, if it has one",
  }),
  syncSchedule: key({
    schema: rate,
    defaultValue: '5 minutes',
    description: 'how often the sync runs (`N minutes`/`hours`/`days`, 1 minute to 1 day)',
  }),
  syncStartDate: key({
    schema: isoDate,
    defaultValue: '1970-01-01',
    description: 'oldest `createdAt` to sync; the default syncs all history',
    environment: { sync: { SYNC_START_DATE: same } },
  }),
  syncLookbackSeconds: key({
    schema: integer(0, 7 * 24 * 3600),
    defaultValue: '600',
    description:
      'how far before the watermark each run re-reads; raise it when the alarm `AuditRecoveredExecutions` fires',
    environment: { sync: { SYNC_LOOKBACK_SECONDS: String } },
  }),
  syncAuditInterval: key({
    schema: integer(0, 365 * 24 * 3600),
    defaultValue: '86400',
    description: 'seconds between completeness audits (`0` = every run)',
    environment: { sync: { SYNC_AUDIT_INTERVAL_SECONDS: String } },
  }),
  fileCopyRetryDelaySeconds: key({
    schema: integer(0, 24 * 3600),
    defaultValue: '300',
    description: 'first delay before a deferred file copy is tried again (doubling, at most a day)',
    environment: {
      sync: { FILE_COPY_RETRY_DELAY_SECONDS: String },
      follow: { FILE_COPY_RETRY_DELAY_SECONDS: String },
    },
  }),
  syncPageSize: key({
    schema: integer(1, 10_000),
    defaultValue: '1000',
    description: 'executions per find request',
    environment: { sync: { SYNC_PAGE_SIZE: String } },
  }),
  syncRequestsPerMinute: key({
    schema: integer(1, PRODUCT_LIVE_REQUESTS_PER_MINUTE_LIMIT),
    defaultValue: '40',
    description: `the sync's share of Product-Live's ${PRODUCT_LIVE_REQUESTS_PER_MINUTE_LIMIT} requests/minute`,
    environment: { sync: { SYNC_REQUESTS_PER_MINUTE: String } },
  }),
  launchRequestsPerMinute: key({
    schema: integer(1, PRODUCT_LIVE_REQUESTS_PER_MINUTE_LIMIT),
    defaultValue: '10',
    description: `the launches' share: the launcher's instances together and the follow function (\`followRequestsPerMinute\` of it); the two shares may not exceed ${PRODUCT_LIVE_REQUESTS_PER_MINUTE_LIMIT}`,
    environment: {
      launch: {
        LAUNCH_REQUESTS_PER_MINUTE: (_, derived) => String(derived.launchRequestsPerMinutePerInstance),
      },
    },
  }),
  followRequestsPerMinute: key({
    schema: integer(1, PRODUCT_LIVE_REQUESTS_PER_MINUTE_LIMIT),
    defaultValue: '2',
    description:
      "the follow function's part of `launchRequestsPerMinute` (a pass makes one request per hundred awaited executions, none when none is open)",
    environment: { follow: { FOLLOW_REQUESTS_PER_MINUTE: String } },
  }),
  followRate: key({
    schema: rate,
    defaultValue: '1 minute',
    description:
      'how often the follow function re-reads the launched executions a Step Functions task waits on (`N minutes`/`hours`)',
  }),
  fileAllowedHosts: key({
    schema: hostList,
    description:
      'hosts files may be downloaded from, comma-separated; default: the API host and `*.product-live.com`',
    environment: {
      sync: { FILE_ALLOWED_HOSTS: (hosts) => hosts.join(',') },
      follow: { FILE_ALLOWED_HOSTS: (hosts) => hosts.join(',') },
    },
  }),
  alarmEmail: key({ schema: email, description: 'e-mail address subscribed to the alarms' }),
  eventBusName: key({
    schema: eventBusName,
    defaultValue: 'default',
    description:
      "the EventBridge bus the status-change and job health events go to: the account's default bus, or the name of a custom bus of the same account and region (created beforehand)",
    environment: { events: { EVENT_BUS_NAME: same }, sync: { EVENT_BUS_NAME: same } },
  }),
  alertStatuses: key({
    schema: statusList,
    defaultValue: 'FAILED,TIMEDOUT',
    description:
      'the execution statuses that send an alert e-mail (comma-separated or a JSON list), out of ' +
      `${KNOWN_STATUSES.join(', ')}; only with \`alertEmails\``,
  }),
  alertHealthStates: key({
    schema: healthStateList,
    defaultValue: DEFAULT_ALERT_HEALTH_STATES.join(','),
    description:
      `the job health states whose entry sends an alert e-mail (comma-separated or a JSON list; \`[]\`: none), out of ${HEALTH_STATES.join(', ')}; only with \`alertEmails\`` +
      ' (docs/health.md)',
  }),
  jobExpectations: key({
    schema: jsonSetting(JobExpectationsSchema, JOB_EXPECTATIONS_HELP),
    defaultValue: '{}',
    description:
      'what is expected of the jobs, per job id or `*` (every job), e.g. `{"65819ba43ad5b963658ab35d": {"every": "24h", "maxConsecutiveFailures": 1, "maxDuration": "30m"}, "*": {"maxConsecutiveFailures": 3}}`; `every` (or `"never"`), `maxConsecutiveFailures`, `maxDuration`, `grace`; what is not set is learned (docs/health.md)',
    environment: {
      sync: { JOB_EXPECTATIONS: (expectations) => JSON.stringify(expectationsToJson(expectations)) },
    },
  }),
  syncRunRetentionDays: key({
    schema: integer(1, 3650),
    defaultValue: '400',
    description:
      "days each sync run's record is kept in the state table (TTL); the warehouse's `sync_runs` keeps them all",
    environment: { sync: { SYNC_RUN_RETENTION_DAYS: String } },
  }),
  alertEmails: key({
    schema: emailList,
    description:
      'e-mail addresses alerted when an execution reaches one of `alertStatuses`, or a job one of `alertHealthStates` (comma-separated or a JSON list, e.g. `\'["ops@example.com"]\'`); none: no alert rules or topic',
  }),
  syncLagAlarmMinutes: key({
    schema: integer(1, 7 * 1440),
    defaultValue: '60',
    description: 'the lag alarm threshold (at least `syncSchedule` + `syncTimeoutMinutes`)',
  }),
  syncTimeoutMinutes: key({
    schema: integer(3, 15),
    defaultValue: '15',
    description:
      'sync timeout (3–15); each run stops cleanly before it (`SYNC_TIME_MARGIN_SECONDS` = a fifth of it, at least 60; lease = timeout + 60 s)',
    environment: {
      sync: {
        SYNC_TIME_MARGIN_SECONDS: (_, derived) => String(derived.syncTimeMarginSeconds),
        SYNC_LEASE_SECONDS: (_, derived) => String(derived.syncLeaseSeconds),
      },
    },
  }),
  syncMemoryMb: key({
    schema: integer(256, 10_240),
    defaultValue: '1024',
    description: 'sync memory (also CPU and bandwidth for file copies)',
  }),
  launchTimeoutSeconds: key({
    schema: integer(60, 900),
    defaultValue: '240',
    description: "launch timeout; the queue's visibility timeout is 6 × this",
  }),
  launchMemoryMb: key({ schema: integer(128, 10_240), defaultValue: '512', description: 'launch memory' }),
  launchBatchSize: key({
    schema: integer(1, 100),
    defaultValue: '10',
    description: 'messages per launch invocation',
  }),
  launchMaxBatchingWindowSeconds: key({
    schema: integer(0, 300),
    defaultValue: '5',
    description: 'how long SQS gathers a batch',
  }),
  launchMaxConcurrency: key({
    schema: integer(2, 1000),
    defaultValue: '2',
    description:
      'most launch invocations at once (2 is the minimum SQS allows); each gets (`launchRequestsPerMinute` − `followRequestsPerMinute`) ÷ this as its `LAUNCH_REQUESTS_PER_MINUTE` (4 by default), so all instances and the follow function together stay within the share',
  }),
  launchMaxReceiveCount: key({
    schema: integer(1, 1000),
    defaultValue: String(LAUNCH_QUEUE.defaultMaxReceiveCount),
    description:
      "deliveries of a request before it goes to the DLQ (retries back off 30 s, 1, 2, 4, 8 min, then 15 min: about 75 minutes in all); the function gets it as `LAUNCH_MAX_RECEIVE_COUNT` and dead-letters the last delivery's failure itself, with its reason",
    environment: { launch: { LAUNCH_MAX_RECEIVE_COUNT: String } },
  }),
  launchInputBuckets: key({
    schema: s3LocationList,
    defaultValue: '[]',
    description:
      'buckets (`name`, or `name/prefix/` for part of one) whose objects launch requests may reference as `s3_object` files, comma-separated or a JSON list; the launch role may read exactly these and the inbox',
    environment: {
      launch: { LAUNCH_INPUT_BUCKETS: (locations) => JSON.stringify(locations.map(locationText)) },
    },
  }),
  launchInbox: key({
    schema: jsonSetting(InboxRules, 'a JSON list of inbox rules {"prefix", "jobId", "inputKey"?, "input"?}'),
    defaultValue: '[]',
    description:
      'inbox rules: an object created in the inbox bucket under a rule\'s `prefix` launches its `jobId` with the object at `input[inputKey]` (default `file`) merged over its static `input`, e.g. `[{"prefix":"imports/supplier-a/","jobId":"…"}]`',
    environment: { launch: { LAUNCH_INBOX_RULES: (rules) => JSON.stringify(rules) } },
  }),
  launchInboxRetentionDays: key({
    schema: integer(1, 3650),
    defaultValue: '30',
    description: 'days an object stays in the inbox bucket (every version) before it expires',
  }),
  launchIdempotencyTtlDays: key({
    schema: integer(1, 365),
    defaultValue: '30',
    description: 'how long a launch key is remembered',
    environment: {
      launch: { LAUNCH_IDEMPOTENCY_TTL_SECONDS: (days) => String(days * 24 * 3600) },
    },
  }),
  logRetentionDays: key({
    schema: retentionDays,
    defaultValue: '90',
    description: 'CloudWatch Logs retention (a value CloudWatch accepts: 1, 3, 5, 7, 14, 30, 60, 90, ...)',
  }),
  logLevel: key({
    schema: oneOf(LOG_LEVELS),
    defaultValue: 'INFO',
    description: '`DEBUG`, `INFO`, `WARN` or `ERROR`',
    environment: everyFunction({ POWERTOOLS_LOG_LEVEL: same }),
  }),
  tracing: key({
    schema: boolean,
    defaultValue: 'true',
    description:
      'active X-Ray tracing of every function, with subsegments for the AWS SDK and Product-Live calls (`false`: none, and the Powertools Tracer off)',
    environment: everyFunction({ POWERTOOLS_TRACE_ENABLED: String }),
  }),
  exampleStateMachine: key({
    schema: boolean,
    defaultValue: 'false',
    description:
      'deploy an example Step Functions state machine that launches an import with a file (input `{"jobId", "file": "s3://…"}`) and branches on its result (docs/launches.md)',
  }),
  filesNoncurrentVersionDays: key({
    schema: integer(1, 3650),
    defaultValue: '30',
    description: 'days an overwritten or deleted file version is kept',
  }),
  lakeSchedule: key({
    schema: rate,
    defaultValue: '5 minutes',
    description:
      'how often the lake function rewrites the days that changed (`N minutes`/`hours`/`days`); the warehouse is that far behind the store at most',
  }),
  lakeTimeoutMinutes: key({
    schema: integer(1, 15),
    defaultValue: '15',
    description: 'lake timeout (1–15); a first build over a long history continues in the next runs',
  }),
  lakeMemoryMb: key({
    schema: integer(256, 10_240),
    defaultValue: '1024',
    description: "lake memory (a day's executions are held while its Parquet objects are written)",
  }),
  glueDatabaseName: key({
    schema: glueName,
    defaultValue: DEFAULT_GLUE_DATABASE,
    description: 'the Glue database of the warehouse tables `executions` and `files` (one per deployment)',
  }),
  athenaWorkGroupName: key({
    schema: workGroupName,
    defaultValue: 'product-live-sync',
    description:
      'the Athena workgroup of the warehouse (its results bucket, encryption and cutoff are enforced)',
  }),
  athenaBytesScannedCutoffMb: key({
    schema: integer(10, 1_000_000_000),
    defaultValue: '10240',
    description: 'Athena cancels a query of the workgroup that would scan more than this (MB; at least 10)',
  }),
  athenaResultsExpirationDays: key({
    schema: integer(1, 3650),
    defaultValue: '30',
    description: 'days Athena query results are kept in their bucket',
  }),
  accessLogsExpirationDays: key({
    schema: integer(1, 3650),
    defaultValue: '365',
    description: "days the files bucket's access logs are kept",
  }),
} as const satisfies Record<string, ContextKey<unknown>>;

type Keys = typeof CONTEXT_KEYS;
/** The parsed value of every context key (optional keys may be undefined). */
type ContextValues = { [K in keyof Keys]: Keys[K] extends Setting<infer T> ? T : never };
type OptionalKeys = 'apiKeySecretKmsKeyArn' | 'fileAllowedHosts' | 'alarmEmail' | 'alertEmails';

export interface InfraConfig
  extends Omit<
    ContextValues,
    | OptionalKeys
    | 'syncTimeoutMinutes'
    | 'launchTimeoutSeconds'
    | 'launchMaxBatchingWindowSeconds'
    | 'logRetentionDays'
    | 'lakeTimeoutMinutes'
  > {
  apiKeySecretKmsKeyArn?: string;
  fileAllowedHosts?: string[];
  alarmEmail?: string;
  /** Who is alerted of the executions that reach one of alertStatuses; empty: no alerts. */
  alertEmails: string[];
  syncTimeout: Duration;
  launchTimeout: Duration;
  lakeTimeout: Duration;
  launchMaxBatchingWindow: Duration;
  logRetention: RetentionDays;
  /** Values derived from the ones above (one place, so that tests and stacks agree). */
  derived: DerivedSettings;
  /** Every context value as parsed (what the functions' environment is derived from). */
  context: ContextValues;
}

export interface DerivedSettings {
  /** SYNC_TIME_MARGIN_SECONDS: no page or file copy starts once less than this is left of the timeout. */
  syncTimeMarginSeconds: number;
  /** SYNC_LEASE_SECONDS: outlives the longest possible run, so a crashed run's lease expires on its own. */
  syncLeaseSeconds: number;
  /** LAUNCH_REQUESTS_PER_MINUTE of one launch instance: the launch budget, less the follow function's, split over maxConcurrency. */
  launchRequestsPerMinutePerInstance: number;
  /** Visibility timeout of the launch queue: 6 × the launch function timeout (AWS's advice for SQS sources). */
  launchVisibilityTimeout: Duration;
  /** Period of the sync lag alarm: long enough to contain at least two scheduled runs. */
  syncLagAlarmPeriod: Duration;
}

/** Reads every key from `context` (e.g. `key => app.node.tryGetContext(key)`); throws a ConfigError. */
export function loadInfraConfig(context: (key: string) => unknown): InfraConfig {
  const { values, problems } = readSettings(CONTEXT_KEYS, context);
  if (problems.length > 0) throw contextError(problems);
  // No problem reported: every key with a default has a value (the optional ones may be undefined).
  const v = values as ContextValues;

  const total = v.syncRequestsPerMinute + v.launchRequestsPerMinute;
  if (total > PRODUCT_LIVE_REQUESTS_PER_MINUTE_LIMIT) {
    problems.push(
      `syncRequestsPerMinute + launchRequestsPerMinute: ${v.syncRequestsPerMinute} + ${v.launchRequestsPerMinute} = ${total} ` +
        `exceeds Product-Live's ${PRODUCT_LIVE_REQUESTS_PER_MINUTE_LIMIT} requests/minute per API key`,
    );
  }
  const launcherShare = v.launchRequestsPerMinute - v.followRequestsPerMinute;
  const perInstance = Math.floor(launcherShare / v.launchMaxConcurrency);
  if (perInstance < 1) {
    problems.push(
      `launchRequestsPerMinute: ${v.launchRequestsPerMinute} less followRequestsPerMinute ${v.followRequestsPerMinute} ` +
        `cannot be split over launchMaxConcurrency ${v.launchMaxConcurrency} instances (each needs at least 1 request/minute)`,
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
  if (problems.length > 0) throw contextError(problems);

  const {
    syncTimeoutMinutes,
    launchTimeoutSeconds,
    launchMaxBatchingWindowSeconds,
    logRetentionDays,
    lakeTimeoutMinutes,
    apiKeySecretKmsKeyArn,
    fileAllowedHosts,
    alarmEmail,
    alertEmails,
    ...rest
  } = v;
  const syncTimeoutSeconds = syncTimeoutMinutes * 60;
  return {
    ...rest,
    context: v,
    ...(apiKeySecretKmsKeyArn ? { apiKeySecretKmsKeyArn } : {}),
    ...(fileAllowedHosts ? { fileAllowedHosts } : {}),
    ...(alarmEmail ? { alarmEmail } : {}),
    alertEmails: alertEmails ?? [],
    syncTimeout: Duration.seconds(syncTimeoutSeconds),
    launchTimeout: Duration.seconds(launchTimeoutSeconds),
    lakeTimeout: Duration.minutes(lakeTimeoutMinutes),
    launchMaxBatchingWindow: Duration.seconds(launchMaxBatchingWindowSeconds),
    logRetention: logRetentionDays,
    derived: {
      // A fifth of the timeout, at least a minute: room for one find request with its retries (30 s
      // timeout each, 429 waits), the page's DynamoDB writes and the file copies already in flight.
      syncTimeMarginSeconds: Math.max(60, Math.ceil(syncTimeoutSeconds / 5)),
      syncLeaseSeconds: syncTimeoutSeconds + 60,
      launchRequestsPerMinutePerInstance: perInstance,
      launchVisibilityTimeout: Duration.seconds(launchTimeoutSeconds * 6),
      syncLagAlarmPeriod: lagAlarmPeriod(normalLagMinutes),
    },
  };
}

/**
 * The environment a function gets from the configuration: every variable a context key sets for it (an
 * optional key that was not given sets nothing), and the Product-Live timeout of the functions that call the
 * API. The resources (tables, bucket, queues, secret) are added by the constructs that own them.
 */
export function functionEnvironment(fn: FunctionName, config: InfraConfig): Record<string, string> {
  // The Product-Live timeout concerns the functions that call the API (those that read it).
  const environment: Record<string, string> = variablesOf(fn).includes('PRODUCT_LIVE_TIMEOUT_SECONDS')
    ? { PRODUCT_LIVE_TIMEOUT_SECONDS: String(PRODUCT_LIVE_TIMEOUT_SECONDS) }
    : {};
  for (const [name, definition] of Object.entries(CONTEXT_KEYS) as Array<[keyof Keys, ContextKey<unknown>]>) {
    const value = config.context[name];
    if (value === undefined) continue;
    for (const [variable, toText] of Object.entries(definition.environment?.[fn] ?? {})) {
      environment[variable] = toText(value, config.derived);
    }
  }
  return environment;
}

/** Twice the normal gap between lag data points, in 5-minute steps, from 1 hour to 1 day. */
function lagAlarmPeriod(normalLagMinutes: number): Duration {
  const minutes = Math.ceil((normalLagMinutes * 2) / 5) * 5;
  return Duration.minutes(Math.min(1440, Math.max(60, minutes)));
}
