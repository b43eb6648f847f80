// sql-export: `npm run history -- sql … --csv` (and --json) of millions of rows, as a user runs it (a child
// process, its output read through a pipe): the CLI's peak resident memory (VmHWM from /proc, sampled while it runs)
// against a trivial query's, the rows per second, and checks that every row arrived.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOCAL_LAKE_BUCKET_NAME } from '#local/stack/local-stack-settings';
import { removeLakeCopies } from '#local/warehouse/lake-cache';
import { parseBenchArgs } from './support/bench-args';
import type { Benchmark, BenchReport, Check } from './support/bench-report';
import { formatDuration } from './support/bench-report';
import { BenchResources } from './support/bench-resources';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MIB = 1024 * 1024;

/** Rows of the kind an export carries: a number, an id, an instant, a flag. */
function exportSql(rows: number): string {
  return (
    "SELECT range AS n, 'execution-' || lpad(CAST(range AS VARCHAR), 12, '0') AS id, " +
    "TIMESTAMP '2024-01-01 00:00:00' + to_seconds(range) AS created_at, range % 7 = 0 AS failed " +
    `FROM range(${rows})`
  );
}

interface ExportRun {
  code: number | null;
  lines: number;
  bytes: number;
  lastLine: string;
  peakRssBytes: number;
  samples: number;
  ms: number;
  stderr: string;
}

/** The peak resident set size of a process so far (VmHWM), or undefined once it is gone. */
async function peakRss(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const kib = status && /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
  return kib ? Number(kib) * 1024 : undefined;
}

/** Runs the CLI once (node --import tsx: one process, the one measured), reading its output as it comes. */
async function runCli(args: string[], resources: BenchResources): Promise<ExportRun> {
  // biome-ignore lint/style/noProcessEnv: the child's environment, handed on without AWS credentials
  const { AWS_PROFILE: _p, AWS_ACCESS_KEY_ID: _a, AWS_SECRET_ACCESS_KEY: _s, ...env } = process.env;
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'local/cli/history.ts', ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  resources.defer('history sql process', async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const pid = child.pid ?? 0;
  let peak = 0;
  let samples = 0;
  const sampler = setInterval(() => {
    void peakRss(pid).then((bytes) => {
      if (bytes === undefined) return;
      samples += 1;
      peak = Math.max(peak, bytes);
    });
  }, 20);
  let lines = 0;
  let bytes = 0;
  let tail = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    for (const byte of chunk) if (byte === 10) lines += 1;
    tail = (tail + chunk.toString('utf8', Math.max(0, chunk.length - 200))).slice(-400);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((done) => child.once('close', done));
  clearInterval(sampler);
  const lastLine = tail.trimEnd().split('\n').at(-1) ?? '';
  return {
    code,
    lines,
    bytes,
    lastLine,
    peakRssBytes: peak,
    samples,
    ms: performance.now() - started,
    stderr,
  };
}

export const benchmark: Benchmark = {
  name: 'sql-export',
  title: 'history sql: a multi-million-row CSV and JSON export streamed in flat memory',
  async run(args): Promise<BenchReport> {
    const { mode, values } = parseBenchArgs(args, {
      rows: { full: 5_000_000, quick: 500_000, description: 'rows exported' },
    });
    if (!(await peakRss(process.pid))) throw new Error('this benchmark reads /proc/<pid>/status (Linux)');
    const resources = new BenchResources();
    const dataDir = await mkdtemp(join(tmpdir(), 'plsync-bench-sql-export-'));
    resources.defer('data directory', () => removeLakeCopies(dataDir));
    try {
      // An empty local lake: the CLI starts s3rver on it and refreshes its copy, as after `npm start -- --once`.
      await mkdir(join(dataDir, 's3', LOCAL_LAKE_BUCKET_NAME), { recursive: true });
      const common = ['--timeout', '0', '--data-dir', dataDir];
      const baseline = await runCli(['sql', 'SELECT 1 AS one', '--csv', ...common], resources);
      const csv = await runCli(['sql', exportSql(values.rows), '--csv', ...common], resources);
      const json = await runCli(['sql', exportSql(values.rows), '--json', ...common], resources);
      const last = values.rows - 1;
      const lastId = `execution-${String(last).padStart(12, '0')}`;
      const checks: Check[] = [
        {
          label: 'the trivial query ran (the baseline)',
          ok: baseline.code === 0 && baseline.lines === 2,
          detail: `exit ${baseline.code}, ${baseline.lines} lines ${baseline.stderr.trim()}`,
        },
        {
          label: `the CSV export wrote a header and ${values.rows.toLocaleString('en')} rows, the last one last`,
          ok:
            csv.code === 0 && csv.lines === values.rows + 1 && csv.lastLine.startsWith(`${last},${lastId},`),
          detail: `exit ${csv.code}, ${csv.lines} lines, last: ${csv.lastLine} ${csv.stderr.trim()}`,
        },
        {
          label: 'the JSON export is one array ending with the last row',
          ok: json.code === 0 && json.lastLine === ']' && json.lines === values.rows * 6 + 2,
          detail: `exit ${json.code}, ${json.lines} lines ${json.stderr.trim()}`,
        },
        {
          label: 'memory was sampled while each export ran',
          ok: csv.samples > 10 && json.samples > 10,
          detail: `${csv.samples} and ${json.samples} samples`,
        },
      ];
      return {
        title: benchmark.title,
        mode,
        parameters: { rows: values.rows, columns: 4, output: 'a pipe read as fast as it comes' },
        figures: [
          {
            key: 'csvPeakRss',
            label: `peak RSS of the CLI, ${values.rows.toLocaleString('en')}-row CSV export`,
            value: csv.peakRssBytes / MIB,
            unit: 'MiB',
            digits: 0,
            goal: { comparison: '<', target: 300 },
          },
          {
            key: 'jsonPeakRss',
            label: `peak RSS of the CLI, ${values.rows.toLocaleString('en')}-row JSON export`,
            value: json.peakRssBytes / MIB,
            unit: 'MiB',
            digits: 0,
            goal: { comparison: '<', target: 300 },
          },
          {
            key: 'baselinePeakRss',
            label: 'peak RSS of the CLI, SELECT 1 (Node, tsx, DuckDB, s3rver)',
            value: baseline.peakRssBytes / MIB,
            unit: 'MiB',
            digits: 0,
          },
          {
            key: 'csvRowsPerSecond',
            label: 'CSV rows per second (process start to exit)',
            value: values.rows / (csv.ms / 1000),
            unit: 'rows/s',
            digits: 0,
          },
        ],
        checks,
        details: {
          'CSV export': `${(csv.bytes / MIB).toFixed(0)} MiB in ${formatDuration(csv.ms)}`,
          'JSON export': `${(json.bytes / MIB).toFixed(0)} MiB in ${formatDuration(json.ms)}`,
          'SELECT 1, start to exit': formatDuration(baseline.ms),
        },
        notes: [
          'Each run is `node --import tsx local/cli/history.ts sql … --timeout 0 --data-dir DIR` over an empty local ' +
            'lake (the CLI starts s3rver on DIR and refreshes its copy first, as a user without a running stack ' +
            'sees it); its stdout is a pipe this process reads as fast as it can. Peak RSS is the kernel’s VmHWM ' +
            'of that process, read every 20 ms while it runs: the whole process, DuckDB’s own memory included.',
          'Before the output streamed, the CLI held every row as a JS object and then the whole text: the issue ' +
            'that asked for this measured a 15-million-row CSV dying with "JavaScript heap out of memory" at 7.5 GB.',
        ],
      };
    } finally {
      await resources.close();
    }
  },
};
