import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV_VARIABLES, variablesOf } from '#core/config';
import type { FunctionName } from '#core/function-registry';
import { CONTEXT_KEYS, type ContextKey } from '#infra/config';
import { CONFIGURATION_DOC, withGeneratedTables } from '#infra/settings-docs';

describe('settings documentation', () => {
  it('docs/configuration.md shows exactly the defined variables and context keys (npm run docs:settings)', () => {
    const page = readFileSync(CONFIGURATION_DOC, 'utf8');
    expect(page).toBe(withGeneratedTables(page));
    for (const name of [...Object.keys(ENV_VARIABLES), ...Object.keys(CONTEXT_KEYS)]) {
      expect(page, name).toContain(`| \`${name}\` |`);
    }
  });

  it('every variable a context key sets is one the function reads (or a Powertools setting)', () => {
    for (const [name, key] of Object.entries(CONTEXT_KEYS) as Array<[string, ContextKey<unknown>]>) {
      for (const [fn, variables] of Object.entries(key.environment ?? {})) {
        const known = new Set<string>(variablesOf(fn as FunctionName));
        for (const variable of Object.keys(variables)) {
          if (variable.startsWith('POWERTOOLS_')) continue;
          expect(known.has(variable), `${name} sets ${variable} for ${fn}`).toBe(true);
        }
      }
    }
  });
});
