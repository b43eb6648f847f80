// ProductLiveClient.uploadFile against a fake server (the `fetch` option): the multipart framing byte for byte,
// Content-Length, streaming on demand, retries and their kinds, 413 thrown once, the idle timeout, a source of
// the wrong size, the caller's abort, and the key kept out of errors.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  isApiStatus,
  isRetryable,
  ProductLiveApiError,
  ProductLiveNetworkError,
  ProductLiveUploadSourceError,
} from '#core/product-live/product-live.errors';
import {
  FILES_PATH,
  ProductLiveClient,
  type ProductLiveClientOptions,
  type ProductLiveRequestEvent,
  type UploadSource,
} from '#core/product-live/product-live-client';
import { RateBudget } from '#core/product-live/rate-budget';
import { sleep } from '#core/product-live/sleep';
import {
  fakeFetch,
  hang,
  jsonReply,
  networkFailure,
  type RecordedRequest,
  type Reply,
  readStreamedBody,
  textReply,
} from '../../../../builders/fetch-responder';

const API_KEY = 'pl-test-key-7f3a9c1e5b';
const T0 = Date.parse('2024-03-01T10:00:00.000Z');
const FILE_ID = 'a3f1c9e2b7d4058a6e1f2c3b4a5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f';

/** The answer of the Files API, as documented: a `data_factory_file`. */
function uploadedFile(extra: Record<string, unknown> = {}) {
  return {
    object: 'data_factory_file',
    id: FILE_ID,
    createdAt: '2024-03-01T10:00:00.511Z',
    updatedAt: '2024-03-01T10:00:00.511Z',
    url: `https://app.product-live.com/data-factory/2629/download/${FILE_ID}/prices.csv`,
    ...extra,
  };
}

/** A source over fixed chunks, counting how often it is opened, how far it was read and whether it was released. */
function chunkedSource(chunks: readonly (Uint8Array | string)[], overrides: Partial<UploadSource> = {}) {
  const bytes = chunks.map((chunk) => (typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
  const stats = { opened: 0, yielded: 0, released: 0 };
  const source: UploadSource = {
    fileName: 'prices.csv',
    size: bytes.reduce((sum, chunk) => sum + chunk.byteLength, 0),
    contentType: 'text/csv',
    async open() {
      stats.opened += 1;
      return (async function* () {
        try {
          for (const chunk of bytes) {
            stats.yielded += 1;
            yield chunk;
          }
        } finally {
          stats.released += 1;
        }
      })();
    },
    ...overrides,
  };
  return { source, stats };
}

/** A reply that reads the whole body like a server, keeps it, and answers `response`. */
function receive(bodies: Uint8Array[], response: () => Response = () => jsonReply(uploadedFile(), 201)) {
  return async (request: RecordedRequest) => {
    bodies.push(await readStreamedBody(request));
    return response();
  };
}

function clientWith(replies: Reply[], options: Partial<ProductLiveClientOptions> = {}) {
  const server = fakeFetch(replies);
  const events: ProductLiveRequestEvent[] = [];
  const client = new ProductLiveClient({
    baseUrl: 'https://api.product-live.com',
    apiKey: API_KEY,
    fetch: server.fetch,
    random: () => 0.5,
    sleep,
    onRequest: (event) => events.push(event),
    ...options,
  });
  return { client, requests: server.requests, events };
}

/** Runs the fake clock until `promise` settles; resolves to its error (or undefined on success). */
async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  const settled = promise.then(
    () => undefined,
    (error: unknown) => error ?? new Error('rejected without a reason'),
  );
  await vi.runAllTimersAsync();
  return settled;
}

async function resultOf<T>(promise: Promise<T>): Promise<T> {
  const settled = promise.then((value) => ({ value }));
  await vi.runAllTimersAsync();
  return (await settled).value;
}

function boundaryOf(request: RecordedRequest | undefined): string {
  const match = /^multipart\/form-data; boundary=(.+)$/.exec(request?.headers['content-type'] ?? '');
  if (!match?.[1]) throw new Error(`no multipart boundary in ${request?.headers['content-type']}`);
  return match[1];
}

describe('ProductLiveClient.uploadFile framing', () => {
  it('posts one multipart part named file, byte for byte, with an exact Content-Length', async () => {
    const bodies: Uint8Array[] = [];
    const { client, requests } = clientWith([receive(bodies)]);
    const fileName = 'prix "été" 2024\\v2 final.csv';
    const { source } = chunkedSource(['sku;price\n', 'A1;9.90\n', 'B2;12.00\n'], { fileName });

    const file = await client.uploadFile(source);

    const [request] = requests;
    const boundary = boundaryOf(request);
    expect(boundary).toMatch(/^----product-live-upload-[0-9a-f]{32}$/);
    expect(request?.method).toBe('POST');
    expect(request?.url.href).toBe('https://api.product-live.com/v1/data_factory/files');
    expect(request?.headers).toMatchObject({ 'x-api-key': API_KEY, accept: 'application/json' });
    const expected = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\n` +
          'Content-Disposition: form-data; name="file"; filename="prix \\"été\\" 2024\\\\v2 final.csv"\r\n' +
          'Content-Type: text/csv\r\n\r\n',
        'utf8',
      ),
      Buffer.from('sku;price\nA1;9.90\nB2;12.00\n'),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    expect(Buffer.from(bodies[0] ?? []).toString('hex')).toBe(expected.toString('hex'));
    expect(request?.headers['content-length']).toBe(String(expected.length));
    expect(file).toEqual(uploadedFile());
  });

  it('sends the name as UTF-8 bytes and application/octet-stream by default', async () => {
    const bodies: Uint8Array[] = [];
    const { client } = clientWith([receive(bodies)]);
    const { source } = chunkedSource([new Uint8Array([0, 255, 1])], {
      fileName: 'Ünïcødé 価格 ☃.bin',
      contentType: undefined,
    });

    await client.uploadFile(source);

    const text = Buffer.from(bodies[0] ?? []).toString('latin1');
    expect(text).toContain(`filename="${Buffer.from('Ünïcødé 価格 ☃.bin', 'utf8').toString('latin1')}"`);
    expect(text).toContain('Content-Type: application/octet-stream\r\n\r\n\u0000\u00ff\u0001\r\n--');
  });

  it('uploads an empty file: the framing alone, Content-Length included', async () => {
    const bodies: Uint8Array[] = [];
    const { client, requests } = clientWith([receive(bodies)]);
    const { source } = chunkedSource([], { fileName: 'empty.csv' });

    await client.uploadFile(source);

    const boundary = boundaryOf(requests[0]);
    const text = Buffer.from(bodies[0] ?? []).toString('utf8');
    expect(text).toBe(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="empty.csv"\r\n` +
        `Content-Type: text/csv\r\n\r\n\r\n--${boundary}--\r\n`,
    );
    expect(requests[0]?.headers['content-length']).toBe(String(Buffer.byteLength(text)));
  });

  it('uses a fresh boundary for every attempt', async () => {
    vi.useFakeTimers({ now: T0 });
    try {
      const { client, requests } = clientWith([receive([], () => textReply('busy', 503)), receive([])]);
      await resultOf(client.uploadFile(chunkedSource(['a']).source));
      expect(boundaryOf(requests[0])).not.toBe(boundaryOf(requests[1]));
    } finally {
      vi.useRealTimers();
    }
  });

  it('accepts 200 as well as 201, and keeps unknown fields of the answer', async () => {
    const { client } = clientWith([
      receive([], () => jsonReply(uploadedFile({ size: 27, name: 'prices.csv' }), 200)),
    ]);
    expect(await client.uploadFile(chunkedSource(['x']).source)).toEqual(
      uploadedFile({ size: 27, name: 'prices.csv' }),
    );
  });

  it('keeps a path prefix of the base URL', async () => {
    const { client, requests } = clientWith([receive([])], { baseUrl: 'http://127.0.0.1:4010/api/' });
    await client.uploadFile(chunkedSource(['x']).source);
    expect(requests[0]?.url.href).toBe(`http://127.0.0.1:4010/api${FILES_PATH}`);
  });

  it('names the field of an answer that is not a data_factory_file, and does not retry it', async () => {
    const { client, requests } = clientWith([
      receive([], () => jsonReply({ object: 'data_factory_file', url: 'https://x/y' }, 201)),
    ]);
    await expect(client.uploadFile(chunkedSource(['x']).source)).rejects.toThrow(
      /Invalid data factory file in POST \/v1\/data_factory\/files: field "id"/,
    );
    expect(requests).toHaveLength(1);
  });

  it.each([
    ['a line feed in the name', { fileName: 'a\nb.csv' }, /line break/],
    ['a carriage return in the name', { fileName: 'a\rb.csv' }, /line break/],
    ['an empty name', { fileName: '' }, /empty/],
    ['a negative size', { size: -1 }, /exact size/],
    ['a fractional size', { size: 1.5 }, /exact size/],
    ['a content type with a line break', { contentType: 'text/csv\r\nX-Evil: 1' }, /MIME type/],
  ] as const)('refuses %s before any request', async (_label, overrides, message) => {
    const { client, requests } = clientWith([]);
    const { source, stats } = chunkedSource(['x'], overrides);
    await expect(client.uploadFile(source)).rejects.toThrow(message);
    await expect(client.uploadFile(source)).rejects.toBeInstanceOf(TypeError);
    expect(requests).toHaveLength(0);
    expect(stats.opened).toBe(0);
  });
});

describe('ProductLiveClient.uploadFile streaming', () => {
  it('reads the source only as fast as the connection takes its bytes', async () => {
    const seen: number[] = [];
    const chunks = Array.from({ length: 50 }, (_, index) => Buffer.alloc(1024, index));
    const { source, stats } = chunkedSource(chunks);
    const { client } = clientWith([
      async (request) => {
        const reader = request.bodyStream?.getReader();
        if (!reader) throw new Error('no body');
        for (let read = 0; read < 5; read++) {
          await reader.read();
          seen.push(stats.yielded);
        }
        for (;;) if ((await reader.read()).done) break;
        return jsonReply(uploadedFile(), 201);
      },
    ]);

    await client.uploadFile(source);

    // Read 1 is the preamble; each later read pulls exactly one chunk from the source.
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(stats.yielded).toBe(50);
  });

  it('stops reading and releases the source when the server answers before the body is out', async () => {
    const chunks = Array.from({ length: 100 }, () => Buffer.alloc(1024));
    const { source, stats } = chunkedSource(chunks);
    const { client, requests } = clientWith([
      async (request) => {
        const reader = request.bodyStream?.getReader();
        await reader?.read();
        await reader?.read();
        reader?.releaseLock();
        return jsonReply({ statusCode: 413, message: 'File too large' }, 413);
      },
    ]);

    const error = await client.uploadFile(source).catch((caught: unknown) => caught);

    expect(isApiStatus(error, 413)).toBe(true);
    expect(requests).toHaveLength(1);
    expect(stats.yielded).toBeLessThan(5);
    expect(stats.released).toBe(1);
  });
});

describe('ProductLiveClient.uploadFile retries', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each([
    ['a 429 with Retry-After', () => jsonReply({ message: 'slow down' }, 429, { 'retry-after': '3' })],
    ['a 500', () => textReply('oops', 500)],
    ['a 503', () => textReply('unavailable', 503)],
    ['a truncated answer', () => textReply('{"object":"data_factory_f', 201)],
  ] as const)(
    'retries %s, opening the source afresh and sending the whole body again',
    async (_label, first) => {
      const bodies: Uint8Array[] = [];
      const { client, requests } = clientWith([receive(bodies, first), receive(bodies)]);
      const { source, stats } = chunkedSource(['sku;price\n', 'A1;9.90\n']);

      const file = await resultOf(client.uploadFile(source));

      expect(file.id).toBe(FILE_ID);
      expect(requests).toHaveLength(2);
      expect(stats.opened).toBe(2);
      const [firstBody, secondBody] = bodies.map((body) => Buffer.from(body).toString('utf8'));
      expect(firstBody?.replaceAll(boundaryOf(requests[0]), 'B')).toBe(
        secondBody?.replaceAll(boundaryOf(requests[1]), 'B'),
      );
    },
  );

  it('waits out Retry-After before the next attempt', async () => {
    const { client, requests } = clientWith([
      receive([], () => jsonReply({}, 429, { 'retry-after': '3' })),
      receive([]),
    ]);
    await resultOf(client.uploadFile(chunkedSource(['x']).source));
    expect((requests[1]?.at ?? 0) - (requests[0]?.at ?? 0)).toBe(3_000);
  });

  it('retries a connection reset, whether or not bytes were sent', async () => {
    const { client, requests } = clientWith([
      async (request) => {
        await request.bodyStream?.getReader().read();
        throw networkFailure('ECONNRESET', 'read ECONNRESET');
      },
      receive([]),
    ]);
    await resultOf(client.uploadFile(chunkedSource(['x']).source));
    expect(requests).toHaveLength(2);
  });

  it('throws a 413 at once, recognisable by its status, without retrying', async () => {
    const { client, requests } = clientWith([
      receive([], () => jsonReply({ statusCode: 413, message: 'File too large' }, 413)),
    ]);
    const { source, stats } = chunkedSource(['x']);

    const error = await failureOf(client.uploadFile(source));

    expect(error).toBeInstanceOf(ProductLiveApiError);
    expect((error as ProductLiveApiError).status).toBe(413);
    expect((error as ProductLiveApiError).operation).toBe('upload');
    expect(isRetryable(error)).toBe(false);
    expect(requests).toHaveLength(1);
    expect(stats.opened).toBe(1);
  });

  it.each([400, 401, 403, 404, 422])('throws a %i at once', async (status) => {
    const { client, requests } = clientWith([receive([], () => jsonReply({ message: 'no' }, status))]);
    const error = await failureOf(client.uploadFile(chunkedSource(['x']).source));
    expect(isApiStatus(error, status)).toBe(true);
    expect(requests).toHaveLength(1);
  });

  it('refuses a redirect instead of following it with the key', async () => {
    const { client, requests } = clientWith([
      receive(
        [],
        () => new Response(null, { status: 307, headers: { location: 'https://elsewhere.test/' } }),
      ),
    ]);
    const error = await failureOf(client.uploadFile(chunkedSource(['x']).source));
    expect(isApiStatus(error, 307)).toBe(true);
    expect(String(error)).toMatch(/redirect/);
    expect(requests).toHaveLength(1);
  });

  it('takes a slot of the rate budget for every attempt', async () => {
    const budget = new RateBudget({ limit: 2, windowMs: 60_000, marginMs: 0 });
    const { client, requests } = clientWith(
      [receive([], () => textReply('oops', 500)), receive([], () => textReply('oops', 500)), receive([])],
      { rateBudget: budget },
    );

    await resultOf(client.uploadFile(chunkedSource(['x']).source));

    expect(requests).toHaveLength(3);
    // Two slots per sliding minute: the third attempt waited for the first slot to come back.
    expect((requests[2]?.at ?? 0) - (requests[0]?.at ?? 0)).toBeGreaterThanOrEqual(60_000);
    expect(client.requestCount).toBe(3);
  });

  it('keeps the key out of the errors it throws, even when the server echoes it', async () => {
    const { client } = clientWith(
      Array.from({ length: 2 }, () => receive([], () => textReply(`bad key ${API_KEY}`, 500))),
      { maxAttempts: 2 },
    );
    const error = await failureOf(client.uploadFile(chunkedSource(['x']).source));
    expect(error).toBeInstanceOf(ProductLiveApiError);
    expect(
      JSON.stringify({ message: String(error), body: (error as ProductLiveApiError).body }),
    ).not.toContain(API_KEY);
  });

  it('refuses a source whose open() yields something other than an AsyncIterable, without retrying', async () => {
    const { client, requests } = clientWith([]);
    const error = await failureOf(
      client.uploadFile({
        fileName: 'a.csv',
        size: 1,
        open: async () => [Buffer.from('a')] as unknown as AsyncIterable<Uint8Array>,
      }),
    );
    expect(error).toBeInstanceOf(TypeError);
    expect(String(error)).toMatch(/AsyncIterable/);
    expect(requests).toHaveLength(0);
  });

  it('throws a failure of open() as it is, without retrying', async () => {
    const { client, requests } = clientWith([]);
    const missing = Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' });
    const error = await failureOf(
      client.uploadFile({ fileName: 'a.csv', size: 1, open: () => Promise.reject(missing) }),
    );
    expect(error).toBe(missing);
    expect(requests).toHaveLength(0);
  });
});

describe('ProductLiveClient.uploadFile sources of the wrong size', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fails an attempt whose source yields fewer bytes than announced, before the closing delimiter', async () => {
    const received: string[] = [];
    const { client, requests } = clientWith(
      Array.from({ length: 2 }, () => async (request: RecordedRequest) => {
        const reader = request.bodyStream?.getReader();
        if (!reader) throw new Error('no body');
        for (;;) {
          const { value, done } = await reader.read(); // rejects once the source falls short
          if (done) break;
          received.push(Buffer.from(value).toString('utf8'));
        }
        return jsonReply(uploadedFile(), 201);
      }),
      { maxAttempts: 2 },
    );
    const { source, stats } = chunkedSource(['12345'], { size: 8 });

    const error = await failureOf(client.uploadFile(source));

    expect(error).toBeInstanceOf(ProductLiveUploadSourceError);
    expect(error).toMatchObject({
      problem: 'size-mismatch',
      expectedBytes: 8,
      actualBytes: 5,
      operation: 'upload',
    });
    expect(String(error)).toContain('yielded only 5 bytes, not the 8 announced');
    expect(isRetryable(error)).toBe(true);
    expect(requests).toHaveLength(2);
    expect(stats.opened).toBe(2);
    expect(received.join('')).not.toContain('--\r\n');
  });

  it('fails an attempt whose source yields more bytes than announced, before the excess is sent', async () => {
    const received: string[] = [];
    const { client } = clientWith(
      [
        async (request: RecordedRequest) => {
          const reader = request.bodyStream?.getReader();
          for (;;) {
            const result = await reader?.read();
            if (!result || result.done) break;
            received.push(Buffer.from(result.value).toString('utf8'));
          }
          return jsonReply(uploadedFile(), 201);
        },
      ],
      { maxAttempts: 1 },
    );
    const { source, stats } = chunkedSource(['abc', 'defgh', 'SECRET-EXCESS'], { size: 8 });

    const error = await failureOf(client.uploadFile(source));

    expect(error).toMatchObject({ problem: 'size-mismatch', expectedBytes: 8 });
    expect(received.join('')).toContain('abcdefgh');
    expect(received.join('')).not.toContain('SECRET');
    expect(stats.released).toBe(1);
  });

  it('retries a source whose read fails mid-way, then succeeds with a fresh one', async () => {
    let opened = 0;
    const bodies: Uint8Array[] = [];
    const source: UploadSource = {
      fileName: 'prices.csv',
      size: 6,
      async open() {
        opened += 1;
        const broken = opened === 1;
        return (async function* () {
          yield Buffer.from('abc');
          if (broken) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
          yield Buffer.from('def');
        })();
      },
    };
    const failing = async (request: RecordedRequest) => {
      await readStreamedBody(request);
      return jsonReply(uploadedFile(), 201);
    };
    const { client, events } = clientWith([failing, receive(bodies)]);

    await resultOf(client.uploadFile(source));

    expect(opened).toBe(2);
    expect(events[0]?.error).toBeInstanceOf(ProductLiveUploadSourceError);
    expect(String(events[0]?.error)).toContain('failed after 3 of 6 bytes: socket hang up');
    expect(Buffer.from(bodies[0] ?? []).toString('utf8')).toContain('\r\n\r\nabcdef\r\n--');
  });
});

describe('ProductLiveClient.uploadFile timeouts', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A source yielding `count` chunks, one every `everyMs` (fake time). */
  function slowSource(count: number, everyMs: number) {
    const stats = { opened: 0 };
    const source: UploadSource = {
      fileName: 'slow.csv',
      size: count,
      async open() {
        stats.opened += 1;
        return (async function* () {
          for (let index = 0; index < count; index++) {
            await sleep(everyMs);
            yield Buffer.from('x');
          }
        })();
      },
    };
    return { source, stats };
  }

  it('keeps uploading past timeoutMs in all while every chunk comes within it', async () => {
    const bodies: Uint8Array[] = [];
    const { client, requests } = clientWith([receive(bodies)], { timeoutMs: 1_000 });
    const { source } = slowSource(10, 800);

    await resultOf(client.uploadFile(source));

    expect(requests).toHaveLength(1);
    expect(Date.now() - T0).toBeGreaterThanOrEqual(8_000);
    expect(Buffer.from(bodies[0] ?? []).toString('utf8')).toContain('xxxxxxxxxx');
  });

  it('fails an attempt when no byte could be sent for timeoutMs, and retries it', async () => {
    const { client, requests, events } = clientWith([receive([]), receive([])], {
      timeoutMs: 1_000,
      maxAttempts: 2,
    });
    let opened = 0;
    const source: UploadSource = {
      fileName: 'stalls.csv',
      size: 2,
      async open() {
        opened += 1;
        const stalls = opened === 1;
        return (async function* () {
          yield Buffer.from('x');
          await sleep(stalls ? 5_000 : 10);
          yield Buffer.from('y');
        })();
      },
    };

    await resultOf(client.uploadFile(source));

    expect(requests).toHaveLength(2);
    expect(events[0]?.error).toBeInstanceOf(ProductLiveNetworkError);
    expect(events[0]?.error).toMatchObject({ timedOut: true });
  });

  it('fails an attempt when no answer comes timeoutMs after the last byte', async () => {
    const { client, requests } = clientWith(
      [
        async (request) => {
          await readStreamedBody(request);
          return new Promise<Response>(() => {}); // never answers
        },
        hang,
      ],
      { timeoutMs: 2_000, maxAttempts: 2 },
    );
    const { source } = slowSource(3, 1_500);
    const started = Date.now();

    const error = await failureOf(client.uploadFile(source));

    expect(error).toBeInstanceOf(ProductLiveNetworkError);
    expect((error as ProductLiveNetworkError).timedOut).toBe(true);
    expect(requests).toHaveLength(2);
    // 3 × 1.5 s of sending, then 2 s without an answer; the second attempt hangs before its first byte.
    expect(requests[1]?.at).toBeGreaterThanOrEqual(started + 4_500 + 2_000);
  });

  it('stops at once when the caller aborts, rejecting with its reason and releasing the source', async () => {
    const controller = new AbortController();
    let released = false;
    const source: UploadSource = {
      fileName: 'big.bin',
      size: 1_000,
      async open() {
        return (async function* () {
          try {
            for (let index = 0; index < 1_000; index++) {
              await sleep(100);
              yield Buffer.from('x');
            }
          } finally {
            released = true;
          }
        })();
      },
    };
    const { client } = clientWith([receive([])], { timeoutMs: 10_000 });
    let settledAt = 0;
    const upload = client.uploadFile(source, { signal: controller.signal }).finally(() => {
      settledAt = Date.now();
    });
    setTimeout(() => controller.abort(new Error('stopped by the caller')), 1_000);

    const error = await failureOf(upload);

    expect(String(error)).toBe('Error: stopped by the caller');
    expect(settledAt - T0).toBe(1_000);
    await vi.runAllTimersAsync();
    expect(released).toBe(true);
  });
});
