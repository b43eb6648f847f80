/// <reference lib="dom" />
// Job health as the pages show it (docs/dashboard.md, "Job health"): the overview's "needs attention" list (late,
// failing and slow jobs, each with its reasons) and a job page's state with its reasons and figures. The states
// are those of the sync's last evaluation (after its last run), read from the state table as `history health`.
import { needsAttention } from '#core/health/health-states';
import type { JobHealthEntry } from '#core/history/job-health-reader';
import type { JobHealthView, JobView } from '../dashboard-data';
import type { FilterValues } from './api';
import { h } from './dom';
import { formatCount, formatDuration, formatInstant } from './format';
import { jobLink } from './links';
import { facts, failure } from './page-parts';
import { healthBadge } from './status';

const NO_STATE_TABLE = 'Job health is kept in the state table: open the dashboard with it (--state-table).';
const NOT_EVALUATED = 'Not evaluated yet: the sync evaluates every job after each of its runs.';

/** Each reason in words, the first one explaining the state. */
function reasonsList(reasons: readonly string[]): HTMLElement {
  return h(
    'ul',
    { class: 'reasons', 'data-list': 'reasons' },
    ...reasons.map((reason) => h('li', {}, reason)),
  );
}

/** The jobs that are late, failing or slow, each with its reasons; then how many jobs are in each state. */
export function attentionList(view: JobHealthView | Error, filters: FilterValues): HTMLElement {
  if (view instanceof Error) return failure(view);
  if (!view.available) return h('p', { class: 'empty' }, NO_STATE_TABLE);
  if (view.evaluatedAt === null && view.jobs.length === 0) return h('p', { class: 'empty' }, NOT_EVALUATED);
  const attention = view.jobs.filter((job) => needsAttention(job.state));
  const { counts } = view;
  const summary = h(
    'p',
    { class: 'note', 'data-health-counts': '' },
    `${formatCount(counts.late)} late, ${formatCount(counts.failing)} failing, ${formatCount(counts.slow)} slow, ` +
      `${formatCount(counts.unknown)} unknown, ${formatCount(counts.healthy)} healthy`,
    view.evaluatedAt
      ? ` · evaluated ${formatInstant(view.evaluatedAt)}, as of ${formatInstant(view.asOf)}`
      : '',
  );
  const list =
    attention.length === 0
      ? h('p', { class: 'empty', 'data-list': 'attention' }, 'No job needs attention.')
      : h(
          'ol',
          { class: 'attention', 'data-list': 'attention' },
          ...attention.map((job) =>
            h(
              'li',
              { 'data-job-id': job.jobId, 'data-health': job.state },
              h(
                'p',
                {},
                healthBadge(job.state),
                ' ',
                jobLink(job.jobId, job.title, filters),
                ` · last run ${formatInstant(job.lastRunAt)}`,
                job.expectedBy ? ` · expected by ${formatInstant(job.expectedBy)}` : '',
              ),
              reasonsList(job.reasons),
            ),
          ),
        );
  return h('div', {}, list, summary);
}

/** A job's state since when, its reasons, and the figures they come from. */
export function jobHealthPanel(health: JobView['health']): HTMLElement {
  if (health === null) return h('p', { class: 'empty' }, NO_STATE_TABLE);
  const entry: JobHealthEntry | null = health.entry;
  if (entry === null) return h('p', { class: 'empty' }, NOT_EVALUATED);
  const interval =
    entry.schedule === 'never'
      ? 'not judged ("every": "never")'
      : entry.usualIntervalMs === null
        ? '–'
        : `${formatDuration(entry.usualIntervalMs)} (${entry.schedule})`;
  return h(
    'div',
    { class: 'job-health', 'data-health': entry.state },
    h('p', {}, healthBadge(entry.state), ` since ${formatInstant(entry.stateSince)}`),
    reasonsList(entry.reasons),
    facts([
      ['Last run', formatInstant(entry.lastRunAt)],
      ['Last success', formatInstant(entry.lastSuccessAt)],
      ['Expected by', entry.expectedBy ? formatInstant(entry.expectedBy) : 'not judged'],
      ['Usual interval', interval],
      ['Usual duration', formatDuration(entry.usualDurationMs)],
      ['Consecutive failures', formatCount(entry.consecutiveFailures)],
      ['Evaluated', formatInstant(health.evaluatedAt)],
    ]),
  );
}
