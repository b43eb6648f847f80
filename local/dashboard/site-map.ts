// Layer flow: the server's routes (dashboard-routes.ts) and the client's router (client/router.ts) -> this one
// definition of every page and JSON view: its path, its views, the filters it keeps in the URL. Imports nothing,
// so esbuild bundles it for the browser as it is; adding a page is an entry here (docs/CONTRIBUTING.md).

/** The filters a URL may carry (`?since=7d&job=…&status=FAILED`), in the order a query string lists them. */
export const FILTER_NAMES = ['since', 'until', 'job', 'status'] as const;
export type FilterName = (typeof FILTER_NAMES)[number];

/** The period: what a link from one page to another carries along. */
export const PERIOD_FILTERS = ['since', 'until'] as const satisfies readonly FilterName[];

/** The default period of every view, as `history stats` (30 days); a URL leaves it out. */
export const DEFAULT_SINCE = '30d';

/** An execution or job id as the API issues them (24 hex characters; other ids of word characters). */
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const FILE_INDEX = /^(0|[1-9]\d{0,3})$/;

/**
 * The parameters a path may hold (`:name` in a path below): what each names, the form it must have before it
 * reaches a query (so a crafted path, `..` or encoded separators, never names a key), and its value.
 */
export const PATH_PARAMS = {
  id: { what: 'execution id', pattern: ID, parse: (text: string): string => text },
  jobId: { what: 'job id', pattern: ID, parse: (text: string): string => text },
  index: { what: 'file number', pattern: FILE_INDEX, parse: (text: string): number => Number(text) },
} as const;
export type ParamName = keyof typeof PATH_PARAMS;

/** A JSON view (or a download) of the server, that pages fetch. */
interface ViewDefinition {
  readonly path: string;
  /** The filters the view reads from its query string; the others are not sent. */
  readonly filters: readonly FilterName[];
  /** A file, not JSON. */
  readonly download: boolean;
}

/** Every view the server answers under /api/; each is the method of the same name of DashboardData. */
export const VIEWS = {
  version: { path: '/api/version', filters: [], download: false },
  overview: { path: '/api/overview', filters: FILTER_NAMES, download: false },
  failures: { path: '/api/failures', filters: FILTER_NAMES, download: false },
  executions: { path: '/api/executions', filters: FILTER_NAMES, download: false },
  health: { path: '/api/health', filters: PERIOD_FILTERS, download: false },
  jobHealth: { path: '/api/job-health', filters: ['job'], download: false },
  job: { path: '/api/jobs/:jobId', filters: ['since', 'until', 'status'], download: false },
  execution: { path: '/api/executions/:id', filters: [], download: false },
  file: { path: '/api/executions/:id/files/:index', filters: [], download: true },
} as const satisfies Record<string, ViewDefinition>;
export type ViewName = keyof typeof VIEWS;

/** A page: the server answers its path with the page shell, and the client renders it from its views. */
interface PageDefinition {
  readonly path: string;
  /** The views the page fetches or links to. */
  readonly views: readonly ViewName[];
  /** The filters the page keeps in its URL (and shows in its form). */
  readonly filters: readonly FilterName[];
}

/** Every page of the dashboard; each is rendered by its file in client/pages/ (`job`: job-page.ts). */
export const PAGES = {
  overview: {
    path: '/',
    views: ['overview', 'jobHealth', 'failures', 'executions', 'health'],
    filters: FILTER_NAMES,
  },
  job: { path: '/jobs/:jobId', views: ['job'], filters: ['since', 'until', 'status'] },
  execution: { path: '/executions/:id', views: ['execution', 'file'], filters: [] },
} as const satisfies Record<string, PageDefinition>;
export type PageName = keyof typeof PAGES;

type ParamsIn<Path extends string> = Path extends `${string}:${infer Name}/${infer Rest}`
  ? Name | ParamsIn<`/${Rest}`>
  : Path extends `${string}:${infer Name}`
    ? Name
    : never;

/** The parameters of a path, typed: `{ id: string; index: number }` for `/api/executions/:id/files/:index`. */
export type PathParams<Path extends string> = {
  [Name in ParamsIn<Path> & ParamName]: ReturnType<(typeof PATH_PARAMS)[Name]['parse']>;
};
export type PageParams<Page extends PageName> = PathParams<(typeof PAGES)[Page]['path']>;
export type ViewParams<View extends ViewName> = PathParams<(typeof VIEWS)[View]['path']>;

/** The parameters as a function's last argument: none for a path without any. */
export type ParamsArgument<Params> = keyof Params extends never ? [] : [params: Params];

/** The segments of `pathname` that stand where `path` has a `:name`, as sent (not decoded); else undefined. */
export function matchPath(path: string, pathname: string): Record<string, string> | undefined {
  const expected = path.split('/');
  const actual = pathname.split('/');
  if (expected.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (const [index, segment] of expected.entries()) {
    const value = actual[index] ?? '';
    if (segment.startsWith(':')) params[segment.slice(1)] = value;
    else if (segment !== value) return undefined;
  }
  return params;
}

/** `path` with each `:name` replaced by its value in `params` (a PathParams of the path), encoded. */
export function pathOf(path: string, params: object = {}): string {
  const values: Readonly<Record<string, unknown>> = { ...params };
  return path
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return segment;
      const value = values[segment.slice(1)];
      if (typeof value !== 'string' && typeof value !== 'number') {
        throw new Error(`${path}: no value for ${segment}`);
      }
      return encodeURIComponent(String(value));
    })
    .join('/');
}

/** The query string of the filters named, the empty ones and the default period left out. */
export function filterQuery(
  values: Readonly<Partial<Record<FilterName, string | null>>>,
  names: readonly FilterName[],
): URLSearchParams {
  const query = new URLSearchParams();
  for (const name of FILTER_NAMES) {
    const value = values[name];
    if (!names.includes(name) || !value || (name === 'since' && value === DEFAULT_SINCE)) continue;
    query.set(name, value);
  }
  return query;
}

/** A path with its query string, if any. */
export function withQuery(path: string, query: URLSearchParams): string {
  const search = query.toString();
  return search ? `${path}?${search}` : path;
}
