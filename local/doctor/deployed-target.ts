// Layer flow: runDoctor (--stack NAME, or the table names) -> createDeployedContext -> the store opened as `npm run
// history` opens it (its stacks' outputs name everything), the sync function's configuration as Lambda runs it, the
// schedules -> the checks. Read calls only (docs/doctor-policy.json lists them; a test holds the two together).
import { AthenaClient } from '@aws-sdk/client-athena';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { GlueClient } from '@aws-sdk/client-glue';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { ConfigError, ENV_VARIABLES, loadSyncConfig, type SyncConfig } from '#core/config';
import { stackPrefixOf } from '../store/deployed-stack';
import type { Store } from '../store/open-store';
import type { DoctorContext, DoctorOptions, FixCommands, SyncCadence } from './doctor-context';
import { storeJobHealth, storeSyncRuns } from './health-sources';
import { memo } from './memo';
import { NotCheckedError } from './not-checked';
import { readStateSnapshot } from './state-snapshot';

/** The stack outputs doctor reads, by what they name (infra/stacks/*.ts define them). */
export const DOCTOR_OUTPUTS = {
  syncFunction: 'SyncFunctionName',
  syncLogGroup: 'SyncLogGroupName',
  lakeFunction: 'LakeFunctionName',
  lakeLogGroup: 'LakeLogGroupName',
  syncSchedule: 'SyncScheduleName',
  lakeSchedule: 'LakeScheduleName',
  followSchedule: 'FollowScheduleName',
  eventsSourceMapping: 'EventsSourceMappingId',
  eventsFailureQueue: 'EventsFailureQueueUrl',
  launchDeadLetterQueueArn: 'LaunchDeadLetterQueueArn',
  alarms: 'AlarmNames',
  version: 'Version',
  glueDatabase: 'GlueDatabaseName',
  athenaWorkGroup: 'AthenaWorkGroupName',
  lakeBucket: 'LakeBucketName',
} as const;

export type DoctorOutput = keyof typeof DOCTOR_OUTPUTS;

/** The AWS clients of the deployed checks (the store brings its own DynamoDB client). */
export interface DoctorAwsClients {
  lambda: LambdaClient;
  scheduler: SchedulerClient;
  sqs: SQSClient;
  cloudwatch: CloudWatchClient;
  glue: GlueClient;
  athena: AthenaClient;
  secrets: SecretsManagerClient;
}

/** Clients with the standard AWS configuration (credentials, region) of the environment. */
export function createDoctorAwsClients(): DoctorAwsClients {
  return {
    lambda: new LambdaClient({}),
    scheduler: new SchedulerClient({}),
    sqs: new SQSClient({}),
    cloudwatch: new CloudWatchClient({}),
    glue: new GlueClient({}),
    athena: new AthenaClient({}),
    secrets: new SecretsManagerClient({}),
  };
}

/** An EventBridge Scheduler schedule as the checks see it. */
export type ScheduleView =
  | { name: string; found: false }
  | {
      name: string;
      found: true;
      enabled: boolean;
      expression: string;
      /** From a `rate(...)` expression; null for cron and at expressions. */
      everyMs: number | null;
      targetArn: string | null;
    };

/** The sync function as Lambda runs it: its state and its configuration, parsed as its cold start parses it. */
export interface SyncFunctionView {
  name: string;
  arn: string | null;
  state: string | null;
  stateReason: string | null;
  lastUpdateStatus: string | null;
  config: SyncConfig | undefined;
  /** The configuration error its cold start reports, when its environment is invalid. */
  configError: string | undefined;
}

export interface DeployedTarget {
  readonly kind: 'aws';
  /** What is checked, for people: `the stacks ProductLiveSync-*` or `table T`. */
  readonly label: string;
  /** The CDK app's stack prefix, when the stacks were named. */
  readonly stackPrefix: string | undefined;
  readonly clients: DoctorAwsClients;
  readonly store: Store;
  /** An output of the stacks; a NotCheckedError saying how to give it when it is missing. */
  output(name: DoctorOutput): string;
  /** An output of the stacks, or undefined. */
  outputOrUndefined(name: DoctorOutput): string | undefined;
  syncFunction(): Promise<SyncFunctionView>;
  schedule(which: 'sync' | 'lake' | 'follow'): Promise<ScheduleView>;
}

export interface DeployedContextOptions {
  store: Store;
  /** `--stack NAME`: the CDK app's stack prefix (or one of its stacks' names). */
  stackName: string | undefined;
  options: DoctorOptions;
  clients: DoctorAwsClients;
  now?: () => number;
  fetch?: DoctorContext['fetch'];
}

/** A context over a deployed store (opened by the caller with openStore). */
export function createDeployedContext(input: DeployedContextOptions): DoctorContext {
  const { store, clients } = input;
  const outputs = store.stackOutputs;
  const stackPrefix = input.stackName ? stackPrefixOf(input.stackName) : undefined;
  const output = (name: DoctorOutput): string => {
    const key = DOCTOR_OUTPUTS[name];
    const value = outputs?.[key];
    if (value) return value;
    throw outputs
      ? new NotCheckedError(
          `the stacks have no output ${key} (deployed from code older than this check)`,
          'deploy this checkout: npx cdk deploy --all',
        )
      : new NotCheckedError(
          `needs the stacks' output ${key}`,
          'name the stacks: npm run doctor -- --stack NAME (the CDK app’s stack prefix, default ProductLiveSync)',
        );
  };
  const syncFunction = memo(async (): Promise<SyncFunctionView> => {
    const name = output('syncFunction');
    const configuration = await clients.lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: name }),
    );
    let config: SyncConfig | undefined;
    let configError: string | undefined;
    try {
      config = loadSyncConfig(configuration.Environment?.Variables ?? {});
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      configError = error.message;
    }
    return {
      name,
      arn: configuration.FunctionArn ?? null,
      state: configuration.State ?? null,
      stateReason: configuration.StateReason ?? null,
      lastUpdateStatus: configuration.LastUpdateStatus ?? null,
      config,
      configError,
    };
  });
  const schedules = {
    sync: memo(() => readSchedule(clients.scheduler, output('syncSchedule'))),
    lake: memo(() => readSchedule(clients.scheduler, output('lakeSchedule'))),
    follow: memo(() => readSchedule(clients.scheduler, output('followSchedule'))),
  };
  const target: DeployedTarget = {
    kind: 'aws',
    label: stackPrefix
      ? `the stacks ${stackPrefix}-Stateful and ${stackPrefix}-Stateless`
      : describeNames(store),
    stackPrefix,
    clients,
    store,
    output,
    outputOrUndefined: (name) => outputs?.[DOCTOR_OUTPUTS[name]] || undefined,
    syncFunction,
    schedule: (which) => schedules[which](),
  };
  const state = memo(async () => {
    const table = store.names.stateTable;
    if (!table) {
      throw new NotCheckedError(
        'needs the state table',
        'pass --state-table NAME (or env STATE_TABLE_NAME), or --stack NAME',
      );
    }
    return readStateSnapshot(store.doc, table);
  });
  const cadence = memo(() => deployedCadence(target));
  return {
    target,
    options: input.options,
    fixes: deployedFixes(target),
    now: input.now ?? Date.now,
    store: async () => store,
    state,
    cadence,
    syncRuns: storeSyncRuns(async () => store),
    jobHealth: storeJobHealth(async () => store),
    ...(input.fetch ? { fetch: input.fetch } : {}),
  };
}

/** Milliseconds of an EventBridge Scheduler `rate(N unit)` expression; null for any other. */
function rateMs(expression: string): number | null {
  const match = /^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$/i.exec(expression.trim());
  if (!match) return null;
  const unit = (match[2] ?? '').toLowerCase();
  const factor = unit.startsWith('minute') ? 60_000 : unit.startsWith('hour') ? 3_600_000 : 86_400_000;
  return Number(match[1]) * factor;
}

async function readSchedule(scheduler: SchedulerClient, name: string): Promise<ScheduleView> {
  try {
    const schedule = await scheduler.send(new GetScheduleCommand({ Name: name, GroupName: 'default' }));
    const expression = schedule.ScheduleExpression ?? '';
    return {
      name,
      found: true,
      enabled: schedule.State !== 'DISABLED',
      expression,
      everyMs: rateMs(expression),
      targetArn: schedule.Target?.Arn ?? null,
    };
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') return { name, found: false };
    throw error;
  }
}

/** The defaults of the deployed stack, for a store named by its tables only (no schedule to read). */
const DEFAULT_SYNC_EVERY_MS = 5 * 60_000;

async function deployedCadence(target: DeployedTarget): Promise<SyncCadence> {
  const lease = Number(ENV_VARIABLES.SYNC_LEASE_SECONDS.defaultValue) * 1000;
  const audit = Number(ENV_VARIABLES.SYNC_AUDIT_INTERVAL_SECONDS.defaultValue) * 1000;
  const optional = async <T>(read: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await read();
    } catch (error) {
      if (error instanceof NotCheckedError) return undefined;
      throw error;
    }
  };
  const [sync, lake, fn] = await Promise.all([
    optional(() => target.schedule('sync')),
    optional(() => target.schedule('lake')),
    optional(() => target.syncFunction()),
  ]);
  const everyMs = sync?.found ? sync.everyMs : null;
  return {
    // A deployed sync is meant to run: its ages are judged even when its schedule is off (sync.schedule says so).
    scheduled: true,
    everyMs: everyMs ?? DEFAULT_SYNC_EVERY_MS,
    leaseMs: fn?.config?.leaseMs ?? lease,
    auditIntervalMs: fn?.config?.auditIntervalMs ?? audit,
    lakeEveryMs: lake?.found ? lake.everyMs : DEFAULT_SYNC_EVERY_MS,
    runner: sync?.found
      ? `the schedule ${sync.name} (${sync.expression})`
      : 'the sync schedule (its rate unknown: every 5 minutes assumed; pass --stack NAME to read it)',
  };
}

function deployedFixes(target: DeployedTarget): FixCommands {
  const { store } = target;
  const storeFlags = target.stackPrefix
    ? `--stack ${target.stackPrefix}`
    : [
        store.names.executionsTable ? `--table ${store.names.executionsTable}` : '',
        store.names.stateTable ? `--state-table ${store.names.stateTable}` : '',
      ]
        .filter(Boolean)
        .join(' ');
  const known = (name: DoctorOutput, fallback: string) => target.outputOrUndefined(name) ?? fallback;
  const prefix = target.stackPrefix ?? 'ProductLiveSync';
  const fn = known('syncFunction', `"$(out ${prefix}-Stateless SyncFunctionName)"`);
  return {
    storeFlags,
    syncNow: (request = {}) =>
      `aws lambda invoke --function-name ${fn} --payload '${JSON.stringify(request)}' --cli-binary-format raw-in-base64-out --cli-read-timeout 0 summary.json`,
    syncLogs: `aws logs tail ${known('syncLogGroup', `"$(out ${prefix}-Stateless SyncLogGroupName)"`)} --since 1h`,
  };
}

function describeNames(store: Store): string {
  return store.describe().join('; ') || 'the deployed store';
}
