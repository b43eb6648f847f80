/// <reference lib="dom" />
// The overview (`/`): the jobs that need attention (late, failing, slow), runs per day, the per-job figures with
// each job's health state, the latest failures, the executions that match the filters, the sync's health with its
// runs over time, and the launches. The figures come first; the slower parts fill in as they arrive.
import type { FailureView } from '../../dashboard-data';
import { PAGES } from '../../site-map';
import { destroyCharts, markChartsDrawn, runsPerDayChart, timelineSpan } from '../charts';
import { h, replace } from '../dom';
import { filterForm } from '../filters';
import { formatDuration, formatInstant } from '../format';
import { healthPanel } from '../health-panel';
import { attentionList } from '../job-health';
import { executionLink } from '../links';
import type { RenderPage } from '../page-context';
import { fill, periodLine, section } from '../page-parts';
import { statusBadge } from '../status';
import { executionsTable, jobsTable } from '../tables';

export const renderOverviewPage: RenderPage<'overview'> = async (main, { filters, view, rerender }) => {
  const overview = view('overview');
  const jobHealth = view('jobHealth').catch((error: unknown) =>
    error instanceof Error ? error : new Error(String(error)),
  );
  const failures = view('failures');
  const executions = view('executions');
  const health = view('health');
  const [figures, jobs] = await Promise.all([overview, jobHealth]);
  destroyCharts();
  const span = timelineSpan(figures.timeline);
  // Two charts: runs per day, and the sync's runs (drawn once the health view is in).
  const drawn = markChartsDrawn(2);
  const states = new Map(jobs instanceof Error ? [] : jobs.jobs.map((job) => [job.jobId, job.state]));
  const failuresSlot = h('div', { 'aria-busy': 'true' }, 'Loading…');
  const executionsSlot = h('div', {}, 'Loading…');
  const healthSlot = h('div', {}, 'Loading…');
  replace(
    main,
    h('h1', {}, 'Overview'),
    filterForm({
      filters,
      names: PAGES.overview.filters,
      jobs: figures.stats.jobs.map((job) => ({ id: job.jobId ?? '', title: job.title })),
      onChange: rerender,
    }),
    periodLine(figures),
    section('Needs attention', 'attention', attentionList(jobs, filters)),
    section('Runs per day', 'runs', runsPerDayChart('Runs per day by status', figures.timeline, span, drawn)),
    section('Jobs', 'jobs', jobsTable(figures.stats.jobs, figures.stats.total, filters, states)),
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
    fill(healthSlot, async () => {
      try {
        return healthPanel(await health, span, drawn);
      } catch (error) {
        drawn();
        throw error;
      }
    }),
  ]);
  failuresSlot.removeAttribute('aria-busy');
};

/** The latest runs that ended in a status other than COMPLETED, each with its output (the error). */
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
