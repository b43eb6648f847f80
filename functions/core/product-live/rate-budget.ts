// The Product-Live limit is "N requests per minute per account". This budget guarantees that at most
// `limit` requests start in any sliding window of `windowMs`, without spacing requests out: the first
// `limit` requests start at once, and a caller waits only when the window is full.
import Bottleneck from 'bottleneck/light';
import { sleep } from './sleep';

export interface RateBudgetOptions {
  /** Requests allowed to start in any sliding window. Default 50. */
  limit?: number;
  /** Length of the sliding window. Default 60 000 ms. */
  windowMs?: number;
  /**
   * Extra time a slot stays taken beyond the window, so that clock or boundary differences on the server
   * side cannot make it count `limit + 1` requests in its own window. Default 1 000 ms.
   */
  marginMs?: number;
}

/** Options of one scheduled task. */
export interface ScheduleOptions {
  /** Gives up waiting for a slot (rejects with the signal's reason); a task already running is not stopped. */
  signal?: AbortSignal;
}

type SlotOutcome<T> = { ran: true; value: T } | { ran: false };

/**
 * A sliding-window request budget, shareable by every client of one process.
 *
 * Built on a bottleneck reservoir of `limit` slots: each task takes one slot when it starts, and the slot
 * goes back `windowMs + marginMs` after the task *settles*. Counting from the end rather than the start is
 * deliberately conservative: the server receives a request somewhere between its start and its end, so a
 * slot reused after end + window can never put two uses of it in one server-side window, whatever the
 * network latency was. `pauseUntil` (after a 429) holds back every task that has not started yet.
 */
export class RateBudget {
  readonly limit: number;
  readonly windowMs: number;
  readonly marginMs: number;
  private readonly limiter: Bottleneck;
  private pausedUntilMs = 0;

  constructor(options: RateBudgetOptions = {}) {
    this.limit = requirePositiveInteger('limit', options.limit ?? 50);
    this.windowMs = requirePositiveInteger('windowMs', options.windowMs ?? 60_000);
    this.marginMs = requireNonNegativeInteger('marginMs', options.marginMs ?? 1_000);
    this.limiter = new Bottleneck({ reservoir: this.limit, maxConcurrent: null, minTime: 0 });
  }

  /** Epoch ms before which no new task starts (0 when not paused). */
  get pausedUntil(): number {
    return this.pausedUntilMs;
  }

  /** Holds back every task that has not started yet until `epochMs`. Only ever extends a pause. */
  pauseUntil(epochMs: number): void {
    if (Number.isFinite(epochMs) && epochMs > this.pausedUntilMs) this.pausedUntilMs = epochMs;
  }

  /** Runs `task` as soon as a slot is free and no pause is in force; resolves or rejects as `task` does. */
  async schedule<T>(task: () => Promise<T>, options: ScheduleOptions = {}): Promise<T> {
    const { signal } = options;
    for (;;) {
      signal?.throwIfAborted();
      const pauseMs = this.pausedUntilMs - Date.now();
      if (pauseMs > 0) await sleep(pauseMs, signal);
      const queued = this.limiter.schedule(() => this.runInSlot(task, signal));
      const outcome = signal ? await raceAbort(queued, signal) : await queued;
      if (outcome.ran) return outcome.value;
      // A pause began while this task was queued: it gave its slot back unused, so wait and queue again.
    }
  }

  private async runInSlot<T>(
    task: () => Promise<T>,
    signal: AbortSignal | undefined,
  ): Promise<SlotOutcome<T>> {
    if (Date.now() < this.pausedUntilMs || signal?.aborted) {
      this.returnSlot(0);
      return { ran: false };
    }
    try {
      return { ran: true, value: await task() };
    } finally {
      this.returnSlot(this.windowMs + this.marginMs);
    }
  }

  private returnSlot(afterMs: number): void {
    const release = () => void this.limiter.incrementReservoir(1);
    if (afterMs <= 0) {
      release();
      return;
    }
    // Unref'd: a pending slot return must not keep a CLI process alive after its last request.
    setTimeout(release, afterMs).unref?.();
  }
}

/** Settles like `promise`, or rejects with the signal's reason if it aborts first; leaves no listener behind. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function requirePositiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new RangeError(`RateBudget ${name} must be a positive integer, got ${value}`);
  }
  return value;
}

function requireNonNegativeInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`RateBudget ${name} must be a non-negative integer, got ${value}`);
  }
  return value;
}
