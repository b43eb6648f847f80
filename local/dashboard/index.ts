// Public surface of the dashboard: the server over an opened store, as `npm run dashboard` and `npm start` serve it.
import { openStore, type Store } from '../store/open-store';
import { buildDashboardAssets } from './dashboard-assets';
import { DashboardData } from './dashboard-data';
import { type DashboardServer, startDashboardServer } from './dashboard-server';
import { type DashboardSourceOptions, dashboardDeps } from './dashboard-store';
import type { SyncActivity } from './sync-health';

export type { SyncActivity } from './sync-health';

/**
 * Bundles the client and serves the dashboard over an opened store on 127.0.0.1:port (0: a free port).
 * Closing the server closes what the dashboard made (the lake's local copy); the store stays open.
 */
export async function serveDashboard(
  store: Store,
  port: number,
  options: DashboardSourceOptions & { onError?: (error: unknown) => void },
): Promise<DashboardServer> {
  const source = dashboardDeps(store, options);
  try {
    const assets = await buildDashboardAssets();
    const server = await startDashboardServer({
      data: new DashboardData(source.deps),
      assets,
      port,
      ...(options.onError ? { onError: options.onError } : {}),
    });
    return {
      ...server,
      close: async () => {
        await server.close();
        source.close();
      },
    };
  } catch (error) {
    source.close();
    throw error;
  }
}

/** The dashboard of `npm start`: over its own stack, refreshed when `activity` reports a finished run. */
export async function serveStackDashboard(options: {
  dataDir: string;
  port: number;
  env: Record<string, string | undefined>;
  activity: () => SyncActivity | undefined;
  onError?: (error: unknown) => void;
}): Promise<{ url: string; close(): Promise<void> }> {
  const store = await openStore({ kind: 'local', dataDir: options.dataDir }, { env: options.env });
  try {
    const server = await serveDashboard(store, options.port, options);
    return {
      url: server.url,
      close: async () => {
        await server.close();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}
