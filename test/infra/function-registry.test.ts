import { beforeAll, describe, expect, it } from 'vitest';
import { ENV_VARIABLES, variablesOf } from '#core/config';
import { FUNCTION_NAMES, FUNCTIONS } from '#core/function-registry';
import { type Synthesized, synthesize } from './support/synth';
import { TemplateView } from './support/template-view';

let synth: Synthesized;
let view: TemplateView;

beforeAll(() => {
  synth = synthesize();
  view = new TemplateView(synth);
}, 120_000);

/** Variables every function gets besides its own: the Powertools settings and Node's source maps. */
const COMMON = /^(POWERTOOLS_[A-Z_]+|NODE_OPTIONS)$/;

describe('the functions of the registry (functions/core/function-registry.ts)', () => {
  it('deploys exactly the registered functions', () => {
    const deployed = Object.values(synth.statelessTemplate.findResources('AWS::Lambda::Function')).map(
      (resource) =>
        (resource.Properties as { Environment?: { Variables?: Record<string, unknown> } }).Environment
          ?.Variables?.POWERTOOLS_SERVICE_NAME,
    );
    expect(deployed.sort()).toEqual([...FUNCTION_NAMES].sort());
  });

  it.each(FUNCTION_NAMES)(
    'deploys %s with its description, its service name and only the variables it reads',
    (name) => {
      const fn = synth.stateless.functions[name].function;
      expect(view.statelessResource(fn).Properties?.Description).toBe(FUNCTIONS[name].description);
      const environment = view.environmentOf(fn);
      expect(environment.POWERTOOLS_SERVICE_NAME).toBe(name);
      const reads = new Set<string>(variablesOf(name));
      expect(
        Object.keys(environment).filter((variable) => !COMMON.test(variable) && !reads.has(variable)),
      ).toEqual([]);
      const required = variablesOf(name).filter((variable) => ENV_VARIABLES[variable].required);
      expect(required.filter((variable) => environment[variable] === undefined)).toEqual([]);
    },
  );
});
