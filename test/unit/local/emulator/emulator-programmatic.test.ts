// The emulator's programmatic interface without a server: jobs, executions, lifecycle on a ManualClock,
// ground-truth copies, option validation and fault decisions.
import { describe, expect, it } from 'vitest';
import { FaultInjector } from '#local/emulator/fault-injector';
import {
  createEmulator,
  EmulatorConfigError,
  EmulatorNotStartedError,
  type EmulatorOptions,
  JobWithoutPipelineError,
  ManualClock,
  UnknownJobError,
} from '#local/emulator/index';

const NOW = '2024-06-01T12:00:00.000Z';

/** Options as plain JavaScript or a parsed config file may pass them: the types do not protect these. */
function createFromUntypedOptions(options: object) {
  return createEmulator(options as EmulatorOptions);
}

describe('programmatic interface', () => {
  it('creates executions like POST does and moves them through the lifecycle as the clock advances', () => {
    const clock = new ManualClock(NOW);
    const emulator = createEmulator({
      clock,
      lifecycle: { runTimeMs: 5_000, outcomes: { FAILED: 1, COMPLETED: 0 } },
    });
    const job = emulator.addJob({ title: 'Import Schema' });

    const first = emulator.createExecution(job.id, { x: 1 });
    const second = emulator.createExecution(job.id);
    expect([first.status, second.status]).toEqual(['RUNNING', 'PENDING']);

    clock.advance(5_000);
    expect(emulator.execution(first.id)?.status).toBe('FAILED');
    clock.advance(10_000);
    expect(emulator.executions().map((execution) => execution.status)).toEqual(['FAILED', 'FAILED']);
  });

  it('refuses unknown jobs and jobs without pipeline with the errors the API maps to 404 and 400', () => {
    const emulator = createEmulator({ clock: new ManualClock(NOW) });
    const draft = emulator.addJob({ title: 'Draft', pipelineId: null });

    expect(() => emulator.createExecution('nope')).toThrow(UnknownJobError);
    expect(() => emulator.createExecution(draft.id)).toThrow(JobWithoutPipelineError);
  });

  it('returns deep copies: changing one does not change the emulator', () => {
    const emulator = createEmulator({ clock: new ManualClock(NOW), demo: { seed: 1, executions: 20 } });
    const [execution] = emulator.executions();
    if (!execution) throw new Error('no execution');
    (execution.input as Record<string, unknown>).context = 'changed';
    execution.status = 'CHANGED';

    const again = emulator.execution(execution.id);
    expect(again?.status).not.toBe('CHANGED');
    expect((again?.input as Record<string, unknown> | undefined)?.context).toEqual(
      expect.objectContaining({ jobAccountId: '2629' }),
    );
  });

  it('gives a job its own run time and outcome, which win over the lifecycle options', () => {
    const clock = new ManualClock(NOW);
    const emulator = createEmulator({
      clock,
      lifecycle: { runTimeMs: 60_000, outcomes: { COMPLETED: 1 } },
    });
    const quick = emulator.addJob({ title: 'Quick import', runTimeMs: 2_000, outcome: 'USER_ERROR' });
    const usual = emulator.addJob({ title: 'Usual import' });

    const fast = emulator.createExecution(quick.id);
    const slow = emulator.createExecution(usual.id);
    clock.advance(2_000);

    expect(emulator.jobs().find((job) => job.id === quick.id)).toMatchObject({
      runTimeMs: 2_000,
      outcome: 'USER_ERROR',
    });
    expect(emulator.execution(fast.id)?.status).toBe('USER_ERROR');
    expect(emulator.execution(slow.id)?.status).toBe('RUNNING');
    expect(() => emulator.addJob({ title: 'x', runTimeMs: 0 })).toThrow(EmulatorConfigError);
    expect(() => createFromUntypedOptions({}).addJob({ title: 'x', outcome: 'DONE' } as never)).toThrow(
      /unknown outcome DONE/,
    );
  });

  it('names file URLs with publicUrl, and needs a start or publicUrl to hand out a URL', () => {
    const unstarted = createEmulator({ clock: new ManualClock(NOW) });
    const proxied = createEmulator({ clock: new ManualClock(NOW), publicUrl: 'http://emulator.local:8080/' });

    expect(() => unstarted.url).toThrow(EmulatorNotStartedError);
    expect(() => unstarted.addFile({ filename: 'a.csv', size: 1 })).toThrow(EmulatorNotStartedError);
    expect(proxied.addFile({ filename: 'a.csv', size: 1 }).url).toMatch(
      /^http:\/\/emulator\.local:8080\/data-factory\/2629\/download\/[0-9a-f]{64}\/a\.csv$/,
    );
  });

  it.each([
    [{ order: 'random' }, /order must be one of/],
    [{ maxPageSize: 0 }, /maxPageSize/],
    [{ pageSizeOverflow: 'drop' }, /pageSizeOverflow/],
    [{ rateLimit: { requestsPerMinute: 0 } }, /requestsPerMinute/],
    [{ rateLimit: { retryAfter: 'minutes' } }, /retryAfter/],
    [{ faults: { rate: 2 } }, /faults.rate/],
    [{ faults: { rate: 0.1, kinds: ['418'] } }, /unknown kind "418"/],
    [{ latencyMs: [10, 5] }, /latencyMs/],
    [{ fileAuth: 'basic' }, /fileAuth/],
    [{ findPath: 'v1/find' }, /findPath/],
    [{ accountId: 'acme' }, /accountId/],
    [{ lifecycle: { outcomes: { DONE: 1 } } }, /unknown status DONE/],
    [{ maxUploadBytes: -1 }, /maxUploadBytes/],
    [{ maxUploadBytes: 1.5 }, /maxUploadBytes/],
    [{ uploadDir: '' }, /uploadDir/],
  ])('refuses the invalid option %j', (options, message) => {
    expect(() => createFromUntypedOptions(options)).toThrow(EmulatorConfigError);
    expect(() => createFromUntypedOptions(options)).toThrow(message);
  });
});

describe('fault decisions', () => {
  it('serves queued one-shots first, in order, only where they apply', () => {
    const faults = new FaultInjector();
    faults.failNext('truncated-download');
    faults.failNext('500', { count: 2 });

    expect(faults.decide('list')).toBe('500');
    expect(faults.decide('download')).toBe('truncated-download');
    expect(faults.decide('get')).toBe('500');
    expect(faults.decide('get')).toBeUndefined();
    expect(faults.pendingOneShots).toBe(0);
  });

  it('draws the same random faults for the same seed', () => {
    const draw = () => {
      const faults = new FaultInjector({ rate: 0.5, seed: 3 });
      return Array.from({ length: 50 }, () => faults.decide('find'));
    };
    expect(draw()).toEqual(draw());
    expect(draw().filter(Boolean).length).toBeGreaterThan(10);
    expect(draw()).not.toContain('truncated-download');
    expect(draw()).not.toContain('commit-then-500');
    expect(draw()).not.toContain('store-then-500');
  });

  it('keeps store-then-500 for uploads, and commit-then-500 for creates', () => {
    const faults = new FaultInjector();
    faults.failNext('store-then-500');
    faults.failNext('commit-then-500');

    expect(faults.decide('create')).toBe('commit-then-500');
    expect(faults.decide('get')).toBeUndefined();
    expect(faults.decide('upload')).toBe('store-then-500');
    expect(() => faults.failNext('store-then-500', { endpoint: 'create' })).toThrow(EmulatorConfigError);
  });
});
