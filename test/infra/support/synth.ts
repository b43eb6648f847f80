// Synthesizes the real app (infra/create-app.ts) with the context of cdk.json plus per-test overrides, the way
// `cdk synth` does, and hands out the templates. cdk-nag runs during that synthesis: any unacknowledged
// finding makes it throw.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { afterAll } from 'vitest';
import { PROJECT_ROOT } from '#infra/constructs/project-function';
import { createApp, type ProductLiveSyncApp } from '#infra/create-app';

/** The context cdk.json gives the app (feature flags and settings). */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

export interface SynthOptions {
  /** Context values as `-c key=value` would give them. */
  context?: Record<string, unknown>;
  /** Bundle the functions with esbuild (a few seconds); off, the assets are placeholders. */
  bundle?: boolean;
  /**
   * Also run the CDK's built-in CloudFormation template validation, as `cdk synth` does. Loading its rules
   * takes several seconds, so only the test that checks a clean synth turns it on; cdk-nag always runs.
   */
  cloudFormationValidation?: boolean;
}

export interface Synthesized extends ProductLiveSyncApp {
  assembly: CloudAssembly;
  statefulTemplate: Template;
  statelessTemplate: Template;
}

let outdirRoot: string | undefined;

/** A fresh cloud assembly directory; all of them are removed after the test file. */
function newOutdir(): string {
  outdirRoot ??= mkdtempSync(join(tmpdir(), 'product-live-sync-cdk-'));
  return mkdtempSync(join(outdirRoot, 'assembly-'));
}

// Registered on the importing test file's root suite.
afterAll(() => {
  if (outdirRoot) rmSync(outdirRoot, { recursive: true, force: true });
  outdirRoot = undefined;
});

export function synthesize(options: SynthOptions = {}): Synthesized {
  const built = createApp({
    builtinCloudFormationValidation: options.cloudFormationValidation ?? false,
    outdir: newOutdir(),
    context: {
      ...cdkJsonContext(),
      // The CLI's way of bundling no stack: NodejsFunction then skips esbuild.
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...options.context,
    },
  });
  const assembly = built.app.synth();
  return {
    ...built,
    assembly,
    statefulTemplate: Template.fromStack(built.stateful),
    statelessTemplate: Template.fromStack(built.stateless),
  };
}

/**
 * The variables every function gets besides its own, with the app's defaults (cdk.json's context): the
 * Powertools service (the function's name), namespace, log level and tracer, and source maps.
 */
export function commonEnvironment(service: string): Record<string, string> {
  return {
    POWERTOOLS_SERVICE_NAME: service,
    POWERTOOLS_METRICS_NAMESPACE: 'ProductLiveSync',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    POWERTOOLS_TRACE_ENABLED: 'true',
    NODE_OPTIONS: '--enable-source-maps',
  };
}
