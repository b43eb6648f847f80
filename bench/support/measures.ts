// How the benchmarks turn raw observations into figures: budget use from request instants, peak RSS from a
// sampler that runs on its own thread (a busy event loop cannot make it miss the peak), medians and timings.
import { Worker } from 'node:worker_threads';

export interface BudgetUse {
  /** limit × windowMs ÷ mean gap, per window: what the client sustained once its first window was spent. */
  requestsPerWindow: number;
  /** requestsPerWindow ÷ limit: 1 means every slot was reused the instant the window let it go. */
  utilisation: number;
  /** Mean time between a request and the one `limit` requests later (ideal: exactly `windowMs`). */
  meanGapMs: number;
  /** Requests ÷ (last − first instant), per window: inflated by the free first window, for reference. */
  naiveRequestsPerWindow: number;
  /** Time the first `limit` requests took: far below `windowMs` when the budget, not the caller, is the limit. */
  firstWindowMs: number;
}

/**
 * How fully a stream of requests used a budget of `limit` requests per sliding `windowMs`. A request can
 * start at the earliest `windowMs` after the one `limit` requests before it, so the mean of those gaps,
 * against `windowMs`, is the fraction of the budget used. Unlike requests ÷ elapsed time, it does not
 * reward the first window (whose `limit` requests are free at once) nor depend on where the last window is
 * cut. Needs more than `limit` requests.
 */
export function measureBudgetUse(instantsMs: readonly number[], limit: number, windowMs: number): BudgetUse {
  const sorted = [...instantsMs].sort((a, b) => a - b);
  if (sorted.length <= limit) {
    throw new Error(`budget use needs more than ${limit} requests, got ${sorted.length}`);
  }
  let gaps = 0;
  for (let i = 0; i + limit < sorted.length; i++)
    gaps += (sorted[i + limit] as number) - (sorted[i] as number);
  const meanGapMs = gaps / (sorted.length - limit);
  const spanMs = (sorted.at(-1) as number) - (sorted[0] as number);
  return {
    requestsPerWindow: (limit * windowMs) / meanGapMs,
    utilisation: windowMs / meanGapMs,
    meanGapMs,
    naiveRequestsPerWindow: ((sorted.length - 1) * windowMs) / spanMs,
    firstWindowMs: (sorted[limit - 1] as number) - (sorted[0] as number),
  };
}

/** The most requests in any window of `windowMs` (both ends inclusive: the strictest count). */
export function maxInAnyWindow(instantsMs: readonly number[], windowMs: number): number {
  const sorted = [...instantsMs].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while ((sorted[end] as number) - (sorted[start] as number) > windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

/** Samples the process's resident set size on a worker thread every `intervalMs`. */
export class RssSampler {
  private readonly worker: Worker;
  private readonly ready: Promise<void>;

  constructor(intervalMs = 5) {
    // Plain JavaScript (eval): the worker must not depend on the TypeScript loader.
    this.worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       let peak = 0, samples = 0;
       const sample = () => { const rss = process.memoryUsage.rss(); samples++; if (rss > peak) peak = rss; };
       setInterval(sample, ${intervalMs});
       parentPort.on('message', (message) => {
         sample();
         parentPort.postMessage({ peak, samples, current: process.memoryUsage.rss() });
         if (message === 'reset') { peak = 0; samples = 0; }
       });
       parentPort.postMessage('ready');`,
      { eval: true },
    );
    this.ready = new Promise((resolve) => this.worker.once('message', () => resolve()));
  }

  /** Starts a new measurement: returns the RSS now (the baseline) and forgets the peak so far. */
  async reset(): Promise<number> {
    await this.ready;
    return (await this.ask('reset')).current;
  }

  /** The peak RSS since the last reset, and how many samples it is based on. */
  async peak(): Promise<{ peak: number; samples: number }> {
    return this.ask('peak');
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }

  private ask(message: string): Promise<{ peak: number; samples: number; current: number }> {
    return new Promise((resolve) => {
      this.worker.once('message', resolve);
      this.worker.postMessage(message);
    });
  }
}

/** The median of some values (the lower middle one for an even count): an observed value. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
}

/** The result of `work` and how long it took (ms). */
export async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}
