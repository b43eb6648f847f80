// Layer flow: runSync (after every run that held the lease) -> runHealthPass -> the job health records (state
// table: one Query lists them all), the runs of the jobs whose runs changed (one byJob Query each), the pure
// learning and evaluation (functions/core/health), an event sink for the changes. No Product-Live request, no
// Scan: lateness is noticed without any new execution (docs/health.md "When it is evaluated").
import { forEachConcurrently } from '#core/concurrency';
import { describeError } from '#core/errors';
import type { BusEventSink } from '#core/events/bus-event';
import { healthEventId, type JobHealthEventDetail, jobHealthEvent } from '#core/events/job-health-event';
import { evaluateJobHealth } from '#core/health/evaluate-job-health';
import { HEALTH_STATES, type HealthState } from '#core/health/health-states';
import { expectationFor, type JobExpectations } from '#core/health/job-expectations';
import { buildRunFacts, type JobRunFacts, RUNS_READ } from '#core/health/job-run-facts';
import type { AppLogger } from '#core/observability';
import type { ExecutionRepository } from '#core/store/execution-repository';
import type { JobHealthRecord, JobHealthRepository } from '#core/store/job-health-repository';

/** The health records the pass reads and writes. */
export type HealthRecordStore = Pick<
  JobHealthRepository,
  'listAll' | 'put' | 'clearPendingEvent' | 'getDiscovery' | 'saveDiscovery' | 'saveEvaluated'
>;

/** The reads of the executions table the pass makes. */
export type HealthRunsSource = Pick<
  ExecutionRepository,
  'recentRunsOfJob' | 'jobIdsOfMonth' | 'createdAtRange'
>;

export interface HealthPassDeps {
  records: HealthRecordStore;
  runs: HealthRunsSource;
  /** Where the changes are published; absent: recorded, not published (tests that read no events). */
  sink?: BusEventSink;
  now: () => number;
  logger: AppLogger;
  /** True once no new month of the discovery may start (the run's time budget). */
  outOfTime: () => boolean;
}

export interface HealthPassOptions {
  expectations: JobExpectations;
  /** The jobs of every execution the run read: their runs may have changed. */
  touchedJobs: ReadonlySet<string>;
  /** The watermark: every run created before it is stored, so a job is judged as of it. */
  asOf: string;
  /** byJob Queries in flight at once. */
  concurrency?: number;
}

/** What a pass did: the sync summary's `health`. */
export interface HealthSummary {
  /** Jobs evaluated, and how many are in each state. */
  jobs: number;
  byState: Record<HealthState, number>;
  /** Jobs whose runs were read again (one Query each). */
  refreshed: number;
  /** Jobs whose state changed (each is one event). */
  changed: number;
  eventsPublished: number;
  /** Changes not published yet (the next pass publishes them again). */
  eventsPending: number;
  /** False while the first evaluation over an existing history is still finding its jobs (month by month). */
  discoveryComplete: boolean;
  asOf: string;
  durationMs: number;
  /** Why the pass stopped, when it failed (the states of the last pass stand). */
  error: string | null;
}

/** PutEvents takes at most 10 entries a call. */
const EVENTS_PER_CALL = 10;

/** Evaluates every known job's health as of the watermark, records the changes and publishes them; never throws. */
export async function runHealthPass(
  deps: HealthPassDeps,
  options: HealthPassOptions,
): Promise<HealthSummary> {
  const startedAt = deps.now();
  const summary: HealthSummary = {
    jobs: 0,
    byState: Object.fromEntries(HEALTH_STATES.map((state) => [state, 0])) as Record<HealthState, number>,
    refreshed: 0,
    changed: 0,
    eventsPublished: 0,
    eventsPending: 0,
    discoveryComplete: true,
    asOf: options.asOf,
    durationMs: 0,
    error: null,
  };
  try {
    await evaluate(deps, options, summary);
  } catch (error) {
    summary.error = describeError(error);
    deps.logger.warn('job health: the evaluation stopped; the states of the last one stand', {
      error: summary.error,
    });
  }
  summary.durationMs = Math.max(0, deps.now() - startedAt);
  return summary;
}

async function evaluate(deps: HealthPassDeps, options: HealthPassOptions, summary: HealthSummary) {
  const nowIso = new Date(deps.now()).toISOString();
  const asOfMs = Date.parse(options.asOf);
  const previous = new Map((await deps.records.listAll()).map((record) => [record.jobId, record]));
  // The jobs whose runs may have changed: those the run read, and those with a run still open (the follow
  // function may have stored its end); on a first evaluation, every job the store holds.
  const refresh = new Set<string>(options.touchedJobs);
  for (const record of previous.values()) if (record.facts.openRuns > 0) refresh.add(record.jobId);
  summary.discoveryComplete = await discoverJobs(deps, previous, refresh, options.asOf, nowIso);

  const facts = new Map<string, JobRunFacts>([...previous].map(([jobId, record]) => [jobId, record.facts]));
  await forEachConcurrently([...refresh], options.concurrency ?? 8, async (jobId) => {
    const runs = await deps.runs.recentRunsOfJob(jobId, RUNS_READ);
    if (runs.length === 0 && !previous.has(jobId)) return;
    facts.set(jobId, buildRunFacts(jobId, runs, previous.get(jobId)?.facts));
    summary.refreshed += 1;
  });

  const writes: JobHealthRecord[] = [];
  for (const [jobId, jobFacts] of [...facts].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const before = previous.get(jobId);
    const evaluation = evaluateJobHealth(jobFacts, expectationFor(jobId, options.expectations), asOfMs);
    summary.jobs += 1;
    summary.byState[evaluation.state] += 1;
    const changed = before?.evaluation.state !== evaluation.state;
    const record: JobHealthRecord = {
      jobId,
      facts: jobFacts,
      evaluation,
      previousState: changed ? (before?.evaluation.state ?? null) : (before?.previousState ?? null),
      stateSince: changed ? nowIso : (before?.stateSince ?? nowIso),
      evaluatedAt: nowIso,
      asOf: options.asOf,
      refreshedAt: before && sameValue(before.facts, jobFacts) ? before.refreshedAt : nowIso,
      pendingEvent: before?.pendingEvent ?? null,
    };
    if (changed) {
      summary.changed += 1;
      record.pendingEvent = changeDetail(record);
    }
    // Written when something the record holds changed; a re-evaluation that changes nothing writes nothing.
    if (changed || !sameValue(before?.facts, jobFacts) || !sameValue(before?.evaluation, evaluation)) {
      writes.push(record);
    }
  }
  // Recorded before it is published: a crash in between leaves the event pending, published by the next pass.
  await forEachConcurrently(writes, 8, (record) => deps.records.put(record));
  const written = new Map(writes.map((record) => [record.jobId, record]));
  const pending = [...facts.keys()]
    .map((jobId) => written.get(jobId) ?? previous.get(jobId))
    .flatMap((record) => (record?.pendingEvent ? [record.pendingEvent] : []));
  await publish(deps, pending, summary);
  await deps.records.saveEvaluated({ evaluatedAt: nowIso, asOf: options.asOf, jobs: summary.jobs });
}

/**
 * On the first evaluation over a history (none was ever made, or the last one did not finish finding the jobs),
 * reads the job ids of the stored executions month by month, newest first, while time allows, and adds the jobs
 * without a record to `refresh`. Returns true once every month was read.
 */
async function discoverJobs(
  deps: HealthPassDeps,
  known: ReadonlyMap<string, JobHealthRecord>,
  refresh: Set<string>,
  asOf: string,
  nowIso: string,
): Promise<boolean> {
  const discovery = await deps.records.getDiscovery();
  if (discovery?.completedAt) return true;
  const range = await deps.runs.createdAtRange();
  const firstMonth = range?.first.slice(0, 7);
  const newest = range && range.last > asOf ? range.last : asOf;
  let month: string | null = discovery ? discovery.nextMonth : newest.slice(0, 7);
  while (month !== null && firstMonth !== undefined && month >= firstMonth) {
    if (deps.outOfTime()) {
      await deps.records.saveDiscovery({ nextMonth: month });
      deps.logger.info('job health: finding the stored jobs continues in the next run', { nextMonth: month });
      return false;
    }
    for (const jobId of await deps.runs.jobIdsOfMonth(month)) if (!known.has(jobId)) refresh.add(jobId);
    month = previousMonth(month);
    // Saved after each month: the jobs found so far are refreshed by this pass (never cut short).
    await deps.records.saveDiscovery({ nextMonth: month });
  }
  await deps.records.saveDiscovery({ nextMonth: null, completedAt: nowIso });
  return true;
}

function previousMonth(month: string): string {
  const year = Number(month.slice(0, 4));
  const number = Number(month.slice(5, 7));
  return number === 1
    ? `${String(year - 1).padStart(4, '0')}-12`
    : `${String(year).padStart(4, '0')}-${String(number - 1).padStart(2, '0')}`;
}

/** The event detail of a record whose state just changed. */
function changeDetail(record: JobHealthRecord): JobHealthEventDetail {
  const { evaluation, facts } = record;
  return {
    eventId: healthEventId(record.jobId, evaluation.state, record.stateSince),
    jobId: record.jobId,
    title: facts.title,
    state: evaluation.state,
    previousState: record.previousState,
    reasons: evaluation.reasons,
    reason: evaluation.reasons[0] ?? '',
    lastRunAt: facts.lastRunAt,
    lastSuccessAt: facts.lastSuccessAt,
    expectedBy: evaluation.expectedBy,
    consecutiveFailures: evaluation.consecutiveFailures,
    usualIntervalMs: evaluation.usualIntervalMs,
    stateSince: record.stateSince,
  };
}

/** Publishes the pending changes, ten a call; each accepted one is cleared, a refused one stays pending. */
async function publish(deps: HealthPassDeps, pending: JobHealthEventDetail[], summary: HealthSummary) {
  if (!deps.sink) {
    summary.eventsPending = 0;
    return;
  }
  for (let start = 0; start < pending.length; start += EVENTS_PER_CALL) {
    const chunk = pending.slice(start, start + EVENTS_PER_CALL);
    let outcomes: Array<string | null>;
    try {
      outcomes = await deps.sink.put(chunk.map(jobHealthEvent));
    } catch (error) {
      const reason = describeError(error);
      outcomes = chunk.map(() => reason);
    }
    for (const [index, detail] of chunk.entries()) {
      const refused = outcomes[index];
      if (refused === null) {
        summary.eventsPublished += 1;
        await deps.records.clearPendingEvent(detail.jobId, detail.eventId);
      } else {
        summary.eventsPending += 1;
        deps.logger.warn('job health: an event was not published; the next run publishes it again', {
          eventId: detail.eventId,
          reason: refused ?? 'no answer for this entry',
        });
      }
    }
  }
}

/** Equal values, whatever the order of their keys (DynamoDB keeps no order in a map). */
function sameValue(a: unknown, b: unknown): boolean {
  return a !== undefined && stable(a) === stable(b);
}

function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, child]) => child !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, child]) => `${JSON.stringify(key)}:${stable(child)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
