// `npm run dashboard -- [--ui-port P] [--data-dir DIR | --stack NAME | --table NAME ...]`: the execution-history
// dashboard over a local or deployed store (docs/dashboard.md). Wiring only: parse the command line, open the
// store, serve the dashboard on 127.0.0.1 until Ctrl-C. Exit codes: 0 stopped, 1 failed, 2 bad usage or setup.
import { PortInUseError } from '../aws/local-aws-servers';
import { serveDashboard } from '../dashboard';
import { openStore, type Store } from '../store/open-store';
import { runCli, SetupError } from './cli-runner';
import { checkDataDir } from './cli-values';
import { DASHBOARD_USAGE, parseDashboardArgs } from './dashboard-args';
import { explainStoreFailure } from './store-options';

async function main(argv: readonly string[]): Promise<number> {
  const { port, store: choice } = parseDashboardArgs(argv, process.env);
  if (choice.kind === 'local') await checkDataDir(choice.dataDir);
  const note = (message: string) => process.stderr.write(`${message}\n`);
  let store: Store | undefined;
  let stop: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  process.once('SIGINT', () => stop?.());
  process.once('SIGTERM', () => stop?.());
  try {
    store = await openStore(choice, { env: process.env, note });
    // A deployed table that is not there (or no credentials) fails here, not on the first page.
    if (choice.kind === 'aws') await store.reader().createdAtRange();
    const server = await serveDashboard(store, port, {
      env: process.env,
      onError: (error) => note(`dashboard: ${error instanceof Error ? error.message : String(error)}`),
    });
    process.stdout.write(
      `Dashboard: ${server.url}  (read-only, this machine only)\n  over ${store.describe().join('\n  and ')}\nPress Ctrl-C to stop.\n`,
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
    const explained = explainStoreFailure(error, choice);
    throw explained ? new SetupError(explained.message) : error;
  } finally {
    await store?.close();
  }
}

await runCli({ usage: DASHBOARD_USAGE, run: main, explain: (error) => explainStoreFailure(error) });
