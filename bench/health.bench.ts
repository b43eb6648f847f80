// health: the job health pass (functions/sync/job-health-pass.ts) over 100,000 stored executions of 200 jobs
// (daily, hourly, weekdays only, some stopped, some failing): the first evaluation (it finds the jobs month by
// month), the steady evaluation after a sync run that touched a few jobs, and its share of that steady sync run.
// Every DynamoDB command the pass sends is counted by name (client middleware): never a Scan; and every
// Product-Live request made while it runs: none.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { HealthState } from '#core/health/health-states';
import type { JobExecution } from '#core/product-live/product-live.schema';
import { ExecutionRepository } from '#core/store/execution-repository';
import { JobHealthRepository } from '#core/store/job-health-repository';
import { SyncStateRepository } from '#core/store/sync-state-repository';
import { type HealthSummary, runHealthPass } from '#functions/sync/job-health-pass';
import type { SyncSummary } from '#functions/sync/sync-summary';
import { createEmulator, type EmulatorJob, ManualClock } from '#local/emulator/index';
import { parseBenchArgs } from './support/bench-args';
import type { Benchmark, BenchReport, Check } from './support/bench-report';
import { formatDuration, formatNumber } from './support/bench-report';
import { BenchResources } from './support/bench-resources';
import {
  addNoFilesJobs,
  batchWriteRaw,
  createStore,
  type LocalAws,
  ProblemLogger,
  startLocalAws,
  toNewItem,
  wireSync,
} from './support/bench-stack';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** The watermark of the stored history: a Wednesday noon (UTC), so weekday jobs ran this morning. */
const AS_OF = '2026-06-03T12:00:00.000Z';
/** The stored history ends this long before the watermark: no stored run lies in the sync's lookback. */
const HISTORY_END_GAP_MS = 20 * 60_000;
/** Stopped jobs' last run, before the watermark. */
const STOPPED_FOR_MS = 5 * DAY_MS;
/** Failing jobs' last runs that failed in a row. */
const FAILED_IN_A_ROW = 3;
/** Clock time between two steady runs (short: the untouched hourly jobs stay within their grace). */
const STEADY_INTERVAL_MS = 2 * 60_000;
const UNLIMITED = 1_000_000;

type Schedule = 'daily' | 'hourly' | 'weekdays' | 'stopped' | 'failing';
/** The schedules, by job index modulo 10: 4 daily, 2 hourly, 2 weekdays, 1 stopped, 1 failing. */
const SCHEDULES: readonly Schedule[] = [
  'daily',
  'hourly',
  'weekdays',
  'daily',
  'hourly',
  'daily',
  'weekdays',
  'stopped',
  'daily',
  'failing',
];

/** What the pass's DynamoDB commands and the Product-Live requests made while it ran are counted under. */
const phase = new AsyncLocalStorage<string>();
/** Time spent in each store method, by tag (`first`, `steady`): summed, calls may overlap. */
const storeTime: Record<string, Record<string, { ms: number; calls: number }>> = {};

export const benchmark: Benchmark = {
  name: 'health',
  title:
    'the job health pass over 100,000 executions of 200 jobs: first and steady evaluation, share of a sync run',
  async run(args): Promise<BenchReport> {
    const { mode, values } = parseBenchArgs(args, {
      executions: { full: 100_000, quick: 10_000, description: 'executions stored before the evaluations' },
      jobs: { full: 200, quick: 50, description: 'jobs they belong to (as many runs each)' },
      touched: { full: 3, quick: 3, description: 'jobs with a new run before each steady sync run' },
      rounds: { full: 5, quick: 3, description: 'steady sync runs with the pass (and as many without)' },
    });
    const { executions: count, jobs: jobCount, touched, rounds } = values;
    if (touched > jobCount) throw new Error('--touched must be <= --jobs');
    const resources = new BenchResources();
    try {
      const aws = await startLocalAws(resources, ['dynamodb', 's3']);
      const counts = countCommands(aws);
      const store = await createStore(aws, 'health');
      const clock = new ManualClock(AS_OF);
      const emulator = createEmulator({ clock, rateLimit: false, seed: 'bench-health' });
      await emulator.start();
      resources.defer('emulator', () => emulator.stop());
      // The jobs exist in the emulator (the steady runs create executions of some of them); their history is
      // written straight into the store.
      const jobs = addNoFilesJobs(emulator, jobCount);
      const history = buildHistory(jobs, Math.floor(count / jobCount));
      const loadStarted = performance.now();
      const nowIso = new Date(clock.now()).toISOString();
      await batchWriteRaw(
        aws.doc,
        store.executionsTable,
        history.executions.map((execution) => toNewItem(execution, nowIso)),
      );
      const loadMs = performance.now() - loadStarted;
      // The store as a sync leaves it: complete up to the watermark, its audit done today.
      const state = new SyncStateRepository(aws.doc, store.stateTable);
      await state.saveCheckpoint({ watermark: AS_OF, updatedAt: AS_OF });
      await state.saveAudit({ lastCompletedAt: AS_OF });

      const executions = new ExecutionRepository(aws.doc, store.executionsTable);
      const records = new JobHealthRepository(aws.doc, store.stateTable);

      // (a) The first evaluation over the stored history: discovery month by month, then every job read once.
      const discovery = { ms: 0, months: 0 };
      const firstLogger = new ProblemLogger();
      const first = await measurePass('first', async () =>
        runHealthPass(
          {
            records,
            runs: instrument(executions, 'first', {
              jobIdsOfMonth: (ms) => {
                discovery.ms += ms;
                discovery.months += 1;
              },
            }),
            now: () => clock.now(),
            logger: firstLogger,
            outOfTime: () => false,
          },
          { expectations: {}, touchedJobs: new Set(), asOf: AS_OF },
        ),
      );
      const statesAfterFirst = new Map((await records.listAll()).map((r) => [r.jobId, r.evaluation.state]));
      const misjudged = history.jobs.filter(
        ({ job, schedule }) => statesAfterFirst.get(job.id) !== expectedState(schedule),
      );

      // (b) and (c): steady sync runs, each after new runs of a few jobs; the pass inside them is timed and counted
      // through its stores (the pass starts with `listAll` and ends with `saveEvaluated`).
      const api = { requests: 0, duringPass: 0 };
      let passActive = false;
      const passTimes: number[] = [];
      let passStartedAt = 0;
      const healthDeps = {
        // listAll is the pass's first call, saveEvaluated its last: between them, the pass runs.
        records: instrument(
          records,
          'steady',
          {
            saveEvaluated: () => {
              passTimes.push(performance.now() - passStartedAt);
              passActive = false;
            },
          },
          (name) => {
            if (name !== 'listAll') return;
            passActive = true;
            passStartedAt = performance.now();
          },
        ),
        runs: instrument(executions, 'steady'),
      };
      const wiring = wireSync(aws, store, emulator, {
        client: {
          requestsPerMinute: UNLIMITED,
          onRequest: () => {
            api.requests += 1;
            if (passActive) api.duringPass += 1;
          },
        },
        now: () => clock.now(),
        pageSize: 1_000,
      });
      const touchedJobs = history.jobs.filter(({ schedule }) => schedule === 'hourly').slice(0, touched);
      const newRuns = () => {
        clock.advance(STEADY_INTERVAL_MS - 60_000);
        for (const { job } of touchedJobs) {
          clock.advance(1_000);
          emulator.createExecution(job.id, { batch: `steady-${clock.now()}` }, { runTimeMs: 5_000 });
        }
        clock.advance(60_000);
      };
      // A first sync run, not measured: the client learns the API's find path, the pass its first steady state.
      newRuns();
      const warmUp = await wiring.sync({}, { health: healthDeps });
      passTimes.length = 0;
      counts.reset('steady');
      delete storeTime.steady;

      const withPass: Array<{ ms: number; summary: SyncSummary }> = [];
      const withoutPass: Array<{ ms: number; summary: SyncSummary }> = [];
      const sentDuringSync = { ...counts.all };
      for (let round = 0; round < rounds; round++) {
        newRuns();
        let started = performance.now();
        const summary = await wiring.sync({}, { health: healthDeps });
        withPass.push({ ms: performance.now() - started, summary });
        // The same run without the pass (new runs of the same jobs), for the difference.
        newRuns();
        started = performance.now();
        const bare = await wiring.sync({}, { health: undefined });
        withoutPass.push({ ms: performance.now() - started, summary: bare });
      }
      const sentBySync = diffCounts(counts.all, sentDuringSync);
      const steadyCounts = counts.perPass('steady', rounds);
      const firstCounts = counts.tagged.first ?? {};

      const steadyPassMs = median(passTimes);
      const syncMs = median(withPass.map((run) => run.ms));
      const bareMs = median(withoutPass.map((run) => run.ms));
      const lastHealth = withPass.at(-1)?.summary.health ?? null;
      const scans =
        (firstCounts.ScanCommand ?? 0) +
        (counts.tagged.steady?.ScanCommand ?? 0) +
        (sentBySync.ScanCommand ?? 0);
      const problems = [...firstLogger.problems, ...wiring.logger.problems];
      const byState = (health: HealthSummary | null) =>
        health
          ? Object.entries(health.byState)
              .filter(([, jobs]) => jobs > 0)
              .map(([state, jobs]) => `${state} ${jobs}`)
              .join(', ')
          : 'none';

      const checks: Check[] = [
        {
          label: 'the history is stored',
          ok: history.executions.length === count - (count % jobCount),
          detail: `${history.executions.length} executions over ${jobCount} jobs (${describeMix(history.jobs)})`,
        },
        {
          label: 'the first evaluation found and judged every job',
          ok:
            first.summary.error === null &&
            first.summary.discoveryComplete &&
            first.summary.jobs === jobCount,
          detail: `${first.summary.jobs} jobs (${byState(first.summary)}), discovery over ${discovery.months} month(s)`,
        },
        {
          label: 'every job in its expected state (stopped: late, failing: failing, others healthy)',
          ok: misjudged.length === 0,
          detail:
            misjudged.length === 0
              ? 'all'
              : misjudged
                  .slice(0, 3)
                  .map(({ job, schedule }) => `${job.title} (${schedule}): ${statesAfterFirst.get(job.id)}`)
                  .join('; '),
        },
        {
          label: 'each steady run stored its new runs, and its pass refreshed exactly the touched jobs',
          ok: [warmUp, ...withPass.map((run) => run.summary)].every(
            (summary) =>
              summary.error === null &&
              summary.executions.new === touched &&
              summary.health?.error === null &&
              summary.health.refreshed === touched &&
              summary.health.jobs === jobCount,
          ),
          detail: `${touched} new, ${lastHealth?.refreshed ?? 'no'} refreshed, ${lastHealth?.jobs ?? 0} judged (${byState(lastHealth)})`,
        },
        {
          label: 'the runs without the pass did not evaluate',
          ok: withoutPass.every((run) => run.summary.error === null && run.summary.health === null),
          detail: `${withoutPass.length} run(s)`,
        },
        {
          label: 'every pass was timed',
          ok: passTimes.length === rounds,
          detail: `${passTimes.length} of ${rounds}`,
        },
        {
          label: 'no warning',
          ok: problems.length === 0,
          detail: problems.slice(0, 3).join(' | ') || 'none',
        },
      ];
      const firstRequests = 0; // the first evaluation runs outside a sync run: no client exists to make one
      return {
        title: benchmark.title,
        mode,
        parameters: {
          'executions stored': history.executions.length,
          jobs: jobCount,
          'runs per job': Math.floor(count / jobCount),
          schedules: describeMix(history.jobs),
          'stored history': `${history.firstCreatedAt.slice(0, 10)} to ${history.lastCreatedAt.slice(0, 16)}Z (${history.months} months)`,
          'watermark of the first evaluation': AS_OF,
          'before each steady run': `${touched} new run(s), one each of ${touched} hourly job(s), ${STEADY_INTERVAL_MS / 60_000} min of clock later`,
          'steady rounds': `${rounds} with the pass, ${rounds} without (alternating)`,
          'event sink': 'none (changes recorded in the state table, not published)',
        },
        figures: [
          { key: 'firstMs', label: '(a) first evaluation: time', value: first.ms, unit: 'ms' },
          {
            key: 'steadyPassMs',
            label: '(b) steady evaluation (median): time',
            value: steadyPassMs,
            unit: 'ms',
            goal: { comparison: '<', target: 1_000 },
          },
          {
            key: 'steadySyncMs',
            label: '(c) steady sync run with the pass (median)',
            value: syncMs,
            unit: 'ms',
          },
          {
            key: 'bareSyncMs',
            label: '    the same run without the pass (median)',
            value: bareMs,
            unit: 'ms',
          },
          {
            key: 'passShare',
            label: "    the pass's share of the run",
            value: (100 * steadyPassMs) / syncMs,
            unit: '%',
            digits: 1,
          },
          {
            key: 'scans',
            label: 'Scans sent (both evaluations and the steady sync runs)',
            value: scans,
            unit: '',
            goal: { comparison: '=', target: 0 },
          },
          {
            key: 'passApiRequests',
            label: 'Product-Live requests made while a pass ran',
            value: firstRequests + api.duringPass,
            unit: '',
            goal: { comparison: '=', target: 0 },
          },
        ],
        checks,
        details: {
          'history written (raw BatchWriteItem)': `${formatDuration(loadMs)} (${formatNumber(history.executions.length / (loadMs / 1_000))} items/s)`,
          '(a) DynamoDB commands': describeCounts(firstCounts),
          '(a) discovery (byMonth Queries, job ids only)': `${formatDuration(discovery.ms)} over ${discovery.months} month(s)`,
          '(a) reading every job (byJob Queries) and writing the records': formatDuration(
            first.ms - discovery.ms,
          ),
          '(b) DynamoDB commands per pass': describeCounts(steadyCounts),
          '(b) store calls per pass (ms, summed)': describeStoreTime('steady', rounds),
          '(b) pass times': passTimes.map((ms) => formatDuration(ms)).join(', '),
          '(c) runs with the pass': withPass.map((run) => formatDuration(run.ms)).join(', '),
          '(c) runs without': withoutPass.map((run) => formatDuration(run.ms)).join(', '),
          '(c) DynamoDB commands of all those runs (pass included)': describeCounts(sentBySync),
          'Product-Live requests of the steady runs': `${api.requests} in ${2 * rounds + 1} runs (the pass's: ${api.duringPass})`,
          'states after the last steady pass': byState(lastHealth),
        },
        notes: [
          'The history is written straight into the executions table (BatchWriteItem, items as the sync writes ' +
            'them), then the sync state is set as a sync would leave it: the watermark at the end of the history, ' +
            'the audit done. The emulator holds only the runs created after that, so a steady sync run reads one ' +
            'page of a few new runs, as every 5 minutes in production (the clock moves 2 minutes between runs here, so that the untouched hourly jobs stay within their grace and the states stay comparable from run to run).',
          '(a) is runHealthPass over a store without any health record, as the first sync run after an upgrade ' +
            'runs it: the job ids of every month (the byMonth index, newest first, every stored execution read ' +
            'once), then one byJob Query (100 most recent runs) per job. It is bounded by the run’s time budget ' +
            'and resumes at the next run; it happens once. Goal none: it reads the whole history once.',
          '(b) is the pass inside each steady sync run (the handler’s wiring, the stores wrapped to time and ' +
            'count it): one Query of the state table’s byKind index for every record, one byJob Query per ' +
            'touched job, every job re-judged from its record, a write only for the records that changed. Its ' +
            'cost grows with the jobs, not with the executions.',
          'Commands are counted by name with a middleware on the DynamoDB client, attributed to a pass through ' +
            'AsyncLocalStorage around its store calls; the Product-Live requests are those made between the ' +
            'pass’s first read and its last write (the pass has no Product-Live client at all).',
        ],
      };
    } finally {
      await resources.close();
    }
  },
};

interface HistoryJob {
  job: EmulatorJob;
  schedule: Schedule;
}

interface History {
  jobs: HistoryJob[];
  executions: JobExecution[];
  firstCreatedAt: string;
  lastCreatedAt: string;
  months: number;
}

/** `perJob` runs of each job, back from the end of the history on its schedule; deterministic. */
function buildHistory(jobs: readonly EmulatorJob[], perJob: number): History {
  const end = Date.parse(AS_OF) - HISTORY_END_GAP_MS;
  const executions: JobExecution[] = [];
  const historyJobs: HistoryJob[] = [];
  let sequence = 0;
  for (const [index, job] of jobs.entries()) {
    const schedule = SCHEDULES[index % SCHEDULES.length] as Schedule;
    historyJobs.push({ job, schedule });
    const times = runTimes(schedule, index, perJob, end);
    for (const [runIndex, createdMs] of times.entries()) {
      sequence += 1;
      const fromLast = times.length - 1 - runIndex;
      // A failure now and then (never two in a row), the last ones of a failing job.
      const failed =
        (schedule === 'failing' && fromLast < FAILED_IN_A_ROW) ||
        (fromLast >= FAILED_IN_A_ROW && sequence % 47 === 0);
      const startedMs = createdMs + 2_000 + (sequence % 7) * 1_000;
      const durationMs = 60_000 * (2 + (index % 5)) + (sequence % 13) * 1_000;
      executions.push({
        object: 'job_execution',
        id: sequence.toString(16).padStart(24, '0'),
        jobId: job.id,
        pipelineId: job.pipelineId,
        createdAt: new Date(createdMs).toISOString(),
        startedAt: new Date(startedMs).toISOString(),
        endedAt: new Date(startedMs + durationMs).toISOString(),
        status: failed ? 'FAILED' : 'COMPLETED',
        input: { batch: `history-${sequence}`, source: 'supplier-feed', rows: 1_000 + (sequence % 500) },
        output: failed ? { error: 'The file could not be read' } : { processed: 1_000 + (sequence % 500) },
        info: { title: job.title },
      });
    }
  }
  const created = executions.map((execution) => execution.createdAt).sort();
  const firstCreatedAt = created[0] ?? AS_OF;
  const lastCreatedAt = created.at(-1) ?? AS_OF;
  const months =
    (Number(lastCreatedAt.slice(0, 4)) - Number(firstCreatedAt.slice(0, 4))) * 12 +
    Number(lastCreatedAt.slice(5, 7)) -
    Number(firstCreatedAt.slice(5, 7)) +
    1;
  return { jobs: historyJobs, executions, firstCreatedAt, lastCreatedAt, months };
}

/** createdAt of a job's runs, oldest first, the newest at or before `end` (a stopped job's days before). */
function runTimes(schedule: Schedule, index: number, count: number, end: number): number[] {
  const minute = (index * 7) % 60;
  const times: number[] = [];
  if (schedule === 'hourly' || schedule === 'failing') {
    // The last run in the 20 minutes before the end: no hourly job turns late during the steady runs (the
    // clock moves about 25 minutes over them), so every steady pass judges the same states.
    let time = end - (minute % 20) * 60_000;
    for (; times.length < count; time -= HOUR_MS) times.push(time);
  } else {
    // Daily (and weekdays) at 00:00-09:59 UTC, each job at its own time.
    const offset = (index % 10) * HOUR_MS + minute * 60_000;
    const last = schedule === 'stopped' ? end - STOPPED_FOR_MS : end;
    let day = Math.floor(last / DAY_MS) * DAY_MS;
    if (day + offset > last) day -= DAY_MS;
    for (; times.length < count; day -= DAY_MS) {
      const weekday = new Date(day).getUTCDay();
      if (schedule === 'weekdays' && (weekday === 0 || weekday === 6)) continue;
      times.push(day + offset);
    }
  }
  return times.reverse();
}

function expectedState(schedule: Schedule): HealthState {
  return schedule === 'stopped' ? 'late' : schedule === 'failing' ? 'failing' : 'healthy';
}

function describeMix(jobs: readonly HistoryJob[]): string {
  const mix = new Map<Schedule, number>();
  for (const { schedule } of jobs) mix.set(schedule, (mix.get(schedule) ?? 0) + 1);
  return [...mix].map(([schedule, jobs]) => `${jobs} ${schedule}`).join(', ');
}

type CommandCounts = Record<string, number>;

/** Counts every command sent through the DynamoDB clients of `aws` by name, and by the pass it belongs to. */
function countCommands(aws: LocalAws) {
  const all: CommandCounts = {};
  const tagged: Record<string, CommandCounts> = {};
  aws.dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown';
      all[name] = (all[name] ?? 0) + 1;
      const tag = phase.getStore();
      if (tag) {
        tagged[tag] ??= {};
        const counts = tagged[tag];
        counts[name] = (counts[name] ?? 0) + 1;
      }
      return next(args);
    },
    { step: 'initialize', name: 'countCommandsByName' },
  );
  return {
    all,
    tagged,
    reset(tag: string) {
      delete tagged[tag];
    },
    /** The tag's counts divided by the passes it ran. */
    perPass(tag: string, passes: number): CommandCounts {
      return Object.fromEntries(Object.entries(tagged[tag] ?? {}).map(([name, n]) => [name, n / passes]));
    },
  };
}

function diffCounts(after: CommandCounts, before: CommandCounts): CommandCounts {
  return Object.fromEntries(
    Object.entries(after)
      .map(([name, n]) => [name, n - (before[name] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );
}

function describeCounts(counts: CommandCounts): string {
  const names = ['QueryCommand', 'GetItemCommand', 'ScanCommand'];
  const shown = names.map((name) => `${name.replace('Command', '')} ${formatNumber(counts[name] ?? 0)}`);
  const others = Object.entries(counts)
    .filter(([name, n]) => !names.includes(name) && n > 0)
    .map(([name, n]) => `${name.replace('Command', '')} ${formatNumber(n)}`);
  return [...shown, ...others].join(', ');
}

/** Runs a pass under `tag` (its commands counted under it) and times it. */
async function measurePass(
  tag: string,
  pass: () => Promise<HealthSummary>,
): Promise<{ ms: number; summary: HealthSummary }> {
  const started = performance.now();
  const summary = await phase.run(tag, pass);
  return { ms: performance.now() - started, summary };
}

/**
 * A store whose every method runs under `tag` (its DynamoDB commands are counted under it), with `before` called
 * at each call and `timed[name]` given the time of each call of that method.
 */
function instrument<T extends object>(
  target: T,
  tag: string,
  timed: Record<string, (ms: number) => void> = {},
  before?: (name: string) => void,
): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver);
      if (typeof value !== 'function') return value;
      const name = String(property);
      return (...args: unknown[]) => {
        before?.(name);
        const started = performance.now();
        const result = phase.run(tag, () => value.apply(object, args));
        if (!(result instanceof Promise)) return result;
        return result.finally(() => {
          const ms = performance.now() - started;
          storeTime[tag] ??= {};
          const time = storeTime[tag];
          const entry = time[name] ?? { ms: 0, calls: 0 };
          time[name] = { ms: entry.ms + ms, calls: entry.calls + 1 };
          timed[name]?.(ms);
        });
      };
    },
  });
}

function describeStoreTime(tag: string, passes: number): string {
  return Object.entries(storeTime[tag] ?? {})
    .map(
      ([name, { ms, calls }]) => `${name} ${formatDuration(ms / passes)} (${formatNumber(calls / passes)})`,
    )
    .join(', ');
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
