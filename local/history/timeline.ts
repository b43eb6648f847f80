// Layer flow: history queries -> this module (pure). Runs and failures per day or hour (UTC buckets), with
// the empty buckets of the period included so that a chart shows quiet days as gaps, not as nothing.

import { HistoryInputError } from '#core/history/history.errors';
import type { ExecutionItem } from '#core/store/execution-repository';
import { isFailureStatus } from './execution-stats';

export const TIMELINE_BUCKETS = ['day', 'hour'] as const;
export type TimelineBucket = (typeof TIMELINE_BUCKETS)[number];

/** More buckets than this is a mistake (a year of hours), not a chart. */
const MAX_TIMELINE_BUCKETS = 5_000;

export type TimelineRow = Pick<ExecutionItem, 'status' | 'createdAt'>;

export interface TimelinePoint {
  /** Start of the bucket (ISO, UTC). */
  start: string;
  runs: number;
  /** Runs that ended in a status other than COMPLETED. */
  failures: number;
}

export interface Timeline {
  bucket: TimelineBucket;
  jobId: string | null;
  since: string | null;
  until: string | null;
  buckets: TimelinePoint[];
  total: { runs: number; failures: number };
}

const BUCKET_MS: Readonly<Record<TimelineBucket, number>> = { day: 86_400_000, hour: 3_600_000 };

/** Throws HistoryInputError when charting `from`..`to` would take more than MAX_TIMELINE_BUCKETS buckets. */
export function checkBucketCount(from: string, to: string, bucket: TimelineBucket): void {
  const count =
    (Date.parse(bucketStart(to, bucket)) - Date.parse(bucketStart(from, bucket))) / BUCKET_MS[bucket] + 1;
  if (count > MAX_TIMELINE_BUCKETS) {
    throw new HistoryInputError(
      `the period spans more than ${MAX_TIMELINE_BUCKETS} ${bucket}s: choose a shorter period (--since) or --bucket day`,
    );
  }
}

/** The start of the bucket holding this instant (UTC). */
export function bucketStart(iso: string, bucket: TimelineBucket): string {
  const ms = Date.parse(iso);
  return new Date(ms - (ms % BUCKET_MS[bucket])).toISOString();
}

export interface TimelineRange {
  bucket: TimelineBucket;
  /** First instant to chart (its bucket is the first one); absent: the first row's. */
  from?: string;
  /** Last instant to chart (inclusive); absent: the last row's. */
  to?: string;
}

/** Counts runs and failures per bucket, from the bucket of `from` to the bucket of `to`. */
export function computeTimeline(
  rows: Iterable<TimelineRow>,
  range: TimelineRange,
  labels: { jobId?: string; since?: string; until?: string } = {},
): Timeline {
  const counts = new Map<string, TimelinePoint>();
  let first = range.from;
  let last = range.to;
  const total = { runs: 0, failures: 0 };
  for (const row of rows) {
    const start = bucketStart(row.createdAt, range.bucket);
    let point = counts.get(start);
    if (!point) {
      point = { start, runs: 0, failures: 0 };
      counts.set(start, point);
    }
    point.runs += 1;
    total.runs += 1;
    if (isFailureStatus(row.status)) {
      point.failures += 1;
      total.failures += 1;
    }
    if (range.from === undefined && (first === undefined || row.createdAt < first)) first = row.createdAt;
    if (range.to === undefined && (last === undefined || row.createdAt > last)) last = row.createdAt;
  }
  const buckets: TimelinePoint[] = [];
  if (first !== undefined && last !== undefined && first <= last) {
    const step = BUCKET_MS[range.bucket];
    const end = Date.parse(bucketStart(last, range.bucket));
    const begin = Date.parse(bucketStart(first, range.bucket));
    checkBucketCount(first, last, range.bucket);
    for (let ms = begin; ms <= end; ms += step) {
      const start = new Date(ms).toISOString();
      buckets.push(counts.get(start) ?? { start, runs: 0, failures: 0 });
    }
  }
  return {
    bucket: range.bucket,
    jobId: labels.jobId ?? null,
    since: labels.since ?? null,
    until: labels.until ?? null,
    buckets,
    total,
  };
}
