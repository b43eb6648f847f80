// Injected faults (one-shot and random), latency, the request log and the onRequest hook, and a stop()
// that does not wait for hung connections.
import { describe, expect, it } from 'vitest';
import { JobExecution, JobExecutionList } from '#core/product-live/product-live.schema';
import type { Emulator, FaultKind } from '#local/emulator/index';
import { startEmulator as startTestEmulator, type TestEmulatorOptions } from '../support/emulator';

const startEmulator = async (options: TestEmulatorOptions = {}): Promise<Emulator> =>
  (await startTestEmulator({ demo: { seed: 51, executions: 40 }, ...options })).emulator;

const EXECUTIONS = '/v1/data_factory/job_executions';

function request(emulator: Emulator, method: string, path: string, body?: unknown, signal?: AbortSignal) {
  return fetch(`${emulator.url}${path}`, {
    method,
    headers: { 'X-Api-Key': emulator.apiKey, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    ...(signal ? { signal } : {}),
  });
}

function launch(emulator: Emulator) {
  return request(emulator, 'POST', EXECUTIONS, { jobId: emulator.jobs()[0]?.id });
}

describe('one-shot faults', () => {
  it.each([
    ['429', 429, '1'],
    ['429-no-retry-after', 429, null],
    ['500', 500, null],
    ['502', 502, null],
    ['503', 503, null],
  ] as const)('answers %s with a JSON error body, then recovers', async (kind, status, retryAfter) => {
    const emulator = await startEmulator();
    emulator.failNext(kind);

    const failed = await request(emulator, 'GET', EXECUTIONS);
    const next = await request(emulator, 'GET', EXECUTIONS);

    expect(failed.status).toBe(status);
    expect(failed.headers.get('retry-after')).toBe(retryAfter);
    expect(await failed.json()).toMatchObject({ statusCode: status });
    expect(next.status).toBe(200);
    expect(emulator.requests.map((entry) => entry.fault)).toEqual([kind, undefined]);
  });

  it('sends an HTTP-date Retry-After for an injected 429 when the rate limit uses that style', async () => {
    const emulator = await startEmulator({
      rateLimit: { retryAfter: 'http-date' },
      faults: { rate: 0, retryAfterSeconds: 7 },
    });
    emulator.failNext('429');

    const failed = await request(emulator, 'GET', EXECUTIONS);

    expect(failed.headers.get('retry-after')).toBe(
      new Date(Date.parse('2024-06-01T12:00:07.000Z')).toUTCString(),
    );
  });

  it('does not create an execution when a create request fails (5xx, 429, reset, malformed JSON)', async () => {
    const emulator = await startEmulator();
    const before = emulator.executions().length;
    const kinds: FaultKind[] = ['500', '503', '429', 'reset', 'malformed-json'];
    for (const kind of kinds) emulator.failNext(kind, { endpoint: 'create' });

    for (const _ of kinds)
      await launch(emulator).then(
        (response) => response.text(),
        () => 'failed',
      );

    expect(emulator.executions()).toHaveLength(before);
    expect(emulator.requests.map((entry) => entry.fault)).toEqual(kinds);
  });

  it('commit-then-500: creates the execution, then answers 500', async () => {
    const emulator = await startEmulator();
    const before = emulator.executions().length;
    emulator.failNext('commit-then-500');

    const response = await launch(emulator);

    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ statusCode: 500 });
    const executions = emulator.executions();
    expect(executions).toHaveLength(before + 1);
    expect(executions.at(-1)?.jobId).toBe(emulator.jobs()[0]?.id);
  });

  it('malformed-json: answers 200 with a body that does not parse', async () => {
    const emulator = await startEmulator();
    emulator.failNext('malformed-json', { count: 3 });
    const id = emulator.executions()[0]?.id;

    const responses = await Promise.all([
      request(emulator, 'GET', EXECUTIONS),
      request(emulator, 'GET', `${EXECUTIONS}/${id}`),
      request(emulator, 'POST', '/v1/job_executions/find', {
        type: 'eq',
        field: 'status',
        value: 'COMPLETED',
      }),
    ]);

    for (const response of responses) {
      expect(response.status).toBe(200);
      await expect(response.json()).rejects.toThrow(SyntaxError);
    }
  });

  it('reset: destroys the connection without an answer', async () => {
    const emulator = await startEmulator();
    emulator.failNext('reset');

    await expect(request(emulator, 'GET', EXECUTIONS)).rejects.toThrow();

    expect(emulator.requests[0]).toMatchObject({ fault: 'reset', status: 0 });
    expect((await request(emulator, 'GET', EXECUTIONS)).status).toBe(200);
  });

  it('timeout: never answers, until the client gives up', async () => {
    const emulator = await startEmulator();
    emulator.failNext('timeout');

    await expect(request(emulator, 'GET', EXECUTIONS, undefined, AbortSignal.timeout(300))).rejects.toThrow();

    expect(emulator.requests[0]).toMatchObject({ fault: 'timeout', status: 0 });
    expect((await request(emulator, 'GET', EXECUTIONS)).status).toBe(200);
  });

  it('timeout with timeoutMs: answers 504 after the delay', async () => {
    const emulator = await startEmulator({ faults: { rate: 0, timeoutMs: 200 } });
    emulator.failNext('timeout');

    const response = await request(emulator, 'GET', EXECUTIONS);

    expect(response.status).toBe(504);
  });

  it('applies a one-shot only to the endpoint it names', async () => {
    const emulator = await startEmulator();
    emulator.failNext('503', { endpoint: 'find' });

    const list = await request(emulator, 'GET', EXECUTIONS);
    const find = await request(emulator, 'POST', '/v1/job_executions/find', {
      type: 'eq',
      field: 'id',
      value: 'x',
    });

    expect([list.status, find.status]).toEqual([200, 503]);
    expect(() => emulator.failNext('commit-then-500', { endpoint: 'get' })).toThrow(/cannot happen/);
  });
});

describe('random faults', () => {
  async function statuses(emulator: Emulator, count: number): Promise<number[]> {
    const result: number[] = [];
    for (let i = 0; i < count; i++) {
      result.push(
        await request(emulator, 'GET', EXECUTIONS).then(
          (response) => response.status,
          () => 0,
        ),
      );
    }
    return result;
  }

  it('fails about the given share of requests, the same ones for the same seed', async () => {
    const faults = { rate: 0.3, seed: 7, kinds: ['500', '503', '429', 'reset'] as FaultKind[] };
    const first = await startEmulator({ faults });
    const second = await startEmulator({ faults });

    const a = await statuses(first, 100);
    const b = await statuses(second, 100);

    expect(a).toEqual(b);
    const failures = a.filter((status) => status !== 200).length;
    expect(failures).toBeGreaterThan(15);
    expect(failures).toBeLessThan(45);
    expect(new Set(a)).toEqual(new Set([200, 500, 503, 429, 0]));
  });

  it('limits faults to the listed endpoints and can be changed or stopped at run time', async () => {
    const emulator = await startEmulator({ faults: { rate: 1, kinds: ['500'], endpoints: ['find'] } });

    expect(await statuses(emulator, 5)).toEqual([200, 200, 200, 200, 200]);
    emulator.setFaults({ rate: 1, kinds: ['502'] });
    expect(await statuses(emulator, 2)).toEqual([502, 502]);
    emulator.setFaults(undefined);
    expect(await statuses(emulator, 2)).toEqual([200, 200]);
  });

  it('uses truncated-download only on downloads and commit-then-500 only on create', async () => {
    const emulator = await startEmulator({
      faults: { rate: 1, kinds: ['truncated-download', 'commit-then-500'] },
    });
    const before = emulator.executions().length;

    const list = await request(emulator, 'GET', EXECUTIONS);
    const create = await launch(emulator);

    expect(list.status).toBe(200);
    expect(create.status).toBe(500);
    expect(emulator.executions()).toHaveLength(before + 1);
  });
});

describe('latency, request log and hooks', () => {
  it('delays every answer by latencyMs', async () => {
    const emulator = await startEmulator({ latencyMs: 150 });

    const started = performance.now();
    await request(emulator, 'GET', EXECUTIONS);

    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('logs each request with clock time, path, query, status, endpoint and fault, until cleared', async () => {
    const emulator = await startEmulator();
    emulator.failNext('502', { endpoint: 'get' });
    await request(emulator, 'GET', `${EXECUTIONS}?page=1&size=5`);
    await request(emulator, 'GET', `${EXECUTIONS}/${emulator.executions()[0]?.id}`);
    await request(emulator, 'GET', '/nowhere');

    expect(emulator.requests).toEqual([
      {
        at: Date.parse('2024-06-01T12:00:00.000Z'),
        method: 'GET',
        path: EXECUTIONS,
        query: { page: '1', size: '5' },
        status: 200,
        endpoint: 'list',
      },
      expect.objectContaining({ endpoint: 'get', status: 502, fault: '502' }),
      expect.objectContaining({ endpoint: 'unknown', status: 404, path: '/nowhere' }),
    ]);
    emulator.clearRequests();
    expect(emulator.requests).toEqual([]);
  });

  it('calls onRequest before handling, so a hook can create executions while a client pages', async () => {
    const emulator = await startEmulator();
    const job = emulator.jobs()[0];
    const seen: string[] = [];
    const unsubscribe = emulator.onRequest((info) => {
      seen.push(info.endpoint);
      if (info.endpoint === 'list') emulator.createExecution(job?.id ?? '');
    });

    const first = JobExecutionList.parse(await (await request(emulator, 'GET', EXECUTIONS)).json());
    const second = JobExecutionList.parse(await (await request(emulator, 'GET', EXECUTIONS)).json());
    unsubscribe();
    const third = JobExecutionList.parse(await (await request(emulator, 'GET', EXECUTIONS)).json());

    expect([first.totalElements, second.totalElements, third.totalElements]).toEqual([41, 42, 42]);
    expect(seen).toEqual(['list', 'list']);
  });

  it('stops promptly even with hung requests, failing them on the client side', async () => {
    const emulator = await startEmulator();
    emulator.failNext('timeout', { count: 3 });
    const hung = [1, 2, 3].map(() =>
      request(emulator, 'GET', EXECUTIONS).then(
        (response) => response.status,
        () => 'closed',
      ),
    );
    while (emulator.requests.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));

    const started = performance.now();
    await emulator.stop();

    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await Promise.all(hung)).toEqual(['closed', 'closed', 'closed']);
  });

  it('answers through the API what createExecution returns, as POST does', async () => {
    const emulator = await startEmulator();
    const created = emulator.createExecution(emulator.jobs()[1]?.id ?? '', { a: 1 });

    const fetched = JobExecution.parse(
      await (await request(emulator, 'GET', `${EXECUTIONS}/${created.id}`)).json(),
    );

    expect(fetched).toEqual(created);
  });
});
