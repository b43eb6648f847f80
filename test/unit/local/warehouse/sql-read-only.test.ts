// `history sql` is read-only by construction: DuckDbLake over a small generated lake accepts one SELECT (as
// DuckDB's own parser sees it) or a plain EXPLAIN of one, and refuses every other statement DuckDB knows, plain,
// under EXPLAIN and under EXPLAIN ANALYZE, before it is bound; after the whole list every file and directory of the
// lake (and of the directory beside it) is byte-identical. Then the limits: a runaway query stopped by its timeout
// or its abort signal, promptly; rows streamed in batches.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toExecutionFields } from '#core/executions/execution-record';
import type { ExecutionItem } from '#core/store/execution-repository';
import {
  EXECUTIONS_TABLE,
  executionRow,
  FILES_TABLE,
  fileRows,
  lakeObjectKey,
} from '#core/warehouse/lake-tables';
import { NAMED_QUERIES } from '#core/warehouse/named-queries';
import { toParquet } from '#core/warehouse/parquet';
import { DuckDbLake } from '#local/warehouse/duckdb-lake';
import { SqlInterruptedError, SqlQueryError, SqlTimeoutError } from '#local/warehouse/sql-result';
import { aJobExecution } from '../../../builders/job-execution.builder';

let root: string;
let lakeDir: string;
let lake: DuckDbLake;
const DAYS = ['2024-06-01', '2024-06-02'];
const EXECUTIONS = 12;

/** Every file (by SHA-256) and directory under `directory`. */
async function snapshot(directory: string): Promise<Record<string, string>> {
  const entries: Record<string, string> = {};
  const walk = async (path: string) => {
    for (const entry of await readdir(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      const key = relative(root, child);
      if (entry.isDirectory()) {
        entries[key] = 'directory';
        await walk(child);
      } else {
        entries[key] = `${(await stat(child)).size} ${createHash('sha256')
          .update(await readFile(child))
          .digest('hex')}`;
      }
    }
  };
  await walk(directory);
  return entries;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'plsync-sql-read-only-'));
  lakeDir = join(root, 'copy');
  await mkdir(join(root, 'beside'), { recursive: true });
  await writeFile(join(root, 'beside', 'note.txt'), 'outside the lake\n');
  const items: ExecutionItem[] = [];
  for (let index = 0; index < EXECUTIONS; index++) {
    const createdAt = `${DAYS[index % 2]}T${String(index).padStart(2, '0')}:00:00.000Z`;
    const execution = aJobExecution({ status: 'COMPLETED', createdAt, endedAt: createdAt });
    items.push({
      ...toExecutionFields(execution),
      files: [
        {
          path: 'output.report',
          sourceUrl: 'https://app.product-live.com/x/report.xml',
          fileName: 'report.xml',
          s3Key: `executions/j/${execution.id}/output.report/report.xml`,
          status: 'copied',
          attempts: 1,
          size: 100 + index,
          sha256: 'ab'.repeat(32),
          contentType: 'application/xml',
          copiedAt: createdAt,
        },
      ],
      firstSyncedAt: createdAt,
      syncedAt: createdAt,
      source: 'sync',
    });
  }
  for (const day of DAYS) {
    const ofDay = items.filter((item) => item.createdAt.startsWith(day));
    const executions = join(lakeDir, lakeObjectKey('executions', day));
    const files = join(lakeDir, lakeObjectKey('files', day));
    await mkdir(join(executions, '..'), { recursive: true });
    await mkdir(join(files, '..'), { recursive: true });
    await writeFile(
      executions,
      toParquet(
        EXECUTIONS_TABLE,
        ofDay.map((item) => executionRow(item, JSON.parse(item.raw) as Record<string, unknown>)),
      ),
    );
    await writeFile(files, toParquet(FILES_TABLE, ofDay.flatMap(fileRows)));
  }
  lake = await DuckDbLake.open(lakeDir);
}, 60_000);

afterAll(async () => {
  lake?.close();
  await rm(root, { recursive: true, force: true });
});

/** Statements DuckDB parses as a SELECT: run plain and under EXPLAIN, refused under EXPLAIN ANALYZE. */
const SELECTS = [
  'SELECT count(*) FROM executions',
  'WITH runs AS (SELECT * FROM executions) SELECT count(*) FROM runs',
  'FROM executions SELECT id LIMIT 1',
  '(SELECT 1) UNION ALL (SELECT 2)',
  'VALUES (1, 2)',
  'TABLE files',
  'DESCRIBE executions',
  'SHOW TABLES',
  'SUMMARIZE files',
  'UNPIVOT (SELECT 1 AS a, 2 AS b) ON a, b',
  "SELECT * FROM query('SELECT 1')",
  '-- a comment first\nSELECT 1',
  ...NAMED_QUERIES.map((query) => query.sql),
];

/** Every other statement DuckDB knows (paths aimed at the lake copy): refused plain, under EXPLAIN, EXPLAIN ANALYZE. */
const writes = (lake: string, beside: string) => [
  'INSERT INTO executions SELECT * FROM executions',
  'INSERT INTO executions SELECT * FROM executions RETURNING id',
  "UPDATE executions SET status = 'FAILED'",
  'DELETE FROM executions',
  'TRUNCATE executions',
  "MERGE INTO executions USING (SELECT 'x' AS id) s ON s.id = executions.id WHEN MATCHED THEN DELETE",
  'CREATE TABLE t AS SELECT 1',
  'CREATE TEMP TABLE t AS SELECT 1',
  'CREATE OR REPLACE VIEW executions AS SELECT 1 AS id',
  'CREATE VIEW v AS SELECT 1',
  'CREATE MACRO m(a) AS a',
  'CREATE FUNCTION f(a) AS a',
  'CREATE SEQUENCE s',
  'CREATE SCHEMA sc',
  'CREATE INDEX i ON executions(id)',
  "CREATE TYPE mood AS ENUM ('happy')",
  'CREATE SECRET (TYPE s3)',
  'DROP VIEW executions',
  'DROP SCHEMA main CASCADE',
  'ALTER VIEW executions RENAME TO runs',
  "COMMENT ON VIEW executions IS 'x'",
  `COPY (SELECT 1 AS id) TO '${lake}/lake/executions/day=2024-06-01/executions.parquet' (FORMAT parquet)`,
  `COPY executions TO '${lake}/lake/out.csv'`,
  `COPY executions TO '${beside}/out.csv'`,
  `COPY executions FROM '${lake}/lake/executions/day=2024-06-01/executions.parquet'`,
  `EXPORT DATABASE '${lake}/lake/exported'`,
  `EXPORT DATABASE '${beside}/exported'`,
  `IMPORT DATABASE '${lake}/lake'`,
  `ATTACH '${lake}/lake/other.duckdb' AS other`,
  "ATTACH ':memory:' AS other",
  'DETACH other',
  'COPY FROM DATABASE memory TO other',
  'USE memory',
  'INSTALL httpfs',
  'LOAD httpfs',
  'UPDATE EXTENSIONS',
  'SET enable_external_access = true',
  'SET lock_configuration = false',
  'SET GLOBAL threads = 1',
  'RESET threads',
  'SET VARIABLE v = 1',
  'RESET VARIABLE v',
  'PRAGMA enable_profiling',
  'PRAGMA threads = 1',
  'PRAGMA show_tables',
  'PRAGMA version',
  "PRAGMA table_info('executions')",
  'CALL pragma_version()',
  'CALL checkpoint()',
  'CHECKPOINT',
  'FORCE CHECKPOINT',
  'VACUUM',
  'ANALYZE',
  'BEGIN TRANSACTION',
  'COMMIT',
  'ROLLBACK',
  'ABORT',
  'PREPARE q AS SELECT 1',
  'EXECUTE q',
  'DEALLOCATE q',
  'PIVOT executions ON status',
  'SELECT 1; DROP VIEW executions',
  "SELECT * FROM query('DROP VIEW executions')",
  `SELECT * FROM query('COPY executions TO ''${lake}/lake/q.csv''')`,
];

describe('history sql is read-only by construction', () => {
  it('runs each SELECT plainly and under EXPLAIN, and refuses it under EXPLAIN ANALYZE', async () => {
    for (const sql of SELECTS) {
      await expect(lake.query(sql), sql).resolves.toMatchObject({ columns: expect.any(Array) });
      const plan = await lake.query(`EXPLAIN ${sql}`);
      expect(
        plan.columns.map((column) => column.name),
        sql,
      ).toEqual(['explain_key', 'explain_value']);
      expect(plan.rows[0]?.explain_key, sql).toBe('physical_plan');
      const analyzed = await lake.query(`EXPLAIN ANALYZE ${sql}`).catch((error: unknown) => error);
      expect(analyzed, sql).toBeInstanceOf(SqlQueryError);
      expect((analyzed as Error).message).toMatch(
        /^read-only: EXPLAIN ANALYZE runs the statement it explains/,
      );
    }
  });

  it('refuses every other statement, plain, under EXPLAIN and EXPLAIN ANALYZE; the lake stays byte-identical', async () => {
    const before = await snapshot(root);
    expect(Object.keys(before).filter((key) => key.endsWith('.parquet'))).toHaveLength(4);
    const accepted: string[] = [];
    const forms = writes(lakeDir, join(root, 'beside')).flatMap((sql) => [
      sql,
      `EXPLAIN ${sql}`,
      `EXPLAIN ANALYZE ${sql}`,
      `EXPLAIN ANALYSE ${sql}`,
      `EXPLAIN (ANALYZE) ${sql}`,
      `/* first */ explain analyze ${sql}`,
    ]);
    for (const sql of forms) {
      const outcome = await lake.query(sql).then(
        () => undefined,
        (error: unknown) => error,
      );
      if (!(outcome instanceof SqlQueryError)) {
        accepted.push(sql);
        continue;
      }
      expect(outcome.message, sql).not.toContain('\n');
      // Refused by the read-only rule, or by DuckDB's parser before anything else (never by a binder or a run).
      expect(outcome.message, sql).toMatch(/^(read-only: |Parser Error: |one statement at a time)/);
    }
    expect(accepted).toEqual([]);
    expect(await snapshot(root)).toEqual(before);
    // The views are the lake's, unchanged: every execution counted.
    expect((await lake.query('SELECT count(*) AS runs FROM executions')).rows).toEqual([
      { runs: EXECUTIONS },
    ]);
  });

  it.each([
    ['DROP VIEW executions', 'read-only: only SELECT queries are run here (got DROP)'],
    [
      "EXPLAIN ANALYZE COPY (SELECT 1) TO 'x.parquet'",
      'read-only: EXPLAIN ANALYZE runs the statement it explains, so it is not run here; plain EXPLAIN shows the plan',
    ],
    [
      'EXPLAIN CREATE TABLE t AS SELECT 1',
      'read-only: only SELECT queries are run here (got EXPLAIN CREATE)',
    ],
    ['PRAGMA show_tables', 'read-only: only SELECT queries are run here (got PRAGMA)'],
    [
      'EXPLAIN (FORMAT json) SELECT 1',
      'read-only: EXPLAIN options are not run here; plain EXPLAIN shows the plan',
    ],
    ['SELECT 1; SELECT 2', 'one statement at a time, please'],
    ['SELEC 1', 'Parser Error: syntax error at or near "SELEC"'],
  ])('refuses %j with a readable one-line message', async (sql, message) => {
    await expect(lake.query(sql)).rejects.toThrow(new SqlQueryError(message));
  });

  it("keeps DuckDB's file access to the lake: a read elsewhere is a permission error", async () => {
    await expect(lake.query("SELECT * FROM read_csv('/etc/passwd')")).rejects.toThrow(
      /^Permission Error: Cannot access file "\/etc\/passwd"/,
    );
  });
});

describe('history sql limits', () => {
  const RUNAWAY = 'SELECT count(*) FROM range(100000000000000)';

  it('stops a runaway query when its time limit is spent (DuckDB interrupt), well within 10 s', async () => {
    const started = Date.now();
    const error = await lake.query(RUNAWAY, { timeoutMs: 300 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SqlTimeoutError);
    expect((error as SqlTimeoutError).timeoutMs).toBe(300);
    expect(Date.now() - started).toBeLessThan(10_000);
    // The connection is usable afterwards.
    expect((await lake.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('stops a runaway query when its signal aborts (Ctrl-C), well within 10 s', async () => {
    const interrupt = new AbortController();
    setTimeout(() => interrupt.abort(), 300);
    const started = Date.now();
    const error = await lake.query(RUNAWAY, { signal: interrupt.signal }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SqlInterruptedError);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('streams rows in batches of a DuckDB chunk, with the values of a whole read', async () => {
    const rows = await lake.stream(
      "SELECT range AS n, DATE '2024-06-01' + CAST(range % 3 AS INTEGER) AS day, TIMESTAMP '2024-06-01 10:00:00' AS at FROM range(5000)",
    );
    const sizes: number[] = [];
    let last: unknown;
    for await (const batch of rows.batches) {
      sizes.push(batch.length);
      last = batch.at(-1);
    }
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(5000);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2048);
    expect(last).toEqual({ n: 4999, day: '2024-06-02', at: '2024-06-01T10:00:00.000Z' });
  });

  it('runs queries started together one after another, each read whole (the dashboard serves requests at once)', async () => {
    const sql = (n: number) => `SELECT range AS n FROM range(${n})`;
    const results = await Promise.all([10_000, 5_000, 7_000, 1].map((n) => lake.query(sql(n))));
    expect(results.map((result) => result.rows.length)).toEqual([10_000, 5_000, 7_000, 1]);
    expect(results[0]?.rows.at(-1)).toEqual({ n: 9_999 });
  });

  it('stops reading when the reader leaves early: the rest of a huge result is never computed', async () => {
    const rows = await lake.stream('SELECT * FROM range(100000000000000)');
    let read = 0;
    for await (const batch of rows.batches) {
      read += batch.length;
      if (read >= 4096) break;
    }
    expect(read).toBe(4096);
    expect((await lake.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
  });
});
