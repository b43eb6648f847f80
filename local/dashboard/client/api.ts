/// <reference lib="dom" />
// The client's one way to the server: GET a view of site-map.ts by its name, with the filters that view reads;
// a refusal carries the server's one-line reason. The answer is typed as its data function (DashboardData) returns it.
import type { ViewOf } from '../dashboard-data';
import {
  type FilterName,
  filterQuery,
  type ParamsArgument,
  pathOf,
  VIEWS,
  type ViewName,
  type ViewParams,
  withQuery,
} from '../site-map';

class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The filters a page holds ('' for none); a view is sent those it reads. */
export type FilterValues = Readonly<Partial<Record<FilterName, string>>>;

/** The URL of a view: its path with its parameters, and the filters it reads as the query string. */
export function viewPath<View extends ViewName>(
  view: View,
  filters: FilterValues,
  ...[params]: ParamsArgument<ViewParams<View>>
): string {
  return withQuery(pathOf(VIEWS[view].path, params ?? {}), filterQuery(filters, VIEWS[view].filters));
}

/** GETs a JSON view. */
export async function getView<View extends ViewName>(
  view: View,
  filters: FilterValues,
  ...params: ParamsArgument<ViewParams<View>>
): Promise<ViewOf<View>> {
  const response = await fetch(viewPath(view, filters, ...params), {
    headers: { Accept: 'application/json' },
  });
  const body = (await response.json().catch(() => ({}))) as { error?: string };
  if (!response.ok) throw new ApiError(response.status, body.error ?? `HTTP ${response.status}`);
  return body as ViewOf<View>;
}
