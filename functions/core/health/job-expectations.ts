// Layer flow: the `jobExpectations` CDK context key, the sync's JOB_EXPECTATIONS variable and `npm start --
// --job-expectations FILE` -> this schema -> the expectations a user set, per job or for every job (`*`), which
// win over what the health pass learns (docs/health.md "Settings"). Strict: an unknown key, a bad duration or a
// bad job id is an error naming where it is.
import * as z from '../zod';
import { parseDurationText } from './durations';

/** The key that sets expectations for every job (a job's own entry wins field by field). */
const EVERY_JOB = '*';

/** What a user may set for a job, as the JSON gives it. */
const EXPECTATION_FIELDS = ['every', 'maxConsecutiveFailures', 'maxDuration', 'grace'] as const;

/** `every: "never"`: the job runs on demand (or is retired), its lateness is not judged. */
const NEVER = 'never';

/** An expectation as set, in milliseconds; a field left out is learned (or its default). */
export interface SetExpectation {
  /** The interval between runs; null: never late (`"never"`). */
  everyMs?: number | null;
  maxConsecutiveFailures?: number;
  maxDurationMs?: number;
  graceMs?: number;
}

/** Expectations by job id, and `*` for every job. */
export type JobExpectations = Readonly<Record<string, SetExpectation>>;

const JOB_ID = /^[0-9a-f]{24}$/i;
const MAX_FAILURES = 1_000;
/** The longest interval or duration that makes sense to expect (a year). */
const MAX_MS = 366 * 86_400_000;

const DURATION_HELP = 'a duration such as 30m, 24h or 7d';

/** The shape the message of a bad value names. */
export const JOB_EXPECTATIONS_HELP =
  'a JSON object of job expectations, {"<job id>" or "*": {"every", "maxConsecutiveFailures", "maxDuration", "grace"}}';

type Problem = { path: Array<string>; message: string };

/** Checks a parsed JSON value; returns the expectations, or the first problem found (with where it is). */
export function checkJobExpectations(
  value: unknown,
): { expectations: JobExpectations } | { problem: Problem } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { problem: { path: [], message: `expected an object, got ${describe(value)}` } };
  }
  const expectations: Record<string, SetExpectation> = {};
  for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
    if (key !== EVERY_JOB && !JOB_ID.test(key)) {
      return {
        problem: {
          path: [key],
          message: `expected a job id (24 hexadecimal characters) or "${EVERY_JOB}" as a key`,
        },
      };
    }
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      return { problem: { path: [key], message: `expected an object, got ${describe(entry)}` } };
    }
    const set: SetExpectation = {};
    for (const [field, raw] of Object.entries(entry as Record<string, unknown>)) {
      const problem = setField(set, field, raw, [key, field]);
      if (problem) return { problem };
    }
    expectations[key.toLowerCase() === EVERY_JOB ? EVERY_JOB : key.toLowerCase()] = set;
  }
  return { expectations };
}

/** Sets one field of a job's expectation from its raw value; the problem, when the field or value is wrong. */
function setField(set: SetExpectation, field: string, raw: unknown, at: string[]): Problem | undefined {
  switch (field) {
    case 'every': {
      if (raw === NEVER) {
        set.everyMs = null;
        return undefined;
      }
      const ms = duration(raw);
      if (ms === undefined) {
        return { path: at, message: `expected ${DURATION_HELP} or "${NEVER}", got ${describe(raw)}` };
      }
      set.everyMs = ms;
      return undefined;
    }
    case 'maxDuration':
    case 'grace': {
      const ms = duration(raw);
      if (ms === undefined) return { path: at, message: `expected ${DURATION_HELP}, got ${describe(raw)}` };
      if (field === 'maxDuration') set.maxDurationMs = ms;
      else set.graceMs = ms;
      return undefined;
    }
    case 'maxConsecutiveFailures': {
      if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 1 || raw > MAX_FAILURES) {
        return { path: at, message: `expected an integer from 1 to ${MAX_FAILURES}, got ${describe(raw)}` };
      }
      set.maxConsecutiveFailures = raw;
      return undefined;
    }
    default:
      return {
        path: at.slice(0, 1),
        message: `unknown field "${field}" (expected ${EXPECTATION_FIELDS.join(', ')})`,
      };
  }
}

/** The schema of the setting (JSON text, or the value itself from CDK context): see checkJobExpectations. */
export const JobExpectationsSchema: z.ZodMiniType<JobExpectations> = z.pipe(
  z.unknown(),
  z.transform((raw, context) => {
    const checked = checkJobExpectations(raw);
    if ('expectations' in checked) return checked.expectations;
    context.issues.push({
      code: 'custom',
      input: raw,
      path: checked.problem.path,
      message: checked.problem.message,
    });
    return z.NEVER;
  }),
) as unknown as z.ZodMiniType<JobExpectations>;

/** What is set for one job: its own entry over the `*` entry, field by field. */
export function expectationFor(jobId: string, expectations: JobExpectations): SetExpectation {
  return { ...(expectations[EVERY_JOB] ?? {}), ...(expectations[jobId.toLowerCase()] ?? {}) };
}

/** The expectations as the JSON a user writes (durations in their shortest text). */
export function expectationsToJson(expectations: JobExpectations): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    Object.entries(expectations).map(([key, set]) => [
      key,
      {
        ...(set.everyMs !== undefined ? { every: set.everyMs === null ? NEVER : compact(set.everyMs) } : {}),
        ...(set.maxConsecutiveFailures !== undefined
          ? { maxConsecutiveFailures: set.maxConsecutiveFailures }
          : {}),
        ...(set.maxDurationMs !== undefined ? { maxDuration: compact(set.maxDurationMs) } : {}),
        ...(set.graceMs !== undefined ? { grace: compact(set.graceMs) } : {}),
      },
    ]),
  );
}

function compact(ms: number): string {
  for (const [unit, size] of [
    ['w', 7 * 86_400_000],
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${Math.round(ms / 1_000)}s`;
}

function duration(raw: unknown): number | undefined {
  if (typeof raw !== 'string') return undefined;
  const ms = parseDurationText(raw);
  return ms !== undefined && ms <= MAX_MS ? ms : undefined;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  return JSON.stringify(value);
}
