// The emulator's state: jobs, pipelines and job executions, plus the orders the API can list them in.
// Lifecycle contract: a pipeline runs one execution at a time, FIFO. Run times and outcomes are drawn
// when an execution is created, so its whole schedule (startedAt, endedAt) is fixed then, and the status
// at any instant is a pure function of the clock: reads "advance" to now in O(1) per execution, and the
// sorted orders (which depend only on createdAt and id) stay cached across requests.
import { createHash } from 'node:crypto';
import type { JobExecution } from '#core/product-live/product-live.schema';
import { JobWithoutPipelineError, UnknownExecutionError, UnknownJobError } from './emulator-errors';
import {
  contentTypeFor,
  downloadPathOf,
  type EmulatorFile,
  type FileStore,
  type StoredContent,
} from './file-store';
import {
  type FilePlanContext,
  findDataFactoryFiles,
  type InputFile,
  type JobKind,
  planInput,
  planOutput,
  type TerminalOutcome,
} from './job-templates';
import { cloneJson, type JsonObject, type JsonValue } from './json-value';
import { hashString, type SeededRandom } from './seeded-random';

export const EXECUTION_ORDERS = ['ascending', 'descending', 'insertion', 'shuffled'] as const;
/** The order list and find results come in: by createdAt (then id), as inserted, or a stable shuffle. */
export type ExecutionOrder = (typeof EXECUTION_ORDERS)[number];

export type ExecutionStatus = 'PENDING' | 'RUNNING' | TerminalOutcome;

/**
 * Stored file URLs start with this marker instead of a host: the public base URL is only known once the
 * server listens (port 0), so it is put in front when an execution is rendered.
 */
const BASE_URL_MARKER = 'emulator-base-url:';

/** Top-level fields of a job execution, as documented. Unknown extra fields are added per execution. */
const DOCUMENTED_FIELDS: ReadonlySet<string> = new Set([
  'object',
  'id',
  'jobId',
  'pipelineId',
  'createdAt',
  'startedAt',
  'endedAt',
  'status',
  'input',
  'output',
  'info',
]);
const DATE_FIELDS: ReadonlySet<string> = new Set(['createdAt', 'startedAt', 'endedAt']);

export interface JobRecord {
  id: string;
  title: string;
  pipelineId: string | null;
  kind: JobKind;
  /** Run time of this job's runs created at run time (wins over the lifecycle option). */
  runTimeMs?: number;
  /** Terminal status of this job's runs created at run time (instead of a weighted draw). */
  outcome?: TerminalOutcome;
}

export interface ExecutionRecord {
  readonly id: string;
  /** Position in insertion order. */
  seq: number;
  readonly jobId: string;
  readonly pipelineId: string;
  readonly title: string;
  readonly createdAtMs: number;
  /** From when the API shows the execution (list, find, get): its createdAt unless it becomes visible late. */
  visibleFromMs: number;
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  readonly outcome: TerminalOutcome;
  readonly userId: string;
  input: JsonObject;
  /** Shown from endedAt on; `{}` before. */
  output: JsonObject;
  /** Undocumented top-level fields (the `unknownFields` option). */
  readonly extra: JsonObject | undefined;
  readonly shuffleKey: number;
  /** The last rendering: valid for the same lifecycle phase and base URL until input/output change. */
  rendered?: RenderedExecution;
}

/** An execution's JSON text in one lifecycle phase, and its input/output with absolute URLs (for find). */
interface RenderedExecution {
  phase: Phase;
  baseUrl: string;
  text: string;
  input: JsonObject;
  output: JsonObject;
}

/** 0: PENDING, 1: RUNNING, 2: ended. Nothing else about an execution changes with time. */
type Phase = 0 | 1 | 2;

/** A new execution to build: who runs which job when, and how its run is meant to go. */
export interface ExecutionSpec {
  job: JobRecord;
  createdAtMs: number;
  userId: string;
  /** The caller's input (the platform context is added). */
  input: JsonObject;
  runTimeMs: number;
  outcome: TerminalOutcome;
}

export interface Schedule {
  startedAtMs: number;
  endedAtMs: number;
}

interface PipelineState {
  /** When the pipeline's last accepted execution ends (it is free from then on). */
  busyUntilMs: number;
}

export interface ExecutionStoreOptions {
  accountId: string;
  files: FileStore;
  unknownFields: boolean;
  /** Upper bound on the size of generated input and output files (tests keep them small). */
  maxGeneratedFileBytes: number;
}

export class ExecutionStore {
  private readonly jobsById = new Map<string, JobRecord>();
  private readonly pipelines = new Map<string, PipelineState>();
  private readonly records: ExecutionRecord[] = [];
  private readonly recordsById = new Map<string, ExecutionRecord>();
  private readonly extraFields = new Set<string>();
  private readonly indexes: Record<Exclude<ExecutionOrder, 'insertion'>, SortedIndex>;

  constructor(private readonly options: ExecutionStoreOptions) {
    this.indexes = {
      ascending: new SortedIndex(compareAscending),
      descending: new SortedIndex((a, b) => compareAscending(b, a)),
      shuffled: new SortedIndex((a, b) => a.shuffleKey - b.shuffleKey || compareIds(a.id, b.id)),
    };
  }

  get accountId(): string {
    return this.options.accountId;
  }

  addJob(job: JobRecord): JobRecord {
    if (this.jobsById.has(job.id)) throw new RangeError(`job ${job.id} already exists`);
    this.jobsById.set(job.id, job);
    if (job.pipelineId !== null && !this.pipelines.has(job.pipelineId)) {
      this.pipelines.set(job.pipelineId, { busyUntilMs: Number.NEGATIVE_INFINITY });
    }
    return job;
  }

  jobs(): JobRecord[] {
    return [...this.jobsById.values()];
  }

  hasJobId(id: string): boolean {
    return this.jobsById.has(id);
  }

  hasPipelineId(id: string): boolean {
    return this.pipelines.has(id);
  }

  /** The job to run, or UnknownJobError / JobWithoutPipelineError as the API answers. */
  runnableJob(jobId: string): JobRecord & { pipelineId: string } {
    const job = this.jobsById.get(jobId);
    if (!job) throw new UnknownJobError(jobId);
    if (job.pipelineId === null) throw new JobWithoutPipelineError(jobId);
    return { ...job, pipelineId: job.pipelineId };
  }

  /**
   * Queues a run of `runTimeMs` on a pipeline (FIFO): it starts at once when the pipeline is idle at
   * `createdAtMs` (sometimes a few ms *before* createdAt, as seen in a real response, because the two
   * instants are taken by different services), otherwise shortly after the previous run ends.
   */
  schedule(pipelineId: string, createdAtMs: number, runTimeMs: number, random: SeededRandom): Schedule {
    const pipeline = this.pipelines.get(pipelineId) ?? { busyUntilMs: Number.NEGATIVE_INFINITY };
    this.pipelines.set(pipelineId, pipeline);
    const skewMs = random.chance(0.3) ? random.int(1, 60) : 0;
    const gapMs = random.int(50, 1_500);
    const startedAtMs =
      pipeline.busyUntilMs <= createdAtMs
        ? Math.max(createdAtMs - skewMs, pipeline.busyUntilMs)
        : pipeline.busyUntilMs + gapMs;
    const endedAtMs = startedAtMs + Math.max(1, Math.round(runTimeMs));
    pipeline.busyUntilMs = endedAtMs;
    return { startedAtMs, endedAtMs };
  }

  /** Builds an execution (id, input with context, planned output and its files) without storing it. */
  build(spec: ExecutionSpec, schedule: Schedule, random: SeededRandom): ExecutionRecord {
    const { job } = spec;
    if (job.pipelineId === null) throw new JobWithoutPipelineError(job.id);
    const id = this.newExecutionId(spec.createdAtMs, random);
    const files: FilePlanContext = {
      random,
      executionId: id,
      jobId: job.id,
      createdAtMs: spec.createdAtMs,
      startedAtMs: schedule.startedAtMs,
      endedAtMs: schedule.endedAtMs,
      inputFiles: this.inputFilesOf(spec.input),
      createFile: (file) =>
        this.createFile({ ...file, size: Math.min(file.size, this.options.maxGeneratedFileBytes), random }),
      createStoredFile: ({ filename, bytes, availableAtMs }) =>
        this.createFile({
          filename,
          size: bytes.length,
          availableAtMs,
          random,
          content: { kind: 'memory', bytes },
          sha256: createHash('sha256').update(bytes).digest('hex'),
        }),
      urlOf: (file) => this.urlOf(file),
    };
    const plannedInput = planInput(job.kind, files);
    const output = planOutput(job.kind, spec.outcome, files);
    const extra = drawExtraFields(random);
    return {
      id,
      seq: -1,
      jobId: job.id,
      pipelineId: job.pipelineId,
      title: job.title,
      createdAtMs: spec.createdAtMs,
      visibleFromMs: spec.createdAtMs,
      startedAtMs: schedule.startedAtMs,
      endedAtMs: schedule.endedAtMs,
      outcome: spec.outcome,
      userId: spec.userId,
      input: this.withContext({ ...plannedInput, ...spec.input }, job.id, spec.userId),
      output,
      extra: this.options.unknownFields ? extra : undefined,
      shuffleKey: hashString(id),
    };
  }

  /** Stores a built execution at the end of the insertion order. */
  insert(record: ExecutionRecord): ExecutionRecord {
    if (this.recordsById.has(record.id)) throw new RangeError(`execution ${record.id} already exists`);
    record.seq = this.records.length;
    this.records.push(record);
    this.recordsById.set(record.id, record);
    for (const key of Object.keys(record.extra ?? {})) this.extraFields.add(key);
    for (const index of Object.values(this.indexes)) index.insert(record);
    return record;
  }

  get(id: string): ExecutionRecord | undefined {
    return this.recordsById.get(id);
  }

  /** Deletes an execution (the platform purged it): no endpoint returns it from now on. */
  remove(id: string): void {
    const record = this.require(id);
    this.recordsById.delete(id);
    this.records.splice(this.records.indexOf(record), 1);
    for (const index of Object.values(this.indexes)) index.remove(record);
  }

  require(id: string): ExecutionRecord {
    const record = this.recordsById.get(id);
    if (!record) throw new UnknownExecutionError(id);
    return record;
  }

  get size(): number {
    return this.records.length;
  }

  /** All executions in the given order (a cached array: do not mutate). */
  ordered(order: ExecutionOrder): readonly ExecutionRecord[] {
    if (order === 'insertion') return this.records;
    return this.indexes[order].get(this.records);
  }

  /** Replaces the caller part of an execution's input; the platform context is kept. */
  setInput(id: string, input: JsonObject): void {
    const record = this.require(id);
    record.input = this.withContext(input, record.jobId, record.userId);
    record.rendered = undefined;
  }

  /** Replaces an execution's output (still shown only once the execution has ended). */
  setOutput(id: string, output: JsonObject): void {
    const record = this.require(id);
    record.output = output;
    record.rendered = undefined;
  }

  /** Registers a file of this account with a fresh id (generated bytes, unless `content` says where they are). */
  createFile(spec: {
    filename: string;
    size: number;
    availableAtMs: number;
    random: SeededRandom;
    contentType?: string;
    redirectTo?: string;
    content?: StoredContent;
    sha256?: string;
  }): EmulatorFile {
    let id = spec.random.hex(64);
    while (this.options.files.has(id)) id = spec.random.hex(64);
    return this.options.files.add({
      id,
      accountId: this.options.accountId,
      filename: spec.filename,
      size: spec.size,
      contentType: spec.contentType ?? contentTypeFor(spec.filename),
      availableAtMs: spec.availableAtMs,
      ...(spec.redirectTo === undefined ? {} : { redirectTo: spec.redirectTo }),
      ...(spec.content === undefined ? {} : { content: spec.content }),
      ...(spec.sha256 === undefined ? {} : { sha256: spec.sha256 }),
    });
  }

  /** The `data_factory_file` objects of a caller's input, each with the file of this emulator it names. */
  private inputFilesOf(input: JsonObject): InputFile[] {
    const files = this.options.files;
    return findDataFactoryFiles(input).map(({ path, reference }) => {
      const byId = typeof reference.id === 'string' ? files.get(reference.id) : undefined;
      const file = byId ?? (typeof reference.url === 'string' ? files.resolve(reference.url) : undefined);
      return { path, reference, file };
    });
  }

  get fileCount(): number {
    return this.options.files.size;
  }

  /** Files registered after the first `count` (registration order). */
  filesCreatedSince(count: number): EmulatorFile[] {
    return this.options.files.all().slice(count);
  }

  /** The stored (base-less) URL of a file. */
  urlOf(file: EmulatorFile): string {
    return `${BASE_URL_MARKER}${downloadPathOf(file)}`;
  }

  /** True when `name` can be queried: a documented field or an unknown field some execution has. */
  isKnownField(name: string): boolean {
    return DOCUMENTED_FIELDS.has(name) || this.extraFields.has(name);
  }

  isDateField(name: string): boolean {
    return DATE_FIELDS.has(name);
  }

  /** A top-level field as the find query sees it at `now` (dates as epoch ms, absent as undefined). */
  readField(record: ExecutionRecord, field: string, now: number, baseUrl: string): unknown {
    switch (field) {
      case 'object':
        return 'job_execution';
      case 'id':
        return record.id;
      case 'jobId':
        return record.jobId;
      case 'pipelineId':
        return record.pipelineId;
      case 'createdAt':
        return record.createdAtMs;
      case 'startedAt':
        return now >= record.startedAtMs ? record.startedAtMs : undefined;
      case 'endedAt':
        return now >= record.endedAtMs ? record.endedAtMs : undefined;
      case 'status':
        return statusAt(record, now);
      // Shared, cached views: the find compiler only reads them.
      case 'input':
        return this.rendering(record, now, baseUrl).input;
      case 'output':
        return this.rendering(record, now, baseUrl).output;
      case 'info':
        return { title: record.title };
      default:
        return record.extra?.[field];
    }
  }

  /** The execution exactly as the API returns it at `now`, as JSON text. */
  renderText(record: ExecutionRecord, now: number, baseUrl: string): string {
    return this.rendering(record, now, baseUrl).text;
  }

  /** The execution exactly as the API returns it at `now`: a fresh deep copy. */
  render(record: ExecutionRecord, now: number, baseUrl: string): JobExecution {
    return JSON.parse(this.renderText(record, now, baseUrl));
  }

  // An execution changes only at startedAt and endedAt, so most requests reuse its last rendering: list
  // and find pages are concatenations of cached texts.
  private rendering(record: ExecutionRecord, now: number, baseUrl: string): RenderedExecution {
    const phase: Phase = now < record.startedAtMs ? 0 : now < record.endedAtMs ? 1 : 2;
    const cached = record.rendered;
    if (cached && cached.phase === phase && cached.baseUrl === baseUrl) return cached;
    const input = renderJson(record.input, baseUrl);
    const output = phase === 2 ? renderJson(record.output, baseUrl) : {};
    // Key order follows the reference page's examples.
    const view: JobExecution = {
      object: 'job_execution',
      jobId: record.jobId,
      id: record.id,
      pipelineId: record.pipelineId,
      createdAt: new Date(record.createdAtMs).toISOString(),
      ...(phase === 2 ? { endedAt: new Date(record.endedAtMs).toISOString() } : {}),
      input,
      ...(phase > 0 ? { startedAt: new Date(record.startedAtMs).toISOString() } : {}),
      status: statusAt(record, now),
      output,
      info: { title: record.title },
      ...record.extra,
    };
    const rendered: RenderedExecution = { phase, baseUrl, text: JSON.stringify(view), input, output };
    record.rendered = rendered;
    return rendered;
  }

  private withContext(input: JsonObject, jobId: string, userId: string): JsonObject {
    const accountId = this.options.accountId;
    return {
      ...input,
      context: { jobAccountId: accountId, jobId, userShardId: accountId, userAccountId: accountId, userId },
    };
  }

  /** A MongoDB-style ObjectId, as Product-Live's ids are: creation seconds, then random bytes. */
  private newExecutionId(createdAtMs: number, random: SeededRandom): string {
    const prefix = Math.max(0, Math.floor(createdAtMs / 1000))
      .toString(16)
      .padStart(8, '0')
      .slice(-8);
    let id = prefix + random.hex(16);
    while (this.recordsById.has(id)) id = prefix + random.hex(16);
    return id;
  }
}

/** The status of an execution at `now`. */
function statusAt(record: ExecutionRecord, now: number): ExecutionStatus {
  if (now < record.startedAtMs) return 'PENDING';
  if (now < record.endedAtMs) return 'RUNNING';
  return record.outcome;
}

/** A copy of stored JSON with file URLs made absolute. */
function renderJson(value: JsonObject, baseUrl: string): JsonObject {
  return cloneJson(value, (text) =>
    text.startsWith(BASE_URL_MARKER) ? baseUrl + text.slice(BASE_URL_MARKER.length) : text,
  );
}

// Drawn for every execution (so that turning `unknownFields` on does not change the rest of the data),
// kept only when the option is on.
function drawExtraFields(random: SeededRandom): JsonObject | undefined {
  const roll = random.next();
  const priority = random.int(1, 5);
  const tag = random.pick(['nightly', 'manual', 'api', 'retry', 'marketplace']);
  if (roll < 0.15) return { priority };
  if (roll < 0.3) return { tags: [tag, 'emulator'] };
  if (roll < 0.35) return { priority, trigger: { type: 'schedule', cron: '0 2 * * *' } satisfies JsonValue };
  return undefined;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareAscending(a: ExecutionRecord, b: ExecutionRecord): number {
  return a.createdAtMs - b.createdAtMs || compareIds(a.id, b.id);
}

/** A lazily sorted copy of the executions, kept sorted by binary insertion once built. */
class SortedIndex {
  private items: ExecutionRecord[] | undefined;

  constructor(private readonly compare: (a: ExecutionRecord, b: ExecutionRecord) => number) {}

  get(all: readonly ExecutionRecord[]): readonly ExecutionRecord[] {
    this.items ??= [...all].sort(this.compare);
    return this.items;
  }

  remove(record: ExecutionRecord): void {
    const position = this.items?.indexOf(record) ?? -1;
    if (position >= 0) this.items?.splice(position, 1);
  }

  insert(record: ExecutionRecord): void {
    const items = this.items;
    if (!items) return;
    let low = 0;
    let high = items.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const item = items[middle];
      if (item !== undefined && this.compare(item, record) <= 0) low = middle + 1;
      else high = middle;
    }
    items.splice(low, 0, record);
  }
}
