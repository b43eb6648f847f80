// Typed builders of Product-Live payloads, shaped like the documented examples
// (test/fixtures/product-live/*.json): 24-hex ids, ISO dates with milliseconds, input.context, info.title.
import {
  isTerminalStatus,
  type JobExecution,
  type JobExecutionList,
} from '#core/product-live/product-live.schema';

const BASE_CREATED_AT = Date.parse('2023-12-21T14:04:18.511Z');
let sequence = 0;

/** A fresh 24-hex id (job, execution or pipeline style), unique within the test process. */
export function anId(prefix = '6584'): string {
  sequence += 1;
  return `${prefix}${sequence.toString(16).padStart(24 - prefix.length, '0')}`.slice(0, 24);
}

/**
 * A job execution as the API returns it. Defaults follow the status: a terminal status gets `endedAt`
 * and an output report, an open one (`PENDING`, `RUNNING`) gets neither. Overrides win.
 */
export function aJobExecution(overrides: Partial<JobExecution> = {}): JobExecution {
  const status = overrides.status ?? 'COMPLETED';
  const jobId = overrides.jobId ?? '65819ba43ad5b963658ab35d';
  const id = overrides.id ?? anId();
  const createdAtMs = overrides.createdAt
    ? Date.parse(overrides.createdAt)
    : BASE_CREATED_AT + sequence * 60_000;
  const ended = isTerminalStatus(status);
  return {
    object: 'job_execution',
    jobId,
    id,
    pipelineId: '6582b5fb7bcba4a7a1147473',
    createdAt: new Date(createdAtMs).toISOString(),
    ...(ended ? { endedAt: new Date(createdAtMs + 15_848).toISOString() } : {}),
    input: {
      context: { jobAccountId: '2629', jobId, userShardId: '2629', userAccountId: '2629', userId: '5443' },
    },
    ...(status === 'PENDING' ? {} : { startedAt: new Date(createdAtMs - 42).toISOString() }),
    status,
    output:
      status === 'COMPLETED'
        ? {
            subWorkflowId: '0cc9caaa-01f7-44cc-be89-2e34181d248e',
            report: {
              url: `https://app.product-live.com/data-factory/2629/download/${id.padEnd(64, '0')}/report.xml`,
              filename: 'report.xml',
            },
          }
        : {},
    info: { title: 'Import Schema' },
    ...overrides,
  };
}

/** A list (or find) response holding `items`; `totalElements` defaults to the number of items. */
export function aJobExecutionList(items: JobExecution[], totalElements = items.length): JobExecutionList {
  return { object: 'list', data: items, totalElements };
}
