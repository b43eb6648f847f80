// `npm start`: the whole system on this machine (docs/local.md).
//   npm start                      start the local stack, sync now and every --every, run the launcher
//   npm start -- --once [--json]   one sync run, print its summary, publish its events, exit 0 (ok) or 1 (failed)
import { readFile } from 'node:fs/promises';
import {
  checkJobExpectations,
  expectationsToJson,
  type JobExpectations,
} from '#core/health/job-expectations';
import { type InboxRule, InboxRules } from '#core/inbox-rules';
import { ProductLiveAuthError, ProductLiveError } from '#core/product-live/product-live.errors';
import { ProductLiveClient } from '#core/product-live/product-live-client';
import type { SyncSummary } from '#functions/sync/sync-summary';
import { findFreePort, JavaMissingError, PortInUseError } from '../aws/local-aws-servers';
import type { SyncActivity } from '../dashboard';
import { type LocalStack, startLocalStack } from '../stack/local-stack';
import {
  DEFAULT_DASHBOARD_PORT,
  DEFAULT_DATA_DIR,
  DEFAULT_LOCAL_PORTS,
  type LocalStackState,
} from '../stack/local-stack-settings';
import { API_KEY_OPTIONS, API_KEY_USAGE, readApiKeyOption } from './api-key-option';
import { runCli, SetupError, UsageError } from './cli-runner';
import { checkDataDir, parseCommandLine, parseCount, parseDuration, parsePort } from './cli-values';
import { formatLakeLine, formatSummary, ProgressReporter } from './sync-report';

export const START_USAGE = `usage: npm start -- [options]

Starts DynamoDB Local, s3rver, local SQS and the Product-Live emulator (or uses a real account), syncs at
once and then every --every, and runs the launcher on the local queue. Ctrl-C stops everything.

options:
  --once                 run one sync, print its summary, publish its events to <data-dir>/events.ndjson
                         and exit (0 ok, 1 failed)
  --audit                the first run also audits completeness (month by month against the API),
                         whatever SYNC_AUDIT_INTERVAL_SECONDS says
  --retry-failed-files   the first run first puts the file copies that failed for good back in the queue
  --json                 print the summary as JSON (the Lambda's return value)
  --quiet                print nothing but errors
  --every DURATION       time between syncs (default 1m; e.g. 30s, 5m)
  --data-dir DIR         where DynamoDB and S3 data persist (default ${DEFAULT_DATA_DIR})
  --api-url URL          a real Product-Live API (env PRODUCT_LIVE_API_URL) instead of the emulator
${API_KEY_USAGE}
  --inbox PREFIX=JOB_ID[:INPUT_KEY]
                         an inbox rule (repeatable): an object created in the local bucket product-live-inbox
                         under PREFIX launches JOB_ID with the object at input[INPUT_KEY] (default "file")
  --job-expectations FILE
                         what is expected of the jobs, as the CDK context key jobExpectations takes it (JSON:
                         {"<job id>" or "*": {"every": "24h", "maxConsecutiveFailures": 2, "maxDuration": "30m",
                         "grace": "1h"}}); what is not set is learned from the runs (docs/health.md)
  --seed N               emulator demo data seed (default 1)
  --executions N         emulator demo executions (default 400)
  --emulator-port PORT   default ${DEFAULT_LOCAL_PORTS.emulator}
  --dynamodb-port PORT   default ${DEFAULT_LOCAL_PORTS.dynamodb}
  --s3-port PORT         default ${DEFAULT_LOCAL_PORTS.s3}
  --sqs-port PORT        default ${DEFAULT_LOCAL_PORTS.sqs} (npm run launch sends there)
  --ui-port PORT         the dashboard on http://127.0.0.1:PORT (default ${DEFAULT_DASHBOARD_PORT}; 0: any free port);
                         not with --once
  --no-ui                no dashboard
  --verbose              show the functions' INFO logs
  -h, --help             show this text

exit codes: 0 done, 1 the sync run failed (or its events could not be published), 2 a bad command line or a setup problem (Java, ports, key)`;

const PORT_FLAGS: Record<string, string> = {
  'DynamoDB Local': '--dynamodb-port',
  s3rver: '--s3-port',
  'local SQS': '--sqs-port',
};

interface StartOptions {
  once: boolean;
  audit: boolean;
  retryFailedFiles: boolean;
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  everyMs: number;
  dataDir: string;
  api: { url: string; key: string } | undefined;
  demo: { seed: number; executions: number } | undefined;
  ports: Partial<Record<keyof typeof DEFAULT_LOCAL_PORTS, number>>;
  /** The dashboard's port (0: any free port); undefined: no dashboard (--no-ui). */
  uiPort: number | undefined;
  /** Inbox rules (--inbox). */
  inbox: InboxRule[];
  /** The file of --job-expectations, read and checked by readJobExpectations. */
  jobExpectationsFile: string | undefined;
}

/**
 * Parses the command line (and the PRODUCT_LIVE_API_URL / PRODUCT_LIVE_API_KEY fallbacks); `warn` is told when
 * the key was given on the command line.
 */
export function parseStartArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  warn: (message: string) => void = () => undefined,
): StartOptions {
  const { values } = parse(argv);
  const apiUrl = values['api-url'] ?? env.PRODUCT_LIVE_API_URL;
  const apiKey = readApiKeyOption(values, env, warn)?.key;
  if (apiUrl && !/^https?:\/\/[^\s]+$/.test(apiUrl))
    throw new UsageError(`--api-url: not an http(s) URL: ${apiUrl}`);
  if (apiUrl && !apiKey) {
    throw new UsageError(
      '--api-url needs its key: --api-key-file PATH (or the environment variable PRODUCT_LIVE_API_KEY)',
    );
  }
  if (values.json && values.quiet) throw new UsageError('--json and --quiet cannot be combined');
  const everyMs = parseDuration(values.every ?? '1m', '--every');
  if (everyMs < 5_000) throw new UsageError('--every: at least 5s between syncs');
  const seed = parseCount(values.seed, '--seed');
  const executions = parseCount(values.executions, '--executions');
  if (values['no-ui'] && values['ui-port'] !== undefined)
    throw new UsageError('--ui-port and --no-ui cannot be combined');
  return {
    once: values.once ?? false,
    audit: values.audit ?? false,
    retryFailedFiles: values['retry-failed-files'] ?? false,
    json: values.json ?? false,
    quiet: values.quiet ?? false,
    verbose: values.verbose ?? false,
    everyMs,
    dataDir: values['data-dir'] ?? DEFAULT_DATA_DIR,
    api: apiUrl && apiKey ? { url: apiUrl.replace(/\/+$/, ''), key: apiKey } : undefined,
    demo:
      seed !== undefined || executions !== undefined
        ? { seed: seed ?? 1, executions: executions ?? 400 }
        : undefined,
    ports: {
      emulator: parsePort(values['emulator-port'], '--emulator-port'),
      dynamodb: parsePort(values['dynamodb-port'], '--dynamodb-port'),
      s3: parsePort(values['s3-port'], '--s3-port'),
      sqs: parsePort(values['sqs-port'], '--sqs-port'),
    },
    inbox: parseInboxRules(values.inbox ?? []),
    jobExpectationsFile: values['job-expectations'],
    uiPort: values['no-ui']
      ? undefined
      : values['ui-port'] === '0'
        ? 0
        : (parsePort(values['ui-port'], '--ui-port') ?? DEFAULT_DASHBOARD_PORT),
  };
}

function parse(argv: readonly string[]) {
  return parseCommandLine(argv, {
    options: {
      once: { type: 'boolean' },
      audit: { type: 'boolean' },
      'retry-failed-files': { type: 'boolean' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean' },
      verbose: { type: 'boolean' },
      every: { type: 'string' },
      'data-dir': { type: 'string' },
      'api-url': { type: 'string' },
      ...API_KEY_OPTIONS,
      seed: { type: 'string' },
      executions: { type: 'string' },
      'emulator-port': { type: 'string' },
      'dynamodb-port': { type: 'string' },
      's3-port': { type: 'string' },
      'sqs-port': { type: 'string' },
      'ui-port': { type: 'string' },
      'no-ui': { type: 'boolean' },
      inbox: { type: 'string', multiple: true },
      'job-expectations': { type: 'string' },
    },
  });
}

/**
 * The expectations of `--job-expectations FILE`: the JSON the CDK context key `jobExpectations` takes. A missing
 * file, bad JSON, a bad duration or an unknown field is a UsageError naming the flag, the file and the place.
 */
export async function readJobExpectations(file: string): Promise<JobExpectations> {
  const flag = `--job-expectations ${file}`;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      `${flag}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory, not a file' : `cannot be read (${code ?? String(error)})`}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${flag}: not valid JSON (${(error as Error).message})`);
  }
  const checked = checkJobExpectations(value);
  if ('problem' in checked) {
    const where = checked.problem.path.length > 0 ? `${checked.problem.path.join('.')}: ` : '';
    throw new UsageError(`${flag}: ${where}${checked.problem.message}`);
  }
  return checked.expectations;
}

/** Fails fast, with one line, when the real API rejects the key or cannot be reached. */
async function checkApi(api: { url: string; key: string }): Promise<void> {
  const client = new ProductLiveClient({
    baseUrl: api.url,
    apiKey: api.key,
    maxAttempts: 2,
    timeoutMs: 15_000,
  });
  try {
    await client.listJobExecutions({ page: 0, size: 1 });
  } catch (error) {
    if (error instanceof ProductLiveAuthError) {
      throw new SetupError(
        `Product-Live rejected the API key (HTTP ${error.status}): check --api-key-file or PRODUCT_LIVE_API_KEY`,
      );
    }
    const reason = error instanceof ProductLiveError ? error.message : String(error);
    throw new SetupError(
      `cannot reach Product-Live at ${api.url} (${reason}): check --api-url and your network`,
    );
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const options = parseStartArgs(argv, process.env, (message) =>
    process.stderr.write(`warning: ${message}\n`),
  );
  await checkDataDir(options.dataDir);
  const jobExpectations =
    options.jobExpectationsFile !== undefined
      ? await readJobExpectations(options.jobExpectationsFile)
      : undefined;
  const say = (text: string) => {
    if (!options.quiet && !options.json) process.stdout.write(`${text}\n`);
  };
  if (options.api) await checkApi(options.api);
  // A dashboard port already taken fails now, not after the stack's servers took seconds to start.
  if (!options.once && options.uiPort) {
    await findFreePort('the dashboard', options.uiPort).catch(dashboardPortTaken(options.uiPort));
  }
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      dataDir: options.dataDir,
      api: options.api,
      ports: options.ports,
      demo: options.demo,
      inbox: options.inbox,
      ...(options.once ? {} : { syncEveryMs: options.everyMs }),
      // The expectations of the file win over a JOB_EXPECTATIONS in the shell.
      settings: {
        ...process.env,
        ...(jobExpectations ? { JOB_EXPECTATIONS: JSON.stringify(expectationsToJson(jobExpectations)) } : {}),
      },
      logLevel: options.verbose ? 'INFO' : options.quiet || options.json ? 'ERROR' : 'WARN',
    });
  } catch (error) {
    if (error instanceof JavaMissingError) throw new SetupError(error.message);
    if (error instanceof PortInUseError) {
      const flag = PORT_FLAGS[error.service] ?? '--emulator-port';
      throw new SetupError(
        `${error.message.replace(/ or choose another port\.$/, '')}, or pass ${flag} PORT`,
      );
    }
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new SetupError(
        `port ${options.ports.emulator ?? DEFAULT_LOCAL_PORTS.emulator} for the Product-Live emulator is already in use: stop the process using it, or pass --emulator-port PORT`,
      );
    }
    throw error;
  }

  const { state } = stack;
  let activity: SyncActivity | undefined;
  let dashboard: { url: string; close(): Promise<void> } | undefined;
  if (!options.once && options.uiPort !== undefined) {
    try {
      // Loaded only when served: the dashboard brings esbuild (its client bundle) and DuckDB (the lake).
      const { serveStackDashboard } = await import('../dashboard');
      dashboard = await serveStackDashboard({
        dataDir: options.dataDir,
        port: options.uiPort,
        env: process.env,
        activity: () => activity,
        onError: (error) => process.stderr.write(`dashboard: ${(error as Error).message ?? String(error)}\n`),
      });
    } catch (error) {
      await stack.stop();
      if (error instanceof PortInUseError || (error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        return dashboardPortTaken(options.uiPort)(error);
      }
      throw error;
    }
  }
  say('Local stack running:');
  say(
    `  Product-Live API  ${state.endpoints.productLive}${stack.emulator ? ' (emulator with demo data)' : ''}`,
  );
  say(`  DynamoDB          ${state.endpoints.dynamodb}  tables ${Object.values(state.tables).join(', ')}`);
  say(
    `  S3                ${state.endpoints.s3}  buckets ${state.bucket}, ${state.lakeBucket}, ${state.inboxBucket} (the inbox)`,
  );
  for (const rule of options.inbox) {
    say(
      `  inbox rule        s3://${state.inboxBucket}/${rule.prefix}* launches job ${rule.jobId} (input.${rule.inputKey ?? 'file'})`,
    );
  }
  say(`  SQS               ${state.endpoints.sqs}  launch queue ${state.queues.launchUrl}`);
  say(`  data              ${options.dataDir}`);
  if (dashboard) say(`  Dashboard         ${dashboard.url}  (read-only, this machine only)`);
  say('');
  say("  These servers answer only requests signed with this run's local credentials (not AWS ones);");
  say('  to look inside with the AWS CLI, paste into a shell:');
  say(`  ${awsCliExports(state)}`);

  // --audit and --retry-failed-files apply to the first run.
  let request: { audit?: boolean; retryFailedFiles?: boolean } = {
    ...(options.audit ? { audit: true } : {}),
    ...(options.retryFailedFiles ? { retryFailedFiles: true } : {}),
  };
  let eventsFailed = false;
  const runSync = async (): Promise<SyncSummary> => {
    const progress = new ProgressReporter(process.stderr);
    const showProgress = !options.quiet && !options.json;
    const summary = await stack.syncOnce(
      showProgress ? (event) => progress.update(event) : undefined,
      request,
    );
    request = {};
    progress.finish();
    if (options.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else if (!options.quiet) say(`\nSync ${new Date().toISOString()}\n${formatSummary(summary)}`);
    if (summary.error && options.quiet) process.stderr.write(`sync failed: ${summary.error}\n`);
    // The events of the run's writes, as the stream delivers them to the events function.
    try {
      const published = await stack.drainEvents();
      say(`events ${published} published`);
    } catch (error) {
      eventsFailed = true;
      process.stderr.write(`events: ${(error as Error).message}\n`);
    }
    // The lake function runs after each sync, as its own schedule does in AWS; it never fails the sync.
    const lake = await stack.lakeOnce();
    if (!options.quiet && !options.json) say(formatLakeLine(lake));
    else if (lake.error || lake.daysFailed > 0) process.stderr.write(`${formatLakeLine(lake).trim()}\n`);
    // The dashboard refetches its view when this changes (after the sync and the lake run).
    activity = { finishedAt: new Date().toISOString(), summary, runs: (activity?.runs ?? 0) + 1 };
    return summary;
  };

  if (options.once) {
    try {
      const summary = await runSync();
      return summary.error || eventsFailed ? 1 : 0;
    } finally {
      await stack.stop();
    }
  }

  say(
    `\nSyncing now and every ${options.everyMs / 1000}s; send launches with: npm run launch -- --job JOB_ID`,
  );
  say('Press Ctrl-C to stop.');
  stack.startLauncher((batch) => {
    if (batch.error) process.stderr.write(`launcher: ${batch.error}\n`);
    else
      say(
        `launcher: ${batch.received} message(s), ${batch.received - batch.failed} handled, ${batch.failed} to retry`,
      );
  });
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => {
    let firstSignalAt = 0;
    const onSignal = () => {
      // One Ctrl-C reaches this process twice (from the terminal and relayed by npm/tsx): only a second
      // Ctrl-C pressed a while later forces the exit.
      if (stopping) {
        if (Date.now() - firstSignalAt < 1_500) return;
        process.stderr.write('forced exit\n');
        process.exit(130);
      }
      firstSignalAt = Date.now();
      stopping = true;
      say('\nStopping…');
      clearTimeout(timer);
      wake?.();
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  while (!stopping) {
    await runSync();
    if (stopping) break;
    await new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, options.everyMs);
    });
  }
  await stopped;
  await dashboard?.close();
  await stack.stop();
  say('Stopped.');
  return 0;
}

/**
 * `--inbox PREFIX=JOB_ID[:INPUT_KEY]` flags as inbox rules, checked as the deployed stack checks `launchInbox`.
 */
export function parseInboxRules(flags: readonly string[]): InboxRule[] {
  const rules = flags.map((flag) => {
    const match = /^(.+)=([^=:]+)(?::([^=:]+))?$/.exec(flag);
    if (!match)
      throw new UsageError(`--inbox: expected PREFIX=JOB_ID or PREFIX=JOB_ID:INPUT_KEY, got "${flag}"`);
    const [, prefix = '', jobId = '', inputKey] = match;
    return { prefix, jobId, ...(inputKey !== undefined ? { inputKey } : {}) };
  });
  const parsed = InboxRules.safeParse(rules);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const rule = typeof issue?.path[0] === 'number' ? flags[issue.path[0]] : undefined;
    throw new UsageError(`--inbox${rule ? ` ${rule}` : ''}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** The shell line that gives the AWS CLI this run's local credentials and region. */
export function awsCliExports(state: LocalStackState): string {
  return [
    `export AWS_ACCESS_KEY_ID=${state.credentials.accessKeyId}`,
    `AWS_SECRET_ACCESS_KEY=${state.credentials.secretAccessKey}`,
    `AWS_REGION=${state.region}`,
    // The AWS CLI v1 reads only this name; the local S3 predates S3's default checksums.
    `AWS_DEFAULT_REGION=${state.region}`,
    'AWS_REQUEST_CHECKSUM_CALCULATION=when_required',
    'AWS_RESPONSE_CHECKSUM_VALIDATION=when_required',
  ].join(' ');
}

/** The setup error of a dashboard port in use. */
function dashboardPortTaken(port: number) {
  return (_error: unknown): never => {
    throw new SetupError(
      `port ${port} for the dashboard is already in use: stop the process using it, or pass --ui-port PORT (or --no-ui)`,
    );
  };
}

await runCli({ usage: START_USAGE, run: main });
