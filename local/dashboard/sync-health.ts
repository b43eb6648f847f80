// Layer flow: dashboard data -> this module -> the state table (read-only: the sync's checkpoint, lease and
// audit, its last run's summary, the lake's marks, the kept sync runs of the period) and the sparse file-copy
// indexes of the executions table (`history files`). `npm start` also hands each run's summary to the dashboard in-process (SyncActivity), so
// that the page refreshes once the lake run after it is done too.
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { HistoryReader } from '#core/history/history-reader';
import type { Period } from '#core/history/period';
import { LakeMarks } from '#core/store/lake-marks';
import { SyncRunRepository, type SyncRunResult } from '#core/store/sync-run-repository';
import { SyncStateRepository } from '#core/store/sync-state-repository';
import type { SyncSummary } from '#functions/sync/sync-summary';
import { listCopiesNotDone } from '../history/history-queries';

/** What the process running the sync (`npm start`) knows of its last run. */
export interface SyncActivity {
  /** When the last run (sync and lake) finished. */
  finishedAt: string;
  summary: SyncSummary;
  /** How many runs this process made. */
  runs: number;
}

export interface SyncHealth {
  /** The last run's summary, when the process running the sync shares it (npm start). */
  lastRun: (SyncSummary & { finishedAt: string }) | null;
  /** When the sync last saved its checkpoint (the end of each window or page), and its watermark. */
  checkpoint: { updatedAt: string | null; watermark: string | null };
  /** How far the store is behind the API: now − watermark (every execution created before it is stored). */
  lagMs: number | null;
  /** The last run's API requests against its share of the rate limit over its duration. */
  budget: { requests: number; throttled: number; requestsPerMinute: number; used: number | null } | null;
  /** A sync run holds the lease now (it is running). */
  running: boolean;
  audit: {
    lastCompletedAt: string | null;
    inProgress: boolean;
    monthsChecked: number | null;
    monthsDiffering: number | null;
    executionsRecovered: number | null;
  };
  files: { pending: number; failed: number };
  lake: { markedDays: number; built: boolean };
  /** The kept sync runs that started in the period (the newest SYNC_RUN_POINTS of them), oldest first. */
  runs: SyncRunsView;
}

/** The sync's runs over time, as its chart draws them: one entry per run, oldest first. */
export interface SyncRunsView {
  startedAt: string[];
  durationMs: number[];
  result: SyncRunResult[];
  apiRequests: number[];
  throttled: number[];
  /** Why a run stopped early (result `failed`), else null. */
  error: Array<string | null>;
  /** More runs started in the period than are drawn (the oldest are left out). */
  more: boolean;
}

/** At most this many runs are drawn (the newest of the period): a week of runs every 5 minutes is 2,016. */
export const SYNC_RUN_POINTS = 2_500;

export interface SyncHealthSource {
  reader: HistoryReader;
  state?: { client: DynamoDBDocumentClient; tableName: string };
  activity?: () => SyncActivity | undefined;
  /** The sync's share of the Product-Live rate limit (SYNC_REQUESTS_PER_MINUTE). */
  requestsPerMinute: number;
  /** The period whose sync runs are drawn (all kept runs when absent). */
  period?: Period;
  now: () => number;
}

/** The sync's health as the state table and the executions table tell it. */
export async function readSyncHealth(source: SyncHealthSource): Promise<SyncHealth> {
  const nowMs = source.now();
  const activity = source.activity?.();
  const repository = source.state && new SyncStateRepository(source.state.client, source.state.tableName);
  const [checkpoint, audit, lease, marks, copies, stored, runs] = await Promise.all([
    repository?.getCheckpoint(),
    repository?.getAudit(),
    source.state ? readLease(source.state.client, source.state.tableName) : undefined,
    source.state ? new LakeMarks(source.state.client, source.state.tableName).read() : undefined,
    listCopiesNotDone(source.reader, {}),
    activity ? undefined : repository?.getLastRun(),
    source.state ? readSyncRuns(source.state, source.period ?? {}) : emptyRuns(),
  ]);
  // The process running the sync knows its last run; over any other store, the sync saved it.
  const last =
    activity ??
    (stored
      ? { finishedAt: stored.finishedAt, summary: stored.summary as unknown as SyncSummary }
      : undefined);
  const watermark = checkpoint?.watermark ?? last?.summary.watermark ?? null;
  const summary = last?.summary;
  const auditSummary = summary?.audit ?? null;
  return {
    lastRun: summary && last ? { ...summary, finishedAt: last.finishedAt } : null,
    checkpoint: { updatedAt: checkpoint?.updatedAt ?? null, watermark },
    lagMs: watermark ? Math.max(0, nowMs - Date.parse(watermark)) : null,
    budget: summary
      ? {
          requests: summary.apiRequests,
          throttled: summary.throttled,
          requestsPerMinute: source.requestsPerMinute,
          used:
            summary.durationMs > 0
              ? summary.apiRequests /
                ((source.requestsPerMinute * Math.max(summary.durationMs, 60_000)) / 60_000)
              : null,
        }
      : null,
    running: lease !== undefined && lease.expiresAt > nowMs,
    audit: {
      lastCompletedAt: audit?.lastCompletedAt ?? null,
      inProgress: audit?.progress !== undefined,
      monthsChecked: auditSummary?.monthsChecked ?? audit?.progress?.monthsChecked ?? null,
      monthsDiffering: auditSummary?.monthsDiffering ?? audit?.progress?.differing?.length ?? null,
      executionsRecovered: auditSummary?.executionsRecovered ?? audit?.progress?.executionsRecovered ?? null,
    },
    files: {
      pending: copies.filter((copy) => copy.status === 'pending').length,
      failed: copies.filter((copy) => copy.status === 'failed').length,
    },
    lake: { markedDays: Object.keys(marks?.marks ?? {}).length, built: marks?.initializedAt !== undefined },
    runs,
  };
}

/** The kept runs that started in the period, the newest SYNC_RUN_POINTS of them (one Query of byKind). */
async function readSyncRuns(
  state: { client: DynamoDBDocumentClient; tableName: string },
  period: Period,
): Promise<SyncRunsView> {
  const newestFirst = await new SyncRunRepository(state.client, state.tableName).listRecent(
    SYNC_RUN_POINTS + 1,
    {
      ...(period.since !== undefined ? { since: period.since } : {}),
      ...(period.until !== undefined ? { until: period.until } : {}),
    },
  );
  const view = emptyRuns();
  view.more = newestFirst.length > SYNC_RUN_POINTS;
  for (const run of newestFirst.slice(0, SYNC_RUN_POINTS).reverse()) {
    view.startedAt.push(run.startedAt);
    view.durationMs.push(run.durationMs);
    view.result.push(run.result);
    view.apiRequests.push(run.apiRequests);
    view.throttled.push(run.throttled);
    view.error.push(run.error);
  }
  return view;
}

function emptyRuns(): SyncRunsView {
  return {
    startedAt: [],
    durationMs: [],
    result: [],
    apiRequests: [],
    throttled: [],
    error: [],
    more: false,
  };
}

/** The sync's lease item (the repository only takes and gives it back). */
async function readLease(
  client: DynamoDBDocumentClient,
  tableName: string,
): Promise<{ owner: string; expiresAt: number } | undefined> {
  const result = await client.send(
    new GetCommand({ TableName: tableName, Key: { name: 'lease' }, ConsistentRead: true }),
  );
  const item = result.Item;
  return item && typeof item.expiresAt === 'number'
    ? { owner: String(item.owner), expiresAt: item.expiresAt }
    : undefined;
}

/**
 * A token that changes whenever the data a view shows may have changed. Beside `npm start`, the process that
 * runs the sync says when a run (sync, then lake) finished; over any other store, the state table does: a
 * run saved its checkpoint or the audit, or the lake was rewritten (its marks).
 */
export async function readDataVersion(source: Pick<SyncHealthSource, 'state' | 'activity'>): Promise<string> {
  if (source.activity) {
    const activity = source.activity();
    return hash(activity ? `${activity.runs}@${activity.finishedAt}` : '-');
  }
  if (!source.state) return hash('-');
  const { client, tableName } = source.state;
  const items = await Promise.all(
    ['checkpoint', 'audit', 'last-run', 'lake-marks'].map((name) =>
      client.send(new GetCommand({ TableName: tableName, Key: { name } })),
    ),
  );
  return hash(items.map(({ Item }) => (Item ? JSON.stringify(Item) : '-')).join('|'));
}

/** A short, stable digest (FNV-1a, 32 bits, hex): the version token only has to change with its input. */
function hash(text: string): string {
  let value = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    value ^= text.charCodeAt(index);
    value = Math.imul(value, 0x01000193) >>> 0;
  }
  return value.toString(16).padStart(8, '0');
}
