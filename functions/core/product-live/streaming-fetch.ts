// Layer flow: ProductLiveClient.uploadFile -> this `fetch` over node:http/node:https -> the Files API.
// Why not the global fetch: Node 22's fetch (undici 6) keeps every chunk of a streamed request body reachable
// until the request is gone (nodejs/undici#4058), so a 100 MB upload would hold 100 MB. node:http sends the same
// stream with backpressure and lets each chunk go once written. Never follows a redirect.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';

/** Statuses whose Response cannot have a body (the Response constructor refuses one). */
const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 103, 204, 205, 304]);

/**
 * A `fetch` for requests with a streamed body: method, headers (Content-Length included), a body that is a
 * ReadableStream, a string, bytes or nothing, and the signal. Resolves with the Response as soon as its headers
 * arrive (even before the body is all sent, e.g. a 413), rejects with the signal's reason on abort and with the
 * socket's or the body's error otherwise. `redirect` is ignored: a 3xx is returned as it is, never followed.
 */
export function streamingFetch(url: string, init: RequestInit): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const target = new URL(url);
    const signal = init.signal ?? undefined;
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const request = send(target, {
      method: init.method ?? 'GET',
      headers: Object.fromEntries(new Headers(init.headers).entries()),
    });
    let answered: IncomingMessage | undefined;
    const onAbort = () => {
      const reason: unknown = signal?.reason;
      request.destroy(reason instanceof Error ? reason : new Error('aborted'));
      answered?.destroy();
      reject(reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    // The signal stays in force until the body is all sent and the answer read (an early answer, e.g. a 413,
    // comes while the body is still going out: aborting then stops sending).
    let pending = 2;
    const settle = () => {
      pending -= 1;
      if (pending === 0) signal?.removeEventListener('abort', onAbort);
    };
    request.once('finish', settle);
    request.once('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(error);
    });
    request.once('response', (response) => {
      answered = response;
      response.once('close', settle);
      const status = response.statusCode ?? 0;
      const headers = new Headers();
      for (let index = 0; index + 1 < response.rawHeaders.length; index += 2) {
        headers.append(response.rawHeaders[index] as string, response.rawHeaders[index + 1] as string);
      }
      let body: ReadableStream<Uint8Array> | null = null;
      if (NULL_BODY_STATUSES.has(status)) response.resume();
      else body = Readable.toWeb(response) as unknown as ReadableStream<Uint8Array>;
      resolve(new Response(body, { status, statusText: response.statusMessage ?? '', headers }));
    });

    const body = init.body;
    if (body instanceof ReadableStream) {
      pipeline(Readable.fromWeb(body as unknown as NodeReadableStream<Uint8Array>), request).catch(
        (error: unknown) => {
          request.destroy(error instanceof Error ? error : new Error(String(error)));
          reject(error);
        },
      );
    } else if (body === undefined || body === null) {
      request.end();
    } else if (typeof body === 'string' || body instanceof Uint8Array) {
      request.end(body);
    } else {
      request.destroy();
      reject(new TypeError('streamingFetch sends a ReadableStream, a string or bytes as body'));
    }
  });
}
