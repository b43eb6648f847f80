// A tiny HTTP responder passed to ProductLiveClient as its `fetch` option (dependency injection, no
// module mocking). It records every request and answers from a script or a handler function.
import type { FetchLike } from '../../functions/core/product-live/product-live-client';

/** A request as the fake server saw it. */
export interface RecordedRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  /** `Date.now()` when the request arrived (fake timers make this the simulated clock). */
  at: number;
}

/** How the fake server answers one request. */
export type Reply =
  | Response
  | Error
  | { hang: true }
  | ((request: RecordedRequest) => Response | Promise<Response>);

/** A JSON answer. */
export function jsonReply(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/** A raw text answer (e.g. a truncated JSON body or an HTML error page). */
export function textReply(body: string, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers });
}

/** What Node's fetch throws when the connection fails with `code` (e.g. ECONNREFUSED, ECONNRESET). */
export function networkFailure(code: string, message = `connect ${code} 10.0.0.1:443`): Error {
  const cause = Object.assign(new Error(message), { code });
  return new TypeError('fetch failed', { cause });
}

/** A request that never answers until its signal aborts (then rejects like fetch does). */
export const hang = { hang: true } as const;

/**
 * A fake `fetch`. With an array, each request takes the next reply (running out is a test failure);
 * with a function, every request is answered by it.
 */
export function fakeFetch(script: Reply[] | ((request: RecordedRequest) => Response | Promise<Response>)): {
  fetch: FetchLike;
  requests: RecordedRequest[];
} {
  const requests: RecordedRequest[] = [];
  const replies = Array.isArray(script) ? [...script] : undefined;

  const fetch: FetchLike = async (url, init) => {
    const request: RecordedRequest = {
      url: new URL(url),
      method: init.method ?? 'GET',
      headers: Object.fromEntries(new Headers(init.headers).entries()),
      body: typeof init.body === 'string' ? init.body : undefined,
      at: Date.now(),
    };
    requests.push(request);
    const reply = replies ? replies.shift() : script;
    if (reply === undefined) throw new Error(`fake fetch: unexpected request ${request.method} ${url}`);
    if (reply instanceof Response) return reply;
    if (reply instanceof Error) throw reply;
    if (typeof reply === 'function') return reply(request);
    return new Promise<Response>((_resolve, reject) => {
      const signal = init.signal;
      if (!signal) return;
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  };

  return { fetch, requests };
}
