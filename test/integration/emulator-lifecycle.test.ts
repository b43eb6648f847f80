// The execution lifecycle over HTTP, driven by a ManualClock: PENDING -> RUNNING -> terminal, one run at
// a time per pipeline in FIFO order, outputs (and their files) appearing only once a run has ended.
import { describe, expect, it } from 'vitest';
import { JobExecution, JobExecutionList } from '#core/product-live/product-live.schema';
import { type Emulator, ManualClock } from '#local/emulator/index';
import { startEmulator as startTestEmulator, type TestEmulatorOptions } from '../support/emulator';

const T0 = '2024-06-01T12:00:00.000Z';
const RUN_MS = 10_000;

const startEmulator = (options: TestEmulatorOptions = {}) =>
  startTestEmulator({ clock: new ManualClock(T0), lifecycle: { runTimeMs: RUN_MS }, ...options });

async function api(emulator: Emulator, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${emulator.url}${path}`, {
    method,
    headers: { 'X-Api-Key': emulator.apiKey, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(response.status).toBe(200);
  return response.json();
}

async function launch(emulator: Emulator, jobId: string): Promise<JobExecution> {
  return JobExecution.parse(await api(emulator, 'POST', '/v1/data_factory/job_executions', { jobId }));
}

async function get(emulator: Emulator, id: string): Promise<JobExecution> {
  return JobExecution.parse(await api(emulator, 'GET', `/v1/data_factory/job_executions/${id}`));
}

describe('execution lifecycle', () => {
  it('runs a pipeline one execution at a time, in FIFO order, as the clock advances', async () => {
    const { emulator, clock } = await startEmulator();
    const schema = emulator.addJob({ title: 'Import Schema' });
    const products = emulator.addJob({
      title: 'Import Products',
      pipelineId: schema.pipelineId,
      kind: 'import-with-file',
    });

    const first = await launch(emulator, schema.id);
    clock.advance(1_000);
    const second = await launch(emulator, products.id);
    clock.advance(1_000);
    const third = await launch(emulator, schema.id);

    expect([first.status, second.status, third.status]).toEqual(['RUNNING', 'PENDING', 'PENDING']);
    expect(second.startedAt).toBeUndefined();
    expect(second.output).toEqual({});

    clock.advance(RUN_MS);
    const [firstEnded, secondRunning, thirdPending] = await Promise.all(
      [first, second, third].map((e) => get(emulator, e.id)),
    );
    expect(firstEnded?.endedAt).toBeDefined();
    expect(['COMPLETED', 'USER_ERROR', 'FAILED', 'TERMINATED', 'TIMEDOUT']).toContain(firstEnded?.status);
    expect(secondRunning?.status).toBe('RUNNING');
    expect(Date.parse(secondRunning?.startedAt ?? '')).toBeGreaterThan(Date.parse(firstEnded?.endedAt ?? ''));
    expect(thirdPending?.status).toBe('PENDING');

    clock.advance(2 * RUN_MS + 5_000);
    const ended = await Promise.all([first, second, third].map((e) => get(emulator, e.id)));
    for (const execution of ended) expect(execution.endedAt).toBeDefined();
    const [a, b, c] = ended;
    // FIFO: each run starts after the previous one ended.
    expect(Date.parse(b?.startedAt ?? '')).toBeGreaterThan(Date.parse(a?.endedAt ?? ''));
    expect(Date.parse(c?.startedAt ?? '')).toBeGreaterThan(Date.parse(b?.endedAt ?? ''));
  });

  it('runs executions of different pipelines at the same time', async () => {
    const { emulator } = await startEmulator();
    const left = emulator.addJob({ title: 'Export Products to Amazon', kind: 'export' });
    const right = emulator.addJob({ title: 'Publish Catalog', kind: 'publish' });

    const executions = [await launch(emulator, left.id), await launch(emulator, right.id)];

    expect(executions.map((execution) => execution.status)).toEqual(['RUNNING', 'RUNNING']);
  });

  it('shows the same status through get, list and find at any instant', async () => {
    const { emulator, clock } = await startEmulator();
    const job = emulator.addJob({ title: 'Sync Prices', kind: 'no-files' });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await launch(emulator, job.id)).id);

    for (const step of [0, 5_000, 6_000, 12_000, 30_000]) {
      clock.advance(step);
      const list = JobExecutionList.parse(await api(emulator, 'GET', '/v1/data_factory/job_executions'));
      const open = JobExecutionList.parse(
        await api(emulator, 'POST', '/v1/job_executions/find', {
          type: 'in',
          field: 'status',
          value: ['PENDING', 'RUNNING'],
        }),
      );
      const one = await get(emulator, ids[1] ?? '');
      expect(list.data.find((execution) => execution.id === one.id)).toEqual(one);
      expect(open.data.map((execution) => execution.id)).toEqual(
        list.data.filter((execution) => !execution.endedAt).map((execution) => execution.id),
      );
      expect(list.data.filter((execution) => execution.status === 'RUNNING').length).toBeLessThanOrEqual(1);
    }
  });

  it('publishes the output and its files when the run ends, not before', async () => {
    const { emulator, clock } = await startEmulator();
    const job = emulator.addJob({ title: 'Export Products to Amazon', kind: 'export' });
    const created = emulator.createExecution(job.id, {}, { outcome: 'COMPLETED', runTimeMs: 60_000 });
    const planned = emulator.execution(created.id);
    expect(planned?.output).toEqual({});

    clock.advance(60_000);
    const ended = await get(emulator, created.id);
    const output = ended.output as { files: { url: string }[]; report: { url: string; filename: string } };

    expect(ended.status).toBe('COMPLETED');
    expect(output.report.filename).toBe('report.xml');
    expect(output.files.length).toBeGreaterThan(0);
    const download = await fetch(output.report.url);
    expect(download.status).toBe(200);
    await download.arrayBuffer();
  });

  it('serves the files of an execution only once it has ended', async () => {
    // Two emulators with the same seed and the same calls plan the same files: the ended one tells the
    // URL path, the other one must not serve it yet.
    const ahead = await startEmulator();
    const behind = await startEmulator();
    const [aheadId, behindId] = [ahead, behind].map(({ emulator }) => {
      const job = emulator.addJob({ title: 'Import Schema' });
      return emulator.createExecution(job.id, {}, { outcome: 'COMPLETED', runTimeMs: 60_000 }).id;
    });
    ahead.clock.advance(60_000);
    const output = ahead.emulator.execution(aheadId ?? '')?.output as
      | { report?: { url: string } }
      | undefined;
    const reportUrl = output?.report?.url ?? '';
    const path = new URL(reportUrl).pathname;

    expect(aheadId).toBe(behindId);
    expect((await fetch(`${ahead.emulator.url}${path}`)).status).toBe(200);
    expect((await fetch(`${behind.emulator.url}${path}`)).status).toBe(404);
    behind.clock.advance(60_000);
    expect((await fetch(`${behind.emulator.url}${path}`)).status).toBe(200);
  });

  it('ends runs with the requested outcome, and FAILED runs may still have a report', async () => {
    const { emulator, clock } = await startEmulator();
    const job = emulator.addJob({ title: 'Import Schema' });
    const outcomes = ['COMPLETED', 'USER_ERROR', 'FAILED', 'TERMINATED', 'TIMEDOUT'] as const;

    const ids = outcomes.map(
      (outcome) => emulator.createExecution(job.id, {}, { outcome, runTimeMs: 1_000 }).id,
    );
    clock.advance(60_000);

    const statuses = await Promise.all(ids.map(async (id) => (await get(emulator, id)).status));
    expect(statuses).toEqual([...outcomes]);
  });

  it('never moves an execution back when the clock is set back', async () => {
    const { emulator, clock } = await startEmulator();
    const job = emulator.addJob({ title: 'Import Schema' });
    const id = emulator.createExecution(job.id).id;
    clock.advance(RUN_MS + 1);
    const ended = await get(emulator, id);

    clock.set(T0);

    expect(await get(emulator, id)).toEqual(ended);
  });

  it('brings demo executions that were open at start to an end as time passes', async () => {
    const { emulator, clock } = await startEmulator({ demo: { seed: 21, executions: 120 } });
    const open = emulator.executions().filter((execution) => !execution.endedAt);
    expect(open.some((execution) => execution.status === 'RUNNING')).toBe(true);
    expect(open.some((execution) => execution.status === 'PENDING')).toBe(true);

    clock.advance(6 * 3_600_000);

    const now = await Promise.all(open.map((execution) => get(emulator, execution.id)));
    expect(now.every((execution) => execution.endedAt !== undefined)).toBe(true);
  });
});
