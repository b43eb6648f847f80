/// <reference lib="dom" />
// Layer flow: main.ts -> this router -> the page of the URL's path (site-map.ts, client/pages/), given its
// context. One render at a time: a render asked for while one runs (a sync, a filter change) runs after it.
import { matchPath, PAGES, PATH_PARAMS, type PageName, type PageParams, type ParamName } from '../site-map';
import { getView, viewPath } from './api';
import { destroyCharts } from './charts';
import { h, replace } from './dom';
import { readFilters } from './filters';
import type { PageContext } from './page-context';
import { failure } from './page-parts';
import { PAGE_RENDERERS } from './pages';

/** The page of a path and the parameters of its path, decoded; the overview for a path of no page. */
export function pageOf(pathname: string): { page: PageName; params: Record<string, string | number> } {
  for (const page of Object.keys(PAGES) as PageName[]) {
    const raw = matchPath(PAGES[page].path, pathname);
    if (!raw) continue;
    const params: Record<string, string | number> = {};
    for (const [name, text] of Object.entries(raw)) {
      params[name] = PATH_PARAMS[name as ParamName].parse(decodeURIComponent(text));
    }
    return { page, params };
  }
  return { page: 'overview', params: {} };
}

/** Renders `page` into `main` with its context. */
function renderPage<Page extends PageName>(
  main: HTMLElement,
  page: Page,
  params: PageParams<Page>,
  rerender: () => void,
): Promise<void> {
  const filters = readFilters(PAGES[page].filters);
  const context: PageContext<Page> = {
    params,
    filters,
    view: (view, ...viewParams) => getView(view, filters, ...viewParams),
    viewHref: (view, ...viewParams) => viewPath(view, filters, ...viewParams),
    rerender,
  };
  return PAGE_RENDERERS[page](main, context);
}

/** Renders the current page into `main`; the filters' change and a new sync call the returned function again. */
export function startPages(main: HTMLElement): () => Promise<void> {
  let running: Promise<void> | undefined;
  let again = false;
  const rerender = async (): Promise<void> => {
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        // A filter changed with the keyboard keeps the focus on its control across the new render.
        const focused = document.activeElement?.id;
        try {
          const { page, params } = pageOf(location.pathname);
          await renderPage(main, page, params as PageParams<typeof page>, () => void rerender());
          if (focused) document.getElementById(focused)?.focus();
        } catch (error) {
          destroyCharts();
          replace(main, h('h1', {}, 'Dashboard'), failure(error));
        }
      } while (again);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
  return rerender;
}
