// Layer flow: dashboard server (HTTP adapter) -> these use cases -> the history queries of `npm run history`
// (local/history: listExecutions, showExecution, the StatsAccumulator of `history stats`), the lake
// (execution-rows.ts) where it is the faster path, the state table (sync-health.ts; the job health records the
// sync keeps there, readJobHealth of `history health`) and the launch queues
// (launch-queues.ts). One method per view of site-map.ts, of the same name. Every view is read-only. The
// dependencies are passed in, so tests give their own.
import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { HealthState } from '#core/health/health-states';
import { HEALTH_STATES } from '#core/health/health-states';
import type { HistoryReader } from '#core/history/history-reader';
import { type JobHealthEntry, type JobHealthReport, readJobHealth } from '#core/history/job-health-reader';
import type { Period } from '#core/history/period';
import { KNOWN_STATUSES, TERMINAL_STATUSES } from '#core/product-live/product-live.schema';
import { dayOf } from '#core/warehouse/lake-tables';
import { computeStats, type HistoryStats, type JobStats } from '../history/execution-stats';
import {
  type ExecutionHeading,
  type ExecutionSummary,
  headingOf,
  listExecutions,
  showExecution,
} from '../history/history-queries';
import { DashboardRequestError, type ViewFilters, type ViewRequest } from './dashboard-routes';
import { type DayCount, type LakeAccess, type RowsSource, readPeriodRows } from './execution-rows';
import { type LaunchesView, type LaunchQueueUrls, readLaunches } from './launch-queues';
import type { ViewName } from './site-map';
import { readDataVersion, readSyncHealth, type SyncActivity, type SyncHealth } from './sync-health';

export interface DashboardDeps {
  reader: HistoryReader;
  /** The sync's state table (health, and the data version); absent: health shows what the table tells. */
  state?: { client: DynamoDBDocumentClient; tableName: string };
  /** The lake, for reading a period's executions fast; absent: every view reads the table. */
  lake?: LakeAccess;
  /** The files bucket, for downloads of the recorded copies. */
  files?: { bucket: string; s3: () => Promise<S3Client> };
  /** The launch queues; absent: the launches panel says so. */
  launches?: { sqs: SQSClient; urls: LaunchQueueUrls };
  /** What the process running the sync knows of its last run (npm start). */
  activity?: () => SyncActivity | undefined;
  /** The sync's share of the rate limit (SYNC_REQUESTS_PER_MINUTE), for the budget figure. */
  syncRequestsPerMinute: number;
  now?: () => number;
}

/** Runs per UTC day, by status: `days[i]` has `series[s].counts[i]` runs in status `series[s].status`. */
export interface DayTimeline {
  days: string[];
  series: Array<{ status: string; counts: number[] }>;
}

export interface OverviewView {
  filters: ViewFilters;
  period: { since: string | null; until: string | null };
  source: RowsSource;
  /** The figures of `history stats --json` for the period (and job): every status counts. */
  stats: HistoryStats;
  timeline: DayTimeline;
}

export interface FailureView extends ExecutionSummary {
  /** The execution's output (its error), as JSON text, at most 4,000 characters. */
  output: string | null;
}

export interface JobView {
  filters: ViewFilters;
  period: { since: string | null; until: string | null };
  source: RowsSource;
  jobId: string;
  stats: JobStats | null;
  timeline: DayTimeline;
  /** The ended runs' durations, oldest first. */
  durations: { createdAt: string[]; durationMs: number[]; status: string[] };
  recent: ExecutionSummary[];
  /** The job's health as the sync's last evaluation left it (`history health --job ID`); null without a state table. */
  health: { entry: JobHealthEntry | null; evaluatedAt: string | null } | null;
}

/** Every job's health (or the job filter's), problems first: `history health --json` with the counts per state. */
export interface JobHealthView extends JobHealthReport {
  /** False without a state table (the sync keeps the job health records there). */
  available: boolean;
  /** How many jobs are in each state. */
  counts: Record<HealthState, number>;
}

export interface FileView {
  index: number;
  path: string;
  fileName: string;
  status: string;
  size: number | null;
  sha256: string | null;
  contentType: string | null;
  copiedAt: string | null;
  lastError: string | null;
  /** Served by /api/executions/:id/files/:index (copied ones only). */
  downloadable: boolean;
}

export interface ExecutionView extends ExecutionHeading {
  syncedAt: string;
  removedFromApiAt: string | null;
  input: unknown;
  output: unknown;
  info: unknown;
  files: FileView[];
}

export interface HealthView {
  sync: SyncHealth;
  launches: LaunchesView | null;
  launchesError: string | null;
}

export interface FileDownload {
  fileName: string;
  contentType: string;
  size: number | null;
  sha256: string | null;
  body: Readable;
}

const LIST_LIMIT = 25;
const FAILURE_LIMIT = 10;
const MAX_OUTPUT_CHARS = 4_000;
const FAILURE_STATUSES = [...TERMINAL_STATUSES].filter((status) => status !== 'COMPLETED');

/** What the server answers for a view: its data function's answer (JSON, or a download). */
export type ViewOf<View extends ViewName> = Awaited<ReturnType<DashboardData[View]>>;

/** The data functions of the views, each taking its request (the server's, and the unit tests' fakes). */
export type DashboardViews = {
  [View in ViewName]: (request: ViewRequest<View>) => ReturnType<DashboardData[View]>;
};

export class DashboardData {
  private readonly now: () => number;

  constructor(private readonly deps: DashboardDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Changes when the data may have changed (the client refetches its view then). */
  async version(): Promise<{ version: string }> {
    const version = await readDataVersion({
      ...(this.deps.state ? { state: this.deps.state } : {}),
      ...(this.deps.activity ? { activity: this.deps.activity } : {}),
    });
    return { version };
  }

  /** Runs per day by status and the per-job figures of `history stats` over the period (and job). */
  async overview({ filters, period }: ViewRequest<'overview'>): Promise<OverviewView> {
    const { rows, dayCounts, source } = await readPeriodRows(this.deps.reader, this.deps.lake, period, {
      ...(filters.job !== null ? { jobId: filters.job } : {}),
      grouped: true,
    });
    return {
      filters,
      period: periodView(period),
      source,
      stats: computeStats(rows, period),
      timeline: dayTimeline(dayCounts, period, this.now(), filters.status),
    };
  }

  /** The latest runs that ended in a status other than COMPLETED, with their output (the error). */
  async failures({ filters, period }: ViewRequest<'failures'>): Promise<{ failures: FailureView[] }> {
    const statuses =
      filters.status === null ? FAILURE_STATUSES : FAILURE_STATUSES.filter((s) => s === filters.status);
    const lists = await Promise.all(
      statuses.map((status) =>
        listExecutions(this.deps.reader, {
          period,
          status,
          limit: FAILURE_LIMIT,
          ...(filters.job !== null ? { jobId: filters.job } : {}),
        }),
      ),
    );
    const latest = lists
      .flatMap((list) => list.executions)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.id.localeCompare(b.id))
      .slice(0, FAILURE_LIMIT);
    const failures = await Promise.all(
      latest.map(async (summary) => {
        const item = await this.deps.reader.get(summary.id);
        const api = item ? await this.deps.reader.apiObject(item).catch(() => undefined) : undefined;
        const output = api?.output === undefined ? null : JSON.stringify(api.output, null, 2);
        return {
          ...summary,
          output:
            output !== null && output.length > MAX_OUTPUT_CHARS
              ? `${output.slice(0, MAX_OUTPUT_CHARS - 1)}…`
              : output,
        };
      }),
    );
    return { failures };
  }

  /** The executions matching the filters, newest first (`history list`). */
  async executions({
    filters,
    period,
  }: ViewRequest<'executions'>): Promise<{ executions: ExecutionSummary[]; more: boolean }> {
    return listExecutions(this.deps.reader, {
      period,
      limit: LIST_LIMIT,
      ...(filters.job !== null ? { jobId: filters.job } : {}),
      ...(filters.status !== null ? { status: filters.status } : {}),
    });
  }

  /** The sync's health (with its runs of the period) and the launch queues. */
  async health({ period }: ViewRequest<'health'>): Promise<HealthView> {
    const launches = this.deps.launches;
    const [sync, queues] = await Promise.all([
      readSyncHealth({
        reader: this.deps.reader,
        ...(this.deps.state ? { state: this.deps.state } : {}),
        ...(this.deps.activity ? { activity: this.deps.activity } : {}),
        requestsPerMinute: this.deps.syncRequestsPerMinute,
        period,
        now: this.now,
      }),
      launches
        ? readLaunches(launches.sqs, launches.urls).then(
            (view) => ({ view, error: null }),
            (error: unknown) => ({
              view: null,
              error: error instanceof Error ? error.message : String(error),
            }),
          )
        : { view: null, error: null },
    ]);
    return { sync, launches: queues.view, launchesError: queues.error };
  }

  /** One job: its figures, runs per day, durations over time, and its recent executions. */
  async job({ jobId, filters, period }: ViewRequest<'job'>): Promise<JobView> {
    const state = this.deps.state;
    const [{ rows, dayCounts, source }, recent, health] = await Promise.all([
      readPeriodRows(this.deps.reader, this.deps.lake, period, { jobId }),
      listExecutions(this.deps.reader, {
        period,
        jobId,
        limit: LIST_LIMIT,
        ...(filters.status !== null ? { status: filters.status } : {}),
      }),
      state ? readJobHealth({ client: state.client, stateTableName: state.tableName }, { jobId }) : undefined,
    ]);
    const durations: JobView['durations'] = { createdAt: [], durationMs: [], status: [] };
    for (const row of rows) {
      if (!TERMINAL_STATUSES.has(row.status) || typeof row.durationMs !== 'number') continue;
      if (filters.status !== null && row.status !== filters.status) continue;
      durations.createdAt.push(row.createdAt);
      durations.durationMs.push(row.durationMs);
      durations.status.push(row.status);
    }
    return {
      filters,
      period: periodView(period),
      source,
      jobId,
      stats: computeStats(rows, period).jobs[0] ?? null,
      timeline: dayTimeline(dayCounts, period, this.now(), filters.status),
      durations,
      recent: recent.executions,
      health: health ? { entry: health.jobs[0] ?? null, evaluatedAt: health.evaluatedAt } : null,
    };
  }

  /** Every job's health (or the job filter's), needs attention first, as the sync's last evaluation left it. */
  async jobHealth({ filters }: ViewRequest<'jobHealth'>): Promise<JobHealthView> {
    const state = this.deps.state;
    const report: JobHealthReport = state
      ? await readJobHealth(
          { client: state.client, stateTableName: state.tableName },
          filters.job !== null ? { jobId: filters.job } : {},
        )
      : { jobs: [], evaluatedAt: null, asOf: null };
    const counts = Object.fromEntries(HEALTH_STATES.map((name) => [name, 0])) as Record<HealthState, number>;
    for (const job of report.jobs) counts[job.state] += 1;
    return { ...report, available: state !== undefined, counts };
  }

  /** One execution as `history show` reads it: times, input and output, and its file copies. */
  async execution({ id }: ViewRequest<'execution'>): Promise<ExecutionView> {
    const { execution, item } = await showExecution(this.deps.reader, id);
    return {
      ...headingOf(item),
      syncedAt: item.syncedAt,
      removedFromApiAt: item.removedFromApiAt ?? null,
      input: execution.input ?? null,
      output: execution.output ?? null,
      info: execution.info ?? null,
      files: item.files.map((file, index) => ({
        index,
        path: file.path,
        fileName: file.fileName,
        status: file.status,
        size: file.size ?? null,
        sha256: file.sha256 ?? null,
        contentType: file.contentType ?? null,
        copiedAt: file.copiedAt ?? null,
        lastError: file.lastError ?? null,
        downloadable: file.status === 'copied' && this.deps.files !== undefined,
      })),
    };
  }

  /**
   * The copy of an execution's file number `index`, streamed from the files bucket. Only a key recorded on
   * that execution, for a copy that is done, is ever read: the request names an index, never a key.
   */
  async file({ id, index }: ViewRequest<'file'>): Promise<FileDownload> {
    const files = this.deps.files;
    if (!files) throw new DashboardRequestError(404, 'no files bucket is configured (--files-bucket NAME)');
    const item = await this.deps.reader.get(id);
    const file = item?.files?.[index];
    if (!item || !file) throw new DashboardRequestError(404, `execution ${id} has no file number ${index}`);
    if (file.status !== 'copied') {
      throw new DashboardRequestError(404, `the copy of ${file.path} is ${file.status}, not stored`);
    }
    const object = await (await files.s3()).send(
      new GetObjectCommand({ Bucket: files.bucket, Key: file.s3Key }),
    );
    if (!object.Body) throw new DashboardRequestError(404, `the copy of ${file.path} has no content`);
    return {
      fileName: file.fileName,
      contentType: file.contentType ?? 'application/octet-stream',
      size: file.size ?? null,
      sha256: file.sha256 ?? null,
      body: object.Body as Readable,
    };
  }
}

function periodView(period: Period): { since: string | null; until: string | null } {
  return { since: period.since ?? null, until: period.until ?? null };
}

/** At most this many days in a chart (ten years); a longer period starts at its first run. */
const MAX_DAYS = 3_660;

/** Runs per UTC day by status over the period (quiet days included), documented statuses first. */
function dayTimeline(
  dayCounts: readonly DayCount[],
  period: Period,
  nowMs: number,
  status: string | null,
): DayTimeline {
  const counted = status === null ? dayCounts : dayCounts.filter((count) => count.status === status);
  const days = dayCounts.map((count) => count.day).sort();
  const firstDay = period.since ? dayOf(period.since) : days[0];
  if (firstDay === undefined) return { days: [], series: [] };
  const lastDay = period.until
    ? dayOf(new Date(Date.parse(period.until) - 1).toISOString())
    : ([dayOf(new Date(nowMs).toISOString()), days.at(-1) ?? firstDay].sort()[1] ?? firstDay);
  let startMs = Date.parse(`${firstDay}T00:00:00.000Z`);
  const endMs = Date.parse(`${lastDay}T00:00:00.000Z`);
  // A long period (--since all over years) starts at its first run.
  if ((endMs - startMs) / 86_400_000 >= MAX_DAYS && days[0] !== undefined) {
    startMs = Date.parse(`${days[0]}T00:00:00.000Z`);
  }
  const chartDays: string[] = [];
  for (let ms = startMs; ms <= endMs && chartDays.length < MAX_DAYS; ms += 86_400_000) {
    chartDays.push(new Date(ms).toISOString().slice(0, 10));
  }
  const dayIndex = new Map(chartDays.map((day, index) => [day, index]));
  const byStatus = new Map<string, number[]>();
  for (const count of counted) {
    const index = dayIndex.get(count.day);
    if (index === undefined) continue;
    let counts = byStatus.get(count.status);
    if (!counts) {
      counts = new Array<number>(chartDays.length).fill(0);
      byStatus.set(count.status, counts);
    }
    counts[index] = (counts[index] ?? 0) + count.count;
  }
  const known: readonly string[] = KNOWN_STATUSES;
  const order = [...known, ...[...byStatus.keys()].filter((name) => !known.includes(name)).sort()];
  return {
    days: chartDays,
    series: order.flatMap((name) => {
      const counts = byStatus.get(name);
      return counts ? [{ status: name, counts }] : [];
    }),
  };
}
