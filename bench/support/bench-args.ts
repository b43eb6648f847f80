// Command-line flags of a benchmark: `--quick` switches every size to its development value, and each size
// can be set on its own (`--executions 2000`). A typo or a non-number fails with the list of flags.
import { parseArgs } from 'node:util';

export interface SizeFlag {
  /** The value of a full run (the figures in docs/benchmarks.md). */
  full: number;
  /** The value of a `--quick` run (development). */
  quick: number;
  description: string;
  /** Smallest accepted value (default 1). */
  min?: number;
}

export interface BenchArgs<K extends string> {
  mode: 'full' | 'quick' | 'custom';
  values: Record<K, number>;
}

/** Raised for an unknown flag or a bad value (exit code 2), or for `--help` (exit code 0). */
export class BenchUsageError extends Error {
  override readonly name = 'BenchUsageError';
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

/** Parses `--quick` and the benchmark's size flags. */
export function parseBenchArgs<K extends string>(
  args: readonly string[],
  flags: Record<K, SizeFlag>,
): BenchArgs<K> {
  const names = Object.keys(flags) as K[];
  if (args.includes('--help') || args.includes('-h')) throw new BenchUsageError(describeFlags(flags), 0);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        quick: { type: 'boolean' },
        ...Object.fromEntries(names.map((name) => [name, { type: 'string' as const }])),
      },
    });
  } catch (error) {
    throw new BenchUsageError(`${(error as Error).message}\n${describeFlags(flags)}`);
  }
  const quick = parsed.values.quick === true;
  let overridden = false;
  const values = {} as Record<K, number>;
  for (const name of names) {
    const flag = flags[name];
    const raw = parsed.values[name];
    if (typeof raw === 'string') {
      const value = Number(raw);
      if (!Number.isInteger(value) || value < (flag.min ?? 1)) {
        throw new BenchUsageError(`--${name} must be an integer >= ${flag.min ?? 1}, got "${raw}"`);
      }
      values[name] = value;
      overridden = true;
    } else {
      values[name] = quick ? flag.quick : flag.full;
    }
  }
  return { mode: overridden ? 'custom' : quick ? 'quick' : 'full', values };
}

function describeFlags(flags: Record<string, SizeFlag>): string {
  return [
    'flags:',
    '  --quick  development sizes',
    ...Object.entries(flags).map(
      ([name, flag]) => `  --${name} N  ${flag.description} (full ${flag.full}, quick ${flag.quick})`,
    ),
  ].join('\n');
}
