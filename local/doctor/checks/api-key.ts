// Check api.key: the Product-Live API key works. Deployed: the sync's secret exists and holds a value
// (DescribeSecret), then, unless --no-api, its key (GetSecretValue) answers one list request of Product-Live.
// Locally: the key of --api-key-file / PRODUCT_LIVE_API_KEY (or the running emulator's own) against --api-url (or
// the running stack's API). The one request counts against the key's 50 requests a minute, shared with the sync.
import {
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';
import { ApiKeyError, parseSecretValue } from '#core/api-key';
import { ProductLiveAuthError, ProductLiveError } from '#core/product-live/product-live.errors';
import { type FetchLike, ProductLiveClient } from '#core/product-live/product-live-client';
import type { DeployedTarget } from '../deployed-target';
import { type DoctorCheck, type Finding, fail, NotCheckedError, ok, warn } from '../doctor-check';
import type { DoctorContext } from '../doctor-context';
import type { LocalTarget } from '../local-target';
import { awsErrorName, instant, oneLine } from '../wording';

/** What one list request with the key answered. */
export type KeyTrial =
  | { kind: 'accepted'; total: number }
  | { kind: 'refused'; status: number }
  | { kind: 'unanswered'; reason: string };

/** One `GET /v1/data_factory/job_executions?size=1` with the key (a retry at most, on a transient failure). */
async function tryKey(url: string, key: string, fetch?: FetchLike): Promise<KeyTrial> {
  const client = new ProductLiveClient({
    baseUrl: url,
    apiKey: key,
    maxAttempts: 2,
    timeoutMs: 15_000,
    retryBaseMs: 500,
    retryMaxMs: 2_000,
    ...(fetch ? { fetch } : {}),
  });
  try {
    const list = await client.listJobExecutions({ page: 0, size: 1 });
    return { kind: 'accepted', total: list.totalElements };
  } catch (error) {
    if (error instanceof ProductLiveAuthError) return { kind: 'refused', status: error.status };
    if (error instanceof ProductLiveError) return { kind: 'unanswered', reason: oneLine(error.message) };
    throw error;
  }
}

/** What to do when Product-Live refuses a local key, by where the key came from. */
const LOCAL_KEY_FIXES = {
  file: (url: string) =>
    `put the account's current key in that file (one line), and give npm start the same: npm start -- --api-url ${url} --api-key-file PATH`,
  env: () =>
    "set PRODUCT_LIVE_API_KEY to the account's current key (or use --api-key-file PATH), for npm start too",
  emulator: () => 'the emulator refused its own key: restart npm start',
} as const;

export function apiKeyCheck(): DoctorCheck {
  return {
    id: 'api.key',
    targets: ['local', 'aws'],
    run: (context) =>
      context.target.kind === 'local'
        ? checkLocalKey(context, context.target)
        : checkDeployedKey(context, context.target),
  };
}

async function checkLocalKey(context: DoctorContext, target: LocalTarget): Promise<Finding> {
  const { api } = target;
  if (api.key === undefined) {
    return api.url === undefined
      ? ok(`not checked: ${api.reason}`)
      : warn(`not checked: ${api.reason}`, api.fix);
  }
  if (!context.options.api) return ok(`not checked (--no-api): ${api.url} with ${api.keySource}`);
  const trial = await tryKey(api.url, api.key, context.fetch);
  const where = `Product-Live at ${api.url}`;
  switch (trial.kind) {
    case 'accepted':
      return ok(`${where} accepted ${api.keySource} (1 request; ${trial.total} executions visible)`);
    case 'refused':
      return fail(
        `${where} refused ${api.keySource} (HTTP ${trial.status})`,
        LOCAL_KEY_FIXES[api.keyKind](api.url),
      );
    case 'unanswered':
      return warn(
        `the key could not be tried: ${where} did not answer (${trial.reason})`,
        'check --api-url and the network, then run doctor again',
      );
  }
}

async function checkDeployedKey(context: DoctorContext, target: DeployedTarget): Promise<Finding> {
  const fn = await target.syncFunction();
  const config = fn.config;
  if (!config) {
    throw new NotCheckedError(
      `the sync function's configuration is invalid (see sync.schedule)`,
      'fix what sync.schedule says first',
    );
  }
  if (config.apiKey.kind !== 'secret') {
    return fail(
      `the sync function ${fn.name} has no PRODUCT_LIVE_API_KEY_SECRET_ID`,
      'deploy this checkout (npx cdk deploy --all): the stack always sets it',
    );
  }
  const secretId = config.apiKey.secretId;
  const putValue = `aws secretsmanager put-secret-value --secret-id ${secretId} --secret-string file://api-key.txt (the key as plain text, or {"apiKey": "…"}; the functions read it again within 5 minutes)`;
  let described: DescribeSecretCommandOutput;
  try {
    described = await target.clients.secrets.send(new DescribeSecretCommand({ SecretId: secretId }));
  } catch (error) {
    if (awsErrorName(error) !== 'ResourceNotFoundException') throw error;
    return fail(
      `the API key's secret ${secretId} does not exist`,
      `create it: aws secretsmanager create-secret --name ${secretId} --secret-string file://api-key.txt (docs/deploy.md, step 1)`,
    );
  }
  if (described.DeletedDate) {
    return fail(
      `the API key's secret ${secretId} is scheduled for deletion (${instant(described.DeletedDate.toISOString())})`,
      `restore it: aws secretsmanager restore-secret --secret-id ${secretId}`,
    );
  }
  const current = Object.values(described.VersionIdsToStages ?? {}).some((stages) =>
    stages.includes('AWSCURRENT'),
  );
  if (!current)
    return fail(`the API key's secret ${secretId} holds no value`, `put the key in it: ${putValue}`);
  if (!context.options.api)
    return ok(`the secret ${secretId} holds a value (the key was not tried: --no-api)`);

  const value = await target.clients.secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
  let key: string;
  try {
    key = parseSecretValue(value.SecretString, secretId);
  } catch (error) {
    if (!(error instanceof ApiKeyError)) throw error;
    return fail(`the secret holds no usable key: ${error.message}`, `put the key in it: ${putValue}`);
  }
  const trial = await tryKey(config.apiUrl, key, context.fetch);
  const where = `Product-Live at ${config.apiUrl}`;
  switch (trial.kind) {
    case 'accepted':
      return ok(
        `${where} accepted the key of the secret ${secretId} (1 request of the key's 50 a minute; ${trial.total} executions visible)`,
      );
    case 'refused':
      return fail(
        `${where} refused the key of the secret ${secretId} (HTTP ${trial.status})`,
        `update the secret: ${putValue}`,
      );
    case 'unanswered':
      return warn(
        `the key could not be tried from this machine: ${where} did not answer (${trial.reason})`,
        'check this machine’s network, then run doctor again; sync.last-run tells whether the deployed sync reaches it',
      );
  }
}
