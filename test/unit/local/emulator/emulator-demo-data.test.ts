// Demo data of the emulator, read through its programmatic interface (no server started): deterministic
// by seed, realistic in shape, and fast enough for 20,000 executions.
import { describe, expect, it } from 'vitest';
import { JobExecution } from '#core/product-live/product-live.schema';
import { createEmulator, EmulatorConfigError, ManualClock } from '#local/emulator/index';

const NOW = '2024-06-01T12:00:00.000Z';
const DAY = 86_400_000;

function demo(
  options: { seed?: number; executions?: number; sameCreatedAt?: { count: number; at?: string } } = {},
) {
  return createEmulator({ clock: new ManualClock(NOW), demo: { seed: 1, ...options } });
}

describe('demo data', () => {
  it('is identical for the same seed, ids and file URLs included, and differs for another seed', () => {
    const first = demo({ seed: 9 });
    const second = demo({ seed: 9 });
    const other = demo({ seed: 10 });

    expect(second.jobs()).toEqual(first.jobs());
    expect(second.executions()).toEqual(first.executions());
    expect(other.executions().map((e) => e.id)).not.toEqual(first.executions().map((e) => e.id));
  });

  it('has about 400 executions by default, spread over the last 30 days, parsing with the API schema', () => {
    const executions = demo().executions();
    const createdAt = executions.map((execution) => Date.parse(execution.createdAt));

    expect(executions).toHaveLength(400);
    for (const execution of executions) JobExecution.parse(execution);
    expect(Math.max(...createdAt)).toBeLessThanOrEqual(Date.parse(NOW));
    expect(Math.min(...createdAt)).toBeGreaterThanOrEqual(Date.parse(NOW) - 30 * DAY);
    expect(Math.min(...createdAt)).toBeLessThan(Date.parse(NOW) - 25 * DAY);
  });

  it('has realistic jobs on 2 to 4 pipelines, one of which cannot run', () => {
    const jobs = demo().jobs();
    const pipelines = new Set(jobs.map((job) => job.pipelineId).filter((id) => id !== null));

    expect(jobs.map((job) => job.title)).toEqual(
      expect.arrayContaining(['Import Schema', 'Export Products to Amazon', 'Publish Catalog']),
    );
    expect(pipelines.size).toBeGreaterThanOrEqual(2);
    expect(pipelines.size).toBeLessThanOrEqual(4);
    expect(jobs.some((job) => job.pipelineId === null)).toBe(true);
    for (const job of jobs) expect(job.id).toMatch(/^[0-9a-f]{24}$/);
  });

  it('represents every status, with open executions at now', () => {
    for (const seed of [1, 2, 3]) {
      const statuses = new Set(
        demo({ seed, executions: 100 })
          .executions()
          .map((execution) => execution.status),
      );
      expect([...statuses].sort()).toEqual([
        'COMPLETED',
        'FAILED',
        'PENDING',
        'RUNNING',
        'TERMINATED',
        'TIMEDOUT',
        'USER_ERROR',
      ]);
    }
  });

  it('keeps the lifecycle invariants: one run at a time per pipeline, FIFO, timestamps by status', () => {
    const executions = demo({ seed: 4, executions: 600 }).executions();
    const byPipeline = Map.groupBy(executions, (execution) => execution.pipelineId ?? '');

    for (const execution of executions) {
      const open = execution.status === 'PENDING' || execution.status === 'RUNNING';
      expect(execution.endedAt === undefined).toBe(open);
      expect(execution.startedAt === undefined).toBe(execution.status === 'PENDING');
      if (!open) expect(execution.output).not.toEqual({});
      if (open) expect(execution.output).toEqual({});
    }
    for (const runs of byPipeline.values()) {
      const started = runs
        .filter((execution) => execution.startedAt)
        .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || (a.id < b.id ? -1 : 1));
      for (let i = 1; i < started.length; i++) {
        const previous = started[i - 1];
        const current = started[i];
        expect(Date.parse(current?.startedAt ?? '')).toBeGreaterThanOrEqual(
          Date.parse(previous?.endedAt ?? ''),
        );
      }
      expect(runs.filter((execution) => execution.status === 'RUNNING').length).toBeLessThanOrEqual(1);
    }
  });

  it('sometimes starts a run a few ms before its createdAt, as a real response showed', () => {
    const executions = demo({ seed: 5 }).executions();
    const early = executions.filter((e) => e.startedAt && Date.parse(e.startedAt) < Date.parse(e.createdAt));

    expect(early.length).toBeGreaterThan(0);
    for (const execution of early) {
      expect(Date.parse(execution.createdAt) - Date.parse(execution.startedAt ?? '')).toBeLessThanOrEqual(60);
    }
  });

  it('has executions with input files, with output files, and with no file at all', () => {
    const executions = demo({ seed: 6 }).executions();
    const text = (value: unknown) => JSON.stringify(value);

    expect(executions.some((e) => text(e.input).includes('data_factory_file'))).toBe(true);
    expect(executions.some((e) => text(e.output).includes('data_factory_file'))).toBe(true);
    expect(executions.some((e) => e.endedAt && !text(e.output).includes('"url"'))).toBe(true);
    expect(executions.some((e) => e.status === 'FAILED' && text(e.output).includes('report.xml'))).toBe(true);
  });

  it('gives sameCreatedAt executions one exact createdAt', () => {
    const at = '2024-05-20T07:00:00.321Z';
    const executions = demo({ executions: 200, sameCreatedAt: { count: 50, at } }).executions();

    expect(executions).toHaveLength(200);
    expect(executions.filter((execution) => execution.createdAt === at)).toHaveLength(50);
    expect(() => demo({ sameCreatedAt: { count: 5, at: '2030-01-01T00:00:00.000Z' } })).toThrow(
      EmulatorConfigError,
    );
  });

  it('generates 20,000 executions with unique ids', () => {
    const emulator = demo({ executions: 20_000 });
    const ids = new Set(emulator.executions().map((execution) => execution.id));

    expect(ids.size).toBe(20_000);
  });

  it('refuses invalid demo options', () => {
    expect(() => demo({ executions: -1 })).toThrow(EmulatorConfigError);
    expect(() => createEmulator({ demo: { days: 0 } })).toThrow(/demo.days/);
  });
});
