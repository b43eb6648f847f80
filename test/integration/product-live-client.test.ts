// The Product-Live client against the emulator over real HTTP: every endpoint, every find operator, paging
// to the end (also when the server caps pages), and the error and throttling paths.
import { afterEach, describe, expect, it } from 'vitest';
import { findAllPages } from '#core/product-live/find-pages';
import { and, eq, greater, greaterOrEqual, inList, or, search } from '#core/product-live/find-query';
import {
  ProductLiveApiError,
  ProductLiveAuthError,
  ProductLiveNotFoundError,
} from '#core/product-live/product-live.errors';
import type { FindQuery, JobExecution } from '#core/product-live/product-live.schema';
import { ProductLiveClient } from '#core/product-live/product-live-client';
import { createEmulator, type Emulator, type EmulatorOptions, ManualClock } from '#local/emulator/index';

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.stop();
  emulator = undefined;
});

async function start(options: EmulatorOptions = {}) {
  emulator = createEmulator({
    rateLimit: false,
    clock: new ManualClock('2024-06-01T12:00:00.000Z'),
    ...options,
  });
  await emulator.start();
  const client = new ProductLiveClient({
    baseUrl: emulator.url,
    apiKey: emulator.apiKey,
    requestsPerMinute: 10_000,
    retryBaseMs: 10,
  });
  return { emulator, client };
}

async function everything(client: ProductLiveClient, query: FindQuery, size = 1000): Promise<JobExecution[]> {
  const found: JobExecution[] = [];
  for await (const page of findAllPages(client, query, { size })) found.push(...page.data);
  return found;
}

const ids = (executions: readonly JobExecution[]) => executions.map((execution) => execution.id).sort();

describe('ProductLiveClient against the emulator', () => {
  it('creates an execution, gets it, and finds it in the list', async () => {
    const { emulator: e, client } = await start();
    const job = e.addJob({ title: 'Import Schema', kind: 'import' });
    const created = await client.createJobExecution({ jobId: job.id, input: { sku: 'A-1' } });
    expect(created).toMatchObject({
      object: 'job_execution',
      jobId: job.id,
      info: { title: 'Import Schema' },
    });
    expect(['PENDING', 'RUNNING']).toContain(created.status);
    expect(created.input).toMatchObject({ sku: 'A-1', context: { jobId: job.id } });
    expect(await client.getJobExecution(created.id)).toEqual(e.execution(created.id));
    const list = await client.listJobExecutions();
    expect(list.data.map((execution) => execution.id)).toContain(created.id);
    expect(list.totalElements).toBe(1);
  });

  it('lists with the default page size of 20 and pages to the end', async () => {
    const { emulator: e, client } = await start({ demo: { seed: 3, executions: 45 } });
    expect((await client.listJobExecutions()).data).toHaveLength(20);
    const seen: JobExecution[] = [];
    for (let page = 0; ; page++) {
      const list = await client.listJobExecutions({ page, size: 20 });
      seen.push(...list.data);
      if (list.data.length === 0 || seen.length >= list.totalElements) break;
    }
    expect(ids(seen)).toEqual(ids(e.executions()));
  });

  it('answers every find operator as the emulator data says', async () => {
    const { emulator: e, client } = await start({ demo: { seed: 5, executions: 120 } });
    const all = e.executions();
    const [pivot] = [...all].sort((a, b) => a.createdAt.localeCompare(b.createdAt)).slice(60);
    const cut = pivot?.createdAt ?? '';
    const someIds = all.slice(0, 7).map((execution) => execution.id);
    const title = all[0]?.info?.title ?? '';
    const cases: Array<[string, FindQuery, (execution: JobExecution) => boolean]> = [
      ['eq', eq('status', 'COMPLETED'), (x) => x.status === 'COMPLETED'],
      [
        'eq is case-insensitive by default',
        { type: 'eq', field: 'status', value: 'completed' },
        (x) => x.status === 'COMPLETED',
      ],
      [
        'eq with caseSensitive, the builders default as in the documented examples',
        eq('status', 'completed'),
        () => false,
      ],
      ['greater', greater('createdAt', cut), (x) => x.createdAt > cut],
      ['greaterOrEqual', greaterOrEqual('createdAt', cut), (x) => x.createdAt >= cut],
      ['lower', { type: 'lower', field: 'createdAt', value: cut }, (x) => x.createdAt < cut],
      ['lowerOrEqual', { type: 'lowerOrEqual', field: 'createdAt', value: cut }, (x) => x.createdAt <= cut],
      ['in', inList('id', someIds), (x) => someIds.includes(x.id)],
      [
        'search',
        search('info.title', title.slice(2, 8).toLowerCase()),
        (x) => (x.info?.title ?? '').includes(title.slice(2, 8)),
      ],
      [
        'and',
        and(eq('status', 'COMPLETED'), greaterOrEqual('createdAt', cut)),
        (x) => x.status === 'COMPLETED' && x.createdAt >= cut,
      ],
      [
        'or',
        or(eq('status', 'FAILED'), eq('status', 'TIMEDOUT')),
        (x) => ['FAILED', 'TIMEDOUT'].includes(x.status),
      ],
      [
        'nested',
        and(
          or(eq('status', 'FAILED'), eq('status', 'USER_ERROR')),
          or(greater('createdAt', cut), inList('id', someIds)),
        ),
        (x) => ['FAILED', 'USER_ERROR'].includes(x.status) && (x.createdAt > cut || someIds.includes(x.id)),
      ],
    ];
    for (const [name, query, predicate] of cases) {
      expect(ids(await everything(client, query)), name).toEqual(ids(all.filter(predicate)));
    }
  });

  it('pages a find to the end by totalElements, with the default size 10 and with a server that caps pages', async () => {
    const { emulator: e, client } = await start({ demo: { seed: 9, executions: 57 } });
    const first = await client.findJobExecutions(greaterOrEqual('createdAt', '1970-01-01T00:00:00.000Z'));
    expect(first.data).toHaveLength(10);
    expect(first.totalElements).toBe(57);
    expect(ids(await everything(client, greaterOrEqual('createdAt', '1970-01-01T00:00:00.000Z'), 7))).toEqual(
      ids(e.executions()),
    );
    await e.stop();
    const capped = await start({
      demo: { seed: 9, executions: 57 },
      maxPageSize: 5,
      pageSizeOverflow: 'clamp',
    });
    const pages: number[] = [];
    const found: JobExecution[] = [];
    for await (const page of findAllPages(capped.client, greaterOrEqual('createdAt', '1970-01-01'), {
      size: 20,
    })) {
      pages.push(page.data.length);
      found.push(...page.data);
    }
    expect(ids(found)).toEqual(ids(capped.emulator.executions()));
    expect(Math.max(...pages)).toBe(5);
  });

  it('names a rejected key, an unknown execution and an unknown job', async () => {
    const { emulator: e, client } = await start();
    const intruder = new ProductLiveClient({ baseUrl: e.url, apiKey: 'not-the-key' });
    await expect(intruder.listJobExecutions()).rejects.toBeInstanceOf(ProductLiveAuthError);
    await expect(client.getJobExecution('65819ba43ad5b963658ab35d')).rejects.toBeInstanceOf(
      ProductLiveNotFoundError,
    );
    const unknownJob = client.createJobExecution({ jobId: 'ffffffffffffffffffffffff' });
    await expect(unknownJob).rejects.toBeInstanceOf(ProductLiveApiError);
    await expect(unknownJob).rejects.toMatchObject({
      status: expect.toSatisfy((status: number) => [400, 404].includes(status)),
    });
    await expect(
      client.findJobExecutions({ type: 'between', field: 'id' } as unknown as FindQuery),
    ).rejects.toMatchObject({
      status: 400,
    });
  });

  it('waits out 429s from a rate-limited API and completes every call', async () => {
    emulator = createEmulator({
      rateLimit: { requestsPerMinute: 3, windowMs: 1_000, retryAfter: 'seconds' },
    });
    await emulator.start();
    const client = new ProductLiveClient({
      baseUrl: emulator.url,
      apiKey: emulator.apiKey,
      requestsPerMinute: 10_000,
    });
    const results: unknown[] = [];
    for (let call = 0; call < 6; call++) results.push(await client.listJobExecutions({ size: 1 }));
    expect(results).toHaveLength(6);
    expect(client.throttledCount).toBeGreaterThan(0);
    expect(emulator.requests.filter((request) => request.status === 429)).toHaveLength(client.throttledCount);
  });
});

describe('ProductLiveClient find path', () => {
  it('falls back to the other documented spelling of the find path when the configured one answers 404', async () => {
    emulator = createEmulator({
      rateLimit: false,
      findPath: '/v1/data_factory/job_executions/find',
      demo: { seed: 2, executions: 5 },
    });
    await emulator.start();
    const client = new ProductLiveClient({ baseUrl: emulator.url, apiKey: emulator.apiKey });
    const first = await client.findJobExecutions(greaterOrEqual('createdAt', '1970-01-01'), { size: 100 });
    expect(first.totalElements).toBe(5);
    await client.findJobExecutions(greaterOrEqual('createdAt', '1970-01-01'));
    const finds = emulator.requests
      .filter((request) => request.method === 'POST')
      .map((request) => request.path);
    expect(finds).toEqual([
      '/v1/job_executions/find',
      '/v1/data_factory/job_executions/find',
      '/v1/data_factory/job_executions/find',
    ]);
  });
});
