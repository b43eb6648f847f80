import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../infra/create-app';
import { cdkJsonContext, type Synthesized, synthesize } from './support/synth';
import { TemplateView } from './support/template-view';

let synth: Synthesized;

/** The statement active tracing adds to a function's role (X-Ray has no resource-level permissions). */
const XRAY = { actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], resources: ['*'] };

// Synthesizing the app once per file takes a few seconds (longer on a busy machine).
beforeAll(() => {
  synth = synthesize({ cloudFormationValidation: true });
}, 120_000);

interface Acknowledgment {
  path: string;
  id: string;
  reason: string;
}

/** Every acknowledgment recorded in the app, where it was made. */
function acknowledgmentsOf(root: IConstruct): Acknowledgment[] {
  const found: Acknowledgment[] = [];
  for (const construct of root.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [qualifiedId, reason] of Object.entries(entry.data as Record<string, string>)) {
        // aws-cdk-lib records an id without a namespace as `Annotation::<id>`; cdk-nag matches it without.
        found.push({ path: construct.node.path, id: qualifiedId.replace(/^annotation::/i, ''), reason });
      }
    }
  }
  return found;
}

describe('cdk-nag AwsSolutions', () => {
  it('synthesizes with no unacknowledged finding, nor CloudFormation validation error (either would throw)', () => {
    const report = JSON.parse(
      readFileSync(join(synth.assembly.directory, 'validation-report.json'), 'utf8'),
    ) as {
      pluginReports: { pluginName: string; violations?: unknown[] }[];
    };
    for (const plugin of report.pluginReports) expect(plugin.violations ?? [], plugin.pluginName).toEqual([]);
  });

  it('fails the synth on a finding nobody acknowledged', () => {
    const built = createApp({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    built.stateless.sync.handler.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }),
    );
    expect(() => built.app.synth()).toThrow(/AwsSolutions-IAM5\[Resource::\*\]/);
  });

  it('acknowledges exactly these findings, each where it occurs and with a reason', () => {
    const acknowledgments = acknowledgmentsOf(synth.app);
    const summary = acknowledgments
      .map(({ path, id }) => ({ path, id }))
      .sort((a, b) => a.path.localeCompare(b.path));
    // Active tracing is on by default: each function role acknowledges X-Ray's "*", and only that.
    const tracing = (role: string) => ({ path: role, id: 'AwsSolutions-IAM5[Resource::*]' });
    expect(summary).toEqual([
      { path: 'ProductLiveSync-Stateful/AccessLogsBucket', id: 'AwsSolutions-S1' },
      { path: 'ProductLiveSync-Stateless/Events/EventsFunction/Function', id: 'AwsSolutions-L1' },
      tracing('ProductLiveSync-Stateless/Events/EventsFunction/Role'),
      { path: 'ProductLiveSync-Stateless/Events/FailureQueue', id: 'AwsSolutions-SQS3' },
      { path: 'ProductLiveSync-Stateless/Follow/FollowFunction/Function', id: 'AwsSolutions-L1' },
      tracing('ProductLiveSync-Stateless/Follow/FollowFunction/Role'),
      {
        path: 'ProductLiveSync-Stateless/Follow/FollowFunction/Role',
        id: expect.stringMatching(/^AwsSolutions-IAM5\[Resource::.*FilesBucket.*\/executions\/\*\]$/),
      },
      {
        path: 'ProductLiveSync-Stateless/Follow/SchedulerRole',
        id: expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<FollowFollowFunction\w+\.Arn>:\*\]$/),
      },
      { path: 'ProductLiveSync-Stateless/Lake/LakeFunction/Function', id: 'AwsSolutions-L1' },
      tracing('ProductLiveSync-Stateless/Lake/LakeFunction/Role'),
      {
        path: 'ProductLiveSync-Stateless/Lake/LakeFunction/Role',
        id: expect.stringMatching(
          /^AwsSolutions-IAM5\[Resource::.*FilesBucket.*\/executions\/\*\/execution\.json\]$/,
        ),
      },
      {
        path: 'ProductLiveSync-Stateless/Lake/LakeFunction/Role',
        id: expect.stringMatching(/^AwsSolutions-IAM5\[Resource::.*LakeBucket.*\/lake\/\*\]$/),
      },
      {
        path: 'ProductLiveSync-Stateless/Lake/SchedulerRole',
        id: expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<LakeLakeFunction\w+\.Arn>:\*\]$/),
      },
      {
        path: 'ProductLiveSync-Stateless/Launch/LaunchFunction/Function',
        id: 'AwsSolutions-L1',
      },
      tracing('ProductLiveSync-Stateless/Launch/LaunchFunction/Role'),
      {
        path: 'ProductLiveSync-Stateless/Launch/LaunchFunction/Role',
        id: expect.stringMatching(/^AwsSolutions-IAM5\[Resource::.*InboxBucket.*\/\*\]$/),
      },
      {
        path: 'ProductLiveSync-Stateless/Sync/SchedulerRole',
        id: expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<SyncSyncFunction\w+\.Arn>:\*\]$/),
      },
      { path: 'ProductLiveSync-Stateless/Sync/SyncFunction/Function', id: 'AwsSolutions-L1' },
      tracing('ProductLiveSync-Stateless/Sync/SyncFunction/Role'),
      {
        path: 'ProductLiveSync-Stateless/Sync/SyncFunction/Role',
        id: expect.stringMatching(/^AwsSolutions-IAM5\[Resource::.*FilesBucket.*\/executions\/\*\]$/),
      },
    ]);
    for (const { id, reason } of acknowledgments) expect(reason.length, id).toBeGreaterThan(60);
  });

  it('grants nothing on "*" but X-Ray\'s two write actions, which AWS requires for active tracing', () => {
    const statements = new TemplateView(synth).allStatements();
    expect(statements.length).toBeGreaterThan(0);
    expect(statements.filter((statement) => statement.resources.includes('*'))).toEqual(
      Array.from({ length: 5 }, () => XRAY),
    );
    expect(
      statements.filter((statement) => statement.actions.some((action) => action.includes('*'))),
    ).toEqual([]);
  });

  it('fails the synth when another action on "*" joins X-Ray\'s in a traced role', () => {
    const built = createApp({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    built.stateless.events.handler.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['events:PutEvents'], resources: ['*'] }),
    );
    expect(() => built.app.synth()).toThrow(/AwsSolutions-IAM5\[Resource::\*\]/);
  });

  it('grants nothing on "*" at all without tracing', () => {
    const untraced = synthesize({ context: { tracing: 'false' } });
    const statements = new TemplateView(untraced).allStatements();
    expect(statements.filter((statement) => statement.resources.includes('*'))).toEqual([]);
    expect(acknowledgmentsOf(untraced.app).map(({ id }) => id)).not.toContain(
      'AwsSolutions-IAM5[Resource::*]',
    );
  });

  it('stays clean with every optional feature on, X-Ray being the only "*" (AWS requires it)', () => {
    const full = synthesize({
      context: {
        tracing: 'true',
        alarmEmail: 'ops@example.com',
        alertEmails: '["ops@example.com","data@example.com"]',
        alertStatuses: 'FAILED,TIMEDOUT,USER_ERROR',
        eventBusName: 'product-live',
        apiKeySecret: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:product-live/api-key',
        apiKeySecretKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        fileAllowedHosts: 'files.example.com',
        launchInputBuckets: 'acme-exports/erp/',
        launchInbox: JSON.stringify([{ prefix: 'imports/', jobId: '65819ba43ad5b963658ab35d' }]),
      },
    });
    const wildcard = new TemplateView(full)
      .allStatements()
      .filter((statement) => statement.resources.includes('*'));
    expect(wildcard).toEqual([XRAY, XRAY, XRAY, XRAY, XRAY]);
    for (const fn of Object.values(full.stateless.functions).map((project) => project.function)) {
      expect(new TemplateView(full).statelessResource(fn).Properties).toMatchObject({
        TracingConfig: { Mode: 'Active' },
      });
    }
  });
});
