import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  isOutcomeUnknown,
  ProductLiveApiError,
  ProductLiveNetworkError,
  ProductLiveRateLimitError,
  ProductLiveResponseError,
} from '#core/product-live/product-live.errors';
import { ProductLiveClient, type ProductLiveClientOptions } from '#core/product-live/product-live-client';
import { RateBudget } from '#core/product-live/rate-budget';
import { sleep } from '#core/product-live/sleep';
import {
  fakeFetch,
  hang,
  jsonReply,
  networkFailure,
  type Reply,
  textReply,
} from '../../../../builders/fetch-responder';
import { aJobExecution } from '../../../../builders/job-execution.builder';
import createdFixture from '../../../../fixtures/product-live/create-job-execution.response.json';

// Whole seconds, so that an HTTP-date Retry-After (second resolution) is exact.
const T0 = Date.parse('2024-03-01T10:00:00.000Z');
const EXECUTION_ID = '658445e23ad5b929948ab731';

/** A client over a scripted fake server, with fake timers driving every wait; `waits` records each backoff. */
function scripted(replies: Reply[], options: Partial<ProductLiveClientOptions> = {}) {
  const server = fakeFetch(replies);
  const waits: number[] = [];
  const client = new ProductLiveClient({
    baseUrl: 'https://api.product-live.com',
    apiKey: 'pl-test-key-7f3a9c1e5b',
    fetch: server.fetch,
    random: () => 0.5,
    sleep: (ms, signal) => {
      waits.push(ms);
      return sleep(ms, signal);
    },
    ...options,
  });
  const gaps = () =>
    server.requests.slice(1).map((request, index) => request.at - (server.requests[index]?.at ?? 0));
  return { client, requests: server.requests, waits, gaps };
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

const ok = () => jsonReply(aJobExecution({ id: EXECUTION_ID }));

describe('ProductLiveClient retries', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits out a 429 Retry-After given in seconds, then succeeds', async () => {
    const { client, requests, waits, gaps } = scripted([
      textReply('slow down', 429, { 'retry-after': '7' }),
      ok(),
    ]);

    const execution = await resultOf(client.getJobExecution(EXECUTION_ID));

    expect(execution.id).toBe(EXECUTION_ID);
    expect(waits).toEqual([7_000]);
    expect(gaps()[0]).toBeGreaterThanOrEqual(7_000);
    expect(gaps()[0]).toBeLessThan(7_100);
    expect(requests).toHaveLength(2);
    expect(client.requestCount).toBe(2);
    expect(client.throttledCount).toBe(1);
  });

  it('waits out a 429 Retry-After given as an HTTP date', async () => {
    const retryAt = new Date(T0 + 12_000).toUTCString();
    const { client, waits, gaps } = scripted([textReply('', 429, { 'Retry-After': retryAt }), ok()]);

    await resultOf(client.getJobExecution(EXECUTION_ID));

    expect(retryAt).toMatch(/GMT$/);
    expect(waits).toEqual([12_000]);
    expect(gaps()[0]).toBeGreaterThanOrEqual(12_000);
  });

  it('backs off with full jitter on a 429 without Retry-After, pausing the whole budget', async () => {
    const { client, waits } = scripted([textReply('', 429), ok()], { random: () => 0.25 });
    await resultOf(client.getJobExecution(EXECUTION_ID));
    expect(waits).toEqual([250]);
    expect(client.rateBudget.pausedUntil).toBeGreaterThanOrEqual(T0 + 250);
  });

  it('retries a 5xx answer with backoff', async () => {
    const { client, waits, requests } = scripted([textReply('bad gateway', 502), ok()]);
    await resultOf(client.getJobExecution(EXECUTION_ID));
    expect(waits).toEqual([500]);
    expect(requests).toHaveLength(2);
  });

  it('retries a network failure', async () => {
    const { client, requests } = scripted([networkFailure('ECONNRESET', 'read ECONNRESET'), ok()]);
    await resultOf(client.getJobExecution(EXECUTION_ID));
    expect(requests).toHaveLength(2);
  });

  it('aborts an attempt at the timeout and retries it', async () => {
    const { client, gaps, requests } = scripted([hang, ok()], { timeoutMs: 5_000 });
    await resultOf(client.getJobExecution(EXECUTION_ID));
    expect(requests).toHaveLength(2);
    expect(gaps()[0]).toBeGreaterThanOrEqual(5_000);
  });

  it('retries a truncated 2xx body of a read request', async () => {
    const { client, requests } = scripted([textReply('{"object":"job_execution","id":"65'), ok()]);
    await resultOf(client.getJobExecution(EXECUTION_ID));
    expect(requests).toHaveLength(2);
  });

  it('gives up after maxAttempts with the last error, doubling the backoff cap each time', async () => {
    const { client, waits, requests } = scripted(
      Array.from({ length: 6 }, () => textReply('unavailable', 503)),
      { maxAttempts: 6 },
    );

    const error = await failureOf(client.getJobExecution(EXECUTION_ID));

    expect(error).toBeInstanceOf(ProductLiveApiError);
    expect(error).toMatchObject({ status: 503, body: 'unavailable' });
    expect(requests).toHaveLength(6);
    expect(waits).toEqual([500, 1_000, 2_000, 4_000, 8_000]);
  });

  it('caps the backoff at retryMaxMs', async () => {
    const { client, waits } = scripted(
      Array.from({ length: 5 }, () => textReply('', 500)),
      { maxAttempts: 5, retryBaseMs: 1_000, retryMaxMs: 3_000, random: () => 0.999 },
    );
    await failureOf(client.getJobExecution(EXECUTION_ID));
    expect(waits).toEqual([999, 1_998, 2_997, 2_997]);
  });

  it('throws a rate-limit error once every attempt was throttled', async () => {
    const { client, requests } = scripted(
      Array.from({ length: 3 }, () => textReply('', 429, { 'retry-after': '2' })),
      { maxAttempts: 3 },
    );
    const error = await failureOf(
      client.findJobExecutions({ type: 'eq', field: 'status', value: 'RUNNING' }),
    );
    expect(error).toBeInstanceOf(ProductLiveRateLimitError);
    expect(error).toMatchObject({ status: 429, retryAfterMs: 2_000, method: 'POST' });
    expect(requests).toHaveLength(3);
    expect(client.throttledCount).toBe(3);
  });

  it('throws a timeout as a network error once attempts are exhausted', async () => {
    const { client, requests } = scripted([hang, hang], { maxAttempts: 2, timeoutMs: 1_000 });
    const error = await failureOf(client.getJobExecution(EXECUTION_ID));
    expect(error).toBeInstanceOf(ProductLiveNetworkError);
    expect(error).toMatchObject({ timedOut: true, requestMayHaveBeenSent: true });
    expect((error as Error).message).toContain('timed out after 1000 ms');
    expect(requests).toHaveLength(2);
  });

  it('hands a Retry-After longer than retryMaxMs back to the caller at once, pausing the budget', async () => {
    const { client, requests, waits } = scripted([textReply('', 429, { 'retry-after': '300' })], {
      retryMaxMs: 60_000,
    });
    const error = await failureOf(client.getJobExecution(EXECUTION_ID));
    expect(error).toBeInstanceOf(ProductLiveRateLimitError);
    expect(error).toMatchObject({ retryAfterMs: 300_000 });
    expect(requests).toHaveLength(1);
    expect(waits).toEqual([]);
    expect(client.rateBudget.pausedUntil).toBeGreaterThanOrEqual(T0 + 300_000);
  });

  it('makes every client sharing a budget wait out another client’s 429', async () => {
    const budget = new RateBudget({ limit: 50 });
    const first = scripted([textReply('', 429, { 'retry-after': '10' }), ok()], { rateBudget: budget });
    const second = scripted([ok()], { rateBudget: budget });

    const throttled = first.client.getJobExecution(EXECUTION_ID);
    await vi.advanceTimersByTimeAsync(100); // the 429 has arrived and paused the budget
    const bystander = second.client.getJobExecution(EXECUTION_ID);
    await resultOf(Promise.all([throttled, bystander]));

    expect(second.requests[0]?.at).toBeGreaterThanOrEqual(T0 + 10_000);
  });

  it('sends every attempt through the rate budget', async () => {
    const { client, requests } = scripted([textReply('', 503), textReply('', 503), ok()], {
      requestsPerMinute: 2,
      random: () => 0,
    });
    await resultOf(client.getJobExecution(EXECUTION_ID));
    expect(requests).toHaveLength(3);
    expect(requests[1]?.at).toBeLessThan(T0 + 100);
    // The third attempt needs a slot: the first one returns 60 s + the 1 s margin after it ended.
    expect(requests[2]?.at).toBeGreaterThanOrEqual(T0 + 61_000);
  });

  it('stops retrying when the caller’s signal aborts, rejecting with its reason', async () => {
    const controller = new AbortController();
    const { client, requests } = scripted([textReply('', 503), ok()]);
    const call = client.getJobExecution(EXECUTION_ID, { signal: controller.signal });
    const outcome = call.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(100); // first attempt failed, now in backoff
    controller.abort(new Error('run deadline reached'));
    await vi.runAllTimersAsync();
    expect(await outcome).toEqual(new Error('run deadline reached'));
    expect(requests).toHaveLength(1);
  });
});

describe('ProductLiveClient.createJobExecution is not retried when the outcome is unknown', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const create = (client: ProductLiveClient) =>
    client.createJobExecution({ jobId: '65819ba43ad5b963658ab35d', input: { file: 'a.xml' } });

  it.each([
    ['a 500', () => textReply('internal error', 500), ProductLiveApiError],
    ['a reset connection', () => networkFailure('ECONNRESET', 'socket hang up'), ProductLiveNetworkError],
    ['a truncated 2xx body', () => textReply('{"object":"job_execution"', 201), ProductLiveResponseError],
  ])('throws %s at once', async (_label, reply, errorClass) => {
    const { client, requests } = scripted([reply(), jsonReply(createdFixture)]);
    const error = await failureOf(create(client));
    expect(error).toBeInstanceOf(errorClass);
    expect(isOutcomeUnknown(error)).toBe(true);
    expect(requests).toHaveLength(1);
  });

  it('throws a timeout at once', async () => {
    const { client, requests } = scripted([hang, jsonReply(createdFixture)], { timeoutMs: 2_000 });
    const error = await failureOf(create(client));
    expect(error).toBeInstanceOf(ProductLiveNetworkError);
    expect(error).toMatchObject({ timedOut: true, requestMayHaveBeenSent: true });
    expect(isOutcomeUnknown(error)).toBe(true);
    expect(requests).toHaveLength(1);
  });

  it('retries a 429, which proves the job was not started', async () => {
    const { client, requests, waits } = scripted([
      textReply('', 429, { 'retry-after': '3' }),
      jsonReply(createdFixture, 201),
    ]);
    const execution = await resultOf(create(client));
    expect(execution.id).toBe('658445e23ad5b929948ab731');
    expect(waits).toEqual([3_000]);
    expect(requests).toHaveLength(2);
    expect(requests[1]?.body).toBe(requests[0]?.body);
  });

  it.each(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'])(
    'retries a connection failure that proves nothing was sent (%s)',
    async (code) => {
      const { client, requests } = scripted([networkFailure(code), jsonReply(createdFixture, 201)]);
      await resultOf(create(client));
      expect(requests).toHaveLength(2);
    },
  );

  it('reports a refused connection as safe to repeat once attempts are exhausted', async () => {
    const { client } = scripted([networkFailure('ECONNREFUSED'), networkFailure('ECONNREFUSED')], {
      maxAttempts: 2,
    });
    const error = await failureOf(create(client));
    expect(error).toBeInstanceOf(ProductLiveNetworkError);
    expect(error).toMatchObject({ timedOut: false, requestMayHaveBeenSent: false });
    expect(isOutcomeUnknown(error)).toBe(false);
    expect((error as Error).message).toContain('ECONNREFUSED');
  });
});
