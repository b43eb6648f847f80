// A tiny HTTP responder passed to ProductLiveClient as its `fetch` option (dependency injection, no
// module mocking). It records every request and answers from a script or a handler function.
import type { FetchLike } from '#core/product-live/product-live-client';

/** A request as the fake server saw it. */
export interface RecordedRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  /** A streamed body (an upload), unread: a reply reads it (`readStreamedBody`) or answers without reading it. */
  bodyStream: ReadableStream<Uint8Array> | undefined;
  /** `Date.now()` when the request arrived (fake timers make this the simulated clock). */
  at: number;
}

/** How the fake server answers one request (a reply still pending when the request's signal aborts is dropped). */
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

/** Reads a streamed request body to its end, as a server would; rejects as the stream does (a failed source). */
export async function readStreamedBody(request: RecordedRequest): Promise<Uint8Array> {
  if (!request.bodyStream) throw new Error('fake fetch: the request has no streamed body');
  const chunks: Uint8Array[] = [];
  for await (const chunk of request.bodyStream) chunks.push(chunk);
  return Buffer.concat(chunks);
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
      bodyStream: init.body instanceof ReadableStream ? init.body : undefined,
      at: Date.now(),
    };
    requests.push(request);
    const reply = replies ? replies.shift() : script;
    if (reply === undefined) throw new Error(`fake fetch: unexpected request ${request.method} ${url}`);
    if (reply instanceof Response) return reply;
    if (reply instanceof Error) throw reply;
    // Like fetch, a request whose signal aborts rejects with its reason, whatever the server is doing.
    const aborted = new Promise<Response>((_resolve, reject) => {
      const signal = init.signal;
      if (!signal) return;
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
    if (typeof reply === 'function') return Promise.race([reply(request), aborted]);
    return aborted;
  };

  return { fetch, requests };
}
