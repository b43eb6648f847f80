import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as config from '#core/config';
import { FUNCTION_NAMES, FUNCTIONS } from '#core/function-registry';

const ROOT = join(import.meta.dirname, '..', '..', '..', '..');

describe('the function registry', () => {
  it.each(FUNCTION_NAMES)('%s: its handler file wires its factory with its config loader', async (name) => {
    const { entry, factory, config: loader } = FUNCTIONS[name];
    const module = (await import(join(ROOT, factory.file))) as Record<string, unknown>;
    expect(typeof module[factory.name], `${factory.file} exports ${factory.name}`).toBe('function');
    expect(typeof (config as Record<string, unknown>)[loader], `config.ts exports ${loader}`).toBe(
      'function',
    );
    const wiring = readFileSync(join(ROOT, entry), 'utf8');
    expect(wiring).toMatch(new RegExp(`export const handler = ${factory.name}\\(`));
    expect(wiring).toContain(`${loader}(`);
  });

  it('every function reads at least one variable, and every variable is read by a registered function', () => {
    for (const name of FUNCTION_NAMES) expect(config.variablesOf(name).length, name).toBeGreaterThan(0);
    for (const [variable, { functions }] of Object.entries(config.ENV_VARIABLES)) {
      expect(functions.length, variable).toBeGreaterThan(0);
    }
  });
});
