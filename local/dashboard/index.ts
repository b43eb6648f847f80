// Public surface of the dashboard: the server over a store, as `npm run dashboard` and `npm start` serve it.

import type { LocalStackState } from '../stack/local-stack-settings';
import { buildDashboardAssets } from './dashboard-assets';
import { DashboardData } from './dashboard-data';
import { type DashboardServer, startDashboardServer } from './dashboard-server';
import { type DashboardStore, openStackDashboard } from './dashboard-store';
import type { SyncActivity } from './sync-health';

export { DASHBOARD_USAGE, DEFAULT_DASHBOARD_PORT, parseDashboardArgs } from './dashboard-args';
export { DashboardData, type DashboardDeps } from './dashboard-data';
export { type DashboardServer, startDashboardServer } from './dashboard-server';
export { type DashboardStore, openDashboardStore, openStackDashboard } from './dashboard-store';
export type { SyncActivity } from './sync-health';

/** Bundles the client and serves the dashboard over an opened store on 127.0.0.1:port (0: a free port). */
export async function serveDashboard(
  store: DashboardStore,
  port: number,
  onError?: (error: unknown) => void,
): Promise<DashboardServer> {
  const assets = await buildDashboardAssets();
  return startDashboardServer({
    data: new DashboardData(store.deps),
    assets,
    port,
    ...(onError ? { onError } : {}),
  });
}

/** The dashboard of `npm start`: over its own stack, refreshed when `activity` reports a finished run. */
export async function serveStackDashboard(options: {
  state: LocalStackState;
  dataDir: string;
  port: number;
  env: Record<string, string | undefined>;
  activity: () => SyncActivity | undefined;
  onError?: (error: unknown) => void;
}): Promise<{ url: string; close(): Promise<void> }> {
  const store = await openStackDashboard(options.state, options.dataDir, {
    env: options.env,
    activity: options.activity,
  });
  try {
    const server = await serveDashboard(store, options.port, options.onError);
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
