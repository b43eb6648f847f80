// Layer flow: `npm run doctor` (local/cli/doctor.ts) -> runDoctor -> a context over the local stack or a deployed one
// -> every check of DOCTOR_CHECKS that applies, one after the other -> the report. Read-only: every check reads;
// the one Product-Live request (api.key, unless --no-api) and the one Athena query (--athena) are the only costs.
import type { FetchLike } from '#core/product-live/product-live-client';
import { openStore, type StoreChoice } from '../store/open-store';
import { DOCTOR_CHECKS } from './checks';
import {
  createDeployedContext,
  createDoctorAwsClients,
  type DeployedTarget,
  type DoctorAwsClients,
} from './deployed-target';
import {
  type CheckResult,
  type DoctorCheck,
  type DoctorReport,
  type Finding,
  fail,
  NotCheckedError,
  notChecked,
} from './doctor-check';
import type { DoctorContext, DoctorOptions } from './doctor-context';
import { createLocalContext, type GivenKey, type LocalTarget } from './local-target';
import { isAccessDenied, oneLine } from './wording';

/** Runs the checks that apply to the context's target, in order; a check that throws is reported, never fatal. */
export async function runChecks(
  context: DoctorContext,
  checks: readonly DoctorCheck[] = DOCTOR_CHECKS,
  onResult?: (result: CheckResult) => void,
): Promise<DoctorReport> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    if (!check.targets.includes(context.target.kind)) continue;
    const finding = await runOne(check, context);
    const result: CheckResult = { id: check.id, ...finding };
    results.push(result);
    onResult?.(result);
  }
  return { ok: results.every((result) => result.status !== 'fail'), checks: results };
}

async function runOne(check: DoctorCheck, context: DoctorContext): Promise<Finding> {
  try {
    return await check.run(context);
  } catch (error) {
    if (error instanceof NotCheckedError) return notChecked(error.message, error.fix);
    const message = oneLine(error instanceof Error ? `${error.name}: ${error.message}` : String(error), 200);
    if (isAccessDenied(error)) {
      return notChecked(
        `these AWS credentials may not make a call of this check (${message})`,
        'attach the read-only policy docs/doctor-policy.json to your user or role',
      );
    }
    return fail(
      `could not check: ${message}`,
      context.target.kind === 'aws'
        ? 'check the names (--stack NAME or the table flags) and the region (AWS_REGION); run doctor again'
        : 'run doctor again; if it repeats, restart npm start',
    );
  }
}

/** What the command line asked for. */
export interface DoctorInvocation {
  store: StoreChoice;
  options: DoctorOptions;
  /** Local only: the API whose key to try (`--api-url` or PRODUCT_LIVE_API_URL). */
  apiUrl: string | undefined;
  /** Local only: the key to try (`--api-key-file` or PRODUCT_LIVE_API_KEY). */
  key: GivenKey | undefined;
}

export interface DoctorDeps {
  env: Record<string, string | undefined>;
  /** Progress notes for people (starting DynamoDB Local on a data directory takes a few seconds). */
  note?: (message: string) => void;
  now?: () => number;
  fetch?: FetchLike;
  /** The AWS clients of the deployed checks (default: the environment's configuration). */
  clients?: () => DoctorAwsClients;
  checks?: readonly DoctorCheck[];
  /** Told each result as soon as it is known (the text output prints as it goes). */
  onResult?: (result: CheckResult) => void;
  /** Told what is checked, once the target is known. */
  onTarget?: (label: string) => void;
}

/**
 * Checks the chosen stack and returns the report. Opening a deployed store can fail as a whole (no credentials, a
 * stack that does not exist): that rejects, for the CLI to explain; everything after is a check's finding.
 */
export async function runDoctor(invocation: DoctorInvocation, deps: DoctorDeps): Promise<DoctorReport> {
  const common = {
    options: invocation.options,
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  };
  if (invocation.store.kind === 'local') {
    const context = await createLocalContext({
      ...common,
      dataDir: invocation.store.dataDir,
      apiUrl: invocation.apiUrl,
      key: invocation.key,
      env: deps.env,
      ...(deps.note ? { note: deps.note } : {}),
    });
    try {
      const { stackFile } = context.target as LocalTarget;
      deps.onTarget?.(
        `the local stack in ${invocation.store.dataDir} (${stackFile.status === 'running' ? 'running' : 'not running'})`,
      );
      return await runChecks(context, deps.checks, deps.onResult);
    } finally {
      await context.close();
    }
  }
  const store = await openStore(invocation.store, {
    env: deps.env,
    ...(deps.note ? { note: deps.note } : {}),
  });
  const clients = (deps.clients ?? createDoctorAwsClients)();
  try {
    const context = createDeployedContext({
      ...common,
      store,
      stackName: invocation.store.stackName,
      clients,
    });
    deps.onTarget?.((context.target as DeployedTarget).label);
    return await runChecks(context, deps.checks, deps.onResult);
  } finally {
    for (const client of Object.values(clients)) client.destroy();
    await store.close();
  }
}
