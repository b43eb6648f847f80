// `npm run bench -- <name> [flags]`: runs one benchmark, prints its figures against their goals, and writes
// bench/results/<name>.json. Exit code 0 when the run completed and its checks passed (a missed goal is a
// figure, not a failure), 1 when the run or a check failed, 2 on a usage error.
import { BenchUsageError } from './support/bench-args';
import type { Benchmark } from './support/bench-report';
import { describeMachine, renderResult, toResultFile, writeResultFile } from './support/bench-report';
import { closeAllResources } from './support/bench-resources';

const BENCHMARKS: Record<string, () => Promise<{ benchmark: Benchmark }>> = {
  backfill: () => import('./backfill.bench'),
  budget: () => import('./budget.bench'),
  steady: () => import('./steady.bench'),
  'file-copy': () => import('./file-copy.bench'),
  launch: () => import('./launch.bench'),
  bundle: () => import('./bundle.bench'),
  audit: () => import('./audit.bench'),
  analytics: () => import('./analytics.bench'),
  dashboard: () => import('./dashboard.bench'),
  events: () => import('./events.bench'),
  'sql-export': () => import('./sql-export.bench'),
  'task-callbacks': () => import('./task-callbacks.bench'),
  health: () => import('./health.bench'),
};

const USAGE = `usage: npm run bench -- <name> [--quick] [flags]
benchmarks: ${Object.keys(BENCHMARKS).join(', ')}
each one's flags and what it measures: docs/benchmarks.md`;

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  const load = BENCHMARKS[name];
  if (!load) {
    console.error(`unknown benchmark "${name}"\n${USAGE}`);
    return 2;
  }
  const { benchmark } = await load();
  const machine = await describeMachine();
  const startedAt = new Date();
  const started = performance.now();
  console.log(`running ${benchmark.name}: ${benchmark.title}`);
  let report: Awaited<ReturnType<Benchmark['run']>>;
  try {
    report = await benchmark.run(args);
  } catch (error) {
    if (!(error instanceof BenchUsageError)) throw error;
    (error.exitCode === 0 ? console.log : console.error)(error.message);
    return error.exitCode;
  }
  const result = toResultFile(benchmark, report, machine, startedAt, performance.now() - started);
  const path = await writeResultFile(result);
  console.log('');
  console.log(renderResult(result));
  console.log(`\nwritten to ${path}`);
  return result.checksPassed ? 0 : 1;
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`\n${signal}: stopping the servers this benchmark started...`);
    void closeAllResources().finally(() => process.exit(130));
  });
}

// Every server is stopped by now; a timer still pending in a client (a rate budget returning its slots a
// minute later) must not hold the process, so exit once the output is written.
const exit = (code: number) => {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 100).unref();
};
main(process.argv.slice(2)).then(exit, (error: unknown) => {
  // After an interrupt, the benchmark fails because its servers are gone: not worth a stack trace.
  if (interrupted) return;
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  void closeAllResources().finally(() => exit(1));
});
