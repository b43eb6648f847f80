// Layer flow: Product-Live HTTP response -> these schemas -> domain types used by the use cases.
// Schemas are lenient where the public documentation is silent (unknown fields are kept, ids are not
// assumed to be hex) and strict where the sync depends on a value (dates must parse, ids must exist).
import { z } from 'zod';

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
export const IsoDateTime = z
  .string()
  .min(1)
  .refine((value) => /^\d{4}-\d{2}-\d{2}T/.test(value) && Number.isFinite(Date.parse(value)), {
    message: 'expected an ISO 8601 date-time',
  });

const OptionalIsoDateTime = IsoDateTime.nullish();

export const JobExecutionInfo = z.looseObject({
  title: z.string().nullish(),
});

export const JobExecution = z.looseObject({
  object: z.literal('job_execution').optional(),
  id: z.string().min(1),
  jobId: z.string().min(1),
  pipelineId: z.string().nullish(),
  createdAt: IsoDateTime,
  startedAt: OptionalIsoDateTime,
  endedAt: OptionalIsoDateTime,
  status: z.string().min(1),
  input: z.unknown().optional(),
  output: z.unknown().optional(),
  info: JobExecutionInfo.nullish(),
});
export type JobExecution = z.infer<typeof JobExecution>;

export const JobExecutionList = z.looseObject({
  object: z.literal('list').optional(),
  data: z.array(JobExecution),
  totalElements: z.number().int().nonnegative(),
});
export type JobExecutionList = z.infer<typeof JobExecutionList>;

/** A file reference as it appears inside `input` or `output`: both documented kinds. */
export const DataFactoryFile = z.looseObject({
  object: z.literal('data_factory_file'),
  id: z.string().optional(),
  createdAt: z.string().optional(),
  updatedAt: z.string().optional(),
  url: z.string().min(1),
});
export const NamedFileLink = z.looseObject({
  url: z.string().min(1),
  filename: z.string().min(1),
});

export const CreateJobExecutionRequest = z.object({
  jobId: z.string().min(1),
  input: z.record(z.string(), z.unknown()).optional(),
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

export const FindQuery: z.ZodType<FindQuery> = z.lazy(() =>
  z.union([
    z.object({
      type: z.literal('eq'),
      field: z.string().min(1),
      value: z.unknown(),
      caseSensitive: z.boolean().optional(),
    }),
    z.object({
      type: z.enum(COMPARISON_TYPES),
      field: z.string().min(1),
      value: z.unknown(),
      caseSensitive: z.boolean().optional(),
    }),
    z.object({
      type: z.literal('in'),
      field: z.string().min(1),
      value: z.array(z.unknown()),
      caseSensitive: z.boolean().optional(),
    }),
    z.object({
      type: z.literal('search'),
      field: z.string().min(1),
      value: z.string(),
      caseSensitive: z.boolean().optional(),
    }),
    z.object({ type: z.enum(['and', 'or']), queries: z.array(FindQuery).min(1) }),
  ]),
);
