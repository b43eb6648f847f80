// `npm run dashboard -- [--ui-port P] [--data-dir DIR | --table NAME ...]`: the execution-history dashboard
// over a local or deployed store (docs/dashboard.md). Wiring only: parse the command line, open the store,
// serve the dashboard on 127.0.0.1 until Ctrl-C. Exit codes: 0 stopped, 1 failed, 2 bad usage or setup.
import { ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { PortInUseError } from '../aws/local-aws-servers';
import {
  DASHBOARD_USAGE,
  type DashboardStore,
  openDashboardStore,
  parseDashboardArgs,
  serveDashboard,
} from '../dashboard';
import { type Explained, runCli, SetupError } from './cli-runner';
import { checkDataDir } from './cli-values';
import { HistoryStoreError } from './history-store';

async function main(argv: readonly string[]): Promise<number> {
  const { port, store: choice } = parseDashboardArgs(argv, process.env);
  if (choice.kind === 'local') await checkDataDir(choice.dataDir);
  const note = (message: string) => process.stderr.write(`${message}\n`);
  let store: DashboardStore | undefined;
  let stop: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  process.once('SIGINT', () => stop?.());
  process.once('SIGTERM', () => stop?.());
  try {
    store = await openDashboardStore(choice, { env: process.env, note });
    // A deployed table that is not there (or no credentials) fails here, not on the first page.
    if (choice.kind === 'aws') await store.deps.reader.createdAtRange();
    const server = await serveDashboard(store, port, (error) =>
      note(`dashboard: ${error instanceof Error ? error.message : String(error)}`),
    );
    process.stdout.write(
      `Dashboard: ${server.url}  (read-only, this machine only)\n  over ${store.describe.join('\n  and ')}\nPress Ctrl-C to stop.\n`,
    );
    await stopped;
    await server.close();
    return 0;
  } catch (error) {
    if (error instanceof PortInUseError) {
      throw new SetupError(
        `port ${port} for the dashboard is already in use: stop the process using it, or pass --ui-port PORT`,
      );
    }
    throw choice.kind === 'aws' && error instanceof ResourceNotFoundException
      ? new SetupError(
          `table ${choice.tableName} was not found: check --table (or EXECUTIONS_TABLE_NAME) and the AWS region (AWS_REGION)`,
        )
      : error;
  } finally {
    await store?.close();
  }
}

/** One line that says what went wrong and what to do, and the exit code (see cli-runner.ts). */
function explain(error: unknown): Explained | undefined {
  if (error instanceof HistoryStoreError) return { message: error.message, code: 2 };
  if (error instanceof Error && error.name === 'CredentialsProviderError') {
    return {
      message:
        'no AWS credentials found: configure them (AWS_PROFILE, `aws sso login`, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or drop --table to read the local store',
      code: 2,
    };
  }
  return undefined;
}

await runCli({ usage: DASHBOARD_USAGE, run: main, explain });
