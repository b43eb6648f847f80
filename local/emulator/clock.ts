// The emulator's only notion of time. Everything time-dependent (lifecycle, createdAt of new executions,
// rate-limit windows, Retry-After) reads a Clock, so tests move time with a ManualClock instead of sleeping.

/** A source of the current time, in epoch milliseconds. */
export interface Clock {
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to: `advance(ms)` or `set(ms)`. */
export class ManualClock implements Clock {
  private current: number;

  constructor(start: number | string | Date = Date.UTC(2024, 0, 15, 12, 0, 0, 0)) {
    this.current = toEpochMs(start);
  }

  now(): number {
    return this.current;
  }

  /** Moves time forward by `ms` (must be non-negative) and returns the new time. */
  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`ManualClock.advance needs ms >= 0, got ${ms}`);
    this.current += ms;
    return this.current;
  }

  /** Sets the time. The emulator never observes time going backwards (see `createMonotonicNow`). */
  set(time: number | string | Date): number {
    this.current = toEpochMs(time);
    return this.current;
  }
}

/**
 * Wraps a clock so that the time it reports never decreases. A real platform does not "un-end" an
 * execution; if a test sets a ManualClock back, the emulator keeps its latest view instead.
 */
export function createMonotonicNow(clock: Clock): () => number {
  let latest = Number.NEGATIVE_INFINITY;
  return () => {
    const now = clock.now();
    if (now > latest) latest = now;
    return latest;
  };
}

function toEpochMs(time: number | string | Date): number {
  const ms = typeof time === 'number' ? time : typeof time === 'string' ? Date.parse(time) : time.getTime();
  if (!Number.isFinite(ms)) throw new RangeError(`not a valid time: ${String(time)}`);
  return ms;
}
