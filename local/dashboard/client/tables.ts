/// <reference lib="dom" />
// The tables more than one page shows: the per-job figures (each cell carries its raw value in `data-value`, which
// the browser tests compare with `history stats --json`) and a list of executions.
import type { JobStats } from '../../history/execution-stats';
import type { ExecutionSummary } from '../../history/history-queries';
import type { FilterValues } from './api';
import { h, table } from './dom';
import { formatCount, formatDuration, formatInstant, formatRate } from './format';
import { executionLink, jobLink } from './links';
import { healthBadge, statusBadge } from './status';

/**
 * Per job: its health state (from `states`, by job id), runs, success rate, p50 and p95 durations, last run and
 * last failure; the total last.
 */
export function jobsTable(
  jobs: readonly JobStats[],
  total: JobStats,
  filters: FilterValues,
  states: ReadonlyMap<string, string> = new Map(),
): HTMLElement {
  const row = (job: JobStats, isTotal: boolean) => {
    const state = isTotal ? undefined : states.get(job.jobId ?? '');
    return [
      {
        content: isTotal ? (job.title ?? 'All jobs') : jobLink(job.jobId ?? '', job.title, filters),
        header: true,
      },
      {
        content: state ? healthBadge(state) : '–',
        attributes: isTotal ? {} : { 'data-health-state': state ?? 'null' },
      },
      { content: formatCount(job.runs), attributes: { 'data-field': 'runs', 'data-value': job.runs } },
      {
        content: formatRate(job.successRate),
        attributes: { 'data-field': 'successRate', 'data-value': job.successRate ?? 'null' },
      },
      {
        content: formatDuration(job.durationMs.p50),
        attributes: { 'data-field': 'p50', 'data-value': job.durationMs.p50 ?? 'null' },
      },
      {
        content: formatDuration(job.durationMs.p95),
        attributes: { 'data-field': 'p95', 'data-value': job.durationMs.p95 ?? 'null' },
      },
      {
        content: formatInstant(job.lastRunAt),
        attributes: { 'data-field': 'lastRunAt', 'data-value': job.lastRunAt ?? 'null' },
      },
      {
        content: formatInstant(job.lastFailureAt),
        attributes: { 'data-field': 'lastFailureAt', 'data-value': job.lastFailureAt ?? 'null' },
      },
    ];
  };
  const element = table(
    'Per job: health state, runs, success rate (COMPLETED ÷ ended runs), duration p50 and p95 of ended runs, last run, last failure',
    ['Job', 'Health', 'Runs', 'Success rate', 'p50', 'p95', 'Last run', 'Last failure'],
    [...jobs.map((job) => row(job, false)), row(total, true)],
    { class: 'jobs', 'data-table': 'jobs' },
  );
  const rows = element.tBodies[0]?.rows ?? [];
  for (const [index, job] of jobs.entries()) rows[index]?.setAttribute('data-job-id', job.jobId ?? '');
  rows[jobs.length]?.setAttribute('data-total', '');
  return h('div', { class: 'table-scroll' }, element);
}

/** Executions, newest first, each linked to its page; `more` says that more match than are listed. */
export function executionsTable(
  caption: string,
  executions: readonly ExecutionSummary[],
  more: boolean,
): HTMLElement {
  if (executions.length === 0) return h('p', { class: 'empty' }, 'No execution matches.');
  return h(
    'div',
    { class: 'table-scroll' },
    table(
      caption,
      ['Execution', 'Job', 'Status', 'Created', 'Duration', 'Files'],
      executions.map((execution) => [
        { content: executionLink(execution.id), header: true },
        execution.title ?? execution.jobId,
        statusBadge(execution.status),
        formatInstant(execution.createdAt),
        formatDuration(execution.durationMs),
        execution.files.total === 0
          ? '–'
          : `${execution.files.copied}/${execution.files.total}${execution.files.failed ? `, ${execution.files.failed} failed` : ''}`,
      ]),
      { 'data-table': 'executions' },
    ),
    more
      ? h(
          'p',
          { class: 'note' },
          'Newest first; more executions match: narrow the filters, or use npm run history -- list.',
        )
      : null,
  );
}
