// What the sync pays for history that does not exist, and for a server's smaller limits: the audit's API
// counts and store COUNT Queries with the default start date (1970) over an empty or a recent history, and
// the open refresh's `in` batches against a server that refuses large pages; against the emulator, DynamoDB
// Local and s3rver.
import { afterEach, describe, expect, it } from 'vitest';
import { EXECUTION_INDEXES } from '#core/store/table-definitions';
import { ManualClock } from '#local/emulator/index';
import { createSyncHarness, expectStoreToEqualEmulator, type SyncHarness } from '../support/sync-harness';

let harness: SyncHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Finds the harness's emulator answered since the last clearRequests(). */
const finds = (h: SyncHarness) => h.emulator.requests.filter((request) => request.endpoint === 'find');

/**
 * Records, from now on, the month partition of every COUNT Query the harness's DynamoDB client sends on the
 * byMonth index (the audit's store counts).
 */
function recordMonthCounts(h: SyncHarness): string[] {
  const months: string[] = [];
  h.clients.dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as {
        IndexName?: string;
        Select?: string;
        ExpressionAttributeValues?: Record<string, unknown>;
      };
      if (
        context.commandName === 'QueryCommand' &&
        input.IndexName === EXECUTION_INDEXES.byMonth &&
        input.Select === 'COUNT'
      ) {
        // Marshalled ({ S: '2024-01' }) or not, depending on where the middleware sits.
        const month = input.ExpressionAttributeValues?.[':month'] as string | { S?: string } | undefined;
        months.push(typeof month === 'string' ? month : String(month?.S));
      }
      return next(args);
    },
    { step: 'initialize', name: 'recordMonthCounts' },
  );
  return months;
}

/** Creates an execution every `everyMs` from `from` to `to` (emulator clock), of one no-files job. */
function createHistory(h: SyncHarness, from: string, to: string, everyMs: number, visibleAfter?: number) {
  const job = h.emulator.addJob({ title: 'Sync Prices', kind: 'no-files' });
  h.clock.set(Date.parse(from));
  const ids: string[] = [];
  while (h.clock.now() < Date.parse(to)) {
    const options = visibleAfter === undefined ? {} : { visibleAfterMs: visibleAfter - h.clock.now() };
    ids.push(h.emulator.createExecution(job.id, {}, { runTimeMs: 1_000, ...options }).id);
    h.clock.advance(everyMs);
  }
  return ids;
}

describe('audit costs with the default start date (1970-01-01)', () => {
  it('sends no store COUNT Query for the months before the oldest stored execution', async () => {
    harness = await createSyncHarness({ emulator: { clock: new ManualClock('2024-01-10T08:00:00.000Z') } });
    const h = harness;
    createHistory(h, '2024-01-10T08:00:00.000Z', '2024-06-01T00:00:00.000Z', 3 * DAY);
    h.clock.set(Date.parse('2024-06-01T12:00:00.000Z'));
    const months = recordMonthCounts(h);
    const first = await h.sync();
    expect(first.audit).toMatchObject({ complete: true, monthsDiffering: 0, monthsChecked: 6 });
    // One COUNT Query per month holding data (each fits one page): none back to 1970, none for June (the
    // last interval, 2024-06-01 to the watermark, is after the newest stored execution).
    expect(months).toEqual(['2024-01', '2024-02', '2024-03', '2024-04', '2024-05']);
    // The API side: one count per boundary, the start date, five month starts and the watermark.
    expect(first.audit?.apiRequests).toBe(7);
  });

  it('costs one API request and no COUNT Query when the API and the store are both empty', async () => {
    harness = await createSyncHarness();
    const h = harness;
    const months = recordMonthCounts(h);
    const first = await h.sync();
    expect(first.error).toBeNull();
    expect(first.moreRemaining).toBe(false);
    expect(first.audit).toMatchObject({ complete: true, monthsDiffering: 0, apiRequests: 1 });
    expect(first.apiRequests).toBe(2); // the window, then the audit's count of `createdAt >= 1970-01-01`
    expect(finds(h)).toHaveLength(2);
    expect(months).toEqual([]);
    // And again in every later audit while the account stays empty.
    h.clock.advance(DAY);
    const again = await h.sync({ event: { audit: true } });
    expect(again.audit).toMatchObject({ complete: true, apiRequests: 1 });
  });

  it('costs one count per month holding data, plus one, when the history starts recently', async () => {
    harness = await createSyncHarness({ emulator: { clock: new ManualClock('2024-03-05T00:00:00.000Z') } });
    const h = harness;
    createHistory(h, '2024-03-05T00:00:00.000Z', '2024-06-01T00:00:00.000Z', DAY);
    h.clock.set(Date.parse('2024-06-01T12:00:00.000Z'));
    const first = await h.sync();
    // Intervals: [1970-01-01, 2024-04-01), April, May, [2024-06-01, watermark): 4 months, 5 counts.
    expect(first.audit).toMatchObject({
      complete: true,
      monthsDiffering: 0,
      monthsChecked: 4,
      apiRequests: 5,
    });
  });

  it('finds the first month holding data in a few requests when the store is empty and the API is not', async () => {
    harness = await createSyncHarness({ emulator: { clock: new ManualClock('2024-03-05T00:00:00.000Z') } });
    const h = harness;
    // Three months of executions that the API shows only on 2024-06-02, long after their createdAt.
    const visibleAt = Date.parse('2024-06-02T00:00:00.000Z');
    const late = createHistory(h, '2024-03-05T00:00:00.000Z', '2024-06-01T00:00:00.000Z', 2 * DAY, visibleAt);
    h.clock.set(Date.parse('2024-06-01T12:00:00.000Z'));
    const first = await h.sync();
    expect(first.executions.new).toBe(0);
    expect(first.audit).toMatchObject({ complete: true, monthsDiffering: 0, apiRequests: 1 });
    h.clock.set(Date.parse('2024-06-02T13:00:00.000Z'));
    h.emulator.clearRequests();
    const audited = await h.sync();
    expect(audited.audit).toMatchObject({ complete: true, executionsRecovered: late.length });
    // 655 boundaries from 1970-01-01 to the watermark: the counts of the 4 intervals holding data (5), and
    // a binary search for the first of them, at most ceil(log2(654)) = 10 counts.
    expect(audited.audit?.monthsChecked).toBe(4);
    const counts = finds(h).filter((request) => request.query.size === '1');
    expect(counts.length).toBeLessThanOrEqual(15);
    // The counts, then one page for each of the 3 months that differ (March, April, May).
    expect(audited.audit?.apiRequests).toBe(counts.length + 3);
    await expectStoreToEqualEmulator(h, { files: false });
  });
});

describe('the open refresh against a server that refuses large pages', () => {
  it('asks `in` batches of the page size the API accepts, and keeps using `in`', async () => {
    harness = await createSyncHarness({
      emulator: { maxPageSize: 50 },
      config: { auditIntervalMs: 365 * DAY },
    });
    const h = harness;
    const job = h.emulator.addJob({ title: 'Sync Prices', kind: 'no-files' });
    // More open executions than one `in` query carries (100): they are re-read apart from the window.
    for (let index = 0; index < 120; index++) h.emulator.createExecution(job.id, {}, { runTimeMs: 6 * HOUR });
    const first = await h.sync();
    expect(first.executions.new).toBe(120);
    expect((await h.state.getApiProfile())?.pageSize).toBe(50);
    h.clock.advance(60_000);
    h.emulator.clearRequests();
    const second = await h.sync();
    expect(second.error).toBeNull();
    expect(second.executions.openRefreshed).toBe(120);
    expect(h.emulator.requests.filter((request) => request.endpoint === 'get')).toEqual([]);
    expect(h.emulator.requests.filter((request) => request.status === 400)).toEqual([]);
    expect((await h.state.getApiProfile())?.inSupported).not.toBe(false);
  });

  it('halves a refused `in` batch, as the window halves its page size, once what it learned expired', async () => {
    harness = await createSyncHarness({
      emulator: { maxPageSize: 50 },
      config: { auditIntervalMs: 365 * DAY },
    });
    const h = harness;
    const job = h.emulator.addJob({ title: 'Sync Prices', kind: 'no-files' });
    for (let index = 0; index < 120; index++)
      h.emulator.createExecution(job.id, {}, { runTimeMs: 30 * HOUR });
    await h.sync();
    // A day later the page size learned is forgotten: the refresh asks 100 ids first.
    h.clock.advance(DAY);
    h.emulator.clearRequests();
    const next = await h.sync();
    expect(next.error).toBeNull();
    expect(next.executions.openRefreshed).toBe(120);
    expect(h.emulator.requests.filter((request) => request.endpoint === 'get')).toEqual([]);
    // Two refused: the `in` query of 100 ids, and the window's first page of 100.
    expect(h.emulator.requests.filter((request) => request.status === 400)).toHaveLength(2);
    const profile = await h.state.getApiProfile();
    expect(profile).toMatchObject({ inBatchSize: 50, pageSize: 50 });
    expect(profile?.inSupported).not.toBe(false);
  });
});
