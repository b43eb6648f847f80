// bundle: what each function costs Lambda before it runs. Bundles every function of the registry
// (functions/core/function-registry.ts) as the CDK stack does (infra/constructs/bundling-settings.ts), then reports
// its minified size and cold import time (median over fresh Node.js processes, `import()` to handler ready).
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build, type Metafile } from 'esbuild';
import { ENV_VARIABLES, type EnvVariable } from '#core/config';
import { FUNCTIONS } from '#core/function-registry';
import { BUNDLING } from '#infra/constructs/bundling-settings';
import { PROJECT_ROOT } from '#infra/constructs/project-function';
import { parseBenchArgs } from './support/bench-args';
import type { Benchmark, BenchReport, Check, Figure } from './support/bench-report';
import { BenchResources } from './support/bench-resources';

/** Goal of the house redesign: every bundle at most 700 KB minified (stretch: 500 KB). */
const GOAL_BYTES = 700 * 1024;

/**
 * The environment a function needs to load: what the stack would set, every required variable with a placeholder
 * (nothing is called at import time). Every function reads only its own variables; the others are ignored.
 */
const IMPORT_ENV: Record<string, string> = {
  AWS_REGION: 'eu-west-1',
  AWS_LAMBDA_FUNCTION_NAME: 'bench',
  PRODUCT_LIVE_API_KEY_SECRET_ID: 'product-live/api-key',
  ...Object.fromEntries(
    (Object.entries(ENV_VARIABLES) as Array<[string, EnvVariable<unknown>]>)
      .filter(([, variable]) => variable.required)
      .map(([name]) => [name, `bench-${name.toLowerCase().replaceAll('_', '-')}`]),
  ),
  POWERTOOLS_SERVICE_NAME: 'bench',
  POWERTOOLS_METRICS_NAMESPACE: 'Bench',
  POWERTOOLS_TRACE_ENABLED: 'false',
};

const IMPORT_SCRIPT = `
const started = performance.now();
const module = await import(process.argv[1]);
if (typeof module.handler !== 'function') throw new Error('no handler export');
process.stdout.write(String(performance.now() - started));
`;

export const benchmark: Benchmark = {
  name: 'bundle',
  title: "each function's minified bundle size and cold import time",
  async run(args): Promise<BenchReport> {
    const { mode, values } = parseBenchArgs(args, {
      imports: { full: 21, quick: 5, description: 'fresh Node.js processes importing each bundle' },
    });
    const resources = new BenchResources();
    const figures: Figure[] = [];
    const checks: Check[] = [];
    const details: Record<string, string | number> = {};
    try {
      const directory = await mkdtemp(join(tmpdir(), 'plsync-bundle-'));
      resources.defer('bundle directory', () => rm(directory, { recursive: true, force: true }));
      for (const [name, { entry }] of Object.entries(FUNCTIONS)) {
        const outfile = join(directory, name, 'index.mjs');
        const result = await build({
          ...BUNDLING,
          mainFields: [...BUNDLING.mainFields],
          banner: { js: BUNDLING.banner },
          absWorkingDir: PROJECT_ROOT,
          entryPoints: [join(PROJECT_ROOT, entry)],
          outfile,
          bundle: true,
          metafile: true,
          logLevel: 'error',
        });
        const bytes = (await stat(outfile)).size;
        figures.push({
          key: `${name}Bytes`,
          label: `${name} bundle, minified`,
          value: bytes / 1024,
          unit: 'KB',
          digits: 0,
          goal: { comparison: '<=', target: GOAL_BYTES / 1024 },
        });
        const times = await importTimes(outfile, values.imports);
        const median = times.sort((a, b) => a - b)[Math.floor(times.length / 2)] ?? Number.NaN;
        figures.push({
          key: `${name}ColdImportMs`,
          label: `${name} cold import (median of ${times.length} processes)`,
          value: median,
          unit: 'ms',
          digits: 0,
        });
        checks.push({
          label: `${name} bundle loads and exports handler`,
          ok: times.length === values.imports,
          detail: `${times.length} of ${values.imports} imports succeeded`,
        });
        for (const [pkg, size] of largestPackages(result.metafile, 6)) {
          details[`${name}: ${pkg}`] = `${(size / 1024).toFixed(0)} KB`;
        }
      }
    } finally {
      await resources.close();
    }
    return {
      title: benchmark.title,
      mode,
      parameters: { imports: values.imports, node: process.version },
      figures,
      checks,
      details,
      notes: [
        'Bundled with the settings the CDK stack uses (ESM, node22, minified, every dependency included), ' +
          'without the source map. The details list the largest packages of each bundle (bytes of their ' +
          'code in the output).',
        'Cold import time is measured inside each fresh process, from import() to the module being ' +
          'evaluated: it excludes Node.js start-up, includes parsing and module-level wiring (config, ' +
          'clients). Lambda adds its own init on top.',
      ],
    };
  },
};

async function importTimes(file: string, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let index = 0; index < count; index += 1) {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '-e', IMPORT_SCRIPT, file],
      // biome-ignore lint/style/noProcessEnv: the child's environment, only the PATH to find its node
      { env: { PATH: process.env.PATH ?? '', ...IMPORT_ENV }, timeout: 60_000 },
    );
    const value = Number(stdout.trim());
    if (Number.isFinite(value)) times.push(value);
  }
  return times;
}

/** The packages (or the project's own code) with the most bytes in the output. */
function largestPackages(metafile: Metafile, top: number): Array<[string, number]> {
  const sizes = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const name = match?.[1] ?? '(project code)';
      sizes.set(name, (sizes.get(name) ?? 0) + bytesInOutput);
    }
  }
  return [...sizes.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
}
