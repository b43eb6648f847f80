// Layer flow: the CLIs that read a store (history, dashboard, health, doctor) -> these flags -> the StoreChoice
// that local/store/open-store.ts opens; and the one wording of the failures to open one.
//   local     --data-dir DIR (default .local): the running `npm start` stack, else DynamoDB Local on DIR
//   deployed  --stack NAME (the stacks' outputs name everything), or --table NAME and the names it needs
import { ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { DEFAULT_DATA_DIR } from '../stack/local-stack-settings';
import type { DeployedStoreChoice, StoreChoice } from '../store/open-store';
import { StoreError } from '../store/store-error';
import { type Explained, UsageError } from './cli-runner';

/** Every store flag; a CLI takes the ones it names. */
export const STORE_OPTIONS = {
  'data-dir': { type: 'string' },
  stack: { type: 'string' },
  table: { type: 'string' },
  'state-table': { type: 'string' },
  'files-bucket': { type: 'string' },
  'lake-bucket': { type: 'string' },
  'queue-url': { type: 'string' },
  'dlq-url': { type: 'string' },
} as const;

export type StoreFlag = keyof typeof STORE_OPTIONS;

/** Every store flag, in the order of the usage texts (the CLIs that take them all: dashboard, doctor). */
export const EVERY_STORE_FLAG = Object.keys(STORE_OPTIONS) as readonly StoreFlag[];

/** The flags naming a part of a deployed store, with the environment variable that gives it too. */
const DEPLOYED_FLAGS = {
  table: { name: 'executionsTable', env: 'EXECUTIONS_TABLE_NAME' },
  'state-table': { name: 'stateTable', env: 'STATE_TABLE_NAME' },
  'files-bucket': { name: 'filesBucket', env: 'FILES_BUCKET_NAME' },
  'lake-bucket': { name: 'lakeBucket', env: 'LAKE_BUCKET_NAME' },
  'queue-url': { name: 'launchQueueUrl', env: 'LAUNCH_QUEUE_URL' },
  'dlq-url': { name: 'launchDlqUrl', env: 'LAUNCH_DLQ_URL' },
} as const satisfies Partial<Record<StoreFlag, { name: keyof DeployedStoreChoice; env: string }>>;

/** The text of the store flags in a usage, for the flags a CLI takes. */
export function storeUsage(flags: readonly StoreFlag[]): string {
  const lines: Record<StoreFlag, string> = {
    'data-dir': `  --data-dir DIR     the local store (default ${DEFAULT_DATA_DIR}): the running \`npm start\` stack's, or else
                     DynamoDB Local started on DIR for this command`,
    stack: `  --stack NAME       a deployed store, every name read from the stacks' outputs (NAME: the CDK app's
                     stack prefix, default ProductLiveSync), with the standard AWS credentials and region`,
    table: '  --table NAME       a deployed executions table instead (or env EXECUTIONS_TABLE_NAME)',
    'state-table': '  --state-table NAME the deployed state table (or env STATE_TABLE_NAME)',
    'files-bucket':
      '  --files-bucket NAME the deployed files bucket, for executions too large for DynamoDB and downloads\n                     (or env FILES_BUCKET_NAME)',
    'lake-bucket': '  --lake-bucket NAME the deployed lake bucket (or env LAKE_BUCKET_NAME)',
    'queue-url': '  --queue-url URL    the deployed launch queue (or env LAUNCH_QUEUE_URL)',
    'dlq-url': '  --dlq-url URL      its dead-letter queue (or env LAUNCH_DLQ_URL)',
  };
  return flags.map((flag) => lines[flag]).join('\n');
}

/**
 * The store a command line chose: `--data-dir` (or nothing: the default data directory), or a deployed one
 * named by `--stack` and/or the name flags (their environment variables fill in what is not given). A name
 * flag with `--data-dir`, or a flag the command does not take, is a UsageError.
 */
export function parseStoreChoice(
  values: Partial<Record<StoreFlag, string | undefined>>,
  env: Record<string, string | undefined>,
  accepted: readonly StoreFlag[],
): StoreChoice {
  for (const flag of Object.keys(STORE_OPTIONS) as StoreFlag[]) {
    const value = values[flag];
    if (value === undefined) continue;
    if (!accepted.includes(flag)) throw new UsageError(`--${flag} is not an option of this command`);
    if (value.trim() === '') throw new UsageError(`--${flag} needs a value`);
  }
  const dataDir = values['data-dir']?.trim();
  const deployedGiven = (Object.keys(DEPLOYED_FLAGS) as Array<keyof typeof DEPLOYED_FLAGS>).filter(
    (flag) => values[flag] !== undefined,
  );
  if (dataDir !== undefined && (values.stack !== undefined || deployedGiven.length > 0)) {
    const other = values.stack !== undefined ? 'stack' : deployedGiven[0];
    throw new UsageError(`choose one of --data-dir (the local store) and --${other} (a deployed one)`);
  }
  if (dataDir !== undefined) return { kind: 'local', dataDir };
  const fromEnv = (name: string) => (env[name]?.trim() ? env[name]?.trim() : undefined);
  const stackName = values.stack?.trim();
  const tableGiven =
    values.table !== undefined || (accepted.includes('table') && fromEnv('EXECUTIONS_TABLE_NAME'));
  if (stackName === undefined && !tableGiven) {
    if (deployedGiven.length > 0) {
      throw new UsageError(
        `--${deployedGiven[0]} goes with --table or --stack (the local store knows its own)`,
      );
    }
    return { kind: 'local', dataDir: DEFAULT_DATA_DIR };
  }
  const choice: DeployedStoreChoice = {
    kind: 'aws',
    dataDir: DEFAULT_DATA_DIR,
    ...(stackName !== undefined ? { stackName } : {}),
  };
  for (const [flag, { name, env: variable }] of Object.entries(DEPLOYED_FLAGS) as Array<
    [keyof typeof DEPLOYED_FLAGS, (typeof DEPLOYED_FLAGS)[keyof typeof DEPLOYED_FLAGS]]
  >) {
    if (!accepted.includes(flag)) continue;
    const value = values[flag]?.trim() ?? fromEnv(variable);
    if (value !== undefined) choice[name] = value;
  }
  for (const flag of ['queue-url', 'dlq-url'] as const) {
    const url = values[flag];
    if (url !== undefined && !/^https?:\/\/\S+$/.test(url)) {
      throw new UsageError(`--${flag}: not an http(s) URL: ${url}`);
    }
  }
  if (
    stackName === undefined &&
    (choice.launchQueueUrl === undefined) !== (choice.launchDlqUrl === undefined)
  ) {
    throw new UsageError('--queue-url and --dlq-url go together');
  }
  return choice;
}

/** One line that says what went wrong opening or reading a store, and the exit code (see cli-runner.ts). */
export function explainStoreFailure(error: unknown, choice?: StoreChoice): Explained | undefined {
  if (error instanceof StoreError) return { message: error.message, code: 2 };
  if (choice?.kind === 'aws' && error instanceof ResourceNotFoundException) {
    return {
      message: `table ${choice.executionsTable ?? '(from the stack)'} was not found: check --table (or EXECUTIONS_TABLE_NAME, or --stack) and the AWS region (AWS_REGION)`,
      code: 2,
    };
  }
  if (error instanceof Error && error.name === 'CredentialsProviderError') {
    return {
      message:
        'no AWS credentials found: configure them (AWS_PROFILE, `aws sso login`, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or drop --table/--stack to read the local store',
      code: 2,
    };
  }
  if (error instanceof Error && /region is missing/i.test(error.message)) {
    return { message: 'no AWS region configured: set AWS_REGION (or a region in your AWS profile)', code: 2 };
  }
  return undefined;
}
