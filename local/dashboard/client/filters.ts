/// <reference lib="dom" />
// The filters live in the URL (`?since=7d&job=…&status=FAILED`): a view can be bookmarked and shared, and
// Back/Forward walk through filter changes. The form writes the URL; the page reads only the URL.
import { h } from './dom';
import { STATUSES } from './status';

export interface Filters {
  since: string;
  until: string;
  job: string;
  status: string;
}

export const DEFAULT_SINCE = '30d';

const PERIODS: ReadonlyArray<[string, string]> = [
  ['24h', 'Last 24 hours'],
  ['7d', 'Last 7 days'],
  ['30d', 'Last 30 days'],
  ['90d', 'Last 90 days'],
  ['365d', 'Last 365 days'],
  ['all', 'All time'],
];

export function readFilters(): Filters {
  const query = new URLSearchParams(location.search);
  return {
    since: query.get('since') || DEFAULT_SINCE,
    until: query.get('until') ?? '',
    job: query.get('job') ?? '',
    status: query.get('status') ?? '',
  };
}

/** The query string of the filters (the default period left out), for the API and for links. */
export function filterQuery(
  filters: Filters,
  keep: ReadonlyArray<keyof Filters> = ['since', 'until', 'job', 'status'],
): URLSearchParams {
  const query = new URLSearchParams();
  for (const name of keep) {
    const value = filters[name];
    if (value && !(name === 'since' && value === DEFAULT_SINCE)) query.set(name, value);
  }
  return query;
}

export function withQuery(path: string, query: URLSearchParams): string {
  const search = query.toString();
  return search ? `${path}?${search}` : path;
}

export interface FilterFormOptions {
  filters: Filters;
  /** Job choices: id and title. Absent: no job filter (a job's own page). */
  jobs?: ReadonlyArray<{ id: string; title: string | null }>;
  /** Called after the URL changed. */
  onChange: () => void;
}

/** The filter form: each control is a native, labelled form control, reachable with Tab. */
export function filterForm(options: FilterFormOptions): HTMLFormElement {
  const { filters } = options;
  const periods = PERIODS.some(([value]) => value === filters.since)
    ? PERIODS
    : [...PERIODS, [filters.since, `Since ${filters.since}`] as [string, string]];
  const select = (id: string, label: string, name: keyof Filters, choices: ReadonlyArray<[string, string]>) =>
    h(
      'div',
      { class: 'field' },
      h('label', { for: id }, label),
      h(
        'select',
        { id, name },
        ...choices.map(([value, text]) => h('option', { value, selected: value === filters[name] }, text)),
      ),
    );
  const jobChoices: Array<[string, string]> = [['', 'All jobs']];
  for (const job of options.jobs ?? [])
    jobChoices.push([job.id, job.title ? `${job.title} (${job.id})` : job.id]);
  if (filters.job && !jobChoices.some(([id]) => id === filters.job))
    jobChoices.push([filters.job, filters.job]);
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filters' },
    select('filter-since', 'Period', 'since', periods),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'filter-until' }, 'Until (exclusive)'),
      h('input', {
        id: 'filter-until',
        name: 'until',
        type: 'date',
        value: /^\d{4}-\d{2}-\d{2}$/.test(filters.until) ? filters.until : '',
      }),
    ),
    options.jobs ? select('filter-job', 'Job', 'job', jobChoices) : null,
    select('filter-status', 'Status', 'status', [
      ['', 'Any status'],
      ...STATUSES.map((s): [string, string] => [s, s]),
    ]),
  );
  form.addEventListener('change', () => {
    const data = new FormData(form);
    const next: Filters = {
      since: String(data.get('since') ?? DEFAULT_SINCE),
      until: String(data.get('until') ?? ''),
      job: options.jobs ? String(data.get('job') ?? '') : filters.job,
      status: String(data.get('status') ?? ''),
    };
    history.pushState(null, '', withQuery(location.pathname, filterQuery(next)));
    options.onChange();
  });
  form.addEventListener('submit', (event) => event.preventDefault());
  return form;
}
