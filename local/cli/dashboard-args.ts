// Command line of `npm run dashboard`, parsed strictly: an unknown flag or a malformed value is a UsageError
// (exit 2 with the usage text), never silently ignored. The store flags are those of every store command.
import { DEFAULT_DASHBOARD_PORT } from '../stack/local-stack-settings';
import type { StoreChoice } from '../store/open-store';
import { UsageError } from './cli-runner';
import { parseCommandLine, parsePort } from './cli-values';
import { EVERY_STORE_FLAG, parseStoreChoice, STORE_OPTIONS, storeUsage } from './store-options';

const DASHBOARD_STORE_FLAGS = EVERY_STORE_FLAG;

export const DASHBOARD_USAGE = `usage: npm run dashboard -- [--ui-port PORT] [--data-dir DIR | --stack NAME | --table NAME [options]]

Serves the execution-history dashboard on http://127.0.0.1:PORT (loopback only, read-only, every asset
from this package): runs per day by status, per-job figures (those of \`npm run history -- stats\`),
failures, sync health, launches, one job, one execution with its file copies. Ctrl-C stops it.
\`npm start\` serves the same dashboard on port ${DEFAULT_DASHBOARD_PORT} (see its --ui-port).

Where the data is:
${storeUsage(DASHBOARD_STORE_FLAGS)}
  (with --table: sync health needs --state-table; long periods are read from the lake's Parquet copy, kept in
  DIR/lake-cache, with --lake-bucket and --state-table; the launch queues' depths and dead-lettered requests
  with --queue-url and --dlq-url, peeked with a visibility timeout of 0: never deleted or moved)

options:
  --ui-port PORT        the port on 127.0.0.1 (default ${DEFAULT_DASHBOARD_PORT}; 0: any free port)
  -h, --help            show this text

examples:
  npm run dashboard
  npm run dashboard -- --data-dir /tmp/other-store --ui-port 4001
  AWS_PROFILE=prod npm run dashboard -- --stack ProductLiveSync
  AWS_PROFILE=prod npm run dashboard -- --table product-live-executions --state-table product-live-sync-state \\
    --files-bucket my-files-bucket --lake-bucket my-lake-bucket

exit codes: 0 stopped, 1 failed, 2 a bad command line or a setup problem (a port taken, no local store)`;

export interface DashboardInvocation {
  port: number;
  store: StoreChoice;
}

const OPTIONS = { 'ui-port': { type: 'string' }, ...STORE_OPTIONS } as const;

/** Parses `npm run dashboard` arguments (and the deployed store's environment variables). */
export function parseDashboardArgs(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): DashboardInvocation {
  const { values } = parseCommandLine(argv, { options: OPTIONS }, { unknownFlag: true });
  if (values['ui-port'] !== undefined && values['ui-port'].trim() === '')
    throw new UsageError('--ui-port needs a value');
  const port =
    values['ui-port'] === '0' ? 0 : (parsePort(values['ui-port'], '--ui-port') ?? DEFAULT_DASHBOARD_PORT);
  const store = parseStoreChoice(values, env, DASHBOARD_STORE_FLAGS);
  if (
    store.kind === 'aws' &&
    !store.stackName &&
    store.lakeBucket !== undefined &&
    store.stateTable === undefined
  ) {
    throw new UsageError('--lake-bucket needs --state-table (its marks say which days the lake holds)');
  }
  return { port, store };
}
