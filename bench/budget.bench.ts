// budget: the sync against an emulator that enforces Product-Live's limit (50 requests per sliding minute),
// in real time, over a backfill long enough for more than three windows of requests. Does the client stay
// under the limit (no 429), does it use the whole budget, and does every request carry a full page?

import { RateBudget } from '#core/product-live/rate-budget';
import { parseBenchArgs } from './support/bench-args';
import type { Benchmark, BenchReport, Check } from './support/bench-report';
import { formatDuration, formatNumber } from './support/bench-report';
import { BenchResources } from './support/bench-resources';
import { countItems, createStore, startLocalAws, startSeededEmulator, wireSync } from './support/bench-stack';
import { maxInAnyWindow, measureBudgetUse } from './support/measures';

const LIMIT = 50;

export const benchmark: Benchmark = {
  name: 'budget',
  title: 'the sync under the 50 requests/minute limit, in real time',
  async run(args): Promise<BenchReport> {
    const { mode, values } = parseBenchArgs(args, {
      executions: { full: 20_000, quick: 20_000, description: 'executions in the emulator' },
      'page-size': { full: 100, quick: 100, description: 'find page size of the sync' },
      'window-seconds': {
        full: 60,
        quick: 10,
        description: 'length of the sliding window of 50 requests, on both sides',
      },
    });
    const count = values.executions;
    const pageSize = values['page-size'];
    const windowMs = values['window-seconds'] * 1000;
    const resources = new BenchResources();
    try {
      const aws = await startLocalAws(resources, ['dynamodb', 's3']);
      const store = await createStore(aws, 'budget');
      const emulator = await startSeededEmulator(resources, {
        count,
        seed: 'bench-budget',
        rateLimit: { requestsPerMinute: LIMIT, windowMs, retryAfter: 'seconds' },
      });

      // Production settings: the client's own budget of 50 per minute (its 1 s safety margin included).
      // A shorter window (development) scales the margin with it.
      const client =
        windowMs === 60_000
          ? { requestsPerMinute: LIMIT }
          : {
              rateBudget: new RateBudget({
                limit: LIMIT,
                windowMs,
                marginMs: Math.round((1_000 * windowMs) / 60_000),
              }),
            };
      const wiring = wireSync(aws, store, emulator, { client, now: Date.now, pageSize });
      const started = performance.now();
      const summary = await wiring.sync();
      const syncMs = performance.now() - started;
      const stored = await countItems(aws, store.executionsTable);

      const apiRequests = emulator.requests.filter((request) => request.endpoint !== 'unknown');
      const accepted = apiRequests.filter((request) => request.status !== 429);
      const throttled = apiRequests.length - accepted.length;
      const instants = accepted.map((request) => request.at);
      const use = measureBudgetUse(instants, LIMIT, windowMs);
      const spanMs = Math.max(...instants) - Math.min(...instants);
      const perRequest = summary.executions.new / summary.apiRequests / pageSize;
      const windowLabel = windowMs === 60_000 ? 'minute' : `${values['window-seconds']} s window`;

      const checks: Check[] = [
        {
          label: 'sync run completed',
          ok: summary.error === null && !summary.moreRemaining && !summary.skipped,
          detail: summary.error ?? `moreRemaining ${summary.moreRemaining}`,
        },
        {
          label: 'every execution stored',
          ok: summary.executions.new === count && stored === count,
          detail: `${summary.executions.new} new, ${stored} in the table, ${count} in the emulator`,
        },
        {
          label: 'requests span at least 3 windows',
          ok: spanMs >= 3 * windowMs,
          detail: `${accepted.length} requests over ${formatDuration(spanMs)} (window ${formatDuration(windowMs)})`,
        },
        {
          label: 'the emulator saw what the client counted',
          ok: apiRequests.length === summary.apiRequests && throttled === summary.throttled,
          detail: `emulator ${apiRequests.length} requests (${throttled} refused), client ${summary.apiRequests} (${summary.throttled} throttled)`,
        },
      ];
      const notes = [
        `The emulator refuses a request when ${LIMIT} were already accepted in the sliding ${formatDuration(windowMs)} ` +
          'before it (per API key), the strictest reading of the documented limit. The client (RateBudget) gives a slot back ' +
          `${formatDuration(windowMs)} + a ${windowMs === 60_000 ? '1 s' : 'scaled'} margin after the request ` +
          'settles, so it can never be refused whatever the latency.',
        `Requests per ${windowLabel} is ${LIMIT} × window ÷ the mean time between a request and the one ${LIMIT} ` +
          `requests later, measured on the emulator's arrival instants: a request cannot start sooner than one ` +
          `window after the ${LIMIT}th before it, so 1.00 is a client that reuses every slot the instant it frees. ` +
          'Requests ÷ elapsed time would count the first window (50 requests available at once) as free ' +
          `throughput: that naive figure is ${formatNumber(use.naiveRequestsPerWindow, 1)} per ${windowLabel}.`,
        'Jobs of kind no-files, stored executions all ended: every request is a page of the window query.',
      ];
      if (use.utilisation < 0.95) {
        notes.push(
          `Goal missed: the mean gap is ${formatDuration(use.meanGapMs)} against a ${formatDuration(windowMs)} ` +
            "window. The margin the client keeps, plus each request's own duration (slots are returned after " +
            'the request settles), set the gap; a smaller margin would close it at the risk of a 429 when ' +
            'client and server clocks disagree.',
        );
      }
      return {
        title: benchmark.title,
        mode,
        parameters: {
          executions: count,
          'job kind': 'no-files',
          'sync page size': pageSize,
          'emulator limit': `${LIMIT} per sliding ${formatDuration(windowMs)}`,
          'client budget': `${LIMIT} per ${formatDuration(windowMs)} (RateBudget)`,
          clock: 'real time on both sides',
        },
        figures: [
          {
            key: 'throttled',
            label: '429s received',
            value: throttled,
            unit: '',
            goal: { comparison: '=', target: 0 },
          },
          {
            key: 'requestsPerWindow',
            label: `requests per ${windowLabel}`,
            value: use.requestsPerWindow,
            unit: '',
            digits: 1,
          },
          {
            key: 'budgetUse',
            label: `requests per ${windowLabel} ÷ ${LIMIT}`,
            value: use.utilisation,
            unit: '',
            digits: 3,
            goal: { comparison: '>=', target: 0.95 },
          },
          {
            key: 'pageFill',
            label: 'executions per request ÷ page size',
            value: perRequest,
            unit: '',
            digits: 3,
            goal: { comparison: '>=', target: 0.95 },
          },
        ],
        checks,
        details: {
          'API requests': summary.apiRequests,
          'requests span (first to last)': formatDuration(spanMs),
          [`first ${LIMIT} requests took`]: formatDuration(use.firstWindowMs),
          'sync time': formatDuration(syncMs),
          'mean gap to the request 50 later': formatDuration(use.meanGapMs),
          'most requests in any window': maxInAnyWindow(instants, windowMs),
          'executions ingested per minute': formatNumber((summary.executions.new / syncMs) * 60_000, 0),
        },
        notes,
      };
    } finally {
      await resources.close();
    }
  },
};
