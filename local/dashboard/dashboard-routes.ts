// Layer flow: the dashboard's HTTP server -> this module (pure) -> the Route the server dispatches, from the one
// definition of the pages and views (site-map.ts); anything else is a 404. Ids and file indexes are checked
// against their patterns before they reach a query, so a crafted path (`..`, encoded separators) never names a key.
import { HistoryInputError } from '#core/history/history.errors';
import { type Period, resolvePeriod } from '#core/history/period';
import {
  DEFAULT_SINCE,
  type FilterName,
  matchPath,
  PAGES,
  PATH_PARAMS,
  type PageName,
  type ParamName,
  type PathParams,
  VIEWS,
  type ViewName,
} from './site-map';

/** A status filter: the documented statuses, or any other upper-case word the API may return. */
const STATUS = /^[A-Z_]{1,32}$/;

/** A request for a view: the parameters of its path, with its kind. */
export type ViewRoute = {
  [View in ViewName]: { kind: View } & PathParams<(typeof VIEWS)[View]['path']>;
}[ViewName];

export type Route = { kind: 'page'; page: PageName } | { kind: 'asset'; name: string } | ViewRoute;

/** What a view's data function is given: the parameters of its path, and its filters (the period resolved). */
export type ViewRequest<View extends ViewName> = PathParams<(typeof VIEWS)[View]['path']> & {
  filters: ViewFilters;
  period: Period;
};

/** A request the dashboard refuses: the HTTP status and one line saying why. */
export class DashboardRequestError extends Error {
  override readonly name = 'DashboardRequestError';
  constructor(
    readonly status: 400 | 404 | 405,
    message: string,
  ) {
    super(message);
  }
}

/** The route of a request path (already normalised by URL parsing: `..` segments are resolved). */
export function matchRoute(pathname: string, assetNames: ReadonlySet<string>): Route {
  const notFound = () => new DashboardRequestError(404, `no such page: ${pathname}`);
  // The page shell under its own file name.
  if (pathname === '/index.html') return { kind: 'page', page: 'overview' };
  for (const page of Object.keys(PAGES) as PageName[]) {
    const params = matchPath(PAGES[page].path, pathname);
    if (params) {
      parseParams(params);
      return { kind: 'page', page };
    }
  }
  const [, first, name, rest] = pathname.split('/');
  if (first === 'assets' && name !== undefined && rest === undefined) {
    if (!assetNames.has(name)) throw notFound();
    return { kind: 'asset', name };
  }
  for (const view of Object.keys(VIEWS) as ViewName[]) {
    const params = matchPath(VIEWS[view].path, pathname);
    if (params) return { kind: view, ...parseParams(params) } as ViewRoute;
  }
  throw notFound();
}

/** The values of a path's parameters, each checked against its pattern (400 when it does not match). */
function parseParams(params: Record<string, string>): Record<string, string | number> {
  const values: Record<string, string | number> = {};
  for (const [name, text] of Object.entries(params)) {
    const param = PATH_PARAMS[name as ParamName];
    if (!param.pattern.test(text)) throw new DashboardRequestError(400, `not a valid ${param.what}`);
    values[name] = param.parse(text);
  }
  return values;
}

/** The filters of a view, as the URL carries them (and the client shows them). */
export interface ViewFilters {
  /** `--since` forms: 30d, 2024-05-01, all. */
  since: string;
  until: string | null;
  job: string | null;
  status: string | null;
}

/**
 * The filters `names` of a query string (the others are left at their defaults), checked; the period resolved
 * against `now` as the history CLI does.
 */
export function parseFilters(
  query: URLSearchParams,
  now: number,
  names: readonly FilterName[] = ['since', 'until', 'job', 'status'],
): { filters: ViewFilters; period: Period } {
  const text = (name: FilterName) => {
    const value = names.includes(name) ? query.get(name)?.trim() : undefined;
    return value ? value : null;
  };
  const filters: ViewFilters = {
    since: text('since') ?? DEFAULT_SINCE,
    until: text('until'),
    job: text('job'),
    status: text('status')?.toUpperCase() ?? null,
  };
  if (filters.job !== null && !PATH_PARAMS.jobId.pattern.test(filters.job)) {
    throw new DashboardRequestError(400, 'not a valid job id');
  }
  if (filters.status !== null && !STATUS.test(filters.status)) {
    throw new DashboardRequestError(400, 'not a valid status');
  }
  try {
    const period = resolvePeriod(
      { since: filters.since, ...(filters.until !== null ? { until: filters.until } : {}) },
      now,
    );
    return { filters, period };
  } catch (error) {
    if (error instanceof HistoryInputError) {
      throw new DashboardRequestError(400, error.message.replace(/--(since|until)/g, '$1'));
    }
    throw error;
  }
}
