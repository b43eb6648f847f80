// Test builders: generated run histories of one job (daily, hourly, weekdays only, a few times a day,
// irregular, paused then resumed), as the health pass reads runs from the store (RunView), newest first.
import type { RunView } from '#core/health/job-run-facts';
import { createSeededRandom } from '#local/emulator/seeded-random';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const MINUTE = 60_000;

export interface HistoryOptions {
  /** Each run's status (default COMPLETED); index 0 is the oldest run. */
  status?: (index: number) => string;
  /** Each run's duration (default 2 minutes). */
  durationMs?: (index: number) => number;
  /** Jitter of each run's creation, ± this many ms (seeded). */
  jitterMs?: number;
  seed?: string;
}

/** Runs created at the given instants (ms), oldest first in, newest first out, ended after their duration. */
export function runsAt(times: readonly number[], options: HistoryOptions = {}): RunView[] {
  const random = createSeededRandom(options.seed ?? 'history');
  return times
    .map((time, index) => {
      const jitter = options.jitterMs ? random.int(-options.jitterMs, options.jitterMs) : 0;
      const createdAt = time + jitter;
      const status = options.status?.(index) ?? 'COMPLETED';
      const durationMs = options.durationMs?.(index) ?? 2 * MINUTE;
      const ended = status !== 'RUNNING' && status !== 'PENDING';
      return {
        id: `run-${String(index).padStart(4, '0')}`,
        status,
        createdAt: new Date(createdAt).toISOString(),
        startedAt: new Date(createdAt).toISOString(),
        ...(ended ? { endedAt: new Date(createdAt + durationMs).toISOString(), durationMs } : {}),
        title: 'Nightly export',
      };
    })
    .reverse();
}

/** `count` instants `every` ms apart, the last one at `last`. */
export function everyInterval(last: number, every: number, count: number): number[] {
  return Array.from({ length: count }, (_, index) => last - (count - 1 - index) * every);
}

/** Daily at 02:00 UTC for `days` days, the last on the day of `lastDay` (an ISO date). */
export function daily(lastDay: string, days: number): number[] {
  return everyInterval(Date.parse(`${lastDay}T02:00:00.000Z`), DAY, days);
}

/** At 06:00 UTC on Monday to Friday only, over `weeks` weeks ending on `lastDay` (skipping weekends). */
export function weekdaysOnly(lastDay: string, weeks: number): number[] {
  const last = Date.parse(`${lastDay}T06:00:00.000Z`);
  const times: number[] = [];
  for (let day = weeks * 7 - 1; day >= 0; day--) {
    const time = last - day * DAY;
    const weekday = new Date(time).getUTCDay();
    if (weekday !== 0 && weekday !== 6) times.push(time);
  }
  return times;
}

/** At the given UTC hours every day for `days` days ending on `lastDay`. */
export function atHours(lastDay: string, days: number, hours: readonly number[]): number[] {
  const start = Date.parse(`${lastDay}T00:00:00.000Z`) - (days - 1) * DAY;
  const times: number[] = [];
  for (let day = 0; day < days; day++) {
    for (const hour of hours) times.push(start + day * DAY + hour * HOUR);
  }
  return times;
}

/** Gaps drawn (seeded) between `minMs` and `maxMs`, `count` runs ending at `last`. */
export function irregular(
  last: number,
  count: number,
  minMs: number,
  maxMs: number,
  seed = 'irregular',
): number[] {
  const random = createSeededRandom(seed);
  const times = [last];
  while (times.length < count) times.unshift((times[0] as number) - random.int(minMs, maxMs));
  return times;
}
