// `npm run launch -- --job JOB_ID [--input JSON] [--idempotency-key K]`: sends one launch request to the
// running local stack's queue, or to a deployed queue (--queue-url, standard AWS credentials).

import { parseArgs } from 'node:util';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { LaunchMessage } from '../../functions/launch/launch-message.schema';
import { DEFAULT_DATA_DIR, readRunningStack } from '../stack/local-stack-settings';
import { runCli, SetupError, UsageError } from './cli-runner';
import { checkDataDir } from './cli-values';

const USAGE = `usage: npm run launch -- --job JOB_ID [--input JSON] [--idempotency-key KEY] [options]

Sends a launch request to the launch queue. By default, the queue of the local stack that \`npm start\` runs
(found, with this run's local credentials, in its data directory's stack.json); with --queue-url, a deployed
queue, using the standard AWS credentials and region.

options:
  --job JOB_ID             the Product-Live job to run (24 hexadecimal characters)
  --input JSON             the execution's input, a JSON object
  --idempotency-key KEY    requests with the same key start at most one execution
  --queue-url URL          a deployed launch queue (see the stack output LaunchQueueUrl)
  --data-dir DIR           the local stack's data directory (default ${DEFAULT_DATA_DIR})
  -h, --help               show this text`;

async function main(argv: readonly string[]): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (!values.job) throw new UsageError('--job is required');
  let input: unknown;
  if (values.input !== undefined) {
    try {
      input = JSON.parse(values.input);
    } catch {
      throw new UsageError(`--input: not valid JSON: ${values.input}`);
    }
  }
  const message = LaunchMessage.safeParse({
    jobId: values.job,
    ...(input !== undefined ? { input } : {}),
    ...(values['idempotency-key'] !== undefined ? { idempotencyKey: values['idempotency-key'] } : {}),
  });
  if (!message.success) {
    throw new UsageError(
      message.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '),
    );
  }
  const dataDir = values['data-dir'] ?? DEFAULT_DATA_DIR;
  if (values['queue-url'] === undefined) await checkDataDir(dataDir);
  const { sqs, queueUrl, where } = await target(values['queue-url'], dataDir);
  let sent: { MessageId?: string };
  try {
    sent = await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(message.data) }),
    );
  } catch (error) {
    throw new SetupError(
      `could not send to ${queueUrl} (${(error as Error).message})${where === 'local' ? ': is `npm start` running?' : ''}`,
    );
  }
  process.stdout.write(
    `sent launch request ${sent.MessageId} for job ${message.data.jobId} to ${queueUrl}\n`,
  );
  return 0;
}

async function target(queueUrl: string | undefined, dataDir: string) {
  if (queueUrl) return { sqs: new SQSClient({}), queueUrl, where: 'aws' as const };
  const stack = await readRunningStack(dataDir);
  if (!stack) {
    throw new SetupError(
      `no local stack is running in ${dataDir}: start it with \`npm start\` (and --data-dir ${dataDir} if it is not the default), or pass --queue-url for a deployed queue`,
    );
  }
  return {
    sqs: new SQSClient({
      region: stack.region,
      credentials: { ...stack.credentials },
      endpoint: stack.endpoints.sqs,
    }),
    queueUrl: stack.queues.launchUrl,
    where: 'local' as const,
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      job: { type: 'string' },
      input: { type: 'string' },
      'idempotency-key': { type: 'string' },
      'queue-url': { type: 'string' },
      'data-dir': { type: 'string' },
    },
  });
}

await runCli({ usage: USAGE, run: main });
