// Command line of `npm run dashboard`, parsed strictly: an unknown flag or a malformed value is a UsageError
// (exit 2 with the usage text), never silently ignored.
import { parseArgs } from 'node:util';
import { UsageError } from '../cli/cli-runner';
import { parsePort } from '../cli/cli-values';
import { DEFAULT_DATA_DIR } from '../stack/local-stack-settings';
import type { DashboardStoreChoice } from './dashboard-store';

export const DEFAULT_DASHBOARD_PORT = 4000;

export const DASHBOARD_USAGE = `usage: npm run dashboard -- [--ui-port PORT] [--data-dir DIR | --table NAME [options]]

Serves the execution-history dashboard on http://127.0.0.1:PORT (loopback only, read-only, every asset
from this package): runs per day by status, per-job figures (those of \`npm run history -- stats\`),
failures, sync health, launches, one job, one execution with its file copies. Ctrl-C stops it.
\`npm start\` serves the same dashboard on port ${DEFAULT_DASHBOARD_PORT} (see its --ui-port).

Where the data is:
  --data-dir DIR        the local store (default ${DEFAULT_DATA_DIR}): the running \`npm start\` stack's, or else
                        DynamoDB Local (and s3rver, on first need) started on DIR for the dashboard
  --table NAME          a deployed executions table instead (or env EXECUTIONS_TABLE_NAME), read with the
                        standard AWS credentials and region (AWS_PROFILE, AWS_REGION, ...); with it:
  --state-table NAME    the sync's state table, for sync health (or env STATE_TABLE_NAME)
  --files-bucket NAME   the files bucket, for downloads (or env FILES_BUCKET_NAME)
  --lake-bucket NAME    the lake bucket (or env LAKE_BUCKET_NAME): long periods are read from its Parquet
                        copy (kept in ${DEFAULT_DATA_DIR}/lake-cache); needs --state-table
  --queue-url URL       the launch queue (or env LAUNCH_QUEUE_URL), with
  --dlq-url URL         its dead-letter queue (or env LAUNCH_DLQ_URL): depths and dead-lettered requests
                        (peeked with a visibility timeout of 0: never deleted or moved)

options:
  --ui-port PORT        the port on 127.0.0.1 (default ${DEFAULT_DASHBOARD_PORT}; 0: any free port)
  -h, --help            show this text

examples:
  npm run dashboard
  npm run dashboard -- --data-dir /tmp/other-store --ui-port 4001
  AWS_PROFILE=prod npm run dashboard -- --table product-live-executions --state-table product-live-sync-state \\
    --files-bucket my-files-bucket --lake-bucket my-lake-bucket

exit codes: 0 stopped, 1 failed, 2 a bad command line or a setup problem (a port taken, no local store)`;

export interface DashboardInvocation {
  port: number;
  store: DashboardStoreChoice;
}

const OPTIONS = {
  'ui-port': { type: 'string' },
  'data-dir': { type: 'string' },
  table: { type: 'string' },
  'state-table': { type: 'string' },
  'files-bucket': { type: 'string' },
  'lake-bucket': { type: 'string' },
  'queue-url': { type: 'string' },
  'dlq-url': { type: 'string' },
} as const;

const DEPLOYED_ONLY = ['state-table', 'files-bucket', 'lake-bucket', 'queue-url', 'dlq-url'] as const;

/** Parses `npm run dashboard` arguments (and the deployed store's environment variables). */
export function parseDashboardArgs(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): DashboardInvocation {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (error) {
    const unknown = /^Unknown option '([^']+)'/.exec(error instanceof Error ? error.message : '');
    throw new UsageError(unknown ? `unknown flag ${unknown[1]}` : (error as Error).message);
  }
  for (const [flag, value] of Object.entries(values)) {
    if (typeof value === 'string' && value.trim() === '') throw new UsageError(`--${flag} needs a value`);
  }
  const port =
    values['ui-port'] === '0' ? 0 : (parsePort(values['ui-port'], '--ui-port') ?? DEFAULT_DASHBOARD_PORT);
  const fromEnv = (name: string) => env[name]?.trim() || undefined;
  if (values.table !== undefined && values['data-dir'] !== undefined) {
    throw new UsageError('choose one of --table (a deployed store) and --data-dir (the local store)');
  }
  const tableName =
    values['data-dir'] === undefined ? (values.table ?? fromEnv('EXECUTIONS_TABLE_NAME')) : undefined;
  if (tableName === undefined) {
    const given = DEPLOYED_ONLY.find((flag) => values[flag] !== undefined);
    if (given) throw new UsageError(`--${given} goes with --table (the local store knows its own)`);
    return { port, store: { kind: 'local', dataDir: values['data-dir'] ?? DEFAULT_DATA_DIR } };
  }
  const stateTable = values['state-table'] ?? fromEnv('STATE_TABLE_NAME');
  const filesBucket = values['files-bucket'] ?? fromEnv('FILES_BUCKET_NAME');
  const lakeBucket = values['lake-bucket'] ?? fromEnv('LAKE_BUCKET_NAME');
  const queueUrl = values['queue-url'] ?? fromEnv('LAUNCH_QUEUE_URL');
  const dlqUrl = values['dlq-url'] ?? fromEnv('LAUNCH_DLQ_URL');
  if (lakeBucket !== undefined && stateTable === undefined) {
    throw new UsageError('--lake-bucket needs --state-table (its marks say which days the lake holds)');
  }
  if ((queueUrl === undefined) !== (dlqUrl === undefined)) {
    throw new UsageError('--queue-url and --dlq-url go together');
  }
  for (const [flag, url] of [
    ['--queue-url', queueUrl],
    ['--dlq-url', dlqUrl],
  ] as const) {
    if (url !== undefined && !/^https?:\/\/\S+$/.test(url))
      throw new UsageError(`${flag}: not an http(s) URL: ${url}`);
  }
  return {
    port,
    store: {
      kind: 'aws',
      tableName,
      ...(stateTable !== undefined ? { stateTable } : {}),
      ...(filesBucket !== undefined ? { filesBucket } : {}),
      ...(lakeBucket !== undefined ? { lakeBucket } : {}),
      ...(queueUrl !== undefined ? { queueUrl } : {}),
      ...(dlqUrl !== undefined ? { dlqUrl } : {}),
    },
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({ args: [...argv], strict: true, allowPositionals: false, options: OPTIONS });
}
