// Checks sync.run-errors and jobs.health: the sync's recent runs (`sync_runs`) and the jobs' health, where the store
// keeps them (issue 26). Without them: ok, "not available in this version". The judgment is here, over the records
// the sources give (local/doctor/health-sources.ts).
import { type DoctorCheck, type Finding, fail, ok, warn } from '../doctor-check';
import type { JobHealthRecord, SyncRunRecord } from '../health-sources';
import { count, instant, oneLine } from '../wording';

const NOT_AVAILABLE = 'not available in this version';

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
      if (runs === undefined) return ok(NOT_AVAILABLE);
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
      const jobs = await context.jobHealth.jobs();
      if (jobs === undefined) return ok(NOT_AVAILABLE);
      return judgeJobHealth(jobs, `npm run history -- health ${context.fixes.storeFlags}`);
    },
  };
}

/** Failing jobs are a fail, late ones a warn; each named with its first reason. */
function judgeJobHealth(jobs: readonly JobHealthRecord[], command: string): Finding {
  const name = (job: JobHealthRecord) => `${job.title ?? job.jobId} (${job.reasons[0] ?? job.state})`;
  const failing = jobs.filter((job) => job.state === 'failing');
  const late = jobs.filter((job) => job.state === 'late');
  if (failing.length === 0 && late.length === 0) {
    return ok(`${count(jobs.length, 'job', 'jobs')}, none late or failing`);
  }
  const parts = [
    ...(failing.length > 0 ? [`failing: ${failing.map(name).join('; ')}`] : []),
    ...(late.length > 0 ? [`late: ${late.map(name).join('; ')}`] : []),
  ];
  const fix = `see each job's reasons and last runs: ${command}`;
  return failing.length > 0 ? fail(parts.join(' | '), fix) : warn(parts.join(' | '), fix);
}
