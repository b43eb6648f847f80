// Layer flow: stacks and constructs -> these helpers -> acknowledgments of cdk-nag (AwsSolutions) findings,
// each for one exact finding on one construct, with its reason.
import { Stack, Validations } from 'aws-cdk-lib';
import { CfnPolicy, Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { rules } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges AwsSolutions-IAM5 for exactly these wildcard resources in the policies under `scope` (e.g. a
 * role), nothing else: another wildcard added later is still reported.
 *
 * IAM5 names a finding after the resource as it appears in the template. A resource taken from the other
 * stack only reaches its final form (an Fn::GetStackOutput) once the app resolves cross-stack references,
 * after construction; so the finding ids are computed in a construct validation, which runs after that
 * step and before the cdk-nag plugin reads the acknowledgments. Each id is the one cdk-nag's own rule names.
 */
export function acknowledgeWildcardResources(
  scope: IConstruct,
  resources: readonly string[],
  reason: string,
): void {
  scope.node.addValidation({
    validate: () => {
      const stack = Stack.of(scope);
      for (const id of wildcardFindingIds(resources.map((resource) => stack.resolve(resource)))) {
        Validations.of(scope).acknowledge({ id, reason });
      }
      return [];
    },
  });
}

/**
 * The ids of the IAM5 findings of these resolved resources, as cdk-nag names them: its public rule
 * (IAMNoWildcardPermissions) is asked about a policy of one statement granting them, in a stack of its own.
 */
function wildcardFindingIds(resolvedResources: readonly unknown[]): string[] {
  const probe = new CfnPolicy(new Stack(), 'WildcardProbe', {
    policyName: 'wildcard-probe',
    policyDocument: { Statement: [{ Effect: 'Allow', Action: 'probe:Probe', Resource: resolvedResources }] },
  });
  const findings = rules.iam.IAMNoWildcardPermissions(probe);
  return Array.isArray(findings) ? findings.map((finding) => `AwsSolutions-IAM5[${finding}]`) : [];
}

/** The X-Ray actions of active tracing: they have no resource-level permissions, so AWS requires "*". */
const XRAY_WRITE_ACTIONS: readonly string[] = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];

/**
 * Acknowledges AwsSolutions-IAM5[Resource::*] on a role, but only while every statement of its policies that
 * names "*" grants actions allowed here and nothing else: actions AWS offers no resource-level permission for
 * (X-Ray's writes, Step Functions' task callbacks). IAM5 names the finding after the resource alone, so a plain
 * acknowledgment would also cover, say, s3:GetObject on "*" added later; checked here after construction, such
 * a statement leaves the finding reported. Calls for one role add up: one validation checks their union.
 */
export function acknowledgeActionsOnWildcard(
  role: IConstruct,
  actions: readonly string[],
  reason: string,
): void {
  const known = wildcardAllowances.get(role);
  if (known) {
    for (const action of actions) known.actions.add(action);
    known.reasons.push(reason);
    return;
  }
  const allowance = { actions: new Set(actions), reasons: [reason] };
  wildcardAllowances.set(role, allowance);
  role.node.addValidation({
    validate: () => {
      const stack = Stack.of(role);
      const statements = role.node
        .findAll()
        .filter((construct): construct is Policy => construct instanceof Policy)
        .flatMap(
          (policy) => (stack.resolve(policy.document.toJSON()) as PolicyJson | undefined)?.Statement ?? [],
        );
      const list = (value: unknown) => (Array.isArray(value) ? value : value === undefined ? [] : [value]);
      const onlyAllowedOnWildcard = statements
        .filter((statement) => list(statement.Resource).includes('*'))
        .every((statement) => list(statement.Action).every((action) => allowance.actions.has(action)));
      if (onlyAllowedOnWildcard) {
        Validations.of(role).acknowledge({
          id: 'AwsSolutions-IAM5[Resource::*]',
          reason: allowance.reasons.join(' '),
        });
      }
      return [];
    },
  });
}

const wildcardAllowances = new WeakMap<IConstruct, { actions: Set<string>; reasons: string[] }>();

/** Acknowledges active tracing's "*" on a traced function's role (see acknowledgeActionsOnWildcard). */
export function acknowledgeTracingWildcard(role: IConstruct, reason: string): void {
  acknowledgeActionsOnWildcard(role, XRAY_WRITE_ACTIONS, reason);
}

/**
 * Step Functions' task callbacks: they accept no resource-level permission (the task token names the task), so
 * AWS requires "*" for them.
 */
export const TASK_CALLBACK_ACTIONS = {
  result: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
  failure: ['states:SendTaskFailure'],
  heartbeat: ['states:SendTaskHeartbeat'],
} as const;

/** Grants Step Functions task callbacks on "*" and acknowledges that finding for exactly these actions. */
export function grantTaskCallbacks(
  role: IConstruct & { addToPrincipalPolicy(statement: PolicyStatement): unknown },
  actions: readonly string[],
  sid: string,
): void {
  role.addToPrincipalPolicy(new PolicyStatement({ sid, actions: [...actions], resources: ['*'] }));
  acknowledgeActionsOnWildcard(
    role,
    actions,
    `${actions.join(', ')}: Step Functions task callbacks accept no resource-level permissions (the task token ` +
      'names the task), so AWS requires "*" for them; granted for those actions only.',
  );
}

interface PolicyJson {
  Statement?: Array<{ Action?: unknown; Resource?: unknown }>;
}
