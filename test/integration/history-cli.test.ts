// `npm run history` as users run it: a subprocess (tsx local/cli/history.ts) against the suite's DynamoDB
// Local and s3rver, after a sync of the emulator's demo data. Output formats, exit codes, bad flags, and
// the three places the data can live: a table (--table), the running local stack, a local data directory.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#core/aws-clients';
import { toExecutionFields } from '#core/executions/execution-record';
import { HistoryReader } from '#core/history/history-reader';
import type { JobExecution } from '#core/product-live/product-live.schema';
import { ensureTable } from '#core/store/create-tables';
import { type ExecutionItem, ExecutionRepository } from '#core/store/execution-repository';
import { EXECUTIONS_TABLE } from '#core/store/table-definitions';
import { startLocalAwsServers } from '#local/aws/local-aws-servers';
import { queryStats } from '#local/history/history-queries';
import { LOCAL_TABLE_NAMES, type LocalStackState } from '#local/stack/local-stack-settings';
import { aJobExecution } from '../builders/job-execution.builder';
import { type CliResult, runHistoryCli } from '../support/history-cli';
import { createTestStore, localAwsClients, storeOffloadedExecution } from '../support/local-aws';
import { createSyncHarness, type SyncHarness } from '../support/sync-harness';

let harness: SyncHarness;
let truth: JobExecution[];
let stored: ExecutionItem[];
let baseEnv: Record<string, string | undefined>;
const temporary: string[] = [];

/** Runs the CLI to its end with the suite's AWS settings (and no table from the caller's environment). */
function history(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return runHistoryCli(args, { ...baseEnv, ...env });
}

const onTable = () => ['--table', harness.store.executionsTable];

async function tempDir(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'history-cli-'));
  temporary.push(directory);
  return directory;
}

/** RFC 4180 rows: quoted fields may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (quoted) {
      if (char === '"' && text[index + 1] === '"') {
        field += '"';
        index++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(field);
      field = '';
    } else if (char === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += char;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

function records(csv: string): Array<Record<string, string>> {
  const [header = [], ...rows] = parseCsv(csv);
  return rows.map((row) => Object.fromEntries(header.map((name, index) => [name, row[index] ?? ''])));
}

beforeAll(async () => {
  harness = await createSyncHarness({
    emulator: { demo: { seed: 5, executions: 150 }, unknownFields: true },
  });
  const summary = await harness.sync({ config: { pageSize: 1000 } });
  expect(summary.error).toBeNull();
  truth = harness.emulator.executions();
  stored = await harness.storedItems();
  const {
    EXECUTIONS_TABLE_NAME: _table,
    FILES_BUCKET_NAME: _bucket,
    AWS_PROFILE: _profile,
    ...rest
  } = process.env;
  baseEnv = { ...rest, ...harness.clients.env };
});

afterAll(async () => {
  await harness?.close();
  await Promise.all(temporary.map((directory) => rm(directory, { recursive: true, force: true })));
});

describe('history CLI output', () => {
  it('stats --json prints exactly the DESIGN shape, the same figures as the query module', async () => {
    const result = await history(['stats', '--since', 'all', '--json', ...onTable()]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout);
    expect(Object.keys(printed).sort()).toEqual(['jobs', 'period', 'total']);
    for (const row of [...printed.jobs, printed.total]) {
      expect(Object.keys(row)).toEqual(
        expect.arrayContaining([
          'jobId',
          'title',
          'runs',
          'byStatus',
          'successRate',
          'durationMs',
          'lastRunAt',
        ]),
      );
      expect(Object.keys(row.durationMs).sort()).toEqual(['max', 'p50', 'p95']);
    }
    expect(printed.total.runs).toBe(truth.length);
    const reader = new HistoryReader(harness.clients.doc, harness.store.executionsTable);
    expect(printed).toEqual(await queryStats(reader, { period: {} }));
  });

  it('stats prints an aligned table with a total row', async () => {
    const result = await history(['stats', '--since', 'all', ...onTable()]);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    const headerIndex = lines.findIndex((line) => line.startsWith('JOB ID'));
    const header = lines[headerIndex] ?? '';
    expect(header).toMatch(/JOB ID +TITLE +RUNS .*SUCCESS +P50 +P95 +MAX +LAST RUN +LAST FAILURE/);
    const runsEnd = header.indexOf('RUNS') + 'RUNS'.length;
    const rows = lines
      .slice(headerIndex + 1)
      .filter((line) => /^[0-9a-f]{24} /.test(line) || line.includes('All jobs'));
    expect(rows).toHaveLength(new Set(truth.map((execution) => execution.jobId)).size + 1);
    // RUNS is right-aligned: every number ends under the end of its header.
    for (const row of rows) expect(row.slice(0, runsEnd)).toMatch(/\d$/);
    const total = rows.at(-1) ?? '';
    expect(total.slice(0, runsEnd).trim().split(/\s+/).at(-1)).toBe(String(truth.length));
    expect(lines[headerIndex + rows.length]).toMatch(/^─+ +─+/);
  });

  it('stats --csv prints one line per job and the total', async () => {
    const result = await history(['stats', '--since', 'all', '--csv', ...onTable()]);
    const rows = records(result.stdout);
    expect(rows.at(-1)).toMatchObject({ jobId: '', title: 'All jobs', runs: String(truth.length) });
    expect(rows).toHaveLength(new Set(truth.map((execution) => execution.jobId)).size + 1);
  });

  it('list prints the newest executions, says when the limit cut the list, and speaks JSON and CSV', async () => {
    const newest = [...truth].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
    const table = await history(['list', '--limit', '5', ...onTable()]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^CREATED \(UTC\) +ID +JOB +STATUS +DURATION +FILES$/);
    expect(lines.slice(1, 6).map((line) => line.split(/\s{2,}/)[1])).toEqual(
      newest.slice(0, 5).map((e) => e.id),
    );
    expect(lines.at(-1)).toContain('--limit 0 shows all');

    const json = JSON.parse((await history(['list', '--limit', '5', '--json', ...onTable()])).stdout);
    expect(json.more).toBe(true);
    expect(json.executions.map((execution: { id: string }) => execution.id)).toEqual(
      newest.slice(0, 5).map((execution) => execution.id),
    );

    const failed = truth.filter((execution) => execution.status === 'FAILED');
    const csv = records(
      (await history(['list', '--status', 'failed', '--limit', '0', '--csv', ...onTable()])).stdout,
    );
    expect(new Set(csv.map((row) => row.id))).toEqual(new Set(failed.map((execution) => execution.id)));
    expect(csv.every((row) => row.status === 'FAILED')).toBe(true);
  });

  it('show prints one execution with its files, and --json the API object with the file copies', async () => {
    const item = stored.find((candidate) => candidate.files.length > 1) as ExecutionItem;
    const text = await history(['show', item.id, ...onTable()]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`Execution ${item.id}`);
    expect(text.stdout).toContain(`Files (${item.files.length})`);
    for (const file of item.files) {
      expect(text.stdout).toContain(file.s3Key);
      expect(text.stdout).toContain(file.sha256 ?? 'no hash');
    }
    const json = JSON.parse((await history(['show', item.id, '--json', ...onTable()])).stdout);
    const { files, launch, ...api } = json;
    // A synced execution: no launch request started it.
    expect(launch).toBeNull();
    expect(api).toEqual(harness.emulator.execution(item.id));
    expect(files).toEqual(item.files.map(({ sourceUrl: _url, ...copy }) => copy));
  });

  it('export --format ndjson --out FILE writes one parsable execution a line', async () => {
    const out = join(await tempDir(), 'executions.ndjson');
    const result = await history(['export', '--out', out, ...onTable()]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`Exported ${truth.length} executions \\(\\d+ files\\) to `));
    const lines = (await readFile(out, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(truth.length);
    const byId = new Map(stored.map((item) => [item.id, item]));
    for (const line of lines) {
      const record = JSON.parse(line);
      const item = byId.get(record.id) as ExecutionItem;
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
    }
  });

  it('export --format csv flattens each execution with its files’ S3 keys, sizes and SHA-256', async () => {
    const result = await history(['export', '--format', 'csv', ...onTable()]);
    expect(result.code).toBe(0);
    const rows = records(result.stdout);
    expect(rows).toHaveLength(truth.length);
    const byId = new Map(stored.map((item) => [item.id, item]));
    for (const row of rows) {
      const item = byId.get(row.id ?? '') as ExecutionItem;
      const api = JSON.parse(item.raw) as JobExecution;
      expect(row).toMatchObject({
        jobId: item.jobId,
        status: item.status,
        createdAt: api.createdAt,
        fileCount: String(item.files.length),
        fileS3Keys: item.files.map((file) => file.s3Key).join('\n'),
        fileSizes: item.files.map((file) => file.size).join('\n'),
        fileSha256s: item.files.map((file) => file.sha256).join('\n'),
        output: api.output === undefined ? '' : JSON.stringify(api.output),
      });
    }
  });

  it('timeline draws a bar per day and prints the same counts as JSON', async () => {
    const args = ['--since', '2024-05-20', '--until', '2024-06-02', ...onTable()];
    const chart = await history(['timeline', ...args]);
    expect(chart.code).toBe(0);
    expect(chart.stdout).toMatch(/^2024-05-20 +\d+ +\d+ +[█▒]*$/m);
    expect(chart.stdout).toMatch(/^TOTAL +\d+ +\d+$/m);
    const json = JSON.parse((await history(['timeline', '--json', ...args])).stdout);
    expect(json.buckets).toHaveLength(13);
    const expected = truth.filter(
      (execution) =>
        execution.createdAt >= '2024-05-20' && Date.parse(execution.createdAt) < Date.parse('2024-06-02'),
    );
    expect(json.total.runs).toBe(expected.length);
  });
});

describe('history CLI errors', () => {
  it('exits 2 with the problem and the usage for a bad command line', async () => {
    const cases: Array<[string[], RegExp, string]> = [
      [['stats', '--bogus'], /^error: unknown flag --bogus\n/, 'Usage: npm run history -- stats '],
      [[], /a command is required/, 'Usage: npm run history -- <command> [options]'],
      [['summary'], /unknown command "summary"/, 'Usage: npm run history -- <command> [options]'],
      [['list', '--limit', 'many'], /--limit must be a whole number/, 'Usage: npm run history -- list '],
      [
        ['stats', '--since', 'last tuesday'],
        /--since must be an ISO date/,
        'Usage: npm run history -- stats ',
      ],
      [['show'], /exactly one execution id/, 'Usage: npm run history -- show ID'],
    ];
    const results = await Promise.all(cases.map(([args]) => history(args)));
    for (const [index, result] of results.entries()) {
      const [, message, usage] = cases[index] ?? [[], /./, ''];
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toContain(usage);
    }
  });

  it('prints the usage on --help and exits 0; after a command, the usage of that command', async () => {
    const [all, stats] = await Promise.all([history(['--help']), history(['stats', '--help'])]);
    expect(all.code).toBe(0);
    expect(all.stdout).toContain('Usage: npm run history -- <command>');
    expect(stats.code).toBe(0);
    expect(stats.stdout).toMatch(/^Usage: npm run history -- stats /);
  });

  it('exits 1 with one line naming an unknown execution', async () => {
    const result = await history(['show', 'no-such-id', ...onTable()]);
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      `error: no execution "no-such-id" in table ${harness.store.executionsTable}: check the id (\`npm run history -- list\` shows recent ones)`,
    ]);
  });

  it('exits 2 with one line when the table does not exist', async () => {
    const result = await history(['stats', '--table', 'no-such-table']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: table no-such-table was not found: check --table/);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('exits 2 telling to sync first when the data directory has no store', async () => {
    const directory = await tempDir();
    const result = await history(['stats', '--data-dir', directory]);
    expect(result.code).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      `error: no local store in ${directory}: run \`npm start -- --once\` first to sync into it, or pass --table NAME (or --stack NAME) to read a deployed one`,
    ]);
  });
});

describe('history CLI data sources', () => {
  it('reads an execution offloaded to S3 with --files-bucket, and says what to pass without it', async () => {
    const clients = localAwsClients();
    const store = await createTestStore(clients, 'history-cli');
    const big = {
      ...aJobExecution({ status: 'COMPLETED' }),
      output: { rows: 'y'.repeat(500) },
    } as JobExecution;
    await storeOffloadedExecution(clients, store, big);
    const shown = await history([
      'show',
      big.id,
      '--json',
      '--table',
      store.executionsTable,
      '--files-bucket',
      store.filesBucket,
    ]);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toEqual({ ...big, files: [], launch: null });
    const fromEnv = await history(['export', '--table', store.executionsTable], {
      FILES_BUCKET_NAME: store.filesBucket,
    });
    expect(JSON.parse(fromEnv.stdout)).toEqual({ ...big, files: [], launch: null });
    const missing = await history(['show', big.id, '--table', store.executionsTable]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /is stored in the files bucket at .*: pass --files-bucket NAME or set FILES_BUCKET_NAME\n$/,
    );
  });

  it('takes the table name from EXECUTIONS_TABLE_NAME', async () => {
    const result = await history(['list', '--limit', '1', '--json'], {
      EXECUTIONS_TABLE_NAME: harness.store.executionsTable,
    });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).executions).toHaveLength(1);
  });

  it('reads the running local stack of the data directory (its stack.json)', async () => {
    const directory = await tempDir();
    const env = harness.clients.env;
    // The stack's own table names are fixed; this one points at the harness's table (same shape otherwise).
    const state: Omit<LocalStackState, 'tables'> & {
      tables: Record<keyof LocalStackState['tables'], string>;
    } = {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      region: env.AWS_REGION ?? 'us-east-1',
      endpoints: {
        dynamodb: env.AWS_ENDPOINT_URL_DYNAMODB ?? '',
        s3: env.AWS_ENDPOINT_URL_S3 ?? '',
        sqs: env.AWS_ENDPOINT_URL_SQS ?? '',
        productLive: harness.emulator.url,
      },
      credentials: { ...harness.clients.credentials },
      tables: { ...LOCAL_TABLE_NAMES, executions: harness.store.executionsTable },
      bucket: harness.store.filesBucket,
      queues: { launchUrl: '', dlqUrl: '' },
    };
    await writeFile(join(directory, 'stack.json'), JSON.stringify(state));
    const viaStack = await history(['stats', '--since', 'all', '--json', '--data-dir', directory]);
    expect(viaStack.stderr).toBe('');
    expect(JSON.parse(viaStack.stdout).total.runs).toBe(truth.length);
  });

  it('starts DynamoDB Local on the data directory when no stack runs, and stops it before exiting', async () => {
    const directory = await tempDir();
    const servers = await startLocalAwsServers({ services: ['dynamodb'], dataDir: directory });
    const items = ['COMPLETED', 'FAILED', 'RUNNING'].map((status) => {
      const execution = aJobExecution({ status });
      const fields = toExecutionFields(execution);
      return {
        ...fields,
        files: [],
        firstSyncedAt: fields.createdAt,
        syncedAt: fields.createdAt,
        source: 'sync' as const,
      };
    });
    try {
      const dynamo = new DynamoDBClient({
        region: servers.region,
        credentials: servers.credentials,
        endpoint: servers.endpoints.dynamodb,
      });
      await ensureTable(dynamo, EXECUTIONS_TABLE, LOCAL_TABLE_NAMES.executions);
      await new ExecutionRepository(createDocumentClient(dynamo), LOCAL_TABLE_NAMES.executions).insertMany(
        items,
      );
      dynamo.destroy();
    } finally {
      await servers.stop();
    }
    const result = await history(['list', '--since', 'all', '--json', '--data-dir', directory]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(
      new Set(JSON.parse(result.stdout).executions.map((execution: { id: string }) => execution.id)),
    ).toEqual(new Set(items.map((item) => item.id)));
    const processes = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    expect(processes).not.toContain(join(directory, 'dynamodb'));
  });
});

describe('history files', () => {
  it('lists the copies not done, with their last error, by status, as a table and as JSON', async () => {
    const h = await createSyncHarness({ config: { fileCopyRetryDelayMs: 600_000 } });
    try {
      const job = h.emulator.addJob({ title: '商品の輸出 Export', kind: 'no-files' });
      const execution = h.emulator.createExecution(job.id, {}, { runTimeMs: 1_000, outcome: 'COMPLETED' });
      const ok = h.emulator.addFile({ size: 100, filename: 'ok.csv' });
      h.emulator.setExecutionOutput(execution.id, {
        gone: {
          url: `${h.emulator.url}/data-factory/2629/download/${'2'.repeat(64)}/gone.csv`,
          filename: 'gone.csv',
        },
        flaky: { url: h.emulator.addFile({ size: 200, filename: 'flaky.csv' }).url, filename: 'flaky.csv' },
        ok: { url: ok.url, filename: 'ok.csv' },
      });
      h.clock.advance(5_000);
      const before = await history(['files', '--table', h.store.executionsTable]);
      expect(before.stdout.trim()).toBe('Every file copy is done: none pending, none failed.');
      // The flaky file's three tries in the run all fail.
      const flaky = execution.id;
      h.emulator.onRequest((request) => {
        if (request.path.endsWith('/flaky.csv')) h.emulator.failNext('500', { endpoint: 'download' });
      });
      await h.sync();
      const table = h.store.executionsTable;
      const [all, failed, asTable] = await Promise.all([
        history(['files', '--json', '--table', table]),
        history(['files', '--status', 'failed', '--json', '--table', table]),
        history(['files', '--table', table]),
      ]);
      expect(all.code, all.stderr).toBe(0);
      const copies = (JSON.parse(all.stdout) as { copies: Array<Record<string, unknown>> }).copies;
      expect(copies.map((copy) => [copy.executionId, copy.path, copy.status, copy.attempts])).toEqual([
        [flaky, 'output.flaky', 'pending', 3],
        [flaky, 'output.gone', 'failed', 1],
      ]);
      expect(copies[0]?.lastError).toMatch(/HTTP 500/);
      expect(copies[0]?.nextAttemptAt).toBe(new Date(h.clock.now() + 600_000).toISOString());
      expect(copies[1]?.lastError).toMatch(/HTTP 404 \(the file is gone/);
      expect(JSON.parse(failed.stdout).copies.map((copy: { path: string }) => copy.path)).toEqual([
        'output.gone',
      ]);
      expect(asTable.stdout).toContain('2 file copies not done');
      // The table names the file, not its long URL (the JSON keeps the whole message).
      expect(asTable.stdout).toContain('download of gone.csv answered HTTP 404');
      expect(asTable.stdout).not.toContain('/download/');
      expect(asTable.stdout).toContain('商品の輸出 Export');
      expect(asTable.stdout).toContain('--retry-failed-files');
      const bad = await history(['files', '--status', 'done', '--table', table]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--status must be pending or failed');
    } finally {
      await h.close();
    }
  });
});
