// Layer flow: the definitions (functions/core/function-registry.ts FUNCTIONS, functions/core/config.ts ENV_VARIABLES,
// infra/config.ts CONTEXT_KEYS) -> these renderers -> the three tables of docs/configuration.md.
// `npm run docs:settings` rewrites them; a test fails when the page and the definitions disagree.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ENV_VARIABLES, type EnvVariable } from '#core/config';
import { FUNCTIONS, type FunctionName } from '#core/function-registry';
import { CONTEXT_KEYS, type ContextKey } from './config';
import { PROJECT_ROOT } from './constructs/project-function';

export const CONFIGURATION_DOC = join(PROJECT_ROOT, 'docs', 'configuration.md');

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
const code = (text: string) => `\`${text}\``;

/** The table of the functions: what invokes each one, what it does, where its code starts. */
export function renderFunctionsTable(): string {
  const rows = Object.entries(FUNCTIONS).map(
    ([name, fn]) =>
      `| ${code(name)} | ${cell(fn.trigger)} | ${cell(fn.description)} | [${code(fn.entry)}](../${fn.entry}) |`,
  );
  return ['| function | invoked by | what it does | handler |', '|---|---|---|---|', ...rows].join('\n');
}

/** The table of the functions' environment variables. */
export function renderEnvironmentTable(): string {
  const rows = (Object.entries(ENV_VARIABLES) as Array<[string, EnvVariable<unknown>]>).map(
    ([name, variable]) => {
      const functions: readonly FunctionName[] = variable.functions;
      const where = functions.join(', ');
      const defaultText =
        variable.defaultNote ??
        (variable.defaultValue !== undefined
          ? code(variable.defaultValue)
          : variable.required
            ? '— (required)'
            : '—');
      return `| ${code(name)} | ${where} | ${cell(defaultText)} | ${cell(variable.description)} |`;
    },
  );
  return ['| variable | function | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

/** The table of the CDK context keys, with the function variables each one sets. */
export function renderContextTable(): string {
  const rows = (Object.entries(CONTEXT_KEYS) as Array<[string, ContextKey<unknown>]>).map(([name, key]) => {
    const sets = [
      ...new Set(Object.values(key.environment ?? {}).flatMap((variables) => Object.keys(variables))),
    ];
    return `| ${code(name)} | ${key.defaultValue === undefined ? '—' : code(key.defaultValue)} | ${
      sets.map(code).join(', ') || '—'
    } | ${cell(key.description)} |`;
  });
  return ['| context key | default | sets | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

const TABLES = [
  { marker: 'functions-table', render: renderFunctionsTable },
  { marker: 'env-table', render: renderEnvironmentTable },
  { marker: 'context-table', render: renderContextTable },
] as const;

/** The page with every table replaced by their rendering from the definitions. */
export function withGeneratedTables(page: string): string {
  let result = page;
  for (const { marker, render } of TABLES) {
    const pattern = new RegExp(`(<!-- ${marker}:start -->\\n)[\\s\\S]*?(\\n<!-- ${marker}:end -->)`);
    if (!pattern.test(result))
      throw new Error(`docs/configuration.md has no <!-- ${marker}:start/end --> markers`);
    result = result.replace(pattern, `$1\n${render()}\n$2`);
  }
  return result;
}

if (process.argv.includes('--write')) {
  const page = await readFile(CONFIGURATION_DOC, 'utf8');
  const updated = withGeneratedTables(page);
  await writeFile(CONFIGURATION_DOC, updated);
  process.stdout.write(
    page === updated ? 'docs/configuration.md is up to date\n' : 'docs/configuration.md updated\n',
  );
}
