// Product-Live allows 50 requests per minute per account. The emulator enforces it as a sliding window
// (a log of request instants per API key), which is the strictest plausible reading: a client that
// stays under it here stays under a fixed-window limiter too.

export type RateLimitDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

/** A sliding-window request counter per key, driven by the caller's clock. */
export class SlidingWindowRateLimiter {
  private readonly logs = new Map<string, { instants: number[]; head: number }>();

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`rate limit must be >= 1, got ${limit}`);
    if (!(windowMs > 0)) throw new RangeError(`rate limit window must be > 0 ms, got ${windowMs}`);
  }

  /**
   * Counts a request at `now` if the window (now - windowMs, now] has room; otherwise refuses it without
   * counting it and says how long until the oldest counted request leaves the window.
   */
  tryAcquire(key: string, now: number): RateLimitDecision {
    let log = this.logs.get(key);
    if (!log) {
      log = { instants: [], head: 0 };
      this.logs.set(key, log);
    }
    const windowStart = now - this.windowMs;
    while (log.head < log.instants.length && (log.instants[log.head] ?? 0) <= windowStart) log.head++;
    if (log.head > 1024 && log.head * 2 > log.instants.length) {
      log.instants = log.instants.slice(log.head);
      log.head = 0;
    }
    const inWindow = log.instants.length - log.head;
    if (inWindow < this.limit) {
      log.instants.push(now);
      return { allowed: true };
    }
    const oldest = log.instants[log.instants.length - this.limit] ?? now;
    return { allowed: false, retryAfterMs: Math.max(1, oldest + this.windowMs - now) };
  }

  /** Requests counted in the window ending at `now`. */
  countInWindow(key: string, now: number): number {
    const log = this.logs.get(key);
    if (!log) return 0;
    return log.instants.slice(log.head).filter((instant) => instant > now - this.windowMs).length;
  }
}
