// steady: the run that repeats every 5 minutes once the history is stored. 10,000 executions synced once,
// then 5 new ones and the end of 20 that were open: how many API requests and how long the incremental run
// takes, against a naive full refresh of the same data (list every page, write every item).
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ProductLiveClient } from '#core/product-live/product-live-client';
import type { ExecutionItem } from '#core/store/execution-repository';
import { createEmulator, type EmulatorJob, ManualClock } from '#local/emulator/index';
import { parseBenchArgs } from './support/bench-args';
import type { Benchmark, BenchReport, Check } from './support/bench-report';
import { formatDuration } from './support/bench-report';
import { BenchResources } from './support/bench-resources';
import {
  addNoFilesJobs,
  countItems,
  createStore,
  type LocalAws,
  seedExecutions,
  startLocalAws,
  timedStores,
  toNewItem,
  wireSync,
} from './support/bench-stack';

const SPACING_MS = 30_000;
const RUN_TIME_MS = 5_000;
const OPEN_RUN_TIME_MS = 30 * 60_000;
const JOBS = 10;
const UNLIMITED = 1_000_000;

export const benchmark: Benchmark = {
  name: 'steady',
  title: 'an incremental run (5 new, 20 ended) over 10,000 stored executions vs a naive full refresh',
  async run(args): Promise<BenchReport> {
    const { mode, values } = parseBenchArgs(args, {
      executions: { full: 10_000, quick: 2_000, description: 'executions stored before the measured run' },
      open: { full: 20, quick: 20, description: 'of them, open at the first run and ended before the next' },
      new: { full: 5, quick: 5, description: 'executions created before the measured run' },
      'page-size': { full: 1_000, quick: 1_000, description: 'page size of both the sync and the refresh' },
    });
    const { executions: count, open, new: fresh } = values;
    const pageSize = values['page-size'];
    const resources = new BenchResources();
    try {
      const aws = await startLocalAws(resources, ['dynamodb', 's3']);
      const store = await createStore(aws, 'steady');
      // A manual clock shared by the emulator and the sync: the open runs end exactly between the two runs.
      const clock = new ManualClock('2024-06-01T00:00:00.000Z');
      const emulator = createEmulator({ clock, rateLimit: false, seed: 'bench-steady' });
      await emulator.start();
      resources.defer('emulator', () => emulator.stop());
      const jobs = addNoFilesJobs(emulator, JOBS);
      const advance = (ms: number) => clock.advance(ms);
      seedExecutions(emulator, {
        count: count - open,
        jobs,
        spacingMs: SPACING_MS,
        runTimeMs: RUN_TIME_MS,
        advance,
      });
      // Open at the first run: two per pipeline, one RUNNING and one PENDING behind it.
      for (let index = 0; index < open; index++) {
        clock.advance(1_000);
        const job = jobs[index % jobs.length] as EmulatorJob;
        emulator.createExecution(job.id, { batch: `open-${index}` }, { runTimeMs: OPEN_RUN_TIME_MS });
      }
      clock.advance(60_000);

      const apiTime = { ms: 0 };
      const wiring = wireSync(aws, store, emulator, {
        client: {
          requestsPerMinute: UNLIMITED,
          onRequest: (event) => {
            apiTime.ms += event.durationMs;
          },
        },
        now: () => clock.now(),
        pageSize,
      });
      const initial = await wiring.sync();
      const openAfterInitial = await countOpen(wiring.executions.listOpen());

      // Between the runs: every open execution ends, and new ones are created (and end).
      clock.advance(4 * OPEN_RUN_TIME_MS);
      seedExecutions(emulator, { count: fresh, jobs, spacingMs: 1_000, runTimeMs: RUN_TIME_MS, advance });
      clock.advance(60_000);

      // 1. The incremental run (its time split between the API and the store, for the details).
      apiTime.ms = 0;
      const timed = timedStores(wiring);
      const steadyStarted = performance.now();
      const steady = await wiring.sync({}, timed.deps);
      const steadyMs = performance.now() - steadyStarted;
      const steadyApiMs = apiTime.ms;
      const mismatches = await compareWithApi(aws, store.executionsTable, emulator.executions());

      // A run with nothing new, for reference.
      clock.advance(5 * 60_000);
      const idleStarted = performance.now();
      const idle = await wiring.sync();
      const idleMs = performance.now() - idleStarted;

      // 2. The naive full refresh of the same data: list every page, write every item unconditionally.
      const naiveApi = new ProductLiveClient({
        baseUrl: emulator.url,
        apiKey: emulator.apiKey,
        requestsPerMinute: UNLIMITED,
      });
      const naiveStarted = performance.now();
      let listed = 0;
      for (let page = 0; ; page++) {
        const list = await naiveApi.listJobExecutions({ page, size: pageSize });
        const nowIso = new Date(clock.now()).toISOString();
        await wiring.executions.insertMany(list.data.map((execution) => toNewItem(execution, nowIso)));
        listed += list.data.length;
        if (list.data.length === 0 || listed >= list.totalElements) break;
      }
      const naiveMs = performance.now() - naiveStarted;
      const total = count + fresh;
      const stored = await countItems(aws, store.executionsTable);

      const checks: Check[] = [
        {
          label: 'first run stored everything, with the open ones open',
          ok: initial.error === null && initial.executions.new === count && openAfterInitial === open,
          detail: `${initial.executions.new} new, ${openAfterInitial} stored as open`,
        },
        {
          label: 'the incremental run saw exactly the changes',
          ok:
            steady.error === null &&
            !steady.moreRemaining &&
            steady.executions.new === fresh &&
            steady.executions.updated === open &&
            steady.executions.openRefreshed === open,
          detail: `new ${steady.executions.new}, updated ${steady.executions.updated}, open refreshed ${steady.executions.openRefreshed}, unchanged ${steady.executions.unchanged}`,
        },
        {
          label: 'store equals the API after the incremental run',
          ok: mismatches.length === 0,
          detail:
            mismatches.length === 0
              ? `${total} executions, same status each`
              : mismatches.slice(0, 3).join('; '),
        },
        {
          label: 'the naive refresh listed and wrote everything',
          ok: listed === total && stored === total,
          detail: `${listed} listed, ${stored} in the table`,
        },
        {
          label: 'no warning',
          ok: wiring.logger.problems.length === 0,
          detail: wiring.logger.problems.slice(0, 3).join(' | ') || 'none',
        },
      ];
      const naiveRequests = naiveApi.requestCount;
      return {
        title: benchmark.title,
        mode,
        parameters: {
          'executions stored': count,
          'open at the first run, ended before the measured run': open,
          'new before the measured run': fresh,
          'job kind': 'no-files',
          'page size (sync and refresh)': pageSize,
          'lookback window': '10 min (the sync default)',
          'emulator rate limit': 'off (requests are counted, not waited for)',
        },
        figures: [
          {
            key: 'steadyRequests',
            label: 'incremental run: API requests',
            value: steady.apiRequests,
            unit: '',
            goal: { comparison: '<=', target: 1 },
          },
          { key: 'steadyMs', label: 'incremental run: time', value: steadyMs, unit: 'ms' },
          { key: 'naiveRequests', label: 'naive full refresh: API requests', value: naiveRequests, unit: '' },
          { key: 'naiveMs', label: 'naive full refresh: time', value: naiveMs, unit: 'ms' },
          {
            key: 'requestRatio',
            label: 'requests: naive ÷ incremental',
            value: naiveRequests / steady.apiRequests,
            unit: '×',
            digits: 1,
          },
          {
            key: 'timeRatio',
            label: 'time: naive ÷ incremental',
            value: naiveMs / steadyMs,
            unit: '×',
            digits: 1,
          },
        ],
        checks,
        details: {
          'incremental run': `${steady.apiRequests} request(s): one find, \`createdAt >= lower OR id in [the open ones]\``,
          'idle run (nothing new)': `${idle.apiRequests} request(s), ${formatDuration(idleMs)}`,
          'first run (the backfill)': `${initial.apiRequests} requests`,
          'items written by the naive refresh': listed,
          'incremental run, API requests': formatDuration(steadyApiMs),
          ...Object.fromEntries(
            Object.entries(timed.timing.ms).map(([name, ms]) => [
              `incremental run, ${name}`,
              `${formatDuration(ms)} over ${timed.timing.calls[name]} call(s) (summed: calls may overlap)`,
            ]),
          ),
        },
        notes: [
          'The incremental run asks for the createdAt window (from the last watermark minus the 10-minute ' +
            'lookback) and the executions it stored as open (`id in [...]`, up to a page of ids) in one `or` ' +
            'query, and writes only what changed (a conditional update for the ended ones, a batch insert for ' +
            'the new ones). An API that refuses `or` costs two requests (the `in` query, then the window).',
          'The naive refresh is what a sync without watermark or open set would do: GET every page of the list ' +
            "endpoint and put every item, changed or not. Its cost grows with the history; the incremental run's " +
            'with the changes.',
          'Jobs of kind no-files, so neither side copies files; the emulator runs in this process and its rate ' +
            'limit is off, so the times are the work itself, not waits for the budget.',
        ],
      };
    } finally {
      await resources.close();
    }
  },
};

async function countOpen(open: AsyncIterable<unknown>): Promise<number> {
  let count = 0;
  for await (const _ of open) count++;
  return count;
}

/** Executions whose stored status differs from the API's, or that are missing or extra. */
async function compareWithApi(
  aws: LocalAws,
  tableName: string,
  truth: readonly { id: string; status: string }[],
): Promise<string[]> {
  const stored = new Map<string, string>();
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await aws.doc.send(
      new ScanCommand({
        TableName: tableName,
        ProjectionExpression: 'id, #status',
        ExpressionAttributeNames: { '#status': 'status' },
        ExclusiveStartKey: startKey,
        ConsistentRead: true,
      }),
    );
    for (const item of (page.Items ?? []) as Pick<ExecutionItem, 'id' | 'status'>[])
      stored.set(item.id, item.status);
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  const mismatches: string[] = [];
  for (const execution of truth) {
    const status = stored.get(execution.id);
    if (status !== execution.status)
      mismatches.push(`${execution.id}: stored ${status ?? 'nothing'}, API ${execution.status}`);
    stored.delete(execution.id);
  }
  for (const id of stored.keys()) mismatches.push(`${id}: stored but not in the API`);
  return mismatches;
}
