// Command line of `npm run doctor`, parsed strictly: an unknown flag or a malformed value is a UsageError (exit 2
// with the usage), never silently ignored. The store flags are those of `npm run history`; the key is never taken
// on the command line.
import type { DoctorInvocation } from '../doctor/doctor';
import { readApiKeyOption } from './api-key-option';
import { UsageError } from './cli-runner';
import { parseCommandLine } from './cli-values';
import { EVERY_STORE_FLAG, parseStoreChoice, STORE_OPTIONS, storeUsage } from './store-options';

const DOCTOR_STORE_FLAGS = EVERY_STORE_FLAG;

export const DOCTOR_USAGE = `usage: npm run doctor -- [--data-dir DIR | --stack NAME | --table NAME [options]] [options]

Checks a local or deployed stack part by part: one line per check, ok, warn or FAIL, with what to do beside each
warn and failure (docs/operations.md "Is it working?"). Read-only: nothing is changed and no job is launched; the
key's check sends one Product-Live request (counted in the key's 50 a minute; --no-api skips it).

Which stack:
${storeUsage(DOCTOR_STORE_FLAGS)}
  (locally the stack need not run: the data checks open the directory as npm run history does)

options:
  --json               print {"ok", "checks": [{"id", "status", "summary", "fix"}]}
  --no-api             send no Product-Live request (deployed: the secret is still checked, its value not read)
  --athena             deployed: also run SELECT count(*) through the Athena workgroup (it costs one query)
  --api-url URL        local: the Product-Live API whose key to check (or env PRODUCT_LIVE_API_URL; default the
                       running stack's API)
  --api-key-file PATH  local: a file holding that key (or env PRODUCT_LIVE_API_KEY; default the running
                       emulator's own); never printed
  -h, --help           show this text

examples:
  npm run doctor
  npm run doctor -- --data-dir /tmp/other-store --json
  PRODUCT_LIVE_API_KEY=… npm run doctor -- --api-url https://api.product-live.com
  AWS_PROFILE=prod npm run doctor -- --stack ProductLiveSync
  AWS_PROFILE=prod npm run doctor -- --stack ProductLiveSync --athena

exit codes: 0 nothing failed (warnings allowed), 1 a check failed, 2 a bad command line or a setup problem
(no AWS credentials, a stack that does not exist, a --data-dir that is a file)`;

const OPTIONS = {
  json: { type: 'boolean' },
  'no-api': { type: 'boolean' },
  athena: { type: 'boolean' },
  'api-url': { type: 'string' },
  'api-key-file': { type: 'string' },
  ...STORE_OPTIONS,
} as const;

const REFUSED = {
  '--api-key':
    '--api-key is not taken: a key on the command line is in the process list, where other users of this machine can read it; use --api-key-file PATH or the environment variable PRODUCT_LIVE_API_KEY',
};

/** Parses `npm run doctor` arguments (and the environment's store names, API URL and key). */
export function parseDoctorArgs(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  warn: (message: string) => void = () => undefined,
): DoctorInvocation & { json: boolean } {
  const { values } = parseCommandLine(argv, { options: OPTIONS }, { unknownFlag: true, refused: REFUSED });
  const store = parseStoreChoice(values, env, DOCTOR_STORE_FLAGS);
  const flagUrl = values['api-url'];
  if (store.kind === 'aws') {
    if (flagUrl !== undefined || values['api-key-file'] !== undefined) {
      throw new UsageError(
        "--api-url and --api-key-file check a local key: a deployed stack's key is read from its secret",
      );
    }
    return {
      json: values.json ?? false,
      store,
      options: { api: !(values['no-api'] ?? false), athena: values.athena ?? false },
      apiUrl: undefined,
      key: undefined,
    };
  }
  if (values.athena) {
    throw new UsageError('--athena runs a query in a deployed Athena workgroup: it goes with --stack NAME');
  }
  const apiUrl = (flagUrl ?? env.PRODUCT_LIVE_API_URL)?.trim() || undefined;
  if (apiUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(apiUrl)) {
    throw new UsageError(`--api-url: not an http(s) URL: ${apiUrl}`);
  }
  const given = readApiKeyOption({ 'api-key-file': values['api-key-file'] }, env, warn);
  if (flagUrl !== undefined && !given) {
    throw new UsageError(
      '--api-url needs its key: --api-key-file PATH (or the environment variable PRODUCT_LIVE_API_KEY)',
    );
  }
  return {
    json: values.json ?? false,
    store,
    options: { api: !(values['no-api'] ?? false), athena: false },
    apiUrl: apiUrl?.replace(/\/+$/, ''),
    key: given
      ? {
          key: given.key,
          kind: given.source === '--api-key-file' ? 'file' : 'env',
          source:
            given.source === '--api-key-file'
              ? `the key of --api-key-file ${values['api-key-file']}`
              : 'the key of PRODUCT_LIVE_API_KEY',
        }
      : undefined,
  };
}
