// Benchmark reports: the figures a benchmark measured (each against its goal, when it has one), the checks
// that prove the measured run did the right work, the machine it ran on; printed for people and written as
// JSON to bench/results/<name>.json for scripts and the docs (docs/benchmarks.md).
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { arch, availableParallelism, cpus, loadavg, release, totalmem, type } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** A target a figure is compared with. */
export interface Goal {
  comparison: '>=' | '<=' | '<' | '=';
  target: number;
}

/** One measured figure. */
export interface Figure {
  /** Stable machine name (JSON key). */
  key: string;
  /** What it is, for people. */
  label: string;
  value: number;
  unit: string;
  /** Digits after the decimal point when printed (default: 0 for large numbers, else 2). */
  digits?: number;
  goal?: Goal;
}

/** A figure as written to the results file: with whether its goal was met. */
export interface EvaluatedFigure extends Figure {
  met?: boolean;
}

/** A correctness check of the measured run: figures of a run that did the wrong work mean nothing. */
export interface Check {
  label: string;
  ok: boolean;
  detail: string;
}

/** What a benchmark returns. */
export interface BenchReport {
  title: string;
  /** 'full': the sizes the docs report; 'quick' or 'custom': development runs. */
  mode: 'full' | 'quick' | 'custom';
  parameters: Record<string, string | number | boolean>;
  figures: Figure[];
  checks: Check[];
  /** Supporting measurements (time splits, counts), printed as `key: value`. */
  details: Record<string, string | number | boolean>;
  /** How to read the figures: what is and is not measured, and why a missed goal is missed. */
  notes: string[];
}

export interface Benchmark {
  name: string;
  title: string;
  /** Runs the benchmark with its command-line flags (`--quick`, size overrides). */
  run(args: string[]): Promise<BenchReport>;
}

export interface MachineDescription {
  os: string;
  cpuModel: string;
  cpuCount: number;
  totalMemoryBytes: number;
  node: string;
  java: string | undefined;
  /** 1, 5 and 15 minute load averages when the benchmark started: other work on the machine skews figures. */
  loadAverageAtStart: number[];
}

export interface BenchResultFile extends Omit<BenchReport, 'figures'> {
  benchmark: string;
  date: string;
  durationMs: number;
  machine: MachineDescription;
  figures: EvaluatedFigure[];
  goalsMet: boolean;
  goalsMissed: string[];
  checksPassed: boolean;
}

const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

/** The machine a benchmark ran on (Java's version too: DynamoDB Local runs on it). */
export async function describeMachine(): Promise<MachineDescription> {
  let java: string | undefined;
  try {
    const { stderr, stdout } = await promisify(execFile)('java', ['-version'], { timeout: 30_000 });
    java = /version "([^"]+)"/.exec(`${stderr}${stdout}`)?.[1];
  } catch {
    java = undefined;
  }
  return {
    os: `${type()} ${release()} ${arch()}`,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cpuCount: availableParallelism(),
    totalMemoryBytes: totalmem(),
    node: process.version,
    java,
    loadAverageAtStart: loadavg().map((load) => Math.round(load * 100) / 100),
  };
}

/** One line: "Linux 6.1.0 x64, 2 × Intel(R) Xeon(R) ..., 23.5 GiB RAM, Node v22.23.3, Java 17.0.15". */
function machineLine(machine: MachineDescription): string {
  return [
    machine.os,
    `${machine.cpuCount} × ${machine.cpuModel}`,
    `${(machine.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB RAM`,
    `Node ${machine.node}`,
    ...(machine.java ? [`Java ${machine.java}`] : []),
  ].join(', ');
}

/** Whether `value` meets `goal`. */
function meetsGoal(value: number, goal: Goal): boolean {
  switch (goal.comparison) {
    case '>=':
      return value >= goal.target;
    case '<=':
      return value <= goal.target;
    case '<':
      return value < goal.target;
    case '=':
      return value === goal.target;
  }
}

/** Builds the results file content of a finished benchmark. */
export function toResultFile(
  benchmark: Benchmark,
  report: BenchReport,
  machine: MachineDescription,
  startedAt: Date,
  durationMs: number,
): BenchResultFile {
  const figures: EvaluatedFigure[] = report.figures.map((figure) =>
    figure.goal ? { ...figure, met: meetsGoal(figure.value, figure.goal) } : { ...figure },
  );
  const goalsMissed = figures
    .filter((figure) => figure.met === false)
    .map((figure) => `${figure.label}: ${formatFigure(figure)}, goal ${formatGoal(figure)}`);
  return {
    benchmark: benchmark.name,
    date: startedAt.toISOString(),
    durationMs: Math.round(durationMs),
    machine,
    ...report,
    figures,
    goalsMet: goalsMissed.length === 0,
    goalsMissed,
    checksPassed: report.checks.every((check) => check.ok),
  };
}

/** Writes bench/results/<name>.json and returns its path. */
export async function writeResultFile(result: BenchResultFile): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${result.benchmark}.json`);
  await writeFile(path, `${JSON.stringify(result, null, 2)}\n`);
  return path;
}

/** The human printout of a results file: parameters, the figures table, checks, details and notes. */
export function renderResult(result: BenchResultFile): string {
  const lines: string[] = [];
  lines.push(`${result.benchmark}: ${result.title}${result.mode === 'full' ? '' : ` (${result.mode} run)`}`);
  lines.push(`machine: ${machineLine(result.machine)}`);
  lines.push(
    `date: ${result.date}, took ${formatDuration(result.durationMs)}; load average at start ` +
      result.machine.loadAverageAtStart.join(' / '),
  );
  lines.push('');
  lines.push('parameters');
  lines.push(...renderPairs(result.parameters));
  lines.push('');
  const rows = [
    ['figure', 'measured', 'goal', 'met'],
    ...result.figures.map((figure) => [
      figure.label,
      formatFigure(figure),
      figure.goal ? formatGoal(figure) : '',
      figure.met === undefined ? '' : figure.met ? 'yes' : 'NO',
    ]),
  ];
  lines.push(...renderTable(rows, [false, true, false, false]));
  lines.push('');
  lines.push('checks');
  for (const check of result.checks)
    lines.push(`  ${check.ok ? 'ok  ' : 'FAIL'}  ${check.label}: ${check.detail}`);
  if (Object.keys(result.details).length > 0) {
    lines.push('');
    lines.push('details');
    lines.push(...renderPairs(result.details));
  }
  if (result.notes.length > 0) {
    lines.push('');
    lines.push('notes');
    for (const note of result.notes)
      lines.push(...wrap(note, 100).map((line, i) => `${i ? '    ' : '  - '}${line}`));
  }
  lines.push('');
  lines.push(
    result.goalsMissed.length === 0
      ? 'goals: all met'
      : `goals MISSED: ${result.goalsMissed.join('; ')} (see the notes for why)`,
  );
  if (!result.checksPassed) lines.push('checks FAILED: the figures above are not valid');
  return lines.join('\n');
}

function formatFigure(figure: Figure): string {
  return `${formatNumber(figure.value, figure.digits)}${figure.unit ? ` ${figure.unit}` : ''}`;
}

function formatGoal(figure: Figure): string {
  const goal = figure.goal;
  if (!goal) return '';
  const symbol = { '>=': '≥', '<=': '≤', '<': '<', '=': '=' }[goal.comparison];
  return `${symbol} ${formatNumber(goal.target, figure.digits)}${figure.unit ? ` ${figure.unit}` : ''}`;
}

export function formatNumber(value: number, digits?: number): string {
  if (!Number.isFinite(value)) return String(value);
  const places = digits ?? (Math.abs(value) >= 100 || Number.isInteger(value) ? 0 : 2);
  return value.toLocaleString('en-US', { minimumFractionDigits: places, maximumFractionDigits: places });
}

export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1_000).toFixed(ms % 1_000 === 0 ? 0 : 1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1_000)} s`;
}

function renderPairs(pairs: Record<string, string | number | boolean>): string[] {
  const width = Math.max(0, ...Object.keys(pairs).map((key) => key.length));
  return Object.entries(pairs).map(
    ([key, value]) => `  ${key.padEnd(width)}  ${typeof value === 'number' ? formatNumber(value) : value}`,
  );
}

function renderTable(rows: string[][], rightAligned: boolean[]): string[] {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) =>
    `  ${row
      .map((cell, column) =>
        rightAligned[column] ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
      )
      .join('   ')}`.trimEnd(),
  );
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}
