// Result orders (ascending, descending, insertion, shuffled), equal createdAt values, and the offset
// paging drift a client meets when executions are created while it pages.
import { describe, expect, it } from 'vitest';
import { type JobExecution, JobExecutionList } from '#core/product-live/product-live.schema';
import type { Emulator } from '#local/emulator/index';
import { startEmulator as startTestEmulator, type TestEmulatorOptions } from '../support/emulator';

const SAME_AT = '2024-05-15T09:00:00.000Z';

const startEmulator = (options: TestEmulatorOptions = {}) =>
  startTestEmulator({
    demo: { seed: 61, executions: 250, sameCreatedAt: { count: 50, at: SAME_AT } },
    ...options,
  });

async function listAll(emulator: Emulator, paging = 'size=1000'): Promise<JobExecution[]> {
  const response = await fetch(`${emulator.url}/v1/data_factory/job_executions?${paging}`, {
    headers: { 'X-Api-Key': emulator.apiKey },
  });
  return JobExecutionList.parse(await response.json()).data;
}

async function findAll(emulator: Emulator, paging = 'size=1000'): Promise<JobExecution[]> {
  const response = await fetch(`${emulator.url}/v1/job_executions/find?${paging}`, {
    method: 'POST',
    headers: { 'X-Api-Key': emulator.apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ type: 'greaterOrEqual', field: 'createdAt', value: '2000-01-01T00:00:00.000Z' }),
  });
  return JobExecutionList.parse(await response.json()).data;
}

const ids = (executions: readonly JobExecution[]): string[] => executions.map((execution) => execution.id);

function byCreatedAtThenId(a: JobExecution, b: JobExecution): number {
  return Date.parse(a.createdAt) - Date.parse(b.createdAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

describe('result order', () => {
  it('ascending: by createdAt, then id, for list and find', async () => {
    const { emulator } = await startEmulator({ order: 'ascending' });

    const listed = await listAll(emulator);
    const found = await findAll(emulator);

    expect(ids(listed)).toEqual(ids([...listed].sort(byCreatedAtThenId)));
    expect(ids(found)).toEqual(ids(listed));
  });

  it('descending: the exact reverse of ascending', async () => {
    const { emulator } = await startEmulator({ order: 'descending' });

    const descending = await listAll(emulator);
    emulator.setOrder('ascending');
    const ascending = await listAll(emulator);

    expect(ids(descending)).toEqual(ids(ascending).reverse());
  });

  it('insertion (the default): job by job, which is not createdAt order', async () => {
    const { emulator } = await startEmulator();

    const listed = await listAll(emulator);
    const jobOrder = emulator.jobs().map((job) => job.id);
    const jobIndexes = listed.map((execution) => jobOrder.indexOf(execution.jobId));

    expect(emulator.order).toBe('insertion');
    expect(jobIndexes).toEqual([...jobIndexes].sort((a, b) => a - b));
    expect(ids(listed)).not.toEqual(ids([...listed].sort(byCreatedAtThenId)));
  });

  it('insertion: executions created at run time come last', async () => {
    const { emulator } = await startEmulator();
    const created = emulator.createExecution(emulator.jobs()[2]?.id ?? '');

    const listed = await listAll(emulator);

    expect(listed.at(-1)?.id).toBe(created.id);
  });

  it('shuffled: a stable order that is neither createdAt nor insertion order, kept when executions are added', async () => {
    const { emulator } = await startEmulator({ order: 'shuffled' });

    const first = await listAll(emulator);
    const again = await listAll(emulator);
    const before = ids(emulator.executions());
    emulator.createExecution(emulator.jobs()[0]?.id ?? '');
    const afterInsert = await listAll(emulator);

    expect(ids(again)).toEqual(ids(first));
    expect(ids(first)).toEqual(before);
    expect(ids(first)).not.toEqual(ids([...first].sort(byCreatedAtThenId)));
    emulator.setOrder('insertion');
    expect(ids(first)).not.toEqual(ids(await listAll(emulator)));
    expect(ids(afterInsert).filter((id) => ids(first).includes(id))).toEqual(ids(first));
  });

  it('programmatic executions() follow the current order', async () => {
    const { emulator } = await startEmulator({ order: 'descending' });

    expect(ids(emulator.executions())).toEqual(ids(await listAll(emulator)));
  });
});

describe('equal createdAt values', () => {
  it('sameCreatedAt: that many executions share one exact createdAt, ordered by id in ascending order', async () => {
    const { emulator } = await startEmulator({ order: 'ascending' });

    const listed = await listAll(emulator);
    const same = listed.filter((execution) => execution.createdAt === SAME_AT);
    const firstIndex = listed.findIndex((execution) => execution.createdAt === SAME_AT);

    expect(same).toHaveLength(50);
    expect(ids(listed.slice(firstIndex, firstIndex + 50))).toEqual(ids(same));
    expect(ids(same)).toEqual([...ids(same)].sort());
    expect(new Set(same.map((execution) => execution.jobId)).size).toBeGreaterThan(1);
  });
});

describe('offset paging while executions are created', () => {
  it('descending: a creation between two pages shifts an item into the next page again', async () => {
    const { emulator, clock } = await startEmulator({ order: 'descending' });
    const job = emulator.jobs()[0];
    let requests = 0;
    emulator.onRequest(() => {
      requests++;
      if (requests === 2) {
        clock.advance(1_000);
        emulator.createExecution(job?.id ?? '');
      }
    });

    const page0 = await listAll(emulator, 'page=0&size=10');
    const page1 = await listAll(emulator, 'page=1&size=10');

    expect(page1[0]?.id).toBe(page0.at(-1)?.id);
  });

  it('ascending: creations land after the cursor, so pages neither repeat nor skip', async () => {
    const { emulator, clock } = await startEmulator({ order: 'ascending' });
    const job = emulator.jobs()[0];
    const before = ids(emulator.executions());
    emulator.onRequest(() => {
      clock.advance(1_000);
      emulator.createExecution(job?.id ?? '');
    });

    const pages: JobExecution[] = [];
    for (let page = 0; page < 3; page++) pages.push(...(await listAll(emulator, `page=${page}&size=100`)));

    expect(ids(pages).slice(0, before.length)).toEqual(before);
    expect(new Set(ids(pages)).size).toBe(pages.length);
  });
});
