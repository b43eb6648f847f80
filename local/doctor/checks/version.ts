// Check version.code (deployed): the code the stacks were deployed from (output Version, infra/code-version.ts)
// against this checkout's. A stack deployed from other code is a warn, never a fail: it may be on purpose.
import { codeVersion, comparePackageVersions, packageVersionOf } from '#infra/code-version';
import { type DoctorCheck, ok, warn } from '../doctor-check';

export function versionCheck(checkoutVersion: () => string = codeVersion): DoctorCheck {
  return {
    id: 'version.code',
    targets: ['aws'],
    async run(context) {
      if (context.target.kind !== 'aws') throw new Error('version.code checks a deployed stack only');
      const deployed = context.target.output('version');
      const checkout = checkoutVersion();
      if (deployed === checkout) return ok(`deployed from this checkout's code (${deployed})`);
      const order = comparePackageVersions(packageVersionOf(deployed), packageVersionOf(checkout));
      const how = order < 0 ? 'older code' : order > 0 ? 'newer code' : 'other code';
      return warn(
        `deployed from ${how} (${deployed}) than this checkout's (${checkout})`,
        order > 0
          ? 'update this checkout (git pull) before deploying from it; doctor judges with its own rules'
          : 'deploy this checkout once its changes are reviewed: npx cdk deploy --all',
      );
    },
  };
}
