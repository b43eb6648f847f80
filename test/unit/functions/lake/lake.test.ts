// The lake without servers: rows of a stored execution, the Parquet they become (read back by DuckDB with their
// types), the portable named queries (their figures equal the history CLI's own computation), and runLake with
// in-memory marks, store and bucket (marks cleared only when unchanged and settled, failures kept, the first
// build, a run cut short).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toExecutionFields } from '#core/executions/execution-record';
import type { AppLogger } from '#core/observability';
import type { ExecutionItem } from '#core/store/execution-repository';
import type { LakeMarksState, MarkToken } from '#core/store/lake-marks';
import {
  EXECUTIONS_TABLE,
  executionRow,
  FILES_TABLE,
  fileRows,
  type LakeRow,
  lakeObjectKey,
} from '#core/warehouse/lake-tables';
import { NAMED_QUERIES, namedQuery } from '#core/warehouse/named-queries';
import { toParquet } from '#core/warehouse/parquet';
import { daysBetween, type LakeDeps, runLake } from '#functions/lake/run-lake';
import { computeStats } from '#local/history/execution-stats';
import { DuckDbLake } from '#local/warehouse/duckdb-lake';
import { SqlQueryError } from '#local/warehouse/sql-result';
import { aJobExecution } from '../../../builders/job-execution.builder';

const silent: AppLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

function storedItem(overrides: Parameters<typeof aJobExecution>[0] = {}, files: ExecutionItem['files'] = []) {
  const fields = toExecutionFields(aJobExecution(overrides));
  const item: ExecutionItem = {
    ...fields,
    files,
    firstSyncedAt: fields.createdAt,
    syncedAt: fields.createdAt,
    source: 'sync',
  };
  return item;
}

describe('lake rows', () => {
  it('turns a stored execution into one executions row and a files row per copy', () => {
    const item = storedItem({ status: 'FAILED', createdAt: '2024-06-01T10:00:00.123Z' }, [
      {
        path: 'output.report',
        sourceUrl: 'https://app.product-live.com/x/report.xml',
        fileName: 'report.xml',
        s3Key: 'executions/j/e/output.report/report.xml',
        status: 'copied',
        attempts: 1,
        size: 1234,
        sha256: 'ab'.repeat(32),
        contentType: 'application/xml',
        copiedAt: '2024-06-01T10:01:00.000Z',
      },
      {
        path: 'input.file',
        sourceUrl: 'https://app.product-live.com/x/in.csv',
        fileName: 'in.csv',
        s3Key: 'executions/j/e/input.file/in.csv',
        status: 'failed',
        attempts: 1,
        lastError: 'answered HTTP 404',
      },
    ]);
    item.removedFromApiAt = '2024-07-01T00:00:00.000Z';
    item.launch = { idempotencyKey: 'order-4711', messageId: 'm-1', requestedAt: '2024-06-01T09:59:59.000Z' };
    const api = JSON.parse(item.raw) as Record<string, unknown>;
    const row = executionRow(item, api);
    expect(row).toMatchObject({
      id: item.id,
      job_id: item.jobId,
      status: 'FAILED',
      created_at: new Date('2024-06-01T10:00:00.123Z'),
      duration_ms: BigInt(item.durationMs ?? -1),
      input: JSON.stringify(api.input),
      output: JSON.stringify(api.output),
      info: JSON.stringify(api.info),
      files_total: 2,
      files_copied: 1,
      files_pending: 0,
      files_failed: 1,
      source: 'sync',
      removed_from_api_at: new Date('2024-07-01T00:00:00.000Z'),
      launch_key: 'order-4711',
      launch_requested_at: new Date('2024-06-01T09:59:59.000Z'),
    });
    expect(Object.keys(row)).toEqual(EXECUTIONS_TABLE.columns.map((column) => column.name));
    const files = fileRows(item);
    expect(files.map((file) => file.path)).toEqual(['input.file', 'output.report']);
    expect(files[1]).toMatchObject({ size: 1234n, sha256: 'ab'.repeat(32), status: 'copied', attempts: 1 });
    expect(files[0]).toMatchObject({ size: null, last_error: 'answered HTTP 404', copied_at: null });
    for (const file of files)
      expect(Object.keys(file)).toEqual(FILES_TABLE.columns.map((column) => column.name));
  });

  it('keeps an open execution open: no duration, no end', () => {
    const row = executionRow(storedItem({ status: 'RUNNING' }), {});
    expect(row).toMatchObject({ status: 'RUNNING', duration_ms: null, ended_at: null, output: null });
    // Started elsewhere: no launch. A launch keyed by its SQS message id is named by it.
    expect(row.launch_key).toBeNull();
    const keyless = storedItem({ status: 'RUNNING' });
    keyless.launch = { idempotencyKey: null, messageId: 'm-2', requestedAt: '2024-06-01T00:00:00.000Z' };
    expect(executionRow(keyless, {}).launch_key).toBe('m-2');
  });

  it('lists the days of a range, across month and year ends', () => {
    expect(daysBetween('2023-12-30', '2024-01-02')).toEqual([
      '2023-12-30',
      '2023-12-31',
      '2024-01-01',
      '2024-01-02',
    ]);
    expect(daysBetween('2024-02-28', '2024-03-01')).toEqual(['2024-02-28', '2024-02-29', '2024-03-01']);
  });
});

describe('Parquet and DuckDB', () => {
  let directory: string;
  const items: ExecutionItem[] = [];
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'plsync-lake-unit-'));
    // Two jobs over two days: enough runs for percentiles, every status, ties in duration, one open run.
    const statuses = ['COMPLETED', 'COMPLETED', 'FAILED', 'USER_ERROR', 'TIMEDOUT', 'TERMINATED', 'RUNNING'];
    for (let index = 0; index < 41; index++) {
      const day = index < 20 ? '2024-06-01' : '2024-06-02';
      const createdAt = `${day}T${String(index % 24).padStart(2, '0')}:00:00.000Z`;
      const status = statuses[index % statuses.length] as string;
      const execution = aJobExecution({
        status,
        createdAt,
        jobId: index % 3 === 0 ? 'aaaaaaaaaaaaaaaaaaaaaaaa' : 'bbbbbbbbbbbbbbbbbbbbbbbb',
        ...(status === 'RUNNING'
          ? {}
          : { endedAt: new Date(Date.parse(createdAt) + ((index * 7919) % 50) * 1000).toISOString() }),
      });
      items.push({
        ...toExecutionFields(execution),
        files: [],
        firstSyncedAt: createdAt,
        syncedAt: createdAt,
        source: index % 5 === 0 ? 'launch' : 'sync',
      });
    }
    for (const day of ['2024-06-01', '2024-06-02']) {
      const rows = items
        .filter((item) => item.createdAt.startsWith(day))
        .map((item) => executionRow(item, JSON.parse(item.raw) as Record<string, unknown>));
      const path = join(directory, lakeObjectKey('executions', day));
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, toParquet(EXECUTIONS_TABLE, rows));
    }
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  const withLake = async <T>(use: (lake: DuckDbLake) => Promise<T>): Promise<T> => {
    const lake = await DuckDbLake.open(directory);
    try {
      return await use(lake);
    } finally {
      lake.close();
    }
  };

  it('reads the objects back with their types: timestamps, bigint, int, text; the day from the path', async () => {
    const result = await withLake((lake) =>
      lake.query(`SELECT * FROM executions WHERE status = 'RUNNING' ORDER BY id LIMIT 1`),
    );
    expect(Object.fromEntries(result.columns.map((column) => [column.name, column.type]))).toMatchObject({
      id: 'VARCHAR',
      created_at: 'TIMESTAMP',
      duration_ms: 'BIGINT',
      files_total: 'INTEGER',
      day: 'VARCHAR',
    });
    const running = items.find((item) => item.status === 'RUNNING') as ExecutionItem;
    expect(result.rows[0]).toMatchObject({
      created_at: running.createdAt,
      duration_ms: null,
      day: running.createdAt.slice(0, 10),
    });
  });

  it('gives, with the job-stats query, the figures `history stats` computes from the same executions', async () => {
    const sql = namedQuery('job-stats')?.sql ?? '';
    const result = await withLake((lake) => lake.query(sql));
    const stats = computeStats(items);
    expect(result.rows.map((row) => row.job_id)).toEqual(stats.jobs.map((job) => job.jobId));
    for (const job of stats.jobs) {
      const row = result.rows.find((candidate) => candidate.job_id === job.jobId);
      expect(row).toMatchObject({
        runs: job.runs,
        completed: job.byStatus.COMPLETED,
        failed: job.byStatus.FAILED,
        running: job.byStatus.RUNNING,
        ended: job.ended,
        p50_ms: job.durationMs.p50,
        p95_ms: job.durationMs.p95,
        max_ms: job.durationMs.max,
        last_run_at: job.lastRunAt,
        last_failure_at: job.lastFailureAt,
      });
      expect(row?.success_rate).toBeCloseTo(job.successRate ?? Number.NaN, 12);
    }
  });

  it('counts runs and failures per day with runs-per-day', async () => {
    const result = await withLake((lake) => lake.query(namedQuery('runs-per-day')?.sql ?? ''));
    const failures = (day: string) =>
      items.filter((item) => item.day === day && !['COMPLETED', 'RUNNING', 'PENDING'].includes(item.status))
        .length;
    expect(result.rows).toEqual(
      ['2024-06-01', '2024-06-02'].map((day) => ({
        day,
        runs: items.filter((item) => item.day === day).length,
        failures: failures(day),
      })),
    );
  });

  it('runs every named query on an empty lake (the views exist before the first object)', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'plsync-lake-empty-'));
    const lake = await DuckDbLake.open(empty);
    try {
      for (const query of NAMED_QUERIES) expect((await lake.query(query.sql)).rows, query.name).toEqual([]);
    } finally {
      lake.close();
      await rm(empty, { recursive: true, force: true });
    }
  });

  it.each([
    ['DROP VIEW executions', /read-only: only SELECT queries are run here \(got DROP\)/],
    ["COPY (SELECT 1) TO '/tmp/x.csv'", /read-only.*COPY/],
    // Even a statement that starts like a query is refused by what it reads: files outside the lake.
    ["FROM read_csv('/etc/passwd')", /Permission Error: Cannot access file/],
    ['CREATE TABLE t AS SELECT 1', /read-only.*CREATE/],
    ["ATTACH '/tmp/other.db'", /read-only.*ATTACH/],
    ['SET enable_external_access = true', /read-only.*SET/],
    ["SELECT * FROM read_csv('/etc/passwd')", /Permission Error/],
    ['SELECT 1; SELECT 2', /one statement at a time/],
    ['SELEC 1', /^Parser Error: syntax error at or near "SELEC"$/],
    ['SELECT nope FROM executions', /Binder Error: Referenced column "nope" not found/],
  ])('refuses %s with a one-line error', async (sql, message) => {
    const error = await withLake((lake) => lake.query(sql)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SqlQueryError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });
});

/** In-memory marks with the conditional clear of LakeMarks. */
class MemoryMarks {
  state: LakeMarksState = { marks: {} };
  private counter = 0;
  constructor(private readonly now: () => number) {}
  async read() {
    return structuredClone(this.state);
  }
  async mark(days: Iterable<string>) {
    for (const day of days) {
      this.counter += 1;
      this.state.marks[day] = `${this.now()}:${this.counter}`;
    }
  }
  async clear(day: string, token: MarkToken) {
    if (this.state.marks[day] !== token) return false;
    delete this.state.marks[day];
    return true;
  }
  async setInitialized(atIso: string) {
    this.state.initializedAt = atIso;
  }
}

function lakeWorld(items: ExecutionItem[], startMs = Date.parse('2024-06-10T00:00:00Z')) {
  let nowMs = startMs;
  const marks = new MemoryMarks(() => nowMs);
  const objects = new Map<string, Uint8Array>();
  const leases = new Set<string>();
  const deps: LakeDeps = {
    marks,
    source: {
      async *executionsOfDay(day) {
        for (const item of items) if (item.createdAt.startsWith(day)) yield item;
      },
      apiObject: async (item) => JSON.parse(item.raw) as Record<string, unknown>,
      createdAtRange: async () => {
        const dates = items.map((item) => item.createdAt).sort();
        return dates.length > 0 ? { first: dates[0] as string, last: dates.at(-1) as string } : undefined;
      },
    },
    objects: {
      put: async (key, body) => {
        objects.set(key, body);
      },
      delete: async (key) => {
        objects.delete(key);
      },
    },
    lease: {
      acquireLease: async (owner, _now, _duration, lease = 'lease') => {
        if (leases.has(lease)) return false;
        leases.add(lease);
        return owner.length > 0;
      },
      releaseLease: async (_owner, lease = 'lease') => {
        leases.delete(lease);
      },
    },
    now: () => nowMs,
    remainingTimeMs: () => 900_000,
    logger: silent,
  };
  return {
    deps,
    marks,
    objects,
    leases,
    advance: (ms: number) => {
      nowMs += ms;
    },
  };
}

const options = { runId: 'r', timeMarginMs: 30_000, leaseMs: 60_000, settleMs: 60_000 };
const rowsOf = (items: ExecutionItem[]): LakeRow[] => items.map((item) => executionRow(item, {}));

describe('runLake', () => {
  const items = [
    storedItem({ createdAt: '2024-06-01T08:00:00.000Z' }),
    storedItem({ createdAt: '2024-06-01T09:00:00.000Z' }),
    storedItem({ createdAt: '2024-06-03T09:00:00.000Z' }),
  ];

  it('first builds every stored day, writes one object per table and day, and clears settled marks', async () => {
    const world = lakeWorld(items);
    const first = await runLake(world.deps, options);
    expect(first).toMatchObject({
      firstBuild: true,
      daysMarked: 3,
      daysWritten: 3,
      executionRows: 3,
      fileRows: 0,
      complete: true,
      error: null,
    });
    // The marks were made in this run: not settled yet, kept for one more rewrite.
    expect(first.marksKept).toBe(3);
    expect([...world.objects.keys()].sort()).toEqual([
      lakeObjectKey('executions', '2024-06-01'),
      lakeObjectKey('executions', '2024-06-03'),
    ]);
    world.advance(61_000);
    const second = await runLake(world.deps, options);
    expect(second).toMatchObject({ firstBuild: false, daysWritten: 3, marksKept: 0, complete: true });
    expect(world.marks.state.marks).toEqual({});
    // Nothing marked: nothing written.
    const third = await runLake(world.deps, options);
    expect(third).toMatchObject({ daysMarked: 0, daysWritten: 0, complete: true });
    expect(rowsOf(items)).toHaveLength(3);
  });

  it('keeps the mark of a day marked again while it was being rewritten', async () => {
    const world = lakeWorld(items);
    await world.marks.setInitialized('2024-06-01T00:00:00.000Z');
    await world.marks.mark(['2024-06-01']);
    world.advance(120_000);
    const read = world.deps.source.executionsOfDay;
    world.deps.source.executionsOfDay = (day) => {
      // A writer marks the day (then writes) after the lake read the marks.
      void world.marks.mark([day]);
      return read(day);
    };
    const summary = await runLake(world.deps, options);
    expect(summary).toMatchObject({ daysWritten: 1, marksKept: 1 });
    expect(Object.keys(world.marks.state.marks)).toEqual(['2024-06-01']);
  });

  it('keeps the mark of a day whose rewrite failed, reports it, and rewrites it next time', async () => {
    const world = lakeWorld(items);
    await world.marks.setInitialized('2024-06-01T00:00:00.000Z');
    await world.marks.mark(['2024-06-01', '2024-06-03']);
    world.advance(120_000);
    const put = world.deps.objects.put;
    world.deps.objects.put = async (key, body) => {
      if (key.includes('2024-06-03')) throw new Error('SlowDown: injected');
      await put(key, body);
    };
    const failed = await runLake(world.deps, options);
    expect(failed).toMatchObject({
      daysWritten: 1,
      daysFailed: 1,
      daysLeft: 1,
      complete: false,
      error: null,
    });
    expect(Object.keys(world.marks.state.marks)).toEqual(['2024-06-03']);
    world.deps.objects.put = put;
    const retried = await runLake(world.deps, options);
    expect(retried).toMatchObject({ daysWritten: 1, daysFailed: 0, complete: true });
    expect(world.marks.state.marks).toEqual({});
  });

  it('stops starting days when the time runs out, newest days first, and goes on in the next run', async () => {
    const world = lakeWorld(items);
    let budget = 1;
    world.deps.remainingTimeMs = () => (budget-- > 0 ? 900_000 : 0);
    const cut = await runLake(world.deps, { ...options, concurrency: 1 });
    expect(cut).toMatchObject({ daysWritten: 1, complete: false });
    expect([...world.objects.keys()]).toEqual([lakeObjectKey('executions', '2024-06-03')]);
    world.deps.remainingTimeMs = () => 900_000;
    const rest = await runLake(world.deps, options);
    expect(rest.complete).toBe(true);
    expect(world.objects.size).toBe(2);
  });

  it('deletes the objects of a marked day that has no execution any more', async () => {
    const world = lakeWorld([]);
    await world.marks.setInitialized('2024-06-01T00:00:00.000Z');
    world.objects.set(lakeObjectKey('executions', '2024-06-05'), new Uint8Array([1]));
    world.objects.set(lakeObjectKey('files', '2024-06-05'), new Uint8Array([1]));
    await world.marks.mark(['2024-06-05']);
    await runLake(world.deps, options);
    expect(world.objects.size).toBe(0);
  });

  it('skips when another lake run holds the lease, and reports a lease it cannot take', async () => {
    const world = lakeWorld(items);
    world.leases.add('lake-lease');
    expect(await runLake(world.deps, options)).toMatchObject({ skipped: true, daysWritten: 0 });
    world.deps.lease.acquireLease = async () => {
      throw new Error('ProvisionedThroughputExceededException: slow down');
    };
    expect(await runLake(world.deps, options)).toMatchObject({
      skipped: false,
      error: 'Error: ProvisionedThroughputExceededException: slow down',
    });
  });
});
