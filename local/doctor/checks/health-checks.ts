// Checks sync.run-errors and jobs.health: the sync's recent runs (`sync_runs`) and the jobs' health, as the state
// table keeps them (docs/health.md). The judgment is here, over the records the sources give
// (local/doctor/health-sources.ts: one Query of the index byKind each).
import { type DoctorCheck, type Finding, fail, ok, warn } from '../doctor-check';
import type { JobHealth, JobHealthRecord, SyncRunRecord } from '../health-sources';
import { count, instant, oneLine } from '../wording';

/** How far back sync.run-errors looks. */
const RUN_ERRORS_WINDOW_MS = 24 * 3_600_000;

/** A run of failures this long, the newest runs, is a fail (fewer, mixed with ok runs: a warn). */
const FAILING_RUNS_IN_A_ROW = 3;

export function syncRunErrorsCheck(): DoctorCheck {
  return {
    id: 'sync.run-errors',
    targets: ['local', 'aws'],
    async run(context) {
      const since = new Date(context.now() - RUN_ERRORS_WINDOW_MS).toISOString();
      const runs = await context.syncRuns.runsSince(since);
      return judgeRunErrors(runs, context.fixes.syncLogs);
    },
  };
}

/** The finding over the runs of the last day, newest first. */
function judgeRunErrors(runs: readonly SyncRunRecord[], logs: string): Finding {
  const failed = runs.filter((run) => run.error !== null);
  if (runs.length === 0) return ok('no sync run in the last 24 h (see sync.last-run)');
  if (failed.length === 0)
    return ok(`${count(runs.length, 'run', 'runs')} in the last 24 h, none stopped on an error`);
  const latest = failed[0] as SyncRunRecord;
  const what = `${failed.length} of ${count(runs.length, 'run', 'runs')} in the last 24 h stopped on an error (the latest at ${instant(latest.startedAt)}: ${oneLine(latest.error ?? '', 120)})`;
  const streak = runs.slice(0, FAILING_RUNS_IN_A_ROW);
  const fix = `each run resumes from its checkpoint; why they fail: ${logs}`;
  return streak.length === FAILING_RUNS_IN_A_ROW && streak.every((run) => run.error !== null)
    ? fail(what, fix)
    : warn(what, fix);
}

export function jobsHealthCheck(): DoctorCheck {
  return {
    id: 'jobs.health',
    targets: ['local', 'aws'],
    async run(context) {
      const health = await context.jobHealth.read();
      return judgeJobHealth(health, `npm run history -- health ${context.fixes.storeFlags}`);
    },
  };
}

/** How many jobs a summary names in each state; the others are counted. */
const JOBS_NAMED = 5;

function listed(names: readonly string[]): string {
  const shown = names.slice(0, JOBS_NAMED).join('; ');
  return names.length > JOBS_NAMED ? `${shown}; and ${names.length - JOBS_NAMED} more` : shown;
}

/**
 * Failing jobs are a fail (a job late and failing at once too), late ones a warn; each named with its reasons (a
 * failing one) or its first reason (a late one). Slow and unknown jobs are counted in the ok summary.
 */
function judgeJobHealth({ jobs, evaluatedAt }: JobHealth, command: string): Finding {
  if (jobs.length === 0) {
    return ok(
      evaluatedAt === null
        ? 'no job evaluated yet (the sync evaluates every job after its runs)'
        : `no job in the history (evaluated ${instant(evaluatedAt)})`,
    );
  }
  const name = (job: JobHealthRecord, reasons: readonly string[]) =>
    `${job.title ?? job.jobId} (${reasons.length > 0 ? reasons.join('; ') : job.state})`;
  const failing = jobs.filter((job) => job.failing);
  const late = jobs.filter((job) => job.state === 'late' && !job.failing);
  if (failing.length === 0 && late.length === 0) {
    const others = (['slow', 'unknown'] as const)
      .map((state) => [state, jobs.filter((job) => job.state === state).length] as const)
      .filter(([, n]) => n > 0)
      .map(([state, n]) => `${n} ${state}`);
    return ok(
      `${count(jobs.length, 'job', 'jobs')}, none late or failing${others.length > 0 ? ` (${others.join(', ')})` : ''}`,
    );
  }
  const parts = [
    ...(failing.length > 0 ? [`failing: ${listed(failing.map((job) => name(job, job.reasons)))}`] : []),
    ...(late.length > 0 ? [`late: ${listed(late.map((job) => name(job, job.reasons.slice(0, 1))))}`] : []),
  ];
  const fix = `see each job's reasons and last runs: ${command}`;
  return failing.length > 0 ? fail(parts.join(' | '), fix) : warn(parts.join(' | '), fix);
}
