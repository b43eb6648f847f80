// The dashboard's health data (issue 26): the jobHealth view lists every job's state as `history health` reads it
// (needs attention first, counts per state, one GetItem for the job filter, no Scan), a job's view carries its
// health, and the health view draws the sync's kept runs of the period (one Query of byKind, oldest first).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, type QueryCommandInput, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#core/aws-clients';
import type { HealthState } from '#core/health/health-states';
import { HistoryReader } from '#core/history/history-reader';
import type { SyncRunRecord } from '#core/store/sync-run-repository';
import { DashboardData } from '#local/dashboard/dashboard-data';
import { parseFilters } from '#local/dashboard/dashboard-routes';
import { SYNC_RUN_POINTS } from '#local/dashboard/sync-health';

const doc = createDocumentClient(new DynamoDBClient({ region: 'eu-west-1' }));
const dynamo = mockClient(doc);
const STATE = 'state-table';
const NOW = Date.parse('2026-12-07T12:00:00.000Z');

beforeEach(() => dynamo.reset());

/** A job health record as the sync's health pass keeps it. */
function healthItem(jobId: string, title: string, state: HealthState, expectedBy: string | null) {
  return {
    name: `job-health#${jobId}`,
    kind: 'job-health',
    sortKey: jobId,
    jobId,
    facts: {
      jobId,
      title,
      runTimes: [],
      durations: [],
      lastRunAt: '2026-12-05T02:00:00.000Z',
      lastSuccessAt: '2026-12-04T02:00:00.000Z',
      lastEnded: null,
      consecutiveFailures: state === 'failing' ? 3 : 0,
      failuresAtLeast: false,
      openRuns: 0,
      firstRunAt: '2026-11-01T02:00:00.000Z',
      weekdayRunDays: [],
      runsRead: 10,
    },
    evaluation: {
      state,
      reasons: [`${title} is ${state}`],
      expectedBy,
      schedule: 'learned',
      usualIntervalMs: 86_400_000,
      activeWeekdays: null,
      graceMs: 6 * 3_600_000,
      usualDurationMs: 60_000,
      slowAfterMs: null,
      consecutiveFailures: state === 'failing' ? 3 : 0,
      maxConsecutiveFailures: 2,
    },
    previousState: 'healthy',
    stateSince: '2026-12-06T08:00:00.000Z',
    evaluatedAt: '2026-12-07T11:55:00.000Z',
    asOf: '2026-12-07T11:50:00.000Z',
    refreshedAt: '2026-12-07T11:55:00.000Z',
    pendingEvent: null,
  };
}

const EVALUATED = {
  name: 'job-health-evaluated',
  evaluatedAt: '2026-12-07T11:55:00.000Z',
  asOf: '2026-12-07T11:50:00.000Z',
  jobs: 3,
};

function run(startedAt: string, result: SyncRunRecord['result'], apiRequests: number): SyncRunRecord {
  return {
    runId: `run-${startedAt}`,
    startedAt,
    finishedAt: startedAt,
    durationMs: 1_500,
    result,
    error: result === 'failed' ? 'Product-Live answered 503' : null,
    apiRequests,
    throttled: 0,
    moreRemaining: false,
    watermark: null,
    executions: { new: 1, updated: 0, unchanged: 0, openRefreshed: 0 },
    files: { copied: 0, skipped: 0, pending: 0, failed: 0 },
    audit: null,
    health: null,
  };
}

const isKind = (kind: string) => (input: QueryCommandInput) =>
  input.IndexName === 'byKind' && input.ExpressionAttributeValues?.[':kind'] === kind;

function data(withState = true): DashboardData {
  return new DashboardData({
    reader: new HistoryReader(doc, 'executions-table'),
    ...(withState ? { state: { client: doc, tableName: STATE } } : {}),
    syncRequestsPerMinute: 40,
    now: () => NOW,
  });
}

function request(query: Record<string, string> = {}) {
  return parseFilters(new URLSearchParams(query), NOW);
}

describe('the jobHealth view', () => {
  it("lists every job's state as history health reads it: needs attention first, with the counts per state", async () => {
    dynamo.on(QueryCommand).resolves({ Items: [] });
    dynamo.on(GetCommand).resolves({});
    dynamo.on(QueryCommand).callsFake((input: QueryCommandInput) =>
      isKind('job-health')(input)
        ? {
            Items: [
              healthItem('a1', 'Nightly export', 'healthy', '2026-12-08T08:00:00.000Z'),
              healthItem('b2', 'Price import', 'failing', '2026-12-08T08:00:00.000Z'),
              healthItem('c3', 'Supplier feed', 'late', '2026-12-06T08:00:00.000Z'),
              healthItem('d4', 'New job', 'unknown', null),
            ],
          }
        : { Items: [] },
    );
    dynamo.on(GetCommand, { Key: { name: 'job-health-evaluated' } }).resolves({ Item: EVALUATED });

    const view = await data().jobHealth(request());

    expect(view.available).toBe(true);
    expect(view.jobs.map((job) => [job.jobId, job.state])).toEqual([
      ['c3', 'late'],
      ['b2', 'failing'],
      ['d4', 'unknown'],
      ['a1', 'healthy'],
    ]);
    expect(view.jobs[0]).toMatchObject({
      title: 'Supplier feed',
      reasons: ['Supplier feed is late'],
      expectedBy: '2026-12-06T08:00:00.000Z',
      lastRunAt: '2026-12-05T02:00:00.000Z',
      stateSince: '2026-12-06T08:00:00.000Z',
    });
    expect(view.counts).toEqual({ healthy: 1, late: 1, failing: 1, slow: 0, unknown: 1 });
    expect(view).toMatchObject({ evaluatedAt: EVALUATED.evaluatedAt, asOf: EVALUATED.asOf });
    expect(dynamo.commandCalls(ScanCommand)).toHaveLength(0);
    expect(dynamo.commandCalls(QueryCommand).map((call) => call.args[0].input.IndexName)).toEqual(['byKind']);
  });

  it('reads one GetItem for the job filter, and says when there is no state table', async () => {
    dynamo.on(GetCommand).resolves({});
    dynamo
      .on(GetCommand, { Key: { name: 'job-health#b2' } })
      .resolves({ Item: healthItem('b2', 'Price import', 'failing', null) });
    const one = await data().jobHealth(request({ job: 'b2' }));
    expect(one.jobs.map((job) => job.jobId)).toEqual(['b2']);
    expect(one.counts.failing).toBe(1);
    expect(dynamo.commandCalls(QueryCommand)).toHaveLength(0);

    dynamo.reset();
    const none = await data(false).jobHealth(request());
    expect(none).toMatchObject({ available: false, jobs: [], evaluatedAt: null });
    expect(dynamo.calls()).toHaveLength(0);
  });
});

describe("a job's view", () => {
  it('carries its health (state, reasons, expected-by time), or null without a state table', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [] });
    dynamo.on(GetCommand).resolves({});
    dynamo
      .on(GetCommand, { Key: { name: 'job-health#c3' } })
      .resolves({ Item: healthItem('c3', 'Supplier feed', 'late', '2026-12-06T08:00:00.000Z') });
    dynamo.on(GetCommand, { Key: { name: 'job-health-evaluated' } }).resolves({ Item: EVALUATED });
    const { filters, period } = request({ since: 'all' });

    const job = await data().job({ jobId: 'c3', filters, period });
    expect(job.health).toMatchObject({
      evaluatedAt: EVALUATED.evaluatedAt,
      entry: { state: 'late', reasons: ['Supplier feed is late'], expectedBy: '2026-12-06T08:00:00.000Z' },
    });
    const unknownJob = await data().job({ jobId: 'zz', filters, period });
    expect(unknownJob.health).toEqual({ entry: null, evaluatedAt: EVALUATED.evaluatedAt });
    expect((await data(false).job({ jobId: 'c3', filters, period })).health).toBeNull();
  });
});

describe("the health view's sync runs", () => {
  it('draws the kept runs of the period, oldest first, from one Query of byKind over the period', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [] });
    dynamo.on(GetCommand).resolves({});
    const newestFirst = [
      run('2026-12-07T11:00:00.000Z', 'ok', 12),
      run('2026-12-07T10:00:00.000Z', 'failed', 3),
      run('2026-12-07T09:00:00.000Z', 'ok', 40),
    ];
    dynamo
      .on(QueryCommand)
      .callsFake((input: QueryCommandInput) =>
        isKind('sync-run')(input)
          ? { Items: newestFirst.map((r) => ({ ...r, name: `sync-run#${r.startedAt}`, kind: 'sync-run' })) }
          : { Items: [] },
      );

    const { sync } = await data().health(request({ since: '2026-12-01', until: '2026-12-08' }));

    expect(sync.runs).toEqual({
      startedAt: ['2026-12-07T09:00:00.000Z', '2026-12-07T10:00:00.000Z', '2026-12-07T11:00:00.000Z'],
      durationMs: [1_500, 1_500, 1_500],
      result: ['ok', 'failed', 'ok'],
      apiRequests: [40, 3, 12],
      throttled: [0, 0, 0],
      error: [null, 'Product-Live answered 503', null],
      more: false,
    });
    const query = dynamo
      .commandCalls(QueryCommand)
      .map((call) => call.args[0].input)
      .find(isKind('sync-run'));
    expect(query).toMatchObject({
      TableName: STATE,
      IndexName: 'byKind',
      ScanIndexForward: false,
      Limit: SYNC_RUN_POINTS + 1,
      KeyConditionExpression: '#kind = :kind AND #sortKey BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':kind': 'sync-run',
        ':from': '2026-12-01T00:00:00.000Z',
        ':to': '2026-12-07T23:59:59.999Z#\uffff',
      },
    });
    expect(dynamo.commandCalls(ScanCommand)).toHaveLength(0);
  });

  it('says when more runs started in the period than are drawn, and reads from `since` on when open-ended', async () => {
    dynamo.on(GetCommand).resolves({});
    const start = Date.parse('2026-11-08T00:00:00.000Z');
    dynamo.on(QueryCommand).callsFake((input: QueryCommandInput) =>
      isKind('sync-run')(input)
        ? {
            Items: Array.from({ length: input.Limit ?? 0 }, (_, index) =>
              run(new Date(start + (SYNC_RUN_POINTS - index) * 60_000).toISOString(), 'ok', 1),
            ),
          }
        : { Items: [] },
    );
    const { sync } = await data().health(request({ since: '30d' }));
    expect(sync.runs.more).toBe(true);
    expect(sync.runs.startedAt).toHaveLength(SYNC_RUN_POINTS);
    expect(sync.runs.startedAt).toEqual([...sync.runs.startedAt].sort());
    const query = dynamo
      .commandCalls(QueryCommand)
      .map((call) => call.args[0].input)
      .find(isKind('sync-run'));
    expect(query?.KeyConditionExpression).toBe('#kind = :kind AND #sortKey >= :from');
    expect(query?.ExpressionAttributeValues?.[':from']).toBe('2026-11-07T12:00:00.000Z');
  });

  it('has no runs without a state table', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [] });
    const { sync } = await data(false).health(request());
    expect(sync.runs.startedAt).toEqual([]);
    expect(sync.runs.more).toBe(false);
  });
});
