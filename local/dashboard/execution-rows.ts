// Layer flow: dashboard data -> this module -> the lake (DuckDB over a local copy of the Parquet objects) for
// the days the lake holds, and the executions table (HistoryReader, the queries of `history stats`) for the
// days marked for a rewrite. The rows feed the same StatsAccumulator as `history stats`, so the dashboard's
// figures and the CLI's are the same numbers; the lake only makes reading 100,000 executions fast.
import type { S3Client } from '@aws-sdk/client-s3';
import type { HistoryReader } from '#core/history/history-reader';
import type { Period } from '#core/history/period';
import type { LakeMarksState } from '#core/store/lake-marks';
import { dayRange } from '#core/warehouse/lake-tables';
import type { StatsRow } from '../history/execution-stats';
import type { DuckDbLake } from '../warehouse/duckdb-lake';

/** The stored fields the dashboard's statistics and charts read (those of `history stats`). */
const ROW_ATTRIBUTES = ['jobId', 'title', 'status', 'createdAt', 'durationMs'] as const;

/** Where a view's rows came from: the lake's days and the table's (marked) days, or the table alone. */
export type RowsSource = { kind: 'lake'; storeDays: number } | { kind: 'store' };

export interface PeriodRows {
  /**
   * The period's executions as the statistics read them. With `grouped`, the lake's part comes as one row
   * per execution that carries only what the statistics use (see readLakeGroups); createdAt order is kept
   * only without `grouped`.
   */
  rows: StatsRow[];
  /** Runs per UTC day and status. */
  dayCounts: DayCount[];
  source: RowsSource;
}

/** Runs of one UTC day in one status. */
export interface DayCount {
  day: string;
  status: string;
  count: number;
}

/** A lake copy that is current: DuckDB over it, and the marks read just before it was refreshed. */
export interface LakeSnapshot {
  lake: DuckDbLake;
  marks: LakeMarksState;
}

export interface LakeAccess {
  /** Reads the marks and refreshes the copy when they changed; undefined when the lake is not built yet. */
  snapshot(): Promise<LakeSnapshot | undefined>;
}

/** More marked days than this: the table is read for the whole period (the lake is being rebuilt). */
const MAX_MARKED_DAYS = 31;

export interface ReadOptions {
  jobId?: string;
  /**
   * Rows that keep only what the statistics read (the overview: 100,000 executions in a few hundred groups
   * from DuckDB); without it, one row per execution with its own createdAt and duration (a job's charts).
   */
  grouped?: boolean;
}

/** The executions created in the period (one job's, when given), and their runs per day and status. */
export async function readPeriodRows(
  reader: HistoryReader,
  lake: LakeAccess | undefined,
  period: Period,
  options: ReadOptions = {},
): Promise<PeriodRows> {
  const { jobId } = options;
  const snapshot = await lake?.snapshot();
  const marked = snapshot ? Object.keys(snapshot.marks.marks).filter((day) => dayInPeriod(day, period)) : [];
  if (!snapshot || marked.length > MAX_MARKED_DAYS) {
    const rows = await readStoreRows(reader, period, jobId);
    return { rows, dayCounts: countDays(rows), source: { kind: 'store' } };
  }
  const where = lakeFilter(period, marked, jobId);
  const [fromLake, lakeDays] = await Promise.all([
    options.grouped ? readLakeGroups(snapshot.lake, where) : readLakeRows(snapshot.lake, where),
    readLakeDayCounts(snapshot.lake, where),
  ]);
  const fromStore: StatsRow[] = [];
  for (const range of dayRanges(marked)) {
    const since = period.since && period.since > range.since ? period.since : range.since;
    const until = period.until && period.until < range.until ? period.until : range.until;
    fromStore.push(...(await readStoreRows(reader, { since, until }, jobId)));
  }
  const rows = [...fromLake, ...fromStore];
  if (!options.grouped) rows.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  return {
    rows,
    dayCounts: [...lakeDays, ...countDays(fromStore)],
    source: { kind: 'lake', storeDays: marked.length },
  };
}

/** Runs per UTC day and status of stored rows. */
function countDays(rows: ReadonlyArray<Pick<StatsRow, 'status' | 'createdAt'>>): DayCount[] {
  const counts = new Map<string, DayCount>();
  for (const row of rows) {
    const day = row.createdAt.slice(0, 10);
    const key = `${day} ${row.status}`;
    const count = counts.get(key);
    if (count) count.count += 1;
    else counts.set(key, { day, status: row.status, count: 1 });
  }
  return [...counts.values()];
}

async function readStoreRows(reader: HistoryReader, period: Period, jobId?: string): Promise<StatsRow[]> {
  const rows: StatsRow[] = [];
  for await (const item of reader.select({
    period,
    ...(jobId !== undefined ? { jobId } : {}),
    order: 'oldest',
    attributes: ROW_ATTRIBUTES,
  })) {
    rows.push(item);
  }
  return rows;
}

function lakeFilter(period: Period, markedDays: readonly string[], jobId?: string): string {
  const where = [
    ...(period.since ? [`created_at >= ${timestamp(period.since)}`] : []),
    ...(period.until ? [`created_at < ${timestamp(period.until)}`] : []),
    ...(jobId !== undefined ? [`job_id = ${quote(jobId)}`] : []),
    ...(markedDays.length > 0 ? [`day NOT IN (${markedDays.map(quote).join(', ')})`] : []),
  ];
  return where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
}

async function readLakeRows(lake: DuckDbLake, where: string): Promise<StatsRow[]> {
  const result = await lake.query(
    `SELECT job_id, title, status, created_at, duration_ms FROM executions${where}`,
  );
  return result.rows.map((row) => ({
    jobId: String(row.job_id),
    status: String(row.status),
    createdAt: String(row.created_at),
    ...(typeof row.title === 'string' ? { title: row.title } : {}),
    ...(typeof row.duration_ms === 'number' ? { durationMs: row.duration_ms } : {}),
  }));
}

/**
 * The lake's executions grouped by job and status, expanded back into one row per execution that carries what
 * the StatsAccumulator reads: the status, the duration (each measured one exactly once), the group's latest
 * createdAt (so the job's last run and last failure are the group maxima), and, on one row at the instant it
 * was seen, the latest title. The accumulator then computes exactly what it computes from the full rows,
 * while DuckDB sends a few hundred groups instead of 100,000 rows.
 */
async function readLakeGroups(lake: DuckDbLake, where: string): Promise<StatsRow[]> {
  const result = await lake.query(
    'SELECT job_id, status, count(*) AS runs, max(created_at) AS last_at, ' +
      'max_by(title, created_at) FILTER (WHERE title IS NOT NULL) AS title, ' +
      'max(created_at) FILTER (WHERE title IS NOT NULL) AS titled_at, ' +
      `list(duration_ms) FILTER (WHERE duration_ms IS NOT NULL) AS durations FROM executions${where} ` +
      'GROUP BY job_id, status',
  );
  const rows: StatsRow[] = [];
  for (const group of result.rows) {
    const jobId = String(group.job_id);
    const status = String(group.status);
    const lastAt = String(group.last_at);
    const durations = Array.isArray(group.durations) ? group.durations : [];
    const runs = Number(group.runs);
    for (let index = 0; index < runs; index++) {
      const duration = durations[index];
      rows.push({
        jobId,
        status,
        createdAt: lastAt,
        ...(typeof duration === 'number' ? { durationMs: duration } : {}),
      });
    }
    const first = rows[rows.length - runs];
    if (first && typeof group.title === 'string' && typeof group.titled_at === 'string') {
      first.title = group.title;
      first.createdAt = group.titled_at;
      // The titled row's own instant must not lower the group's last run: another row keeps lastAt.
      if (runs === 1) first.createdAt = lastAt;
    }
  }
  return rows;
}

async function readLakeDayCounts(lake: DuckDbLake, where: string): Promise<DayCount[]> {
  const result = await lake.query(
    `SELECT day, status, count(*) AS runs FROM executions${where} GROUP BY day, status`,
  );
  return result.rows.map((row) => ({
    day: String(row.day),
    status: String(row.status),
    count: Number(row.runs),
  }));
}

/** Consecutive days as one createdAt range each (one table read per range). */
function dayRanges(days: readonly string[]): Array<{ since: string; until: string }> {
  const ranges: Array<{ since: string; until: string }> = [];
  for (const day of [...days].sort()) {
    const { since, until } = dayRange(day);
    const last = ranges.at(-1);
    if (last && last.until === since) last.until = until;
    else ranges.push({ since, until });
  }
  return ranges;
}

function dayInPeriod(day: string, period: Period): boolean {
  const { since, until } = dayRange(day);
  return (!period.until || since < period.until) && (!period.since || until > period.since);
}

/** A TIMESTAMP literal of an ISO instant (the lake's timestamps are UTC). */
function timestamp(iso: string): string {
  return `TIMESTAMP ${quote(iso.replace('T', ' ').replace(/Z$/, ''))}`;
}

function quote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** Where the lake's objects are, and where the local copy goes. */
export interface LakeLocation {
  bucket: string;
  cacheDir: string;
  s3: () => Promise<S3Client>;
}
