// The history queries against DynamoDB Local after a real sync of the emulator's demo data. Every figure is
// compared with one computed here, straightforwardly, from the emulator's own executions (the ground truth),
// and a recording middleware proves that only key lookups and index Queries reach DynamoDB.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#core/aws-clients';
import { ExecutionNotFoundError } from '#core/history/history.errors';
import { HistoryReader } from '#core/history/history-reader';
import { s3PayloadLoader } from '#core/history/large-payload';
import type { Period } from '#core/history/period';
import type { JobExecution } from '#core/product-live/product-live.schema';
import type { ExecutionItem } from '#core/store/execution-repository';
import { type JobStats, TOTAL_TITLE } from '#local/history/execution-stats';
import {
  exportExecutions,
  listExecutions,
  queryStats,
  queryTimeline,
  showExecution,
} from '#local/history/history-queries';
import { aJobExecution } from '../builders/job-execution.builder';
import { createTestStore, localAwsClients, storeOffloadedExecution } from '../support/local-aws';
import { createSyncHarness, expectStoreToEqualEmulator, type SyncHarness } from '../support/sync-harness';

// --- the independent computation, from the API's own executions ---------------------------------------

const STATUSES = ['PENDING', 'RUNNING', 'COMPLETED', 'USER_ERROR', 'FAILED', 'TERMINATED', 'TIMEDOUT'];
const ENDED = ['COMPLETED', 'USER_ERROR', 'FAILED', 'TERMINATED', 'TIMEDOUT'];
const DAY = 86_400_000;

/** Nearest rank, by its definition: the smallest value with at least p% of the values at or below it. */
function percentile(values: number[], percent: number): number | null {
  const sorted = [...values].sort((a, b) => a - b);
  return (
    sorted.find(
      (value) => sorted.filter((other) => other <= value).length * 100 >= percent * sorted.length,
    ) ?? null
  );
}

function latest(dates: string[]): string | null {
  const times = dates.map((date) => Date.parse(date));
  return times.length ? new Date(Math.max(...times)).toISOString() : null;
}

function expectedFigures(executions: JobExecution[], jobId: string | null, title: string | null): JobStats {
  const byStatus: Record<string, number> = Object.fromEntries(STATUSES.map((status) => [status, 0]));
  for (const execution of executions) byStatus[execution.status] = (byStatus[execution.status] ?? 0) + 1;
  const ended = executions.filter((execution) => ENDED.includes(execution.status));
  const completed = ended.filter((execution) => execution.status === 'COMPLETED');
  const durations = ended
    .filter((execution) => execution.startedAt && execution.endedAt)
    .map((execution) => Date.parse(execution.endedAt ?? '') - Date.parse(execution.startedAt ?? ''));
  return {
    jobId,
    title,
    runs: executions.length,
    byStatus,
    ended: ended.length,
    successRate: ended.length ? completed.length / ended.length : null,
    durationMs: {
      p50: percentile(durations, 50),
      p95: percentile(durations, 95),
      max: percentile(durations, 100),
    },
    lastRunAt: latest(executions.map((execution) => execution.createdAt)),
    lastFailureAt: latest(
      ended.filter((execution) => execution.status !== 'COMPLETED').map((execution) => execution.createdAt),
    ),
  };
}

function inPeriod(execution: JobExecution, period: Period): boolean {
  const at = Date.parse(execution.createdAt);
  return (
    (!period.since || at >= Date.parse(period.since)) && (!period.until || at < Date.parse(period.until))
  );
}

const newestFirst = (a: JobExecution, b: JobExecution) => Date.parse(b.createdAt) - Date.parse(a.createdAt);

// --- the store ----------------------------------------------------------------------------------------

let harness: SyncHarness;
let truth: JobExecution[];
let reader: HistoryReader;
/** Names of every command the reader's client sent. */
const commands: string[] = [];
let clock: number;
const iso = (ms: number) => new Date(ms).toISOString();

beforeAll(async () => {
  harness = await createSyncHarness({
    emulator: { demo: { seed: 21, executions: 400 }, unknownFields: true },
  });
  const summary = await harness.sync({ config: { pageSize: 1000 } });
  expect(summary.error).toBeNull();
  expect(summary.moreRemaining).toBe(false);
  await expectStoreToEqualEmulator(harness);
  truth = harness.emulator.executions();
  clock = harness.clock.now();

  // A client of its own, so that the recorder sees only the history queries' commands.
  const { env } = harness.clients;
  const dynamo = new DynamoDBClient({
    region: env.AWS_REGION,
    endpoint: env.AWS_ENDPOINT_URL_DYNAMODB,
    credentials: { ...harness.clients.credentials },
  });
  dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      commands.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  reader = new HistoryReader(createDocumentClient(dynamo), harness.store.executionsTable, {
    loadLargePayload: s3PayloadLoader(harness.clients.s3, harness.store.filesBucket),
  });
});

afterAll(async () => {
  await harness?.close();
});

describe('history stats', () => {
  const periods: Array<[string, () => { jobId?: string; period: Period }]> = [
    ['all jobs, all time', () => ({ period: {} })],
    ['the busiest job, all time', () => ({ jobId: busiestJob(), period: {} })],
    [
      'a period (10 to 3 days ago)',
      () => ({ period: { since: iso(clock - 10 * DAY), until: iso(clock - 3 * DAY) } }),
    ],
    [
      'one job over the last 7 days',
      () => ({ jobId: busiestJob(), period: { since: iso(clock - 7 * DAY) } }),
    ],
    [
      'a period whose bounds are exactly two executions’ createdAt (since in, until out)',
      () => {
        const sorted = [...truth].sort((a, b) => -newestFirst(a, b));
        return {
          period: {
            since: iso(Date.parse(sorted[50]?.createdAt ?? '')),
            until: iso(Date.parse(sorted[300]?.createdAt ?? '')),
          },
        };
      },
    ],
  ];

  it.each(periods)('equals the figures computed from the API’s executions: %s', async (_name, filterOf) => {
    const filter = filterOf();
    const matching = truth.filter(
      (execution) =>
        inPeriod(execution, filter.period) && (!filter.jobId || execution.jobId === filter.jobId),
    );
    expect(matching.length).toBeGreaterThan(10);
    const stats = await queryStats(reader, filter);

    const jobIds = [...new Set(matching.map((execution) => execution.jobId))].sort();
    const expectedJobs = jobIds.map((jobId) => {
      const runs = matching.filter((execution) => execution.jobId === jobId);
      return expectedFigures(runs, jobId, [...runs].sort(newestFirst)[0]?.info?.title ?? null);
    });
    const actualJobs = [...stats.jobs].sort((a, b) => (a.jobId ?? '').localeCompare(b.jobId ?? ''));
    expect(actualJobs).toEqual(expectedJobs);
    expect(stats.total).toEqual(expectedFigures(matching, null, TOTAL_TITLE));
    expect(stats.period).toEqual({ since: filter.period.since ?? null, until: filter.period.until ?? null });
  });

  it('covers runs that have not ended (the demo has open runs) without counting them as ended', async () => {
    const stats = await queryStats(reader, { period: {} });
    expect((stats.total.byStatus.RUNNING ?? 0) + (stats.total.byStatus.PENDING ?? 0)).toBeGreaterThan(0);
    expect(stats.total.ended).toBeLessThan(stats.total.runs);
  });
});

function busiestJob(): string {
  const counts = new Map<string, number>();
  for (const execution of truth) counts.set(execution.jobId, (counts.get(execution.jobId) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
}

describe('history list', () => {
  it('has distinct createdAt values to order by (precondition of exact order checks)', () => {
    expect(new Set(truth.map((execution) => Date.parse(execution.createdAt))).size).toBe(truth.length);
  });

  const cases: Array<[string, () => { jobId?: string; status?: string; period: Period; limit?: number }]> = [
    ['everything', () => ({ period: {} })],
    ['a status (byStatus)', () => ({ status: 'FAILED', period: {} })],
    ['a job and a status (byJob + filter)', () => ({ jobId: busiestJob(), status: 'COMPLETED', period: {} })],
    [
      'a period across a month boundary',
      () => ({ period: { since: '2024-05-20T00:00:00.000Z', until: '2024-06-01T06:00:00.000Z' } }),
    ],
    ['the newest 25', () => ({ period: {}, limit: 25 })],
    [
      'the newest 3 of a job in a period',
      () => ({ jobId: busiestJob(), period: { since: iso(clock - 14 * DAY) }, limit: 3 }),
    ],
    [
      'the newest 2 failures of a job (filtered Query, limit after the filter)',
      () => ({ jobId: busiestJob(), status: 'FAILED', period: {}, limit: 2 }),
    ],
  ];

  it.each(cases)('returns exactly the matching executions, newest first: %s', async (_name, filterOf) => {
    const filter = filterOf();
    const matching = truth
      .filter(
        (execution) =>
          inPeriod(execution, filter.period) &&
          (!filter.jobId || execution.jobId === filter.jobId) &&
          (!filter.status || execution.status === filter.status),
      )
      .sort(newestFirst);
    expect(matching.length).toBeGreaterThan(filter.limit ?? 0);
    const list = await listExecutions(reader, filter);
    const expected = filter.limit ? matching.slice(0, filter.limit) : matching;
    expect(list.executions.map((execution) => execution.id)).toEqual(
      expected.map((execution) => execution.id),
    );
    expect(list.more).toBe(filter.limit !== undefined && matching.length > filter.limit);
    const first = list.executions[0];
    const source = expected[0] as JobExecution;
    expect(first).toMatchObject({
      jobId: source.jobId,
      status: source.status,
      createdAt: iso(Date.parse(source.createdAt)),
      title: source.info?.title,
    });
  });

  it('spans the months of the stored data (the demo crosses a month boundary)', () => {
    expect(
      new Set(truth.map((execution) => iso(Date.parse(execution.createdAt)).slice(0, 7))).size,
    ).toBeGreaterThan(1);
  });
});

describe('history show', () => {
  it('returns the API object as returned, and the file copies', async () => {
    const withFiles = (await harness.storedItems()).find((item) => item.files.length > 1) as ExecutionItem;
    const detail = await showExecution(reader, withFiles.id);
    expect(detail.execution).toEqual(harness.emulator.execution(withFiles.id));
    expect(detail.item.files).toEqual(withFiles.files);
  });

  it('names the missing id', async () => {
    await expect(showExecution(reader, 'no-such-execution')).rejects.toBeInstanceOf(ExecutionNotFoundError);
  });
});

describe('history export', () => {
  async function exportLines(filter: { jobId?: string; status?: string; period: Period }): Promise<string[]> {
    const lines: string[] = [];
    for await (const { record } of exportExecutions(reader, filter)) lines.push(JSON.stringify(record));
    return lines;
  }

  it('exports every execution once, each line parsing to the stored execution: raw API object plus files', async () => {
    const lines = await exportLines({ period: {} });
    const stored = new Map((await harness.storedItems()).map((item) => [item.id, item]));
    expect(lines).toHaveLength(truth.length);
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown> & { files: unknown[] });
    expect(new Set(records.map((record) => record.id))).toEqual(
      new Set(truth.map((execution) => execution.id)),
    );
    let files = 0;
    for (const record of records) {
      const item = stored.get(record.id as string) as ExecutionItem;
      expect(record).toEqual({
        ...JSON.parse(item.raw),
        files: item.files.map((file) => ({
          path: file.path,
          s3Key: file.s3Key,
          size: file.size,
          sha256: file.sha256,
          contentType: file.contentType,
        })),
        launch: null,
      });
      const { files: _files, launch: _launch, ...api } = record;
      expect(api).toEqual(harness.emulator.execution(record.id as string));
      files += record.files.length;
    }
    expect(files).toBeGreaterThan(50);
    // Unknown API fields travel with the record.
    expect(records.some((record) => 'priority' in record || 'tags' in record || 'trigger' in record)).toBe(
      true,
    );
    // Oldest first.
    const created = records.map((record) => Date.parse(record.createdAt as string));
    expect(created).toEqual([...created].sort((a, b) => a - b));
  });

  it('exports exactly the executions of a period, a job, a status', async () => {
    const period = { since: iso(clock - 12 * DAY), until: iso(clock - 2 * DAY) };
    for (const filter of [
      { period },
      { period, jobId: busiestJob() },
      { period: {}, status: 'USER_ERROR' },
    ]) {
      const ids = (await exportLines(filter)).map((line) => (JSON.parse(line) as { id: string }).id);
      const expected = truth.filter(
        (execution) =>
          inPeriod(execution, filter.period) &&
          (!('jobId' in filter) || execution.jobId === filter.jobId) &&
          (!('status' in filter) || execution.status === filter.status),
      );
      expect(expected.length).toBeGreaterThan(0);
      expect(new Set(ids)).toEqual(new Set(expected.map((execution) => execution.id)));
      expect(ids).toHaveLength(expected.length);
    }
  });
});

describe('history timeline', () => {
  it('counts runs and failures per day as the API’s executions do, quiet days included', async () => {
    const since = iso(clock - 20 * DAY);
    const timeline = await queryTimeline(reader, { period: { since }, bucket: 'day', now: clock });
    expect(timeline.buckets).toHaveLength(21);
    const dayStart = Date.parse(since) - (Date.parse(since) % DAY);
    for (const [index, point] of timeline.buckets.entries()) {
      const start = dayStart + index * DAY;
      expect(point.start).toBe(iso(start));
      const runs = truth.filter((execution) => {
        const at = Date.parse(execution.createdAt);
        return at >= start && at < start + DAY;
      });
      expect(point.runs).toBe(runs.length);
      expect(point.failures).toBe(
        runs.filter((run) => ENDED.includes(run.status) && run.status !== 'COMPLETED').length,
      );
    }
  });

  it('charts one job by hour', async () => {
    const jobId = busiestJob();
    const since = iso(clock - 2 * DAY);
    const timeline = await queryTimeline(reader, { jobId, period: { since }, bucket: 'hour', now: clock });
    expect(timeline.buckets).toHaveLength(49);
    const expected = truth.filter(
      (execution) =>
        execution.jobId === jobId && Date.parse(execution.createdAt) >= Date.parse(timeline.since ?? ''),
    );
    expect(timeline.total.runs).toBe(expected.length);
  });
});

describe('history reads', () => {
  it('never scan: every command is served by GetItem and index Queries only', async () => {
    commands.length = 0;
    await queryStats(reader, { period: {} });
    await queryStats(reader, { jobId: busiestJob(), period: { since: iso(clock - 7 * DAY) } });
    await listExecutions(reader, { period: {}, limit: 10 });
    await listExecutions(reader, { status: 'FAILED', period: {} });
    await listExecutions(reader, { jobId: busiestJob(), status: 'FAILED', period: {} });
    await showExecution(reader, truth[0]?.id ?? '');
    for await (const _ of exportExecutions(reader, { period: {} })) {
      // drain
    }
    await queryTimeline(reader, { period: { since: iso(clock - 30 * DAY) }, bucket: 'day', now: clock });
    expect(commands.length).toBeGreaterThan(10);
    expect(new Set(commands)).toEqual(new Set(['QueryCommand', 'GetItemCommand']));
  });
});

describe('executions offloaded to the files bucket', () => {
  it('are shown and exported from their S3 copy', async () => {
    const clients = localAwsClients();
    const store = await createTestStore(clients, 'history');
    const big = {
      ...aJobExecution({ status: 'COMPLETED' }),
      output: { rows: 'x'.repeat(1_000) },
      undocumented: true,
    } as JobExecution;
    await storeOffloadedExecution(clients, store, big);
    const offloaded = new HistoryReader(clients.doc, store.executionsTable, {
      loadLargePayload: s3PayloadLoader(clients.s3, store.filesBucket),
    });
    expect((await showExecution(offloaded, big.id)).execution).toEqual(big);
    const exported: unknown[] = [];
    for await (const { record } of exportExecutions(offloaded, { period: {} })) exported.push(record);
    expect(exported).toEqual([{ ...big, files: [], launch: null }]);
  });
});
