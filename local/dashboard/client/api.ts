/// <reference lib="dom" />
// The client's one way to the server: GET a JSON view; a refusal carries the server's one-line reason.

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** GETs `/api/<path>` with the query; the view as the server typed it. */
export async function getJson<T>(path: string, query?: URLSearchParams): Promise<T> {
  const search = query && [...query.keys()].length > 0 ? `?${query.toString()}` : '';
  const response = await fetch(`/api/${path}${search}`, { headers: { Accept: 'application/json' } });
  const body = (await response.json().catch(() => ({}))) as { error?: string };
  if (!response.ok) throw new ApiError(response.status, body.error ?? `HTTP ${response.status}`);
  return body as T;
}
