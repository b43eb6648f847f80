// Realistic, deterministic demo data: the same seed and clock give the same jobs, executions, ids and
// files on every machine. Executions are spread over the last `days` days, run through the real pipeline
// lifecycle (so queueing shows up as startedAt > createdAt), and are inserted job by job, so that the
// "insertion" order differs from createdAt order as it might in a real database.
import { EmulatorConfigError } from './emulator-errors';
import type { ExecutionRecord, ExecutionSpec, ExecutionStore, JobRecord } from './execution-store';
import type { EmulatorFile } from './file-store';
import {
  DEFAULT_OUTCOME_WEIGHTS,
  drawRunTimeMs,
  type JobKind,
  TERMINAL_OUTCOMES,
  type TerminalOutcome,
} from './job-templates';
import { createSeededRandom, type SeededRandom } from './seeded-random';

export interface DemoOptions {
  seed?: number | string;
  /** How many executions to generate (default 400). */
  executions?: number;
  /** Over how many days before now (default 30). */
  days?: number;
  /** How many of the built-in jobs to create (default all; more cycles through them with a suffix). */
  jobs?: number;
  /** That many executions share one exact createdAt (`at`, default the middle of the period). */
  sameCreatedAt?: { count: number; at?: string };
  /**
   * The instant the generated history ends at (default: the clock's now). The local stack pins it per data
   * directory, so that a restart serves the same history and the next sync is incremental.
   */
  endAt?: string;
}

interface DemoJobTemplate {
  title: string;
  kind: JobKind;
  /** Index of the pipeline, or null for a job that cannot be run. */
  pipeline: number | null;
  /** Relative frequency of runs. */
  weight: number;
}

const DEMO_JOBS: readonly DemoJobTemplate[] = [
  { title: 'Import Schema', kind: 'import', pipeline: 0, weight: 2 },
  { title: 'Import Products from Supplier', kind: 'import-with-file', pipeline: 0, weight: 4 },
  { title: 'Export Products to Amazon', kind: 'export', pipeline: 1, weight: 4 },
  { title: 'Export Products to Google Shopping', kind: 'export', pipeline: 1, weight: 3 },
  { title: 'Publish Catalog', kind: 'publish', pipeline: 2, weight: 2 },
  { title: 'Generate Media Thumbnails', kind: 'media', pipeline: 2, weight: 2 },
  { title: 'Sync Prices', kind: 'no-files', pipeline: 0, weight: 5 },
  { title: 'Cleanup Obsolete Attributes (draft)', kind: 'import', pipeline: null, weight: 0 },
];

const PIPELINE_COUNT = 3;
const DAY_MS = 86_400_000;
const DEMO_USER_IDS = ['5443', '5461', '6120', '7012'] as const;

export interface DemoSummary {
  jobs: number;
  executions: number;
}

/** Fills the store with demo jobs and executions as of `now`. */
export function generateDemoData(store: ExecutionStore, options: DemoOptions, now: number): DemoSummary {
  const settings = validateDemoOptions(options, now);
  const random = createSeededRandom(`demo/${settings.seed}`);
  const jobs = createDemoJobs(store, settings.jobs, now, random);
  const runnable = jobs.filter((job) => job.job.pipelineId !== null && job.weight > 0);
  if (runnable.length === 0 || (settings.executions === 0 && !settings.sameCreatedAt?.count))
    return { jobs: jobs.length, executions: 0 };

  const weights = Object.fromEntries(runnable.map((job, index) => [String(index), job.weight]));
  const pickJob = (): JobRecord => runnable[Number(random.weighted(weights))]?.job ?? firstJob(runnable);
  const entries: DemoEntry[] = [];
  const add = (job: JobRecord, createdAtMs: number, role: DemoEntry['role']): void => {
    entries.push({
      job,
      createdAtMs,
      role,
      outcome: random.weighted(DEFAULT_OUTCOME_WEIGHTS),
      order: entries.length,
    });
  };

  // Open executions at `now`: one long run per pipeline, and a queue behind some of them.
  const tail: { job: JobRecord; offsetMs: number }[] = [];
  const pipelineIds = [...new Set(runnable.map((job) => job.job.pipelineId))];
  if (settings.executions >= 20) {
    for (const pipelineId of pipelineIds) {
      const onPipeline = runnable.filter((job) => job.job.pipelineId === pipelineId);
      tail.push({ job: random.pick(onPipeline).job, offsetMs: random.int(60_000, 240_000) });
    }
    for (const pipelineId of pipelineIds.slice(0, 2)) {
      const onPipeline = runnable.filter((job) => job.job.pipelineId === pipelineId);
      for (let i = random.int(1, 2); i > 0; i--)
        tail.push({ job: random.pick(onPipeline).job, offsetMs: random.int(1_000, 50_000) });
    }
  }
  const sameCount = settings.sameCreatedAt?.count ?? 0;
  const total = Math.max(settings.executions, sameCount);
  const historyCount = Math.max(0, total - tail.length - sameCount);
  const periodStart = now - settings.days * DAY_MS;
  const periodEnd = now - 10 * 60_000;
  for (let i = 0; i < historyCount; i++)
    add(pickJob(), random.int(periodStart, Math.max(periodStart, periodEnd)), 'history');
  const sameAt = settings.sameCreatedAt?.at ?? periodStart + Math.floor((now - periodStart) / 2);
  for (let i = 0; i < sameCount; i++) add(pickJob(), sameAt, 'history');
  for (const { job, offsetMs } of tail.slice(0, total - historyCount - sameCount)) {
    add(job, now - offsetMs, offsetMs >= 60_000 ? 'long-run' : 'queued');
  }
  ensureEveryOutcome(entries, random);

  // Schedule and build in createdAt order (the lifecycle is FIFO per pipeline), insert job by job.
  entries.sort((a, b) => a.createdAtMs - b.createdAtMs || a.order - b.order);
  const records: { record: ExecutionRecord; jobIndex: number }[] = [];
  const filesBefore = store.fileCount;
  const jobIndex = new Map(jobs.map((job, index) => [job.job.id, index]));
  for (const entry of entries) {
    const pipelineId = entry.job.pipelineId;
    if (pipelineId === null) continue;
    const runTimeMs =
      entry.role === 'long-run'
        ? random.int(30 * 60_000, 60 * 60_000)
        : drawRunTimeMs(entry.job.kind, entry.outcome, random);
    const spec: ExecutionSpec = {
      job: entry.job,
      createdAtMs: entry.createdAtMs,
      userId: random.pick(DEMO_USER_IDS),
      input: {},
      runTimeMs,
      outcome: entry.outcome,
    };
    const schedule = store.schedule(pipelineId, entry.createdAtMs, runTimeMs, random);
    records.push({ record: store.build(spec, schedule, random), jobIndex: jobIndex.get(entry.job.id) ?? 0 });
  }
  ensureFileSizeExtremes(store.filesCreatedSince(filesBefore).filter((file) => file.availableAtMs <= now));
  records.sort((a, b) => a.jobIndex - b.jobIndex || a.record.createdAtMs - b.record.createdAtMs);
  for (const { record } of records) store.insert(record);
  return { jobs: jobs.length, executions: records.length };
}

interface DemoEntry {
  job: JobRecord;
  createdAtMs: number;
  role: 'history' | 'long-run' | 'queued';
  outcome: TerminalOutcome;
  order: number;
}

interface DemoSettings {
  seed: number | string;
  executions: number;
  days: number;
  jobs: number;
  sameCreatedAt: { count: number; at?: number } | undefined;
}

function validateDemoOptions(options: DemoOptions, now: number): DemoSettings {
  const executions = options.executions ?? 400;
  if (!Number.isInteger(executions) || executions < 0) {
    throw new EmulatorConfigError(`demo.executions must be a non-negative integer, got ${executions}`);
  }
  const days = options.days ?? 30;
  if (!(typeof days === 'number' && days > 0))
    throw new EmulatorConfigError(`demo.days must be > 0, got ${days}`);
  const jobs = options.jobs ?? DEMO_JOBS.length;
  if (!Number.isInteger(jobs) || jobs < 1)
    throw new EmulatorConfigError(`demo.jobs must be an integer >= 1, got ${jobs}`);
  let sameCreatedAt: DemoSettings['sameCreatedAt'];
  if (options.sameCreatedAt) {
    const { count, at } = options.sameCreatedAt;
    if (!Number.isInteger(count) || count < 0) {
      throw new EmulatorConfigError(`demo.sameCreatedAt.count must be a non-negative integer, got ${count}`);
    }
    const atMs = at === undefined ? undefined : Date.parse(at);
    if (atMs !== undefined && !(Number.isFinite(atMs) && atMs <= now)) {
      throw new EmulatorConfigError(
        `demo.sameCreatedAt.at must be an ISO date not after the clock, got ${at}`,
      );
    }
    sameCreatedAt = atMs === undefined ? { count } : { count, at: atMs };
  }
  return { seed: options.seed ?? 1, executions, days, jobs, sameCreatedAt };
}

function createDemoJobs(
  store: ExecutionStore,
  count: number,
  now: number,
  random: SeededRandom,
): { job: JobRecord; weight: number }[] {
  const createdAtSeconds = Math.floor((now - 400 * DAY_MS) / 1000);
  const objectId = (): string => createdAtSeconds.toString(16).padStart(8, '0').slice(-8) + random.hex(16);
  const pipelineIds = Array.from({ length: PIPELINE_COUNT }, objectId);
  const jobs: { job: JobRecord; weight: number }[] = [];
  for (let i = 0; i < count; i++) {
    const template = DEMO_JOBS[i % DEMO_JOBS.length] ?? DEMO_JOBS[0];
    if (!template) break;
    const copy = Math.floor(i / DEMO_JOBS.length);
    let id = objectId();
    while (store.hasJobId(id)) id = objectId();
    const job = store.addJob({
      id,
      title: copy === 0 ? template.title : `${template.title} (${copy + 1})`,
      pipelineId: template.pipeline === null ? null : (pipelineIds[template.pipeline] ?? null),
      kind: template.kind,
    });
    jobs.push({ job, weight: template.weight });
  }
  return jobs;
}

/** Every terminal status shows up in the history: missing ones are given to some of the oldest runs. */
function ensureEveryOutcome(entries: DemoEntry[], random: SeededRandom): void {
  const history = entries
    .filter((entry) => entry.role === 'history')
    .sort((a, b) => a.createdAtMs - b.createdAtMs);
  const oldest = history.slice(0, Math.max(TERMINAL_OUTCOMES.length, Math.floor(history.length / 4)));
  const counts = new Map<TerminalOutcome, number>();
  for (const entry of history) counts.set(entry.outcome, (counts.get(entry.outcome) ?? 0) + 1);
  const forced = new Set<DemoEntry>();
  for (const outcome of TERMINAL_OUTCOMES) {
    if ((counts.get(outcome) ?? 0) > 0) continue;
    const candidates = oldest.filter((entry) => !forced.has(entry) && (counts.get(entry.outcome) ?? 0) > 1);
    if (candidates.length === 0) return;
    const entry = random.pick(candidates);
    counts.set(entry.outcome, (counts.get(entry.outcome) ?? 0) - 1);
    counts.set(outcome, 1);
    entry.outcome = outcome;
    forced.add(entry);
  }
}

/** The demo shows both extremes of file size, among files visible now: an empty file and one of a few MB. */
function ensureFileSizeExtremes(files: readonly EmulatorFile[]): void {
  if (files.length < 2) return;
  if (!files.some((file) => file.size === 0)) {
    // An export or archive that came out empty, as real ones sometimes do.
    const file =
      files.find((candidate) => /^(products-part|thumbnails)-/.test(candidate.filename)) ?? files[0];
    if (file) file.size = 0;
  }
  if (!files.some((file) => file.size >= 2 * 1024 * 1024)) {
    const file = files.find((candidate) => candidate.size > 0);
    if (file) file.size = 3 * 1024 * 1024 + 123;
  }
}

function firstJob(jobs: readonly { job: JobRecord }[]): JobRecord {
  const first = jobs[0];
  if (!first) throw new EmulatorConfigError('demo data needs at least one runnable job');
  return first.job;
}
