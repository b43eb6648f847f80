// Layer flow: Product-Live HTTP response -> these schemas -> domain types used by the use cases.
// Schemas are lenient where the public documentation is silent (unknown fields are kept, ids are not assumed
// to be hex) and strict where the sync depends on a value (dates must parse, ids must exist).
import * as z from '../zod';

/** Statuses the documentation names. Any other value is kept and treated as not yet ended. */
export const KNOWN_STATUSES = [
  'PENDING',
  'RUNNING',
  'COMPLETED',
  'USER_ERROR',
  'FAILED',
  'TERMINATED',
  'TIMEDOUT',
] as const;
export type KnownStatus = (typeof KNOWN_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<string> = new Set([
  'COMPLETED',
  'USER_ERROR',
  'FAILED',
  'TERMINATED',
  'TIMEDOUT',
]);
export const OPEN_STATUSES = ['PENDING', 'RUNNING'] as const;

/** True when the status is one of the documented terminal values. */
export function isTerminalStatus(status: string): boolean {
  return TERMINAL_STATUSES.has(status);
}

/** An ISO 8601 date-time string that `Date` can parse; kept exactly as the API wrote it. */
const IsoDateTime = z.string().check(
  z.minLength(1),
  z.refine((value) => /^\d{4}-\d{2}-\d{2}T/.test(value) && Number.isFinite(Date.parse(value)), {
    message: 'expected an ISO 8601 date-time',
  }),
);

const OptionalIsoDateTime = z.nullish(IsoDateTime);
const nonEmpty = () => z.string().check(z.minLength(1));

const JobExecutionInfo = z.looseObject({
  title: z.nullish(z.string()),
});

export const JobExecution = z.looseObject({
  object: z.optional(z.literal('job_execution')),
  id: nonEmpty(),
  jobId: nonEmpty(),
  pipelineId: z.nullish(z.string()),
  createdAt: IsoDateTime,
  startedAt: OptionalIsoDateTime,
  endedAt: OptionalIsoDateTime,
  status: nonEmpty(),
  input: z.optional(z.unknown()),
  output: z.optional(z.unknown()),
  info: z.nullish(JobExecutionInfo),
});
export type JobExecution = z.infer<typeof JobExecution>;

export const JobExecutionList = z.looseObject({
  object: z.optional(z.literal('list')),
  data: z.array(JobExecution),
  totalElements: z.number().check(z.int(), z.nonnegative()),
});
export type JobExecutionList = z.infer<typeof JobExecutionList>;

/** A file reference as it appears inside `input` or `output`: both documented kinds. */
export const DataFactoryFile = z.looseObject({
  object: z.literal('data_factory_file'),
  id: z.optional(z.string()),
  createdAt: z.optional(z.string()),
  updatedAt: z.optional(z.string()),
  url: nonEmpty(),
});
export const NamedFileLink = z.looseObject({
  url: nonEmpty(),
  filename: nonEmpty(),
});

/**
 * The answer of `POST /v1/data_factory/files`: the uploaded file, as a job's `input` names it. Only what a
 * launch relies on is required (`id`, `url`); the dates are kept as written, unknown fields too.
 */
export const UploadedFile = z.looseObject({
  object: z.literal('data_factory_file'),
  id: nonEmpty(),
  url: nonEmpty(),
  createdAt: z.optional(z.string()),
  updatedAt: z.optional(z.string()),
});
export type UploadedFile = z.infer<typeof UploadedFile>;

export const CreateJobExecutionRequest = z.object({
  jobId: nonEmpty(),
  input: z.optional(z.record(z.string(), z.unknown())),
});
export type CreateJobExecutionRequest = z.infer<typeof CreateJobExecutionRequest>;

// Find queries: a criterion or a group. `lower`/`lowerOrEqual` exist in the type so that callers can
// opt in, but the sync itself only relies on the operators the public documentation confirms.
export const COMPARISON_TYPES = ['greater', 'greaterOrEqual', 'lower', 'lowerOrEqual'] as const;

export type FindQuery =
  | { type: 'eq'; field: string; value: unknown; caseSensitive?: boolean }
  | { type: (typeof COMPARISON_TYPES)[number]; field: string; value: unknown; caseSensitive?: boolean }
  | { type: 'in'; field: string; value: unknown[]; caseSensitive?: boolean }
  | { type: 'search'; field: string; value: string; caseSensitive?: boolean }
  | { type: 'and' | 'or'; queries: FindQuery[] };

const criterion = <T extends z.ZodMiniType>(type: T, value: z.ZodMiniType) =>
  z.object({ type, field: nonEmpty(), value, caseSensitive: z.optional(z.boolean()) });

export const FindQuery: z.ZodMiniType<FindQuery> = z.lazy(() =>
  z.union([
    criterion(z.literal('eq'), z.unknown()),
    criterion(z.enum(COMPARISON_TYPES), z.unknown()),
    criterion(z.literal('in'), z.array(z.unknown())),
    criterion(z.literal('search'), z.string()),
    z.object({ type: z.enum(['and', 'or']), queries: z.array(FindQuery).check(z.minLength(1)) }),
  ]),
) as z.ZodMiniType<FindQuery>;
