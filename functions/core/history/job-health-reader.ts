// Layer flow: `npm run history -- health`, the dashboard and `npm run doctor` -> readJobHealth -> the job health
// records the sync's health pass keeps in the state table (one Query of the index byKind, or one GetItem for a
// job). Read-only, and no Product-Live request: the states are those of the last evaluation (after the last sync
// run), as the store holds them.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { HealthState } from '../health/health-states';
import { stateRank } from '../health/health-states';
import { type JobHealthRecord, JobHealthRepository } from '../store/job-health-repository';

/** One job's health, as `history health --json` prints it (docs/health.md). */
export interface JobHealthEntry {
  jobId: string;
  title: string | null;
  state: HealthState;
  /** Every reason in words; the first explains the state. */
  reasons: string[];
  /** createdAt of the job's newest run. */
  lastRunAt: string | null;
  /** createdAt of its newest COMPLETED run. */
  lastSuccessAt: string | null;
  /** With no new run by then, the job is late (the expected run plus the grace); null when not judged. */
  expectedBy: string | null;
  usualIntervalMs: number | null;
  usualDurationMs: number | null;
  consecutiveFailures: number;
  /** The state before this one (null until it first changed), and when this one was entered. */
  previousState: HealthState | null;
  stateSince: string;
  /** Where the interval comes from: `set`, `learned`, `never` (lateness not judged), or null (unknown). */
  schedule: 'set' | 'learned' | 'never' | null;
  /** The weekdays (UTC, 0 = Sunday) a learned schedule counts; null: every day. */
  activeWeekdays: number[] | null;
}

/** Every job's health (or one job's), problems first. */
export interface JobHealthReport {
  jobs: JobHealthEntry[];
  /** When the sync last evaluated the jobs (after its last run that did), or null before the first evaluation. */
  evaluatedAt: string | null;
  /** The instant that evaluation judged as of (the watermark). */
  asOf: string | null;
}

/** Where the state table is. */
export interface JobHealthSource {
  client: DynamoDBDocumentClient;
  stateTableName: string;
}

/**
 * The current health of every job (or of `jobId` alone) from the store, as the last evaluation left it: needs
 * attention first (late, failing, slow), then unknown, then healthy, each by title. No Product-Live request.
 */
export async function readJobHealth(
  source: JobHealthSource,
  options: { jobId?: string } = {},
): Promise<JobHealthReport> {
  const repository = new JobHealthRepository(source.client, source.stateTableName);
  const [records, evaluated] = await Promise.all([
    options.jobId !== undefined
      ? repository.get(options.jobId).then((record) => (record ? [record] : []))
      : repository.listAll(),
    repository.getEvaluated(),
  ]);
  const jobs = records.map(toEntry).sort(byAttention);
  return { jobs, evaluatedAt: evaluated?.evaluatedAt ?? null, asOf: evaluated?.asOf ?? null };
}

/** A record as the report shows it. */
function toEntry(record: JobHealthRecord): JobHealthEntry {
  const { evaluation, facts } = record;
  return {
    jobId: record.jobId,
    title: facts.title,
    state: evaluation.state,
    reasons: evaluation.reasons,
    lastRunAt: facts.lastRunAt,
    lastSuccessAt: facts.lastSuccessAt,
    expectedBy: evaluation.expectedBy,
    usualIntervalMs: evaluation.usualIntervalMs,
    usualDurationMs: evaluation.usualDurationMs,
    consecutiveFailures: evaluation.consecutiveFailures,
    previousState: record.previousState,
    stateSince: record.stateSince,
    schedule: evaluation.schedule,
    activeWeekdays: evaluation.activeWeekdays,
  };
}

function byAttention(a: JobHealthEntry, b: JobHealthEntry): number {
  return (
    stateRank(a.state) - stateRank(b.state) ||
    (a.title ?? a.jobId).localeCompare(b.title ?? b.jobId) ||
    a.jobId.localeCompare(b.jobId)
  );
}
