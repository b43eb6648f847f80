// Reads synthesized templates the way a reviewer does: resources by what they are (SyncFunction,
// ExecutionsTable) rather than by hashed logical ids, and references across the two stacks followed to what
// they point at. IAM statements and environments become plain, comparable values.
import type { CfnElement, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { Synthesized } from './synth';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Resource = { Type: string; Properties?: Record<string, Json>; DeletionPolicy?: string };
type TemplateJson = { Resources: Record<string, Resource>; Outputs?: Record<string, { Value: Json }> };

/** One IAM statement, with its resources described and everything sorted. */
export interface Statement {
  actions: string[];
  resources: string[];
  condition?: Json;
}

export class TemplateView {
  private readonly statefulJson: TemplateJson;
  private readonly statelessJson: TemplateJson;
  private readonly labels = new Map<string, string>();

  constructor(readonly synth: Synthesized) {
    this.statefulJson = synth.statefulTemplate.toJSON() as TemplateJson;
    this.statelessJson = synth.statelessTemplate.toJSON() as TemplateJson;
    const { stateful, stateless } = synth;
    const name = (stack: Stack, construct: IConstruct, label: string) =>
      this.labels.set(`${stack.stackName}/${this.logicalId(construct)}`, label);
    name(stateful, stateful.executionsTable, 'ExecutionsTable');
    name(stateful, stateful.stateTable, 'StateTable');
    name(stateful, stateful.idempotencyTable, 'IdempotencyTable');
    name(stateful, stateful.filesBucket, 'FilesBucket');
    name(stateful, stateful.accessLogsBucket, 'AccessLogsBucket');
    name(stateful, stateful.lakeBucket, 'LakeBucket');
    name(stateful, stateful.inboxBucket, 'InboxBucket');
    name(stateful, stateful.warehouse.resultsBucket, 'AthenaResultsBucket');
    name(stateless, stateless.lake.handler.function, 'LakeFunction');
    name(stateless, stateless.lake.handler.logGroup, 'LakeLogGroup');
    name(stateless, stateless.lake.handler.role, 'LakeRole');
    name(stateless, stateless.lake.schedulerRole, 'LakeSchedulerRole');
    name(stateless, stateless.sync.handler.function, 'SyncFunction');
    name(stateless, stateless.sync.handler.logGroup, 'SyncLogGroup');
    name(stateless, stateless.sync.handler.role, 'SyncRole');
    name(stateless, stateless.sync.schedulerRole, 'SchedulerRole');
    name(stateless, stateless.launch.handler.function, 'LaunchFunction');
    name(stateless, stateless.launch.handler.logGroup, 'LaunchLogGroup');
    name(stateless, stateless.launch.handler.role, 'LaunchRole');
    name(stateless, stateless.launch.queue, 'LaunchQueue');
    name(stateless, stateless.launch.deadLetterQueue, 'LaunchDeadLetterQueue');
    name(stateless, stateless.events.handler.function, 'EventsFunction');
    name(stateless, stateless.events.handler.logGroup, 'EventsLogGroup');
    name(stateless, stateless.events.handler.role, 'EventsRole');
    name(stateless, stateless.events.failureQueue, 'EventsFailureQueue');
    name(stateless, stateless.follow.handler.function, 'FollowFunction');
    name(stateless, stateless.follow.handler.logGroup, 'FollowLogGroup');
    name(stateless, stateless.follow.handler.role, 'FollowRole');
    name(stateless, stateless.follow.schedulerRole, 'FollowSchedulerRole');
    name(stateless, stateless.callbacks.handler.function, 'CallbacksFunction');
    name(stateless, stateless.callbacks.handler.logGroup, 'CallbacksLogGroup');
    name(stateless, stateless.callbacks.handler.role, 'CallbacksRole');
    name(stateless, stateless.callbacks.failureQueue, 'CallbacksFailureQueue');
    name(stateless, stateless.monitoring.topic, 'AlarmTopic');
    name(stateless, stateless.dashboard.dashboard, 'Dashboard');
    if (stateless.alerts) {
      name(stateless, stateless.alerts.topic, 'AlertTopic');
      name(stateless, stateless.alerts.rule, 'AlertRule');
      if (stateless.alerts.healthRule) name(stateless, stateless.alerts.healthRule, 'HealthAlertRule');
      name(stateless, stateless.alerts.key, 'AlertTopicKey');
    }
  }

  /** The logical id of a construct's CloudFormation resource. */
  logicalId(construct: IConstruct): string {
    const element = (construct.node.defaultChild ?? construct) as CfnElement;
    return element.stack.resolve(element.logicalId) as string;
  }

  /** A resource of the stateless stack by its construct. */
  statelessResource(construct: IConstruct): Resource {
    const resource = this.statelessJson.Resources[this.logicalId(construct)];
    if (!resource) throw new Error(`no resource for ${construct.node.path}`);
    return resource;
  }

  statefulResource(construct: IConstruct): Resource {
    const resource = this.statefulJson.Resources[this.logicalId(construct)];
    if (!resource) throw new Error(`no resource for ${construct.node.path}`);
    return resource;
  }

  /** Every statement of every IAM policy attached to the role, described and sorted. */
  statementsOf(role: IConstruct): Statement[] {
    const roleId = this.logicalId(role);
    const statements: Statement[] = [];
    for (const resource of Object.values(this.statelessJson.Resources)) {
      if (resource.Type !== 'AWS::IAM::Policy') continue;
      const roles = (resource.Properties?.Roles ?? []) as { Ref?: string }[];
      if (!roles.some((ref) => ref.Ref === roleId)) continue;
      const document = resource.Properties?.PolicyDocument as { Statement: Record<string, Json>[] };
      for (const statement of document.Statement) {
        expectAllow(statement);
        const list = (value: Json | undefined) =>
          Array.isArray(value) ? value : value === undefined ? [] : [value];
        statements.push({
          actions: list(statement.Action).map(String).sort(),
          resources: list(statement.Resource)
            .map((value) => this.describe(value, 'stateless'))
            .sort(),
          ...(statement.Condition ? { condition: this.describeDeep(statement.Condition, 'stateless') } : {}),
        });
      }
    }
    return sortStatements(statements);
  }

  /** Every IAM policy statement of the stateless stack (all roles). */
  allStatements(): Statement[] {
    const statements: Statement[] = [];
    for (const resource of Object.values(this.statelessJson.Resources)) {
      if (resource.Type !== 'AWS::IAM::Policy') continue;
      const document = resource.Properties?.PolicyDocument as { Statement: Record<string, Json>[] };
      for (const statement of document.Statement) {
        const list = (value: Json | undefined) =>
          Array.isArray(value) ? value : value === undefined ? [] : [value];
        statements.push({
          actions: list(statement.Action).map(String).sort(),
          resources: list(statement.Resource).map((value) => this.describe(value, 'stateless')),
        });
      }
    }
    return statements;
  }

  /** The function's environment variables, references described (`ExecutionsTable`, `LaunchQueue`). */
  environmentOf(fn: IConstruct): Record<string, string> {
    const props = this.statelessResource(fn).Properties ?? {};
    const variables = ((props.Environment as { Variables?: Record<string, Json> } | undefined)?.Variables ??
      {}) as Record<string, Json>;
    return Object.fromEntries(
      Object.entries(variables).map(([key, value]) => [key, this.describe(value, 'stateless')]),
    );
  }

  /** A template value as text: `ExecutionsTable.Arn/index/byOpen`, `<AWS::Region>`, or the literal. */
  describe(value: Json, stack: 'stateful' | 'stateless'): string {
    const stackName = stack === 'stateful' ? this.synth.stateful.stackName : this.synth.stateless.stackName;
    const label = (id: string) => this.labels.get(`${stackName}/${id}`) ?? id;
    if (typeof value === 'string') return value;
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      if ('Ref' in value) {
        const id = String(value.Ref);
        return id.startsWith('AWS::') ? `<${id}>` : label(id);
      }
      const getAtt = value['Fn::GetAtt'];
      if (Array.isArray(getAtt)) return `${label(String(getAtt[0]))}.${String(getAtt[1])}`;
      const join = value['Fn::Join'];
      if (Array.isArray(join)) {
        const [delimiter, parts] = join as [string, Json[]];
        return parts.map((part) => this.describe(part, stack)).join(delimiter);
      }
      const stackOutput = value['Fn::GetStackOutput'] as { StackName?: Json; OutputName?: Json } | undefined;
      if (stackOutput) {
        if (stackOutput.StackName !== this.synth.stateful.stackName) {
          throw new Error(`unexpected cross-stack reference ${JSON.stringify(value)}`);
        }
        const output = this.statefulJson.Outputs?.[String(stackOutput.OutputName)];
        if (!output) throw new Error(`the stateful stack has no output ${String(stackOutput.OutputName)}`);
        return this.describe(output.Value, 'stateful');
      }
    }
    return JSON.stringify(value);
  }

  private describeDeep(value: Json, stack: 'stateful' | 'stateless'): Json {
    if (typeof value === 'string' || value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((item) => this.describeDeep(item, stack));
    if (Object.keys(value).some((key) => key === 'Ref' || key.startsWith('Fn::')))
      return this.describe(value, stack);
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, this.describeDeep(item, stack)]),
    );
  }
}

function expectAllow(statement: Record<string, Json>): void {
  if (statement.Effect !== 'Allow') throw new Error(`unexpected ${String(statement.Effect)} statement`);
}

/** Statements in a stable order, so that lists compare with toEqual. */
export function sortStatements(statements: Statement[]): Statement[] {
  return [...statements].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}
