/// <reference lib="dom" />
// The filters live in the URL (`?since=7d&job=…&status=FAILED`): a view can be bookmarked and shared, and
// Back/Forward walk through filter changes. The form writes the URL; the page reads only the URL. Which filters a
// page keeps is its entry in site-map.ts.
import { DEFAULT_SINCE, FILTER_NAMES, type FilterName, filterQuery, withQuery } from '../site-map';
import { h } from './dom';
import { STATUSES } from './status';

/** The filters of a page, as text ('' for none). */
export type Filters = Record<FilterName, string>;

const PERIODS: ReadonlyArray<[string, string]> = [
  ['24h', 'Last 24 hours'],
  ['7d', 'Last 7 days'],
  ['30d', 'Last 30 days'],
  ['90d', 'Last 90 days'],
  ['365d', 'Last 365 days'],
  ['all', 'All time'],
];

/** The filters `names` of the URL; the others are ''. */
export function readFilters(names: readonly FilterName[]): Filters {
  const query = new URLSearchParams(location.search);
  const filters = Object.fromEntries(
    FILTER_NAMES.map((name) => [name, names.includes(name) ? (query.get(name) ?? '') : '']),
  ) as Filters;
  if (names.includes('since') && !filters.since) filters.since = DEFAULT_SINCE;
  return filters;
}

export interface FilterFormOptions {
  filters: Filters;
  /** The filters the page keeps: one control each. */
  names: readonly FilterName[];
  /** Job choices, when the page keeps a job filter: id and title. */
  jobs?: ReadonlyArray<{ id: string; title: string | null }>;
  /** Called after the URL changed. */
  onChange: () => void;
}

/** The filter form: each control is a native, labelled form control, reachable with Tab. */
export function filterForm(options: FilterFormOptions): HTMLFormElement {
  const { filters, names } = options;
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
    names.includes('since') && select('filter-since', 'Period', 'since', periods),
    names.includes('until') &&
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
    names.includes('job') && select('filter-job', 'Job', 'job', jobChoices),
    names.includes('status') &&
      select('filter-status', 'Status', 'status', [
        ['', 'Any status'],
        ...STATUSES.map((s): [string, string] => [s, s]),
      ]),
  );
  form.addEventListener('change', () => {
    const data = new FormData(form);
    const next = Object.fromEntries(
      FILTER_NAMES.map((name) => [name, String(data.get(name) ?? '')]),
    ) as Filters;
    history.pushState(null, '', withQuery(location.pathname, filterQuery(next, names)));
    options.onChange();
  });
  form.addEventListener('submit', (event) => event.preventDefault());
  return form;
}
