// What jobs of each kind produce: run times, and the shape of their input and output, modelled on the
// examples of the reference page (an XML report as `{url, filename}`, `subWorkflowId`) and on the
// documented `data_factory_file` objects, which real jobs put at any depth of `input` and `output`.
import type { EmulatorFile } from './file-store';
import type { JsonObject } from './json-value';
import type { SeededRandom } from './seeded-random';

export const TERMINAL_OUTCOMES = ['COMPLETED', 'USER_ERROR', 'FAILED', 'TERMINATED', 'TIMEDOUT'] as const;
export type TerminalOutcome = (typeof TERMINAL_OUTCOMES)[number];

/** Mostly successful, like a healthy account. */
export const DEFAULT_OUTCOME_WEIGHTS: Readonly<Record<TerminalOutcome, number>> = {
  COMPLETED: 80,
  USER_ERROR: 8,
  FAILED: 6,
  TERMINATED: 3,
  TIMEDOUT: 3,
};

/**
 * The kinds of jobs the emulator knows:
 * - `import`: report only; `import-with-file`: an uploaded file in `input.file`, report and counters;
 * - `export`: `output.files[]` and `output.result.export.file` (data factory files) and a report;
 * - `publish`: a large PDF in `output.result.export.file` and a report;
 * - `media`: several archives in `output.files[]`, some empty; `no-files`: no file anywhere.
 */
export const JOB_KINDS = ['import', 'import-with-file', 'export', 'publish', 'media', 'no-files'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** Run time range [min, max] in ms of a successful run of each kind. */
export const RUN_TIME_MS: Readonly<Record<JobKind, readonly [number, number]>> = {
  import: [5_000, 90_000],
  'import-with-file': [20_000, 300_000],
  export: [30_000, 900_000],
  publish: [60_000, 1_200_000],
  media: [30_000, 600_000],
  'no-files': [2_000, 30_000],
};

/** Draws how long a run of `kind` lasts given its outcome (a timeout lasts the job's time limit). */
export function drawRunTimeMs(kind: JobKind, outcome: TerminalOutcome, random: SeededRandom): number {
  const [min, max] = RUN_TIME_MS[kind];
  if (outcome === 'TIMEDOUT') return max * 2;
  if (outcome === 'USER_ERROR') return random.int(Math.round(min / 2), min * 3);
  return Math.round(logUniform(random, min, max));
}

/** What output planning needs: randomness, the run's instants, and a way to register files. */
export interface FilePlanContext {
  random: SeededRandom;
  createdAtMs: number;
  startedAtMs: number;
  endedAtMs: number;
  /** Registers a downloadable file and returns it. */
  createFile(spec: { filename: string; size: number; availableAtMs: number }): EmulatorFile;
  /** The stored form of a file's URL (the HTTP layer puts the public base URL in front when rendering). */
  urlOf(file: EmulatorFile): string;
}

/** Extra `input` fields a run of `kind` starts with (an uploaded file for `import-with-file`). */
export function planInput(kind: JobKind, context: FilePlanContext): JsonObject {
  if (kind !== 'import-with-file') return {};
  const { random } = context;
  const uploadedAt = context.createdAtMs - random.int(5_000, 3_600_000);
  const file = context.createFile({
    filename: random.pick(['supplier-products.csv', 'catalog-update.csv', 'supplier-feed.xml', 'items.json']),
    size: sizeOf(random, 'csv'),
    availableAtMs: uploadedAt,
  });
  return { file: dataFactoryFile(file, uploadedAt, uploadedAt, context), separator: ';' };
}

/** The `output` of a run of `kind` that ended with `outcome` (shown by the API once it has ended). */
export function planOutput(kind: JobKind, outcome: TerminalOutcome, context: FilePlanContext): JsonObject {
  const { random } = context;
  const output: JsonObject = { subWorkflowId: random.uuid() };
  if (kind === 'no-files') {
    if (outcome === 'COMPLETED') output.summary = { updatedPrices: random.int(0, 5_000) };
    else output.error = { message: errorMessage(outcome, random) };
    return output;
  }
  if (outcome !== 'COMPLETED') {
    const hasReport =
      outcome === 'USER_ERROR'
        ? random.chance(0.9)
        : outcome === 'FAILED'
          ? random.chance(0.5)
          : random.chance(0.2);
    if (hasReport) output.report = report(context);
    if (outcome === 'USER_ERROR' || outcome === 'FAILED')
      output.error = { message: errorMessage(outcome, random) };
    return output;
  }
  switch (kind) {
    case 'import':
      output.report = report(context);
      break;
    case 'import-with-file':
      output.result = { importedItems: random.int(0, 20_000), rejectedItems: random.int(0, 40) };
      output.report = report(context);
      break;
    case 'export': {
      const files = [];
      for (let part = 1, parts = random.int(1, 3); part <= parts; part++) {
        files.push(outputFile(context, `products-part-${part}.csv`, 'csv'));
      }
      output.files = files;
      output.result = {
        export: { file: outputFile(context, 'products.json', 'json'), items: random.int(1, 50_000) },
      };
      output.report = report(context);
      break;
    }
    case 'publish':
      output.result = { export: { file: outputFile(context, 'catalog.pdf', 'pdf') } };
      output.report = report(context);
      break;
    case 'media': {
      const files = [];
      for (let part = 1, parts = random.int(1, 4); part <= parts; part++) {
        files.push(outputFile(context, `thumbnails-${part}.zip`, 'zip'));
      }
      output.files = files;
      break;
    }
  }
  return output;
}

/** A `data_factory_file` object as the API shows it. */
function dataFactoryFile(
  file: EmulatorFile,
  createdAtMs: number,
  updatedAtMs: number,
  context: FilePlanContext,
): JsonObject {
  return {
    object: 'data_factory_file',
    id: file.id,
    createdAt: new Date(createdAtMs).toISOString(),
    updatedAt: new Date(updatedAtMs).toISOString(),
    url: context.urlOf(file),
  };
}

function outputFile(context: FilePlanContext, filename: string, sizeClass: SizeClass): JsonObject {
  const createdAt = Math.max(context.startedAtMs, context.endedAtMs - context.random.int(0, 3_000));
  const updatedAt = Math.min(context.endedAtMs, createdAt + context.random.int(0, 500));
  const file = context.createFile({
    filename,
    size: sizeOf(context.random, sizeClass),
    availableAtMs: context.endedAtMs,
  });
  return dataFactoryFile(file, createdAt, updatedAt, context);
}

/** The plain `{url, filename}` report link of the reference page's GET example. */
function report(context: FilePlanContext): JsonObject {
  const file = context.createFile({
    filename: 'report.xml',
    size: sizeOf(context.random, 'xml'),
    availableAtMs: context.endedAtMs,
  });
  return { url: context.urlOf(file), filename: file.filename };
}

type SizeClass = 'xml' | 'csv' | 'json' | 'pdf' | 'zip';

const SIZE_RANGES: Readonly<Record<SizeClass, readonly [number, number, number]>> = {
  // [min, max, probability of an empty file]
  xml: [600, 200_000, 0.01],
  csv: [1_000, 5_000_000, 0.04],
  json: [300, 500_000, 0.02],
  pdf: [1_000_000, 8_000_000, 0],
  zip: [10_000, 3_000_000, 0.08],
};

function sizeOf(random: SeededRandom, sizeClass: SizeClass): number {
  const [min, max, emptyChance] = SIZE_RANGES[sizeClass];
  if (random.chance(emptyChance)) return 0;
  return Math.round(logUniform(random, min, max));
}

function logUniform(random: SeededRandom, min: number, max: number): number {
  return Math.exp(Math.log(min) + random.next() * (Math.log(max) - Math.log(min)));
}

function errorMessage(outcome: TerminalOutcome, random: SeededRandom): string {
  switch (outcome) {
    case 'USER_ERROR':
      return random.pick([
        'Invalid input file: column "ean" is missing',
        'Quota exceeded for this account',
        'The table "Products" does not exist',
      ]);
    case 'FAILED':
      return random.pick([
        'Task "transform" failed: out of memory',
        'Upstream service unavailable',
        'Unexpected error',
      ]);
    case 'TERMINATED':
      return 'Stopped by a user';
    case 'TIMEDOUT':
      return 'The job exceeded its time limit';
    default:
      return '';
  }
}
