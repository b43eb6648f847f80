/// <reference lib="dom" />
// Links between the pages, from their paths in site-map.ts: a link carries the period along when the page it
// leads to keeps one, so that a job opened from the overview shows the same days.
import {
  filterQuery,
  PAGES,
  type PageName,
  type PageParams,
  type ParamsArgument,
  PERIOD_FILTERS,
  pathOf,
  withQuery,
} from '../site-map';
import type { FilterValues } from './api';
import { h } from './dom';

/** The URL of a page, with the period of `filters` if that page keeps it. */
export function pageHref<Page extends PageName>(
  page: Page,
  filters: FilterValues,
  ...[params]: ParamsArgument<PageParams<Page>>
): string {
  const kept: readonly string[] = PAGES[page].filters;
  return withQuery(
    pathOf(PAGES[page].path, params ?? {}),
    filterQuery(
      filters,
      PERIOD_FILTERS.filter((name) => kept.includes(name)),
    ),
  );
}

export function jobLink(jobId: string, title: string | null, filters: FilterValues): HTMLAnchorElement {
  return h('a', { href: pageHref('job', filters, { jobId }) }, title ?? jobId);
}

export function executionLink(id: string, text?: string): HTMLAnchorElement {
  return h('a', { href: pageHref('execution', {}, { id }) }, text ?? id);
}
