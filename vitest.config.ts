import { defineConfig } from 'vitest/config';
import { LeastCoveredReporter } from '#test/setup/least-covered-reporter';

// Five suites by folder (see README "Tests"): unit (no network, AWS mocked), integration (real local
// servers started by the global setup), infra (CDK assertions and cdk-nag), browser (the dashboard in
// Debian's headless Chromium over the same local servers), security (the local stack attacked as a web page
// and a local user would; docs/testing.md).
export default defineConfig({
  test: {
    // The reporter below prints only when coverage is collected (npm run test:coverage; docs/testing.md).
    reporters: ['default', new LeastCoveredReporter()],
    // Off unless --coverage: `npm test` does not pay for it. Every file of functions/ counts, tested or not.
    coverage: {
      provider: 'v8',
      include: ['functions/**/*.ts'],
      reporter: ['text-summary', 'json-summary', 'html'],
      // The figures of npm run test:coverage (the unit suite and the handlers' tests on the local services) on
      // 2026-12-07 (93.25% lines, 82.09% branches) rounded down, less one point for the paths that depend on
      // timing in the tests on local servers: raise them when coverage rises, never lower them
      // (docs/testing.md, "Coverage").
      thresholds: { 'functions/**': { lines: 92, branches: 81 } },
    },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          setupFiles: ['test/setup/aws-matchers.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/setup/local-aws.global.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          globalSetup: ['test/setup/local-aws.global.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'security',
          include: ['test/security/**/*.test.ts'],
          globalSetup: ['test/setup/local-aws.global.ts'],
          testTimeout: 120_000,
          hookTimeout: 240_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          testTimeout: 120_000,
        },
      },
    ],
  },
});
