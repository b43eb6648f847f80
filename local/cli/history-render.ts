// How `npm run history` shows its answers: aligned tables and a bar chart for people, CSV and JSON for
// programs. The JSON of stats is DESIGN's "Machine-readable output" shape, printed as the queries return it.

import { type LaunchInfo, launchViewOf } from '#core/executions/execution-record';
import { formatDurationText } from '#core/health/durations';
import type { JobHealthReport } from '#core/history/job-health-reader';
import type { Period } from '#core/history/period';
import { csvLine } from '../history/csv';
import type { HistoryStats, JobStats } from '../history/execution-stats';
import {
  type CopyNotDone,
  type ExecutionDetail,
  type ExecutionList,
  SUMMARY_FIELDS,
} from '../history/history-queries';
import type { Timeline } from '../history/timeline';
import {
  formatBytes,
  formatDuration,
  formatInstant,
  formatPercent,
  formatTable,
  RULE,
  type TableColumn,
  type TableRow,
  truncate,
} from './cli-output';

const TITLE_WIDTH = 36;

/** "since 2024-05-02 12:00 UTC", "from … to … UTC", "all time". */
function describePeriod(period: Period): string {
  if (period.since && period.until) {
    return `from ${formatInstant(period.since)} to ${formatInstant(period.until)} UTC`;
  }
  if (period.since) return `since ${formatInstant(period.since)} UTC`;
  if (period.until) return `before ${formatInstant(period.until)} UTC`;
  return 'all time';
}

/** Statuses worth a column: those with runs, in the order of the JSON's byStatus. */
function statusColumns(stats: HistoryStats): string[] {
  return Object.entries(stats.total.byStatus)
    .filter(([, count]) => count > 0)
    .map(([status]) => status);
}

/** The stats table: one row per job, a rule, the total. */
export function renderStatsTable(stats: HistoryStats, jobId?: string): string {
  const scope = jobId ? `job ${jobId}` : 'all jobs';
  const heading = `Executions created ${describePeriod({
    ...(stats.period.since ? { since: stats.period.since } : {}),
    ...(stats.period.until ? { until: stats.period.until } : {}),
  })}, ${scope}`;
  if (stats.total.runs === 0) return `${heading}: no executions.`;
  const statuses = statusColumns(stats);
  const columns: TableColumn[] = [
    { header: 'JOB ID' },
    { header: 'TITLE' },
    { header: 'RUNS', align: 'right' },
    ...statuses.map((status) => ({ header: status, align: 'right' as const })),
    { header: 'SUCCESS', align: 'right' },
    { header: 'P50', align: 'right' },
    { header: 'P95', align: 'right' },
    { header: 'MAX', align: 'right' },
    { header: 'LAST RUN' },
    { header: 'LAST FAILURE' },
  ];
  const row = (job: JobStats): string[] => [
    job.jobId ?? '',
    truncate(job.title ?? '', TITLE_WIDTH),
    String(job.runs),
    ...statuses.map((status) => String(job.byStatus[status] ?? 0)),
    formatPercent(job.successRate),
    formatDuration(job.durationMs.p50),
    formatDuration(job.durationMs.p95),
    formatDuration(job.durationMs.max),
    formatInstant(job.lastRunAt),
    formatInstant(job.lastFailureAt),
  ];
  const rows: TableRow[] = [...stats.jobs.map(row), RULE, row(stats.total)];
  return `${heading}\n\n${formatTable(columns, rows)}\n\nSUCCESS = COMPLETED / ended runs; P50, P95, MAX = duration of ended runs (nearest rank); times in UTC.`;
}

/** The stats as CSV: one line per job, then the total (empty jobId). */
export function renderStatsCsv(stats: HistoryStats): string {
  const statuses = Object.keys(stats.total.byStatus);
  const header = [
    'jobId',
    'title',
    'runs',
    ...statuses,
    'ended',
    'successRate',
    'durationP50Ms',
    'durationP95Ms',
    'durationMaxMs',
    'lastRunAt',
    'lastFailureAt',
  ];
  const line = (job: JobStats) =>
    csvLine([
      job.jobId,
      job.title,
      job.runs,
      ...statuses.map((status) => job.byStatus[status] ?? 0),
      job.ended,
      job.successRate,
      job.durationMs.p50,
      job.durationMs.p95,
      job.durationMs.max,
      job.lastRunAt,
      job.lastFailureAt,
    ]);
  return [csvLine(header), ...stats.jobs.map(line), line(stats.total)].join('');
}

function filesCell(files: { total: number; copied: number; pending: number; failed: number }): string {
  if (files.total === 0) return '-';
  const problems = [
    files.pending ? `${files.pending} pending` : '',
    files.failed ? `${files.failed} failed` : '',
  ].filter(Boolean);
  return `${files.copied}/${files.total}${problems.length ? ` (${problems.join(', ')})` : ''}`;
}

/** The list table, newest first, with a note when the limit cut it. */
export function renderListTable(list: ExecutionList, limit: number | undefined): string {
  if (list.executions.length === 0) return 'No executions match.';
  const table = formatTable(
    [
      { header: 'CREATED (UTC)' },
      { header: 'ID' },
      { header: 'JOB' },
      { header: 'STATUS' },
      { header: 'DURATION', align: 'right' },
      { header: 'FILES', align: 'right' },
    ],
    list.executions.map((execution) => [
      formatInstant(execution.createdAt),
      execution.id,
      truncate(execution.title ?? execution.jobId, TITLE_WIDTH),
      execution.status,
      formatDuration(execution.durationMs),
      filesCell(execution.files),
    ]),
  );
  const count = list.executions.length;
  const footer = list.more
    ? `The newest ${count} of more matching executions (--limit ${limit}; --limit 0 shows all).`
    : `${count} execution${count === 1 ? '' : 's'}.`;
  return `${table}\n\n${footer}`;
}

const LIST_CSV_COLUMNS = [...SUMMARY_FIELDS, 'filesTotal', 'filesCopied', 'filesPending', 'filesFailed'];

/** The list as CSV. */
export function renderListCsv(list: ExecutionList): string {
  return [
    csvLine(LIST_CSV_COLUMNS),
    ...list.executions.map((execution) =>
      csvLine([
        ...SUMMARY_FIELDS.map((field) => execution[field]),
        execution.files.total,
        execution.files.copied,
        execution.files.pending,
        execution.files.failed,
      ]),
    ),
  ].join('');
}

/**
 * `show --json`: the API object as returned, then every file copy (all recorded fields but the source URL),
 * then the launch request that started it (null when it was started elsewhere).
 */
export function showJson(detail: ExecutionDetail): Record<string, unknown> {
  return {
    ...detail.execution,
    files: detail.item.files.map(({ sourceUrl: _sourceUrl, ...copy }) => copy),
    launch: launchViewOf(detail.item.launch),
  };
}

/** The launch request of an execution in words: its key, message, time, and whether a task token waits. */
function launchText(launch: LaunchInfo | undefined): string {
  const view = launchViewOf(launch);
  if (!view) return '- (not started by the launch function)';
  const key = view.idempotencyKey === null ? 'no idempotencyKey' : `idempotencyKey ${view.idempotencyKey}`;
  return `${key}, message ${view.messageId}, requested ${view.requestedAt}${view.awaited ? ', a task token waits on it' : ''}`;
}

function indent(text: string, by = '  '): string {
  return text
    .split('\n')
    .map((line) => `${by}${line}`)
    .join('\n');
}

/** One execution for people: its fields, input, output and file copies. */
export function renderShow(detail: ExecutionDetail): string {
  const { execution, item } = detail;
  const fields: Array<[string, string]> = [
    ['Job', item.title ? `${item.title} (${item.jobId})` : item.jobId],
    ['Pipeline', item.pipelineId ?? '-'],
    ['Status', item.status],
    ['Created', item.createdAt],
    ['Started', item.startedAt ?? '-'],
    ['Ended', item.endedAt ?? '-'],
    ['Duration', item.durationMs !== undefined ? formatDuration(item.durationMs) : '-'],
    ['Synced', `${item.syncedAt} (first ${item.firstSyncedAt}, by ${item.source})`],
    ['Launch', launchText(item.launch)],
  ];
  const known = new Set([
    'object',
    'id',
    'jobId',
    'pipelineId',
    'status',
    'createdAt',
    'startedAt',
    'endedAt',
  ]);
  for (const key of ['input', 'output', 'info']) known.add(key);
  const other = Object.fromEntries(Object.entries(execution).filter(([key]) => !known.has(key)));
  const labelWidth = Math.max(...fields.map(([label]) => label.length));
  const json = (value: unknown) => (value === undefined ? '(none)' : JSON.stringify(value, null, 2));
  const sections = [
    `Execution ${item.id}`,
    indent(fields.map(([label, value]) => `${label.padEnd(labelWidth)}  ${value}`).join('\n')),
    `Input\n${indent(json(execution.input))}`,
    `Output\n${indent(json(execution.output))}`,
  ];
  if (execution.info !== undefined) sections.push(`Info\n${indent(json(execution.info))}`);
  if (Object.keys(other).length > 0) sections.push(`Other fields\n${indent(json(other))}`);
  const files = item.files;
  sections.push(
    files.length === 0
      ? 'Files: none'
      : `Files (${files.length})\n${files
          .map((file) => {
            const head = `${file.path}  ${file.status}${file.status === 'copied' ? `  ${formatBytes(file.size)}  ${file.contentType ?? ''}` : `  after ${file.attempts} attempt${file.attempts === 1 ? '' : 's'}`}`;
            const lines = [`S3 key   ${file.s3Key}`];
            if (file.sha256) lines.push(`SHA-256  ${file.sha256}`);
            if (file.copiedAt) lines.push(`copied   ${file.copiedAt}`);
            if (file.lastError) lines.push(`error    ${file.lastError}`);
            if (file.status === 'pending' && file.nextAttemptAt) lines.push(`next try ${file.nextAttemptAt}`);
            return indent(`${head.trimEnd()}\n${indent(lines.join('\n'))}`);
          })
          .join('\n')}`,
  );
  return sections.join('\n\n');
}

const BAR_WIDTH = 50;

/** The timeline as a bar chart: one line per bucket, runs as the bar, failures as its shaded end. */
export function renderTimelineChart(timeline: Timeline): string {
  const scope = timeline.jobId ? `job ${timeline.jobId}` : 'all jobs';
  const period = describePeriod({
    ...(timeline.since ? { since: timeline.since } : {}),
    ...(timeline.until ? { until: timeline.until } : {}),
  });
  const heading = `Runs per ${timeline.bucket} (UTC), ${period}, ${scope}`;
  if (timeline.buckets.length === 0) return `${heading}: no executions.`;
  const max = Math.max(1, ...timeline.buckets.map((point) => point.runs));
  const scale = (count: number) => (count === 0 ? 0 : Math.max(1, Math.round((count / max) * BAR_WIDTH)));
  const rows = timeline.buckets.map((point) => {
    const length = scale(point.runs);
    const failed = Math.min(length, scale(point.failures));
    const label = timeline.bucket === 'day' ? point.start.slice(0, 10) : formatInstant(point.start);
    return [
      label,
      String(point.runs),
      String(point.failures),
      `${'█'.repeat(length - failed)}${'▒'.repeat(failed)}`,
    ];
  });
  const table = formatTable(
    [
      { header: timeline.bucket === 'day' ? 'DAY' : 'HOUR' },
      { header: 'RUNS', align: 'right' },
      { header: 'FAILED', align: 'right' },
      { header: '' },
    ],
    [...rows, RULE, ['TOTAL', String(timeline.total.runs), String(timeline.total.failures), '']],
  );
  return `${heading}\n\n${table}\n\n█ runs  ▒ failed runs (ended in a status other than COMPLETED); the longest bar is ${max} runs.`;
}

/** URLs in an error message as their last path segment: the table has the file's path, the JSON the whole text. */
function withShortUrls(text: string): string {
  return text.replace(
    /\bhttps?:\/\/[^\s)]+/g,
    (url) => url.split('?')[0]?.split('/').filter(Boolean).pop() ?? url,
  );
}

/** The table of file copies not done, with what to do about them. */
export function renderCopiesNotDone(copies: readonly CopyNotDone[], status?: 'pending' | 'failed'): string {
  const what = status ? `${status} file copies` : 'file copies not done';
  if (copies.length === 0)
    return status ? `No ${what}.` : 'Every file copy is done: none pending, none failed.';
  const table = formatTable(
    [
      { header: 'CREATED (UTC)' },
      { header: 'EXECUTION' },
      { header: 'JOB' },
      { header: 'PATH' },
      { header: 'STATUS' },
      { header: 'TRIES', align: 'right' },
      { header: 'NEXT TRY' },
      { header: 'LAST ERROR' },
    ],
    copies.map((copy) => [
      formatInstant(copy.createdAt),
      copy.executionId,
      truncate(copy.title ?? copy.jobId, TITLE_WIDTH),
      copy.path,
      copy.status,
      String(copy.attempts),
      formatInstant(copy.nextAttemptAt),
      truncate(copy.lastError ? withShortUrls(copy.lastError) : '-', 80),
    ]),
  );
  const failed = copies.some((copy) => copy.status === 'failed');
  return `${copies.length} ${what}\n\n${table}${
    failed
      ? '\n\nFailed copies are not tried again: `npm start -- --once --retry-failed-files` puts them back.'
      : ''
  }`;
}

/** Each job's health: state, last run and success, expected by, usual interval and duration, failures, reasons. */
export function renderHealthTable(report: JobHealthReport, jobId?: string): string {
  if (report.jobs.length === 0) {
    return jobId !== undefined
      ? `No health is recorded for job ${jobId}: the sync evaluates the jobs it has stored runs of, after each run.`
      : 'No job health yet: the sync evaluates every job after each run, once its first window is complete (npm start).';
  }
  const table = formatTable(
    [
      { header: 'STATE' },
      { header: 'JOB' },
      { header: 'LAST RUN' },
      { header: 'LAST SUCCESS' },
      { header: 'EXPECTED BY' },
      { header: 'EVERY', align: 'right' },
      { header: 'USUALLY', align: 'right' },
      { header: 'FAILED', align: 'right' },
    ],
    report.jobs.map((job) => [
      job.state.toUpperCase(),
      truncate(job.title ?? job.jobId, TITLE_WIDTH),
      formatInstant(job.lastRunAt),
      formatInstant(job.lastSuccessAt),
      formatInstant(job.expectedBy),
      job.usualIntervalMs !== null
        ? formatDurationText(job.usualIntervalMs)
        : job.schedule === 'never'
          ? 'never'
          : '-',
      formatDuration(job.usualDurationMs),
      String(job.consecutiveFailures),
    ]),
  );
  const reasons = report.jobs
    .filter((job) => job.state !== 'healthy')
    .map(
      (job) =>
        `${job.title ?? job.jobId} (${job.jobId}), ${job.state}:\n${job.reasons.map((r) => `  - ${r}`).join('\n')}`,
    );
  const asOf = report.evaluatedAt
    ? `Evaluated ${formatInstant(report.evaluatedAt)} UTC, as of ${formatInstant(report.asOf)} (every run created before it is stored).`
    : '';
  return [
    table,
    reasons.length > 0 ? `Why:\n${reasons.join('\n')}` : 'Every job is healthy.',
    `EXPECTED BY: with no new run by then, the job is late; EVERY, USUALLY: the usual interval and duration (learned, or set); FAILED: ended runs in a row that did not complete; times in UTC. ${asOf}`.trim(),
  ].join('\n\n');
}
