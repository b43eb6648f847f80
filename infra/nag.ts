// Layer flow: stacks and constructs -> these helpers -> acknowledgments of cdk-nag (AwsSolutions) findings,
// each for one exact finding on one construct, with its reason.
import { Stack, Validations } from 'aws-cdk-lib';
import { CfnPolicy, Policy } from 'aws-cdk-lib/aws-iam';
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
 * Acknowledges AwsSolutions-IAM5[Resource::*] on a traced function's role, but only while every statement of
 * its policies that names "*" grants X-Ray's write actions and nothing else. IAM5 names the finding after the
 * resource alone, so a plain acknowledgment would also cover, say, s3:GetObject on "*" added later; checked
 * here after construction, such a statement leaves the finding reported.
 */
export function acknowledgeTracingWildcard(role: IConstruct, reason: string): void {
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
      const onlyXRayOnWildcard = statements
        .filter((statement) => list(statement.Resource).includes('*'))
        .every((statement) => list(statement.Action).every((action) => XRAY_WRITE_ACTIONS.includes(action)));
      if (onlyXRayOnWildcard) {
        Validations.of(role).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason });
      }
      return [];
    },
  });
}

interface PolicyJson {
  Statement?: Array<{ Action?: unknown; Resource?: unknown }>;
}
