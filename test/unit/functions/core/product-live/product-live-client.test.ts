import { describe, expect, it } from 'vitest';
import { type FindPage, findAllPages } from '#core/product-live/find-pages';
import { eq, greaterOrEqual, inList } from '#core/product-live/find-query';
import {
  ProductLiveApiError,
  ProductLiveAuthError,
  ProductLiveNotFoundError,
  ProductLiveResponseError,
} from '#core/product-live/product-live.errors';
import type { JobExecution } from '#core/product-live/product-live.schema';
import { ProductLiveClient, type ProductLiveClientOptions } from '#core/product-live/product-live-client';
import { fakeFetch, jsonReply, type RecordedRequest, textReply } from '../../../../builders/fetch-responder';
import { aJobExecution, aJobExecutionList } from '../../../../builders/job-execution.builder';
import createdFixture from '../../../../fixtures/product-live/create-job-execution.response.json';
import findFixture from '../../../../fixtures/product-live/find-job-executions.response.json';
import getFixture from '../../../../fixtures/product-live/get-job-execution.response.json';
import { CapturingLogger } from '../../../../support/capturing-logger';

const API_KEY = 'pl-test-key-7f3a9c1e5b';
const BASE_URL = 'https://api.product-live.com';

function clientWith(
  fetch: ProductLiveClientOptions['fetch'],
  options: Partial<ProductLiveClientOptions> = {},
): ProductLiveClient {
  return new ProductLiveClient({
    baseUrl: BASE_URL,
    apiKey: API_KEY,
    fetch,
    sleep: async () => {},
    ...options,
  });
}

function onlyRequest(requests: RecordedRequest[]): RecordedRequest {
  expect(requests).toHaveLength(1);
  const [request] = requests;
  if (!request) throw new Error('no request recorded');
  return request;
}

describe('ProductLiveClient endpoints', () => {
  it('creates a job execution with POST, the documented headers and a JSON body', async () => {
    const { fetch, requests } = fakeFetch([jsonReply(createdFixture, 201)]);
    const client = clientWith(fetch);

    const execution = await client.createJobExecution({
      jobId: '65819ba43ad5b963658ab35d',
      input: { someKey: 'some data' },
    });

    const request = onlyRequest(requests);
    expect(request.method).toBe('POST');
    expect(request.url.href).toBe('https://api.product-live.com/v1/data_factory/job_executions');
    expect(request.headers).toMatchObject({
      'x-api-key': API_KEY,
      accept: 'application/json',
      'content-type': 'application/json',
    });
    expect(JSON.parse(request.body ?? '')).toEqual({
      jobId: '65819ba43ad5b963658ab35d',
      input: { someKey: 'some data' },
    });
    expect(execution).toEqual(createdFixture);
  });

  it('sends only the job id when the create request has no input', async () => {
    const { fetch, requests } = fakeFetch([jsonReply(createdFixture)]);
    await clientWith(fetch).createJobExecution({ jobId: '65819ba43ad5b963658ab35d' });
    expect(onlyRequest(requests).body).toBe('{"jobId":"65819ba43ad5b963658ab35d"}');
  });

  it('gets one execution by its URL-encoded id, without a body or content type', async () => {
    const { fetch, requests } = fakeFetch([jsonReply(getFixture), jsonReply(getFixture)]);
    const client = clientWith(fetch);

    expect(await client.getJobExecution('658445e23ad5b929948ab731')).toEqual(getFixture);
    await client.getJobExecution('a/b c?d');

    const [plain, odd] = requests;
    expect(plain?.method).toBe('GET');
    expect(plain?.url.href).toBe(
      'https://api.product-live.com/v1/data_factory/job_executions/658445e23ad5b929948ab731',
    );
    expect(plain?.body).toBeUndefined();
    expect(plain?.headers['content-type']).toBeUndefined();
    expect(plain?.headers).toMatchObject({ 'x-api-key': API_KEY, accept: 'application/json' });
    expect(odd?.url.pathname).toBe('/v1/data_factory/job_executions/a%2Fb%20c%3Fd');
    expect(odd?.url.search).toBe('');
  });

  it('lists executions with the page and size query parameters, and none when not given', async () => {
    const { fetch, requests } = fakeFetch([
      jsonReply(aJobExecutionList([])),
      jsonReply(aJobExecutionList([])),
    ]);
    const client = clientWith(fetch);

    await client.listJobExecutions({ page: 2, size: 50 });
    await client.listJobExecutions();

    expect(requests[0]?.method).toBe('GET');
    expect(requests[0]?.url.pathname).toBe('/v1/data_factory/job_executions');
    expect(Object.fromEntries(requests[0]?.url.searchParams ?? [])).toEqual({ page: '2', size: '50' });
    expect(requests[1]?.url.search).toBe('');
  });

  it('finds executions with POST on the documented find path, the query as JSON body', async () => {
    const { fetch, requests } = fakeFetch([jsonReply(findFixture)]);
    const query = eq('status', 'COMPLETED');

    const list = await clientWith(fetch).findJobExecutions(query, { page: 0, size: 10 });

    const request = onlyRequest(requests);
    expect(request.method).toBe('POST');
    expect(request.url.href).toBe('https://api.product-live.com/v1/job_executions/find?page=0&size=10');
    expect(request.headers).toMatchObject({ 'content-type': 'application/json', 'x-api-key': API_KEY });
    expect(JSON.parse(request.body ?? '')).toEqual(query);
    expect(list).toEqual(findFixture);
  });

  it('uses a configured find path', async () => {
    const { fetch, requests } = fakeFetch([jsonReply(aJobExecutionList([]))]);
    await clientWith(fetch, { findPath: 'v1/data_factory/job_executions/find' }).findJobExecutions(
      inList('id', ['658445e23ad5b929948ab731']),
    );
    expect(onlyRequest(requests).url.href).toBe(
      'https://api.product-live.com/v1/data_factory/job_executions/find',
    );
  });

  it('keeps a base URL path prefix without doubling slashes', async () => {
    const { fetch, requests } = fakeFetch([jsonReply(getFixture), jsonReply(aJobExecutionList([]))]);
    const client = clientWith(fetch, {
      baseUrl: 'http://localhost:4010/emulator/',
      findPath: '/v1/job_executions/find',
    });

    await client.getJobExecution('658445e23ad5b929948ab731');
    await client.findJobExecutions(eq('status', 'RUNNING'), { page: 1, size: 5 });

    expect(requests[0]?.url.href).toBe(
      'http://localhost:4010/emulator/v1/data_factory/job_executions/658445e23ad5b929948ab731',
    );
    expect(requests[1]?.url.href).toBe('http://localhost:4010/emulator/v1/job_executions/find?page=1&size=5');
  });

  it('sends a configured user agent', async () => {
    const { fetch, requests } = fakeFetch([jsonReply(getFixture)]);
    await clientWith(fetch, { userAgent: 'product-live-sync/0.1.0' }).getJobExecution(
      '658445e23ad5b929948ab731',
    );
    expect(onlyRequest(requests).headers['user-agent']).toBe('product-live-sync/0.1.0');
  });

  it('does not follow redirects (the key would travel with them)', async () => {
    const { fetch, requests } = fakeFetch([
      new Response(null, { status: 302, headers: { location: 'https://elsewhere.example/' } }),
    ]);
    const error = await clientWith(fetch)
      .getJobExecution('658445e23ad5b929948ab731')
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProductLiveApiError);
    expect(error).toMatchObject({ status: 302, message: expect.stringContaining('redirect') });
    expect(requests).toHaveLength(1);
  });

  it('rejects invalid construction options and paging arguments', async () => {
    const { fetch } = fakeFetch([]);
    expect(() => new ProductLiveClient({ baseUrl: BASE_URL, apiKey: '', fetch })).toThrow(/apiKey/);
    expect(() => new ProductLiveClient({ baseUrl: 'ftp://x', apiKey: API_KEY, fetch })).toThrow(/http/);
    expect(() => new ProductLiveClient({ baseUrl: 'not a url', apiKey: API_KEY, fetch })).toThrow(/baseUrl/);
    const client = clientWith(fetch);
    await expect(client.listJobExecutions({ page: -1 })).rejects.toThrow(RangeError);
    await expect(client.findJobExecutions(eq('status', 'RUNNING'), { size: 0 })).rejects.toThrow(RangeError);
    await expect(client.getJobExecution('')).rejects.toThrow(TypeError);
  });

  it('logs each attempt through a Powertools logger: method, path, status, duration, never the key', async () => {
    const logger = new CapturingLogger();
    const { fetch } = fakeFetch([textReply('busy', 503), jsonReply(getFixture)]);
    const execution = await clientWith(fetch, { logger }).getJobExecution('658445e23ad5b929948ab731');
    expect(execution.id).toBe('658445e23ad5b929948ab731');
    const attempts = logger.lines.filter((line) => line.message === 'Product-Live request');
    expect(attempts.map((line) => [line.level, line.attributes.status, line.attributes.attempt])).toEqual([
      ['DEBUG', 503, 1],
      ['DEBUG', 200, 2],
    ]);
    expect(attempts[0]?.attributes).toMatchObject({
      method: 'GET',
      path: '/v1/data_factory/job_executions/658445e23ad5b929948ab731',
    });
    expect(logger.lines.map((line) => line.message)).toContain('Product-Live request failed, retrying');
    expect(JSON.stringify(logger.lines)).not.toContain(API_KEY);
  });

  it('counts every HTTP attempt and reports each to onRequest', async () => {
    const events: unknown[] = [];
    const { fetch } = fakeFetch([textReply('oops', 503), jsonReply(getFixture)]);
    const client = clientWith(fetch, { onRequest: (event) => events.push(event) });

    await client.getJobExecution('658445e23ad5b929948ab731');

    expect(client.requestCount).toBe(2);
    expect(client.throttledCount).toBe(0);
    expect(events).toEqual([
      expect.objectContaining({ attempt: 1, status: 503, error: expect.any(ProductLiveApiError) }),
      expect.objectContaining({ attempt: 2, status: 200, error: undefined }),
    ]);
  });
});

describe('ProductLiveClient response validation', () => {
  it('keeps fields the schema does not know, at every level', async () => {
    const execution = { ...aJobExecution(), retries: 2, info: { title: 'Import', color: 'blue' } };
    const list = { ...aJobExecutionList([execution]), pageable: { sorted: false } };
    const { fetch } = fakeFetch([jsonReply(list)]);

    const result = await clientWith(fetch).findJobExecutions(eq('status', 'COMPLETED'));

    expect(result).toEqual(list);
    expect(result.pageable).toEqual({ sorted: false });
    expect(result.data[0]?.retries).toBe(2);
    expect(result.data[0]?.info).toEqual({ title: 'Import', color: 'blue' });
  });

  it('names the request, the execution id and the field of an invalid execution in a list', async () => {
    const bad = { ...aJobExecution({ id: '658445e23ad5b929948ab731' }), createdAt: 'yesterday' };
    const { fetch, requests } = fakeFetch([jsonReply(aJobExecutionList([aJobExecution(), bad]))]);

    const error = await clientWith(fetch)
      .findJobExecutions(greaterOrEqual('createdAt', '2023-12-01T00:00:00.000Z'), { page: 0, size: 100 })
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ProductLiveResponseError);
    expect((error as ProductLiveResponseError).message).toBe(
      'Invalid job execution 658445e23ad5b929948ab731 in POST /v1/job_executions/find: ' +
        'field "createdAt": expected an ISO 8601 date-time',
    );
    expect(error).toMatchObject({
      problem: 'schema',
      executionId: '658445e23ad5b929948ab731',
      field: 'createdAt',
      status: 200,
    });
    expect(requests).toHaveLength(1); // a schema failure is deterministic: not retried
  });

  it('names the id and nested field of an invalid single execution', async () => {
    const bad = { ...aJobExecution({ id: '658445e23ad5b929948ab731' }), info: { title: 42 } };
    const { fetch } = fakeFetch([jsonReply(bad)]);

    const error = await clientWith(fetch)
      .getJobExecution('658445e23ad5b929948ab731')
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ProductLiveResponseError);
    expect((error as Error).message).toMatch(
      /^Invalid job execution 658445e23ad5b929948ab731 in GET \/v1\/data_factory\/job_executions\/658445e23ad5b929948ab731: field "info\.title": /,
    );
  });

  it('points at the list position when the invalid execution has no id', async () => {
    const { id: _id, ...withoutId } = aJobExecution();
    const { fetch } = fakeFetch([
      jsonReply({ object: 'list', data: [aJobExecution(), withoutId], totalElements: 2 }),
    ]);

    const error = await clientWith(fetch)
      .listJobExecutions()
      .catch((caught: unknown) => caught);

    expect((error as Error).message).toMatch(
      /^Invalid job execution at data\[1\] in GET \/v1\/data_factory\/job_executions: field "id": /,
    );
  });

  it('names the list field when the list itself is invalid', async () => {
    const { fetch } = fakeFetch([jsonReply({ object: 'list', data: [] })]);
    const error = await clientWith(fetch)
      .listJobExecutions()
      .catch((caught: unknown) => caught);
    expect((error as Error).message).toMatch(
      /^Invalid job execution list in GET \/v1\/data_factory\/job_executions: field "totalElements": /,
    );
  });

  it('reports a malformed JSON body of a 2xx answer as a response error', async () => {
    const { fetch } = fakeFetch([textReply('{"object":"job_execution","id":"6584'), textReply('<html>')]);

    const error = await clientWith(fetch, { maxAttempts: 2 })
      .getJobExecution('658445e23ad5b929948ab731')
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ProductLiveResponseError);
    expect(error).toMatchObject({ problem: 'malformed-json', status: 200, body: '<html>' });
    expect((error as Error).message).toContain(
      'Malformed JSON from Product-Live GET /v1/data_factory/job_executions/',
    );
  });
});

describe('ProductLiveClient HTTP errors', () => {
  it.each([
    [400, ProductLiveApiError],
    [401, ProductLiveAuthError],
    [403, ProductLiveAuthError],
    [404, ProductLiveNotFoundError],
  ])('throws HTTP %i at once, with status and body, never retrying', async (status, errorClass) => {
    const body = JSON.stringify({ message: `problem ${status}` });
    const { fetch, requests } = fakeFetch([textReply(body, status), jsonReply(getFixture)]);

    const error = await clientWith(fetch)
      .getJobExecution('658445e23ad5b929948ab731')
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(errorClass);
    expect(error).toMatchObject({
      status,
      body,
      method: 'GET',
      path: '/v1/data_factory/job_executions/658445e23ad5b929948ab731',
    });
    expect((error as Error).message).toContain(`HTTP ${status}`);
    expect(requests).toHaveLength(1);
  });
});

describe('findAllPages over the client', () => {
  /** A find endpoint over `items`, optionally capping the page size and lying about the total. */
  function findServer(items: JobExecution[], options: { maxPageSize?: number; totalElements?: number } = {}) {
    return fakeFetch((request) => {
      const page = Number(request.url.searchParams.get('page') ?? '0');
      const asked = Number(request.url.searchParams.get('size') ?? '10');
      const size = Math.min(asked, options.maxPageSize ?? asked);
      const data = items.slice(page * size, page * size + size);
      return jsonReply(aJobExecutionList(data, options.totalElements ?? items.length));
    });
  }

  async function collect(pages: AsyncIterable<FindPage>): Promise<FindPage[]> {
    const collected: FindPage[] = [];
    for await (const page of pages) collected.push(page);
    return collected;
  }

  const items = Array.from({ length: 25 }, () => aJobExecution());
  const query = greaterOrEqual('createdAt', '2023-12-01T00:00:00.000Z');

  it('stops once the items received reach totalElements, without asking for an empty page', async () => {
    const { fetch, requests } = findServer(items);

    const pages = await collect(findAllPages(clientWith(fetch), query, { size: 10 }));

    expect(pages.map((page) => [page.page, page.data.length, page.size, page.totalElements])).toEqual([
      [0, 10, 10, 25],
      [1, 10, 10, 25],
      [2, 5, 10, 25],
    ]);
    expect(pages.flatMap((page) => page.data.map((execution) => execution.id))).toEqual(
      items.map((it) => it.id),
    );
    expect(requests.map((request) => request.url.search)).toEqual([
      '?page=0&size=10',
      '?page=1&size=10',
      '?page=2&size=10',
    ]);
    expect(requests.every((request) => request.body === JSON.stringify(query))).toBe(true);
  });

  it('stops at an empty page when totalElements overstates the results', async () => {
    const { fetch, requests } = findServer(items, { totalElements: 1_000 });
    const pages = await collect(findAllPages(clientWith(fetch), query, { size: 10 }));
    expect(pages.flatMap((page) => page.data)).toHaveLength(25);
    expect(requests).toHaveLength(4);
  });

  it('keeps paging with the same size when the server caps the page size below the one asked', async () => {
    const { fetch, requests } = findServer(items, { maxPageSize: 7 });

    const pages = await collect(findAllPages(clientWith(fetch), query, { size: 10 }));

    expect(pages.map((page) => page.data.length)).toEqual([7, 7, 7, 4]);
    expect(new Set(pages.flatMap((page) => page.data.map((execution) => execution.id)))).toEqual(
      new Set(items.map((it) => it.id)),
    );
    expect(requests.map((request) => request.url.searchParams.get('size'))).toEqual(['10', '10', '10', '10']);
  });

  it('starts at startPage and counts the pages before it towards totalElements', async () => {
    const many = Array.from({ length: 35 }, () => aJobExecution());
    const { fetch, requests } = findServer(many);

    const pages = await collect(findAllPages(clientWith(fetch), query, { size: 10, startPage: 1 }));

    expect(pages.map((page) => page.page)).toEqual([1, 2, 3]);
    expect(pages.flatMap((page) => page.data.map((execution) => execution.id))).toEqual(
      many.slice(10).map((it) => it.id),
    );
    expect(requests).toHaveLength(3);
  });

  it('never stops early from startPage when the server caps the page size', async () => {
    const many = Array.from({ length: 30 }, () => aJobExecution());
    const { fetch } = findServer(many, { maxPageSize: 6 });

    const pages = await collect(findAllPages(clientWith(fetch), query, { size: 10, startPage: 2 }));

    expect(pages.flatMap((page) => page.data.map((execution) => execution.id))).toEqual(
      many.slice(12).map((it) => it.id),
    );
  });

  it('yields nothing for an empty result', async () => {
    const { fetch, requests } = findServer([]);
    expect(await collect(findAllPages(clientWith(fetch), query))).toEqual([]);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.url.searchParams.get('size')).toBe('100');
  });
});
