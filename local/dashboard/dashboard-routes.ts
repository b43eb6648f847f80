// Layer flow: the dashboard's HTTP server -> this module (pure) -> a Route the server dispatches. Every URL the
// dashboard answers is listed here; anything else is a 404. Ids and file indexes are checked against strict
// patterns before they reach a query, so a crafted path (`..`, encoded separators) never names a key.
import { HistoryInputError } from '../../functions/core/history/history.errors';
import { type Period, resolvePeriod } from '../../functions/core/history/period';

/** An execution or job id as the API issues them (24 hex characters; other ids of word characters). */
const ID = /^[A-Za-z0-9_-]{1,64}$/;
/** A status filter: the documented statuses, or any other upper-case word the API may return. */
const STATUS = /^[A-Z_]{1,32}$/;
const FILE_INDEX = /^(0|[1-9]\d{0,3})$/;

/** The default period of every view, as `history stats` (30 days). */
export const DEFAULT_SINCE = '30d';

export type Route =
  | { kind: 'page'; page: 'overview' | 'job' | 'execution' }
  | { kind: 'asset'; name: string }
  | { kind: 'version' }
  | { kind: 'overview' }
  | { kind: 'failures' }
  | { kind: 'executions' }
  | { kind: 'health' }
  | { kind: 'job'; jobId: string }
  | { kind: 'execution'; id: string }
  | { kind: 'file'; id: string; index: number };

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
  const segments = pathname.split('/').slice(1);
  const [first, second, third, fourth, fifth, ...rest] = segments;
  const notFound = () => new DashboardRequestError(404, `no such page: ${pathname}`);
  if (pathname === '/' || pathname === '/index.html') return { kind: 'page', page: 'overview' };
  if (first === 'jobs' && second !== undefined && third === undefined) {
    checkId(second, 'job id');
    return { kind: 'page', page: 'job' };
  }
  if (first === 'executions' && second !== undefined && third === undefined) {
    checkId(second, 'execution id');
    return { kind: 'page', page: 'execution' };
  }
  if (first === 'assets' && second !== undefined && third === undefined) {
    if (!assetNames.has(second)) throw notFound();
    return { kind: 'asset', name: second };
  }
  if (first !== 'api' || second === undefined) throw notFound();
  if (third === undefined) {
    switch (second) {
      case 'version':
      case 'overview':
      case 'failures':
      case 'executions':
      case 'health':
        return { kind: second };
      default:
        throw notFound();
    }
  }
  if (second === 'jobs' && fourth === undefined) return { kind: 'job', jobId: checkId(third, 'job id') };
  if (second === 'executions') {
    const id = checkId(third, 'execution id');
    if (fourth === undefined) return { kind: 'execution', id };
    if (fourth === 'files' && fifth !== undefined && rest.length === 0) {
      if (!FILE_INDEX.test(fifth)) throw new DashboardRequestError(400, `not a file number: ${fifth}`);
      return { kind: 'file', id, index: Number(fifth) };
    }
  }
  throw notFound();
}

function checkId(text: string, what: string): string {
  if (!ID.test(text)) throw new DashboardRequestError(400, `not a valid ${what}`);
  return text;
}

/** The filters of a view, as the URL carries them (and the client shows them). */
export interface ViewFilters {
  /** `--since` forms: 30d, 2024-05-01, all. */
  since: string;
  until: string | null;
  job: string | null;
  status: string | null;
}

/** The filters of a query string, checked; the period resolved against `now` as the history CLI does. */
export function parseFilters(query: URLSearchParams, now: number): { filters: ViewFilters; period: Period } {
  const text = (name: string) => {
    const value = query.get(name)?.trim();
    return value ? value : null;
  };
  const filters: ViewFilters = {
    since: text('since') ?? DEFAULT_SINCE,
    until: text('until'),
    job: text('job'),
    status: text('status')?.toUpperCase() ?? null,
  };
  if (filters.job !== null) checkId(filters.job, 'job id');
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
