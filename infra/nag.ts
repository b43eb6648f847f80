// Layer flow: stacks and constructs -> these helpers -> acknowledgments of cdk-nag (AwsSolutions) findings,
// each for one exact finding on one construct, with its reason.
import { Stack, Validations } from 'aws-cdk-lib';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges AwsSolutions-IAM5 for exactly these wildcard resources in the policies under `scope` (e.g. a
 * role), nothing else: another wildcard added later is still reported.
 *
 * IAM5 names a finding after the resource as it appears in the template. A resource taken from the other
 * stack only reaches its final form (an Fn::GetStackOutput) once the app resolves cross-stack references,
 * after construction; so the finding ids are computed in a construct validation, which runs after that
 * step and before the cdk-nag plugin reads the acknowledgments.
 */
export function acknowledgeWildcardResources(
  scope: IConstruct,
  resources: readonly string[],
  reason: string,
): void {
  scope.node.addValidation({
    validate: () => {
      const stack = Stack.of(scope);
      for (const resource of resources) {
        Validations.of(scope).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${flattenCfnReference(stack.resolve(resource))}]`,
          reason,
        });
      }
      return [];
    },
  });
}
