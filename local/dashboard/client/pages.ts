/// <reference lib="dom" />
// The three pages: the overview, a job, an execution. Each renders from the URL (path and filters) and its
// JSON views; `render` is called again after every sync (new data) and every filter change.

import type { JobStats } from '../../history/execution-stats';
import type { ExecutionSummary } from '../../history/history-queries';
import type { ExecutionView, FailureView, HealthView, JobView, OverviewView } from '../dashboard-data';
import { getJson } from './api';
import { destroyCharts, durationsChart, runsPerDayChart } from './charts';
import { append, h, replace, table } from './dom';
import { type Filters, filterForm, filterQuery, readFilters, withQuery } from './filters';
import { formatBytes, formatCount, formatDuration, formatInstant, formatRate } from './format';
import { CHARTS_DRAWN_MARK } from './marks';
import { statusBadge } from './status';

type Render = (main: HTMLElement) => Promise<void>;

function section(title: string, id: string, ...children: Parameters<typeof append>[1][]): HTMLElement {
  const heading = h('h2', { id: `${id}-title` }, title);
  const element = h('section', { id, 'aria-labelledby': `${id}-title` }, heading);
  append(element, ...children);
  return element;
}

function jobLink(jobId: string, title: string | null, filters: Filters): HTMLAnchorElement {
  return h(
    'a',
    { href: withQuery(`/jobs/${encodeURIComponent(jobId)}`, filterQuery(filters, ['since', 'until'])) },
    title ?? jobId,
  );
}

function executionLink(id: string, text?: string): HTMLAnchorElement {
  return h('a', { href: `/executions/${encodeURIComponent(id)}` }, text ?? id);
}

function failure(message: string): HTMLElement {
  return h('p', { class: 'error', role: 'alert' }, message);
}

/** Fills `slot` with what `load` renders, or with the error. */
async function fill(slot: HTMLElement, load: () => Promise<Node>): Promise<void> {
  try {
    replace(slot, await load());
  } catch (error) {
    replace(slot, failure(error instanceof Error ? error.message : String(error)));
  }
}

function jobsTable(jobs: readonly JobStats[], total: JobStats, filters: Filters): HTMLElement {
  const row = (job: JobStats, isTotal: boolean) => [
    {
      content: isTotal ? (job.title ?? 'All jobs') : jobLink(job.jobId ?? '', job.title, filters),
      header: true,
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
  const element = table(
    'Per job: runs, success rate (COMPLETED ÷ ended runs), duration p50 and p95 of ended runs, last run, last failure',
    ['Job', 'Runs', 'Success rate', 'p50', 'p95', 'Last run', 'Last failure'],
    [...jobs.map((job) => row(job, false)), row(total, true)],
    { class: 'jobs', 'data-table': 'jobs' },
  );
  const rows = element.tBodies[0]?.rows ?? [];
  for (const [index, job] of jobs.entries()) rows[index]?.setAttribute('data-job-id', job.jobId ?? '');
  rows[jobs.length]?.setAttribute('data-total', '');
  return h('div', { class: 'table-scroll' }, element);
}

function executionsTable(
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

function failuresList(failures: readonly FailureView[]): HTMLElement {
  if (failures.length === 0) return h('p', { class: 'empty' }, 'No failure in this period.');
  return h(
    'ol',
    { class: 'failures', 'data-list': 'failures' },
    ...failures.map((item) =>
      h(
        'li',
        {},
        h(
          'p',
          {},
          statusBadge(item.status),
          ' ',
          executionLink(item.id, item.title ?? item.jobId),
          ` · ${formatInstant(item.createdAt)} · ${formatDuration(item.durationMs)}`,
        ),
        item.output ? h('pre', { class: 'json', tabindex: 0, 'aria-label': 'Output' }, item.output) : null,
      ),
    ),
  );
}

function dl(entries: ReadonlyArray<[string, string | Node]>): HTMLElement {
  return h(
    'dl',
    { class: 'facts' },
    ...entries.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]),
  );
}

function healthView(health: HealthView): HTMLElement {
  const { sync, launches } = health;
  const last = sync.lastRun;
  const syncFacts = dl([
    [
      'Last run',
      last
        ? `${formatInstant(last.finishedAt)}: ${last.executions.new} new, ${last.executions.updated} updated, ${last.executions.unchanged} unchanged; files ${last.files.copied} copied, ${last.files.pending} pending, ${last.files.failed} failed; ${formatDuration(last.durationMs)}${last.error ? `; failed: ${last.error}` : ''}${last.moreRemaining ? '; more remaining' : ''}`
        : sync.checkpoint.updatedAt
          ? `checkpoint saved ${formatInstant(sync.checkpoint.updatedAt)} (the run's summary is in its log)`
          : 'no run yet',
    ],
    ['Running now', sync.running ? 'yes' : 'no'],
    [
      'Lag behind the API',
      sync.lagMs === null
        ? '–'
        : `${formatDuration(sync.lagMs)} (watermark ${formatInstant(sync.checkpoint.watermark)})`,
    ],
    [
      'Budget used',
      sync.budget
        ? `${sync.budget.requests} requests (${sync.budget.throttled} throttled)${sync.budget.used === null ? '' : `, ${formatRate(sync.budget.used)} of ${sync.budget.requestsPerMinute}/min`}`
        : '–',
    ],
    [
      'Audit',
      sync.audit.lastCompletedAt
        ? `last completed ${formatInstant(sync.audit.lastCompletedAt)}${sync.audit.monthsChecked !== null ? `: ${sync.audit.monthsChecked} months checked, ${sync.audit.monthsDiffering ?? 0} differing, ${sync.audit.executionsRecovered ?? 0} recovered` : ''}`
        : sync.audit.inProgress
          ? 'in progress'
          : 'not run yet',
    ],
    ['File copies', `${formatCount(sync.files.pending)} pending, ${formatCount(sync.files.failed)} failed`],
    ['Lake', sync.lake.built ? `${sync.lake.markedDays} day(s) waiting for a rewrite` : 'not built yet'],
  ]);
  const launchFacts = launches
    ? [
        dl([
          [
            'Launch queue',
            `${launches.queue.visible} waiting, ${launches.queue.inFlight} in flight, ${launches.queue.delayed} delayed`,
          ],
          ['Dead-letter queue', `${launches.deadLetter.visible + launches.deadLetter.inFlight} request(s)`],
        ]),
        launches.deadLetters.length > 0
          ? h(
              'div',
              { class: 'table-scroll' },
              table(
                'Dead-lettered launch requests (a sample of up to 10) with their reasons',
                ['Failed', 'Kind', 'Reason', 'Request'],
                launches.deadLetters.map((letter) => [
                  { content: formatInstant(letter.failedAt ?? letter.sentAt), header: true },
                  letter.kind ?? '–',
                  letter.reason ?? 'moved by the redrive policy (no reason recorded)',
                  h('code', {}, letter.body),
                ]),
                { 'data-table': 'dead-letters' },
              ),
            )
          : null,
      ]
    : [
        h(
          'p',
          { class: 'empty' },
          health.launchesError
            ? `Launch queues unavailable: ${health.launchesError}`
            : 'No launch queue configured (--queue-url and --dlq-url).',
        ),
      ];
  return h(
    'div',
    { class: 'health' },
    h('h3', {}, 'Sync'),
    syncFacts,
    h('h3', {}, 'Launches'),
    ...launchFacts,
  );
}

function markChartsDrawn(count: number): () => void {
  let remaining = count;
  return () => {
    remaining -= 1;
    if (remaining === 0) {
      performance.clearMarks(CHARTS_DRAWN_MARK);
      performance.mark(CHARTS_DRAWN_MARK);
      document.body.setAttribute('data-charts-drawn', String(Date.now()));
    }
  };
}

/** The overview: runs per day, per-job figures, latest failures, executions, sync health, launches. */
export const renderOverview: Render = async (main) => {
  const filters = readFilters();
  const query = filterQuery(filters);
  const overview = getJson<OverviewView>('overview', query);
  const failures = getJson<{ failures: FailureView[] }>('failures', query);
  const executions = getJson<{ executions: ExecutionSummary[]; more: boolean }>('executions', query);
  const health = getJson<HealthView>('health');
  const view = await overview;
  destroyCharts();
  const failuresSlot = h('div', { 'aria-busy': 'true' }, 'Loading…');
  const executionsSlot = h('div', {}, 'Loading…');
  const healthSlot = h('div', {}, 'Loading…');
  replace(
    main,
    h('h1', {}, 'Overview'),
    filterForm({
      filters,
      jobs: view.stats.jobs.map((job) => ({ id: job.jobId ?? '', title: job.title })),
      onChange: () => void rerender(),
    }),
    h('p', { class: 'period' }, periodText(view.period), sourceText(view.source)),
    section(
      'Runs per day',
      'runs',
      runsPerDayChart('Runs per day by status', view.timeline, markChartsDrawn(1)),
    ),
    section('Jobs', 'jobs', jobsTable(view.stats.jobs, view.stats.total, filters)),
    section('Latest failures', 'failures', failuresSlot),
    section('Executions', 'executions', executionsSlot),
    section('Sync health and launches', 'health', healthSlot),
  );
  await Promise.all([
    fill(failuresSlot, async () => failuresList((await failures).failures)),
    fill(executionsSlot, async () => {
      const list = await executions;
      return executionsTable('Executions matching the filters, newest first', list.executions, list.more);
    }),
    fill(healthSlot, async () => healthView(await health)),
  ]);
  failuresSlot.removeAttribute('aria-busy');
};

/** One job: its figures, runs per day, durations over time, recent executions. */
export const renderJob: Render = async (main) => {
  const jobId = decodeURIComponent(location.pathname.split('/')[2] ?? '');
  const filters = readFilters();
  const view = await getJson<JobView>(
    `jobs/${encodeURIComponent(jobId)}`,
    filterQuery(filters, ['since', 'until', 'status']),
  );
  destroyCharts();
  const stats = view.stats;
  const title = stats?.title ?? jobId;
  document.title = `${title} · job · dashboard`;
  const drawn = markChartsDrawn(2);
  replace(
    main,
    h(
      'p',
      { class: 'crumbs' },
      h('a', { href: withQuery('/', filterQuery(filters, ['since', 'until'])) }, 'Overview'),
      ' › Job',
    ),
    h('h1', {}, title),
    h('p', { class: 'id' }, `Job ${jobId}`),
    filterForm({ filters, onChange: () => void rerender() }),
    h('p', { class: 'period' }, periodText(view.period), sourceText(view.source)),
    stats
      ? dl([
          ['Runs', formatCount(stats.runs)],
          ['Success rate', formatRate(stats.successRate)],
          [
            'Duration p50 / p95 / max',
            `${formatDuration(stats.durationMs.p50)} / ${formatDuration(stats.durationMs.p95)} / ${formatDuration(stats.durationMs.max)}`,
          ],
          ['Last run', formatInstant(stats.lastRunAt)],
          ['Last failure', formatInstant(stats.lastFailureAt)],
        ])
      : h('p', { class: 'empty' }, 'No run of this job in this period.'),
    section('Runs over time', 'runs', runsPerDayChart('Runs per day by status', view.timeline, drawn)),
    section('Durations over time', 'durations', durationsChart(view.durations, drawn)),
    section(
      'Recent executions',
      'executions',
      executionsTable('Recent executions of this job, newest first', view.recent, false),
    ),
  );
};

/** One execution: status and times, input and output as JSON, its file copies with downloads. */
export const renderExecution: Render = async (main) => {
  const id = decodeURIComponent(location.pathname.split('/')[2] ?? '');
  const view = await getJson<ExecutionView>(`executions/${encodeURIComponent(id)}`);
  destroyCharts();
  document.title = `${view.title ?? view.jobId} · execution ${view.id} · dashboard`;
  const json = (label: string, value: unknown) =>
    h(
      'pre',
      { class: 'json', tabindex: 0, 'aria-label': label, 'data-json': label.toLowerCase() },
      JSON.stringify(value, null, 2),
    );
  replace(
    main,
    h(
      'p',
      { class: 'crumbs' },
      h('a', { href: '/' }, 'Overview'),
      ' › ',
      jobLink(view.jobId, view.title, readFilters()),
      ' › Execution',
    ),
    h('h1', {}, view.title ?? view.jobId),
    h('p', { class: 'id' }, `Execution ${view.id} `, statusBadge(view.status)),
    dl([
      ['Status', view.status],
      ['Created', formatInstant(view.createdAt)],
      ['Started', formatInstant(view.startedAt)],
      ['Ended', formatInstant(view.endedAt)],
      ['Duration', formatDuration(view.durationMs)],
      ['Last synced', formatInstant(view.syncedAt)],
      ...(view.removedFromApiAt
        ? [['No longer in the API since', formatInstant(view.removedFromApiAt)] as [string, string]]
        : []),
    ]),
    section(
      'Files',
      'files',
      view.files.length === 0
        ? h('p', { class: 'empty' }, 'This execution references no file.')
        : h(
            'div',
            { class: 'table-scroll' },
            table(
              'File copies: where the execution references the file, size, SHA-256 of the copy, status',
              ['Path', 'File', 'Size', 'SHA-256', 'Status', 'Download'],
              view.files.map((file) => [
                { content: file.path, header: true },
                file.fileName,
                {
                  content: formatBytes(file.size),
                  attributes: { 'data-field': 'size', 'data-value': file.size ?? 'null' },
                },
                { content: h('code', {}, file.sha256 ?? '–'), attributes: { 'data-field': 'sha256' } },
                file.status === 'copied'
                  ? 'copied'
                  : `${file.status}${file.lastError ? `: ${file.lastError}` : ''}`,
                file.downloadable
                  ? h(
                      'a',
                      {
                        href: `/api/executions/${encodeURIComponent(view.id)}/files/${file.index}`,
                        download: file.fileName,
                        'data-download': file.index,
                      },
                      'Download',
                    )
                  : '–',
              ]),
              { 'data-table': 'files' },
            ),
          ),
    ),
    section('Input', 'input', json('Input', view.input)),
    section('Output', 'output', json('Output', view.output)),
    section('Info', 'info', json('Info', view.info)),
  );
};

function periodText(period: { since: string | null; until: string | null }): string {
  if (!period.since && !period.until) return 'All time';
  return `From ${formatInstant(period.since)}${period.until ? ` until ${formatInstant(period.until)} (exclusive)` : ' to now'}`;
}

function sourceText(source: OverviewView['source']): string {
  return source.kind === 'lake'
    ? ` · read from the lake${source.storeDays > 0 ? ` and the table for ${source.storeDays} recent day(s)` : ''}`
    : ' · read from the table';
}

let rerender: () => Promise<void> = async () => undefined;

/** The page of the current path. */
export function pageOf(pathname: string): Render {
  if (pathname.startsWith('/jobs/')) return renderJob;
  if (pathname.startsWith('/executions/')) return renderExecution;
  return renderOverview;
}

/** Renders the current page into `main`; the filters' change and a new sync call it again. */
export function startPages(main: HTMLElement): () => Promise<void> {
  let running: Promise<void> | undefined;
  let again = false;
  rerender = async () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        // A filter changed with the keyboard keeps the focus on its control across the new render.
        const focused = document.activeElement?.id;
        try {
          await pageOf(location.pathname)(main);
          if (focused) document.getElementById(focused)?.focus();
        } catch (error) {
          destroyCharts();
          replace(
            main,
            h('h1', {}, 'Dashboard'),
            failure(error instanceof Error ? error.message : String(error)),
          );
        }
      } while (again);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
  return rerender;
}
