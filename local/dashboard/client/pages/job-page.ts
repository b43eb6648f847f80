/// <reference lib="dom" />
// One job (`/jobs/ID`): its figures, its health with its reasons, its runs per day (the expected-by time marked)
// and the durations of its ended runs (both charts over the same days: the period shown, through the expected-by
// day when the period runs to now), and its recent executions.
import { PAGES } from '../../site-map';
import {
  type ChartMark,
  destroyCharts,
  durationsChart,
  markChartsDrawn,
  runsPerDayChart,
  spanThrough,
  timelineSpan,
} from '../charts';
import { h, replace } from '../dom';
import { filterForm } from '../filters';
import { formatCount, formatDuration, formatInstant, formatRate } from '../format';
import { jobHealthPanel } from '../job-health';
import { pageHref } from '../links';
import type { RenderPage } from '../page-context';
import { facts, periodLine, section } from '../page-parts';
import { executionsTable } from '../tables';

export const renderJobPage: RenderPage<'job'> = async (main, { params, filters, view, rerender }) => {
  const { jobId } = params;
  const job = await view('job', { jobId });
  destroyCharts();
  const stats = job.stats;
  const title = stats?.title ?? jobId;
  document.title = `${title} · job · dashboard`;
  const expectedBy = job.health?.entry?.expectedBy ?? null;
  const marks: ChartMark[] = expectedBy ? [{ id: 'expected-by', at: expectedBy, label: 'expected by' }] : [];
  const span = spanThrough(timelineSpan(job.timeline), job.period.until === null ? expectedBy : null);
  const drawn = markChartsDrawn(2);
  replace(
    main,
    h('p', { class: 'crumbs' }, h('a', { href: pageHref('overview', filters) }, 'Overview'), ' › Job'),
    h('h1', {}, title),
    h('p', { class: 'id' }, `Job ${jobId}`),
    filterForm({ filters, names: PAGES.job.filters, onChange: rerender }),
    periodLine(job),
    stats
      ? facts([
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
    section('Health', 'health', jobHealthPanel(job.health)),
    section(
      'Runs over time',
      'runs',
      runsPerDayChart('Runs per day by status', job.timeline, span, drawn, marks),
    ),
    section('Durations over time', 'durations', durationsChart(job.durations, span, drawn)),
    section(
      'Recent executions',
      'executions',
      executionsTable('Recent executions of this job, newest first', job.recent, false),
    ),
  );
};
