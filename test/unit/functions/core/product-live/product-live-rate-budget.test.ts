import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RateBudget } from '#core/product-live/rate-budget';

const T0 = Date.parse('2024-03-01T10:00:00.000Z');
/** Bottleneck hands a slot over through zero-delay timers, which fake timers count as up to 1 ms each. */
const SLACK_MS = 10;

/** How many start times fall in [at, at + SLACK_MS]: "started at `at`, without waiting". */
function startedAt(starts: number[], at: number): number {
  return starts.filter((t) => t >= at && t <= at + SLACK_MS).length;
}

function expectStartedAt(actual: number, expected: number): void {
  expect(actual).toBeGreaterThanOrEqual(expected);
  expect(actual).toBeLessThanOrEqual(expected + SLACK_MS);
}

/** The largest number of starts that fall in one half-open window [t, t + windowMs). */
function maxStartsInAnyWindow(starts: number[], windowMs: number): number {
  const sorted = [...starts].sort((a, b) => a - b);
  let max = 0;
  for (let i = 0; i < sorted.length; i += 1) {
    const first = sorted[i] ?? 0;
    const inWindow = sorted.filter((t) => t >= first && t < first + windowMs).length;
    max = Math.max(max, inWindow);
  }
  return max;
}

/** Schedules `count` instant tasks at the current (fake) time and returns their start times. */
function scheduleInstantTasks(budget: RateBudget, count: number, starts: number[]): Promise<void>[] {
  return Array.from({ length: count }, () => budget.schedule(async () => void starts.push(Date.now())));
}

describe('RateBudget', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('starts the first `limit` requests at once, without spacing them', async () => {
    const budget = new RateBudget({ limit: 50, windowMs: 60_000, marginMs: 0 });
    const starts: number[] = [];
    const done = Promise.all(scheduleInstantTasks(budget, 50, starts));
    await vi.runAllTimersAsync();
    await done;
    expect(startedAt(starts, T0)).toBe(50);
  });

  it('never lets more than 50 of 120 requests start in any sliding 60 s window', async () => {
    const budget = new RateBudget({ limit: 50, windowMs: 60_000, marginMs: 0 });
    const starts: number[] = [];
    const done = Promise.all(scheduleInstantTasks(budget, 120, starts));
    await vi.runAllTimersAsync();
    await done;

    expect(starts).toHaveLength(120);
    expect(maxStartsInAnyWindow(starts, 60_000)).toBe(50);
    // Waiting happens only when over budget: each batch of 50 starts as soon as the window allows.
    expect(startedAt(starts, T0)).toBe(50);
    expect(startedAt(starts, T0 + 60_000)).toBe(50);
    expect(startedAt(starts, T0 + 120_000)).toBe(20);
  });

  it('keeps a slot taken for the safety margin beyond the window', async () => {
    const budget = new RateBudget({ limit: 2, windowMs: 60_000, marginMs: 1_500 });
    const starts: number[] = [];
    const done = Promise.all(scheduleInstantTasks(budget, 3, starts));
    await vi.runAllTimersAsync();
    await done;
    expect(startedAt(starts, T0)).toBe(2);
    expectStartedAt(starts[2] ?? 0, T0 + 61_500);
  });

  // biome-ignore lint/suspicious/useExpect: expectStartedAt asserts
  it('counts a slot from the end of a slow request, whatever the latency was', async () => {
    const budget = new RateBudget({ limit: 1, windowMs: 60_000, marginMs: 0 });
    const starts: number[] = [];
    const slow = budget.schedule(async () => {
      starts.push(Date.now());
      await new Promise((resolve) => setTimeout(resolve, 10_000));
    });
    const next = budget.schedule(async () => void starts.push(Date.now()));
    await vi.runAllTimersAsync();
    await Promise.all([slow, next]);
    expectStartedAt(starts[0] ?? 0, T0);
    expectStartedAt(starts[1] ?? 0, T0 + 70_000);
  });

  it('does not make a request wait while the window has room', async () => {
    const budget = new RateBudget({ limit: 50, windowMs: 60_000, marginMs: 1_000 });
    const starts: number[] = [];
    const first = Promise.all(scheduleInstantTasks(budget, 30, starts));
    const second = new Promise<void>((resolve, reject) => {
      setTimeout(
        () => Promise.all(scheduleInstantTasks(budget, 20, starts)).then(() => resolve(), reject),
        5_000,
      );
    });
    await vi.runAllTimersAsync();
    await Promise.all([first, second]);
    expect(startedAt(starts, T0)).toBe(30);
    expect(startedAt(starts, T0 + 5_000)).toBe(20);
  });

  // biome-ignore lint/suspicious/useExpect: expectStartedAt asserts
  it('makes an over-budget request wait until the oldest slot returns, not a full window from now', async () => {
    const budget = new RateBudget({ limit: 50, windowMs: 60_000, marginMs: 1_000 });
    const starts: number[] = [];
    const burst = Promise.all(scheduleInstantTasks(budget, 50, starts));
    await vi.advanceTimersByTimeAsync(30_000);
    await burst;
    const late = budget.schedule(async () => Date.now());
    await vi.runAllTimersAsync();
    expectStartedAt(await late, T0 + 61_000);
  });

  it('holds back every request that has not started during a pause', async () => {
    const budget = new RateBudget({ limit: 50 });
    budget.pauseUntil(T0 + 10_000);
    const starts: number[] = [];
    const done = Promise.all(scheduleInstantTasks(budget, 3, starts));
    await vi.runAllTimersAsync();
    await done;
    expect(startedAt(starts, T0 + 10_000)).toBe(3);
    expect(budget.pausedUntil).toBe(T0 + 10_000);
  });

  // biome-ignore lint/suspicious/useExpect: expectStartedAt asserts
  it('applies a pause that begins while a request is queued, and only ever extends a pause', async () => {
    const budget = new RateBudget({ limit: 1, windowMs: 60_000, marginMs: 0 });
    const starts: number[] = [];
    const first = budget.schedule(async () => void starts.push(Date.now()));
    const queued = budget.schedule(async () => void starts.push(Date.now()));
    await vi.advanceTimersByTimeAsync(1_000);
    budget.pauseUntil(T0 + 90_000);
    budget.pauseUntil(T0 + 20_000); // a shorter pause never shortens the current one
    await vi.runAllTimersAsync();
    await Promise.all([first, queued]);
    expectStartedAt(starts[0] ?? 0, T0);
    expectStartedAt(starts[1] ?? 0, T0 + 90_000);
  });

  it('gives up waiting when the signal aborts, without losing the slot', async () => {
    const budget = new RateBudget({ limit: 1, windowMs: 60_000, marginMs: 0 });
    const starts: number[] = [];
    await Promise.all([
      budget.schedule(async () => void starts.push(Date.now())),
      vi.advanceTimersByTimeAsync(10),
    ]);
    const controller = new AbortController();
    const abandoned = budget.schedule(async () => void starts.push(-1), { signal: controller.signal });
    const outcome = abandoned.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(5_000);
    controller.abort(new Error('deadline'));
    expect(await outcome).toEqual(new Error('deadline'));
    const next = budget.schedule(async () => void starts.push(Date.now()));
    await vi.runAllTimersAsync();
    await next;
    expect(starts).toHaveLength(2);
    expectStartedAt(starts[0] ?? 0, T0);
    expectStartedAt(starts[1] ?? 0, T0 + 60_000);
  });

  it('propagates the task result and error', async () => {
    const budget = new RateBudget();
    const ok = budget.schedule(async () => 42);
    const failed = budget
      .schedule(async () => Promise.reject(new Error('boom')))
      .catch((error: Error) => error);
    await vi.runAllTimersAsync();
    expect(await ok).toBe(42);
    expect((await failed).message).toBe('boom');
  });

  it('rejects nonsensical settings', () => {
    expect(() => new RateBudget({ limit: 0 })).toThrow(RangeError);
    expect(() => new RateBudget({ windowMs: -1 })).toThrow(/windowMs/);
    expect(() => new RateBudget({ marginMs: 1.5 })).toThrow(/marginMs/);
  });

  it('keeps any sliding window within the limit for arbitrary arrivals and durations (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.record({ arriveAfterMs: fc.integer({ min: 0, max: 20_000 }), tookMs: fc.nat(3_000) }), {
          minLength: 1,
          maxLength: 40,
        }),
        async (limit, arrivals) => {
          vi.setSystemTime(T0);
          const budget = new RateBudget({ limit, windowMs: 10_000, marginMs: 0 });
          const starts: number[] = [];
          const tasks = arrivals.map(
            ({ arriveAfterMs, tookMs }) =>
              new Promise<void>((resolve, reject) => {
                setTimeout(() => {
                  budget
                    .schedule(async () => {
                      starts.push(Date.now());
                      await new Promise((done) => setTimeout(done, tookMs));
                    })
                    .then(resolve, reject);
                }, arriveAfterMs);
              }),
          );
          await vi.runAllTimersAsync();
          await Promise.all(tasks);
          expect(starts).toHaveLength(arrivals.length);
          expect(maxStartsInAnyWindow(starts, 10_000)).toBeLessThanOrEqual(limit);
        },
      ),
      { numRuns: 40 },
    );
  });
});
