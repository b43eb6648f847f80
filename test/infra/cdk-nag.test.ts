import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { STATE_MACHINE_WILDCARD_ACTIONS } from '#infra/constructs/example-state-machine';
import { createApp } from '#infra/create-app';
import { cdkJsonContext, type Synthesized, synthesize } from './support/synth';
import { TemplateView } from './support/template-view';

let synth: Synthesized;

/** The statement active tracing adds to a function's role (X-Ray has no resource-level permissions). */
const XRAY = { actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], resources: ['*'] };
/** Step Functions' task callbacks, which accept no resource either: the callbacks, follow and launch roles'. */
const TASK_CALLBACKS = [
  { actions: ['states:SendTaskFailure', 'states:SendTaskSuccess'], resources: ['*'] },
  { actions: ['states:SendTaskHeartbeat'], resources: ['*'] },
  { actions: ['states:SendTaskFailure', 'states:SendTaskHeartbeat'], resources: ['*'] },
];
/** The example state machine's tracing and logging (Step Functions requires them on "*"). */
const EXAMPLE_STATE_MACHINE = [{ actions: [...STATE_MACHINE_WILDCARD_ACTIONS].sort(), resources: ['*'] }];
/** The "*" statements of a template, actions sorted, in a stable order. */
function wildcardStatements(view: TemplateView) {
  return view
    .allStatements()
    .filter((statement) => statement.resources.includes('*'))
    .map((statement) => ({ actions: [...statement.actions].sort(), resources: statement.resources }))
    .sort((a, b) => a.actions.join().localeCompare(b.actions.join()));
}
const sortedStatements = (statements: typeof TASK_CALLBACKS) =>
  [...statements].sort((a, b) => a.actions.join().localeCompare(b.actions.join()));

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
      { path: 'ProductLiveSync-Stateless/Callbacks/CallbacksFunction/Function', id: 'AwsSolutions-L1' },
      // X-Ray and the task callbacks' "*": one acknowledgment, checked against both action lists.
      tracing('ProductLiveSync-Stateless/Callbacks/CallbacksFunction/Role'),
      {
        path: 'ProductLiveSync-Stateless/Callbacks/CallbacksFunction/Role',
        id: expect.stringMatching(/^AwsSolutions-IAM5\[Resource::.*FilesBucket.*\/executions\/\*\]$/),
      },
      { path: 'ProductLiveSync-Stateless/Callbacks/FailureQueue', id: 'AwsSolutions-SQS3' },
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

  it('grants nothing on "*" but X-Ray\'s two write actions and the task callbacks, which AWS requires so', () => {
    const statements = new TemplateView(synth).allStatements();
    expect(statements.length).toBeGreaterThan(0);
    expect(wildcardStatements(new TemplateView(synth))).toEqual(
      sortedStatements([...TASK_CALLBACKS, ...Array.from({ length: 6 }, () => XRAY)]),
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

  it('grants nothing on "*" without tracing but the task callbacks, acknowledged on their three roles only', () => {
    const untraced = synthesize({ context: { tracing: 'false' } });
    expect(wildcardStatements(new TemplateView(untraced))).toEqual(sortedStatements(TASK_CALLBACKS));
    expect(
      acknowledgmentsOf(untraced.app)
        .filter(({ id }) => id === 'AwsSolutions-IAM5[Resource::*]')
        .map(({ path }) => path)
        .sort(),
    ).toEqual([
      'ProductLiveSync-Stateless/Callbacks/CallbacksFunction/Role',
      'ProductLiveSync-Stateless/Follow/FollowFunction/Role',
      'ProductLiveSync-Stateless/Launch/LaunchFunction/Role',
    ]);
  });

  it('fails the synth when another action on "*" joins the task callbacks', () => {
    const built = createApp({
      context: { ...cdkJsonContext(), tracing: 'false', 'aws:cdk:bundling-stacks': [] },
    });
    built.stateless.callbacks.handler.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['states:StartExecution'], resources: ['*'] }),
    );
    expect(() => built.app.synth()).toThrow(/AwsSolutions-IAM5\[Resource::\*\]/);
  });

  it('stays clean with every optional feature on, X-Ray and the task callbacks being the only "*"', () => {
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
        exampleStateMachine: 'true',
      },
    });
    const wildcard = wildcardStatements(new TemplateView(full));
    expect(wildcard).toEqual(
      sortedStatements([
        ...TASK_CALLBACKS,
        ...Array.from({ length: 6 }, () => XRAY),
        ...EXAMPLE_STATE_MACHINE,
      ]),
    );
    for (const fn of Object.values(full.stateless.functions).map((project) => project.function)) {
      expect(new TemplateView(full).statelessResource(fn).Properties).toMatchObject({
        TracingConfig: { Mode: 'Active' },
      });
    }
  });
});
