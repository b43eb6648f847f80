// Bundled in place of @aws-sdk/credential-provider-node (the esbuild alias of infra/constructs/bundling-settings.ts):
// in Lambda the runtime always gives the function role's credentials as environment variables, which is
// where the SDK's default chain looks first. The rest of that chain (SSO, profiles, STS web identity, IMDS, and
// the nested clients they need) never runs in a function: about 80 KB of every bundle. Local runs, tests and
// the CLIs are not bundled: they keep the full default chain.
import { fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]) => fromEnv(init);
