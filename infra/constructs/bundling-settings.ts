// Layer flow: project function construct and the bundle benchmark -> these settings -> esbuild. One
// definition of how every function of the registry is bundled, so that the benchmark measures what Lambda runs.

/**
 * The esbuild settings of every function: an ES module for Node.js 22, minified, every dependency bundled
 * (the AWS SDK versions the code is tested with, not the runtime's copy). Names are not kept: every error
 * class sets its `name` explicitly, and stack traces map back to the sources through the source map.
 */
export const BUNDLING = {
  format: 'esm',
  target: 'node22',
  platform: 'node',
  mainFields: ['module', 'main'],
  minify: true,
  keepNames: false,
  // The SDK's default credential chain, replaced by its first link: Lambda gives the role's credentials as
  // environment variables (functions/core/lambda-credentials.ts; 112 KB less in every bundle).
  alias: { '@aws-sdk/credential-provider-node': './functions/core/lambda-credentials.ts' },
  // CommonJS dependencies bundled into an ES module still call require() for Node built-ins.
  banner:
    "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
} as const;
