// Layer flow: `npm run dashboard` and `npm start` (an opened Store, local/store/open-store.ts) -> dashboardDeps ->
// what the dashboard's views read: the history reader, the state table, the lake's local copy, the files
// bucket, the launch queues. Only reads are sent; the dashboard opens no store itself.
import { join, resolve } from 'node:path';
import { ENV_VARIABLES } from '#core/config';
import { LakeMarks } from '#core/store/lake-marks';
import type { Store } from '../store/open-store';
import type { DashboardDeps } from './dashboard-data';
import { LakeSnapshots } from './lake-snapshots';
import type { SyncActivity } from './sync-health';

/** The dashboard's dependencies over a store, and what must be closed with it (not the store itself). */
export interface DashboardSource {
  deps: DashboardDeps;
  /** Closes the lake's DuckDB; the store is closed by whoever opened it. */
  close(): void;
}

export interface DashboardSourceOptions {
  /** The process environment: SYNC_REQUESTS_PER_MINUTE (the budget figure). */
  env: Record<string, string | undefined>;
  /** What the process running the sync knows of its last run (npm start). */
  activity?: () => SyncActivity | undefined;
}

/** What the dashboard reads of an opened store: everything the store has, nothing it lacks. */
export function dashboardDeps(store: Store, options: DashboardSourceOptions): DashboardSource {
  const { names } = store;
  const lake =
    names.lakeBucket && names.stateTable
      ? new LakeSnapshots(new LakeMarks(store.doc, names.stateTable), {
          bucket: names.lakeBucket,
          cacheDir: join(resolve(store.dataDir), 'lake-cache', names.lakeBucket),
          s3: () => store.s3(),
        })
      : undefined;
  const sqs = names.launchQueueUrl && names.launchDlqUrl ? store.sqs() : undefined;
  return {
    deps: {
      reader: store.reader(),
      ...(names.stateTable ? { state: { client: store.doc, tableName: names.stateTable } } : {}),
      ...(lake ? { lake } : {}),
      ...(names.filesBucket ? { files: { bucket: names.filesBucket, s3: () => store.s3() } } : {}),
      ...(sqs && names.launchQueueUrl && names.launchDlqUrl
        ? { launches: { sqs, urls: { launchUrl: names.launchQueueUrl, dlqUrl: names.launchDlqUrl } } }
        : {}),
      syncRequestsPerMinute: requestsPerMinute(options.env),
      ...(options.activity ? { activity: options.activity } : {}),
    },
    close: () => lake?.close(),
  };
}

function requestsPerMinute(env: Record<string, string | undefined>): number {
  const configured = Number(env.SYNC_REQUESTS_PER_MINUTE);
  return Number.isInteger(configured) && configured > 0
    ? configured
    : Number(ENV_VARIABLES.SYNC_REQUESTS_PER_MINUTE.defaultValue);
}
