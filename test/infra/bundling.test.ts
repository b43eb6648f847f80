// The one infra test that bundles the functions for real (esbuild, locally, no Docker), then loads each
// bundle the way the Lambda runtime does: an ES module on Node.js 22, configured by its environment.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Synthesized, synthesize } from './support/synth';
import { TemplateView } from './support/template-view';

let synth: Synthesized;
let view: TemplateView;

beforeAll(() => {
  synth = synthesize({ bundle: true });
  view = new TemplateView(synth);
}, 120_000);

/** The directory of the bundled code asset of a function, in the cloud assembly. */
function assetDirectory(fn: Parameters<TemplateView['statelessResource']>[0]): string {
  const code = (view.statelessResource(fn).Properties as { Code: { S3Key: string } }).Code;
  const manifest = JSON.parse(
    readFileSync(join(synth.assembly.directory, `${synth.stateless.artifactId}.assets.json`), 'utf8'),
  ) as {
    files: Record<string, { source: { path: string }; destinations: Record<string, { objectKey: string }> }>;
  };
  const asset = Object.values(manifest.files).find((file) =>
    Object.values(file.destinations).some((destination) => destination.objectKey === code.S3Key),
  );
  if (!asset) throw new Error(`no asset for ${code.S3Key}`);
  return join(synth.assembly.directory, asset.source.path);
}

describe.each([
  ['sync', () => synth.stateless.sync.handler.function],
  ['launch', () => synth.stateless.launch.handler.function],
  ['events', () => synth.stateless.events.handler.function],
])('%s function bundle', (_name, fn) => {
  it('is an ES module with its source map', () => {
    const directory = assetDirectory(fn());
    expect(existsSync(join(directory, 'index.mjs'))).toBe(true);
    expect(existsSync(join(directory, 'index.mjs.map'))).toBe(true);
    expect(readFileSync(join(directory, 'index.mjs'), 'utf8')).toMatch(/sourceMappingURL=index\.mjs\.map/);
  });

  it('loads on Node.js 22 with the environment of the template and exports handler', () => {
    const environment = view.environmentOf(fn());
    const output = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const m = await import('./index.mjs'); console.log(process.version, typeof m.handler);",
      ],
      {
        cwd: assetDirectory(fn()),
        encoding: 'utf8',
        // Only what Lambda would set: no AWS credentials, no network use at import time.
        env: {
          ...environment,
          PATH: process.env.PATH ?? '',
          AWS_REGION: 'eu-west-1',
          AWS_LAMBDA_FUNCTION_NAME: 'x',
        },
      },
    );
    expect(output.trim()).toMatch(/^v22\.\d+\.\d+ function$/);
  });
});
