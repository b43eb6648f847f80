// `npm run history -- sql` as users run it: a subprocess over the lake of a synced emulator account (its bucket in
// the suite's s3rver, copied locally and read by DuckDB). Every named query gives the figures of the history
// command that answers the same question from DynamoDB; output formats; bad SQL and bad flags exit 2; statements
// that would write are refused and the lake copy stays byte-identical; a tampered copy is fetched again; a
// runaway query is stopped by --timeout or Ctrl-C; --max-rows says when it cut.
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NAMED_QUERIES } from '#core/warehouse/named-queries';
import { ManualClock } from '#local/emulator/index';
import type { HistoryStats } from '#local/history/execution-stats';
import { isFailureStatus } from '#local/history/execution-stats';
import type { CopyNotDone, ExecutionList } from '#local/history/history-queries';
import type { Timeline } from '#local/history/timeline';
import { removeLakeCopies } from '#local/warehouse/lake-cache';
import { type CliResult, runHistoryCli, startHistoryCli } from '../support/history-cli';
import { createSyncHarness, type SyncHarness } from '../support/sync-harness';

let harness: SyncHarness;
let baseEnv: Record<string, string | undefined>;
let cacheDir: string;

function history(args: string[]): Promise<CliResult> {
  return runHistoryCli(args, baseEnv);
}

/** `history sql` over the harness's lake bucket, caching the copy in this test's directory. */
async function sql(args: string[]): Promise<CliResult> {
  return history(['sql', ...args, '--bucket', harness.store.lakeBucket, '--data-dir', cacheDir]);
}

async function sqlJson<T = Record<string, unknown>>(args: string[]): Promise<T[]> {
  const result = await sql([...args, '--json']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as T[];
}

async function historyJson<T>(args: string[]): Promise<T> {
  const result = await history([...args, '--json', '--table', harness.store.executionsTable]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
}

beforeAll(async () => {
  // Demo history of the last 14 days in real time, so that "the last 7 days" means the same to DuckDB and to
  // the history CLI; a job whose output points at a file that is gone, and one with a flaky file.
  harness = await createSyncHarness({
    emulator: { clock: new ManualClock(Date.now()), demo: { seed: 91, executions: 160, days: 14 } },
  });
  const h = harness;
  const job = h.emulator.addJob({ title: '=SUM(1) Export price', kind: 'no-files' });
  const execution = h.emulator.createExecution(job.id, {}, { runTimeMs: 1_000, outcome: 'COMPLETED' });
  h.emulator.setExecutionOutput(execution.id, {
    gone: {
      url: `${h.emulator.url}/data-factory/2629/download/${'3'.repeat(64)}/gone.csv`,
      filename: 'gone.csv',
    },
  });
  h.clock.advance(5_000);
  expect((await h.sync({ config: { pageSize: 1000 } })).error).toBeNull();
  expect(await h.lake()).toMatchObject({ complete: true });
  const {
    EXECUTIONS_TABLE_NAME: _t,
    FILES_BUCKET_NAME: _f,
    LAKE_BUCKET_NAME: _l,
    AWS_PROFILE: _p,
    ...rest
  } = process.env;
  baseEnv = { ...rest, ...harness.clients.env };
  cacheDir = await mkdtemp(join(tmpdir(), 'history-sql-'));
}, 120_000);

afterAll(async () => {
  await harness?.close();
  if (cacheDir) await removeLakeCopies(cacheDir);
});

describe("named queries give the history commands' figures", () => {
  it('job-stats equals `history stats --since all`', async () => {
    const rows = await sqlJson(['--query', 'job-stats']);
    const stats = await historyJson<HistoryStats>(['stats', '--since', 'all']);
    expect(rows.map((row) => row.job_id)).toEqual(stats.jobs.map((job) => job.jobId));
    for (const job of stats.jobs) {
      const row = rows.find((candidate) => candidate.job_id === job.jobId);
      expect(row, job.jobId ?? '').toMatchObject({
        title: job.title,
        runs: job.runs,
        pending: job.byStatus.PENDING,
        running: job.byStatus.RUNNING,
        completed: job.byStatus.COMPLETED,
        user_error: job.byStatus.USER_ERROR,
        failed: job.byStatus.FAILED,
        terminated: job.byStatus.TERMINATED,
        timedout: job.byStatus.TIMEDOUT,
        ended: job.ended,
        p50_ms: job.durationMs.p50,
        p95_ms: job.durationMs.p95,
        max_ms: job.durationMs.max,
        last_run_at: job.lastRunAt,
        last_failure_at: job.lastFailureAt,
      });
      if (job.successRate === null) expect(row?.success_rate).toBeNull();
      else expect(row?.success_rate).toBeCloseTo(job.successRate, 12);
    }
  });

  it('runs-per-day equals the days of `history timeline --since all` that had runs', async () => {
    const rows = await sqlJson(['--query', 'runs-per-day']);
    const timeline = await historyJson<Timeline>(['timeline', '--since', 'all']);
    expect(rows).toEqual(
      timeline.buckets
        .filter((bucket) => bucket.runs > 0)
        .map((bucket) => ({ day: bucket.start.slice(0, 10), runs: bucket.runs, failures: bucket.failures })),
    );
    expect(rows.length).toBeGreaterThan(10);
  });

  it('failures-7d equals the failed runs of `history list --since 7d`', async () => {
    const rows = await sqlJson(['--query', 'failures-7d']);
    const list = await historyJson<ExecutionList>(['list', '--since', '7d', '--limit', '0']);
    const failures = list.executions.filter((execution) => isFailureStatus(execution.status));
    expect(rows.map((row) => row.id)).toEqual(failures.map((execution) => execution.id));
    expect(rows.length).toBeGreaterThan(0);
  });

  it('copies-not-done equals `history files`', async () => {
    const rows = await sqlJson(['--query', 'copies-not-done']);
    const { copies } = await historyJson<{ copies: CopyNotDone[] }>(['files']);
    expect(rows.map((row) => [row.execution_id, row.path, row.status, row.attempts, row.last_error])).toEqual(
      copies.map((copy) => [copy.executionId, copy.path, copy.status, copy.attempts, copy.lastError]),
    );
    expect(rows.length).toBeGreaterThan(0);
  });
});

describe('history sql output', () => {
  it('--json prints an array of row objects, with ISO instants and numbers', async () => {
    const rows = await sqlJson([
      'SELECT status, count(*) AS runs, min(created_at) AS first FROM executions GROUP BY status ORDER BY status',
    ]);
    expect(rows.length).toBeGreaterThan(3);
    for (const row of rows) {
      expect(typeof row.runs).toBe('number');
      expect(row.first).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
    const total = rows.reduce((sum, row) => sum + (row.runs as number), 0);
    expect(total).toBe((await harness.storedItems()).length);
  });

  it('--csv prints a header and one line per row, spreadsheet formulas escaped', async () => {
    const result = await sql([
      "SELECT title, count(*) AS runs FROM executions WHERE title LIKE '%Export price' GROUP BY title",
      '--csv',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe("title,runs\n'=SUM(1) Export price,1\n");
  });

  it('prints a table with a row count by default', async () => {
    const result = await sql(['SELECT day, count(*) AS runs FROM files GROUP BY day ORDER BY day LIMIT 2']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^day\s+runs\n/);
    expect(result.stdout.trim()).toMatch(/\n\n(1|2) rows?$/);
  });

  it('--queries lists every named query with its SQL', async () => {
    const result = await history(['sql', '--queries']);
    expect(result.code).toBe(0);
    for (const query of NAMED_QUERIES) expect(result.stdout).toContain(`${query.name}: ${query.description}`);
  });
});

describe('history sql refuses', () => {
  it.each([
    [['SELEC 1'], 'error: Parser Error: syntax error at or near "SELEC"'],
    [['DROP VIEW executions'], 'error: read-only: only SELECT queries are run here (got DROP)'],
    [['INSERT INTO executions SELECT * FROM executions'], 'error: read-only'],
    [['SELECT missing FROM executions'], 'error: Binder Error: Referenced column "missing" not found'],
  ])('%j: exit 2, one line', async (args, message) => {
    const result = await sql(args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(message);
  });

  it.each([
    [
      ['sql', '--query', 'nope'],
      'unknown query "nope" (expected job-stats, failures-7d, runs-per-day, copies-not-done)',
    ],
    [['sql'], 'give one of: the SQL in quotes, --query NAME, or --queries'],
    [['sql', 'SELECT 1', '--query', 'job-stats'], 'give one of'],
    [['sql', 'SELECT 1', '--engine', 'athena'], '--engine athena needs --workgroup NAME'],
    [['sql', 'SELECT 1', '--engine', 'spark'], '--engine must be duckdb or athena'],
    [['sql', 'SELECT 1', '--table', 'x'], 'sql does not take --table'],
  ])('%j: exit 2 with the usage', async (args, message) => {
    const result = await history(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain('Usage: npm run history -- sql');
  });

  it('names the missing local lake and what to do', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'history-sql-empty-'));
    try {
      const result = await history(['sql', 'SELECT 1', '--data-dir', empty]);
      expect(result.code).toBe(2);
      expect(result.stderr.trim()).toBe(
        `error: no local lake in ${empty}: run \`npm start -- --once\` first to sync into it, or pass --bucket NAME to read a deployed lake`,
      );
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

/** The local copy of the harness's lake: every file by SHA-256, every directory. */
async function copySnapshot(): Promise<Record<string, string>> {
  const copy = join(cacheDir, 'lake-cache', harness.store.lakeBucket);
  const entries: Record<string, string> = {};
  const walk = async (directory: string) => {
    for (const entry of await readdir(directory, { withFileTypes: true })) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) {
        entries[relative(copy, path)] = 'directory';
        await walk(path);
      } else if (entry.name !== 'manifest.json') {
        entries[relative(copy, path)] = createHash('sha256')
          .update(await readFile(path))
          .digest('hex');
      }
    }
  };
  await walk(join(copy, 'lake'));
  return entries;
}

const TOTAL_SQL = 'SELECT count(*) AS runs FROM executions';

describe('history sql cannot write', () => {
  it('refuses EXPLAIN ANALYZE of a COPY over the lake copy, of a CREATE TABLE and of a DROP VIEW: exit 2, nothing changed', async () => {
    const before = await sqlJson([TOTAL_SQL]);
    const snapshot = await copySnapshot();
    const day = Object.keys(snapshot).find(
      (key) => key.startsWith('lake/executions/day=') && key.endsWith('.parquet'),
    );
    expect(day).toBeDefined();
    const target = join(cacheDir, 'lake-cache', harness.store.lakeBucket, day ?? '');
    for (const statement of [
      `EXPLAIN ANALYZE COPY (SELECT * FROM executions WHERE false) TO '${target}' (FORMAT parquet)`,
      'EXPLAIN ANALYZE CREATE TABLE stolen AS SELECT * FROM executions',
      'EXPLAIN ANALYZE DROP VIEW executions',
      `COPY (SELECT * FROM executions WHERE false) TO '${target}' (FORMAT parquet)`,
      `EXPLAIN COPY (SELECT 1) TO '${target}'`,
    ]) {
      const result = await sql([statement]);
      expect(result.code, statement).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim().split('\n'), statement).toHaveLength(1);
      expect(result.stderr, statement).toMatch(/^error: read-only: /);
    }
    expect(await copySnapshot()).toEqual(snapshot);
    expect(await sqlJson([TOTAL_SQL])).toEqual(before);
  });

  it('fetches again a lake copy file changed, truncated or removed on disk, says so, and answers the true figures', async () => {
    const [truth] = await sqlJson<{ runs: number }>([TOTAL_SQL]);
    expect(truth?.runs).toBe((await harness.storedItems()).length);
    const copy = join(cacheDir, 'lake-cache', harness.store.lakeBucket);
    const files = Object.keys(await copySnapshot()).filter((key) => key.startsWith('lake/executions/'));
    const parquet = files.filter((key) => key.endsWith('.parquet'));
    expect(parquet.length).toBeGreaterThanOrEqual(3);
    const [overwritten, cut, removed] = parquet as [string, string, string];
    // As a user (or a page's script running as that user) could: the modes changed first.
    for (const key of [overwritten, cut, removed]) {
      const path = join(copy, key);
      await chmod(join(path, '..'), 0o755);
      await chmod(path, 0o644);
    }
    const other = await readFile(join(copy, cut));
    await writeFile(join(copy, overwritten), other); // a valid Parquet file of another day
    await truncate(join(copy, cut), 100);
    await rm(join(copy, removed));

    const result = await sql([TOTAL_SQL, '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([truth]);
    for (const key of [overwritten, cut, removed]) expect(result.stderr).toContain(`Lake copy: ${key} `);
    expect(result.stderr).toContain('fetched again');
  });
});

describe('history sql limits', () => {
  const RUNAWAY = 'SELECT count(*) FROM range(100000000000000)';

  /** Starts the runaway query; resolves once the lake copy is refreshed (its manifest written again): the query follows. */
  async function startRunaway(extra: string[]) {
    const manifest = join(cacheDir, 'lake-cache', harness.store.lakeBucket, 'manifest.json');
    const written = async () => (await stat(manifest)).mtimeMs;
    expect((await sql(['SELECT 1'])).code).toBe(0);
    const before = await written();
    const started = startHistoryCli(
      ['sql', RUNAWAY, ...extra, '--bucket', harness.store.lakeBucket, '--data-dir', cacheDir],
      baseEnv,
    );
    while ((await written()) === before) {
      expect(started.child.exitCode).toBeNull();
      await new Promise((done) => setTimeout(done, 50));
    }
    return started;
  }

  it('stops a runaway query at --timeout with one line naming the flag: exit 1, well within 10 s of the limit', async () => {
    const { result } = await startRunaway(['--timeout', '1s']);
    const refreshed = Date.now();
    const outcome = await result;
    expect(Date.now() - refreshed).toBeLessThan(1_000 + 10_000);
    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toBe('');
    expect(outcome.stderr.trim()).toBe(
      "error: the query ran longer than --timeout 1s and was stopped: narrow it (WHERE day >= '…', LIMIT) or pass --timeout 0 for no limit",
    );
  }, 60_000);

  it('stops a runaway query on Ctrl-C (SIGINT): exit 130, no stack trace, well within 10 s', async () => {
    // The CLI sets its Ctrl-C handler before the refresh; a second more and the query runs.
    const { child, result } = await startRunaway(['--timeout', '0']);
    await new Promise((done) => setTimeout(done, 1_000));
    expect(child.exitCode).toBeNull();
    const signalled = Date.now();
    child.kill('SIGINT');
    const outcome = await result;
    expect(Date.now() - signalled).toBeLessThan(10_000);
    expect(outcome.code).toBe(130);
    expect(outcome.stdout).toBe('');
    expect(outcome.stderr.trim()).toBe('interrupted: the query was stopped');
  }, 60_000);

  it('--max-rows cuts the output and says so on stderr, in one line', async () => {
    const result = await sql(['SELECT range AS n FROM range(20)', '--csv', '--max-rows', '5']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('n\n0\n1\n2\n3\n4\n');
    expect(result.stderr).toBe('stopped after 5 rows (--max-rows); pass --max-rows 0 for all\n');
  });

  it('cuts the table at 10,000 rows by default, not CSV or JSON into a pipe', async () => {
    const table = await sql(['SELECT range AS n FROM range(10001)']);
    expect(table.code).toBe(0);
    expect(table.stdout.trim().split('\n').at(-1)).toBe('10000 rows');
    expect(table.stderr).toBe('stopped after 10,000 rows (--max-rows); pass --max-rows 0 for all\n');
    const csv = await sql(['SELECT range AS n FROM range(10001)', '--csv']);
    expect(csv.stdout.trim().split('\n')).toHaveLength(10_002);
    expect(csv.stderr).toBe('');
    const json = await sql(['SELECT range AS n FROM range(10001)', '--json']);
    expect(JSON.parse(json.stdout)).toHaveLength(10_001);
  });

  it('refuses an invalid --bucket before anything touches the disk', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'history-sql-bucket-'));
    try {
      const result = await history(['sql', 'SELECT 1', '--bucket', '../../etc', '--data-dir', empty]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('error: --bucket: "../../etc" is not a valid S3 bucket name');
      expect(result.stderr).toContain('Usage: npm run history -- sql');
      expect(await readdir(empty)).toEqual([]);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
