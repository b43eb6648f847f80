// The sliding-window rate limiter of the emulator, on explicit instants.
import { describe, expect, it } from 'vitest';
import { SlidingWindowRateLimiter } from '#local/emulator/rate-limiter';

describe('sliding window rate limiter', () => {
  it('allows `limit` requests per window and says when the oldest one leaves it', () => {
    const limiter = new SlidingWindowRateLimiter(3, 60_000);

    expect([0, 10_000, 20_000].map((at) => limiter.tryAcquire('k', at).allowed)).toEqual([true, true, true]);
    expect(limiter.tryAcquire('k', 30_000)).toEqual({ allowed: false, retryAfterMs: 30_000 });
    expect(limiter.tryAcquire('k', 59_999)).toEqual({ allowed: false, retryAfterMs: 1 });
    expect(limiter.tryAcquire('k', 60_000)).toEqual({ allowed: true });
    expect(limiter.tryAcquire('k', 60_000)).toEqual({ allowed: false, retryAfterMs: 10_000 });
    expect(limiter.countInWindow('k', 60_000)).toBe(3);
  });

  it('counts keys separately and does not count refused requests', () => {
    const limiter = new SlidingWindowRateLimiter(1, 1_000);
    limiter.tryAcquire('a', 0);
    for (let at = 1; at < 1_000; at += 100) expect(limiter.tryAcquire('a', at).allowed).toBe(false);

    expect(limiter.tryAcquire('b', 500).allowed).toBe(true);
    expect(limiter.tryAcquire('a', 1_000).allowed).toBe(true);
  });

  it('stays correct over many windows', () => {
    const limiter = new SlidingWindowRateLimiter(50, 60_000);
    let allowed = 0;
    for (let at = 0; at < 600_000; at += 100) if (limiter.tryAcquire('k', at).allowed) allowed++;
    expect(allowed).toBe(500);
  });

  it('refuses a limit below 1 or an empty window', () => {
    expect(() => new SlidingWindowRateLimiter(0, 1_000)).toThrow(RangeError);
    expect(() => new SlidingWindowRateLimiter(1, 0)).toThrow(RangeError);
  });
});
