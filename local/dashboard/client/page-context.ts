/// <reference lib="dom" />
// Layer flow: client/router.ts -> a page of client/pages/, given its PageContext: what its URL holds (the
// parameters of its path, the filters it keeps) and its way to the views its entry in site-map.ts names.
import type { ViewOf } from '../dashboard-data';
import type { PAGES, PageName, PageParams, ParamsArgument, ViewParams } from '../site-map';
import type { Filters } from './filters';

/** The views a page names in site-map.ts: the only ones it may fetch. */
export type PageView<Page extends PageName> = (typeof PAGES)[Page]['views'][number];

export interface PageContext<Page extends PageName> {
  /** The parameters of the page's path, decoded. */
  readonly params: PageParams<Page>;
  /** The filters the page keeps, read from its URL ('' for none). */
  readonly filters: Filters;
  /** GETs one of the page's views, with the filters that view reads. */
  view<View extends PageView<Page>>(
    view: View,
    ...params: ParamsArgument<ViewParams<View>>
  ): Promise<ViewOf<View>>;
  /** The URL of one of the page's views (a download), with the filters that view reads. */
  viewHref<View extends PageView<Page>>(view: View, ...params: ParamsArgument<ViewParams<View>>): string;
  /** Renders the page again (after a filter changed: the URL holds the new filters). */
  rerender(): void;
}

/** Renders a page into `main`; called again after every sync and every filter change. */
export type RenderPage<Page extends PageName> = (
  main: HTMLElement,
  context: PageContext<Page>,
) => Promise<void>;
