// `npm run launch -- --job JOB_ID [--input JSON] [--file KEY=PATH ...] [--idempotency-key K] [--task-token T]
// [--wait]`: sends one launch request to the running local stack's queue (its files first put in the local
// inbox), or to a deployed queue (--queue-url, standard AWS credentials); with --wait, follows it locally to its
// result (launch-wait.ts).

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { RESERVED_INBOX_PREFIX } from '#core/inbox-rules';
import { S3_OBJECT } from '#functions/launch/file-references';
import { LaunchMessage } from '#functions/launch/launch-message.schema';
import { LOCAL_S3_SETTINGS } from '../aws/local-aws-servers';
import { DEFAULT_DATA_DIR, type LocalStackState, readRunningStack } from '../stack/local-stack-settings';
import { runCli, SetupError, UsageError } from './cli-runner';
import { checkDataDir, parseCommandLine, parseDuration } from './cli-values';
import { type LocalFile, readLocalFiles } from './launch-files';
import { renderWaitResult, WAIT_EXIT_CODES, waitForResult } from './launch-wait';

const USAGE = `usage: npm run launch -- --job JOB_ID [--input JSON] [--file KEY=PATH ...] [--idempotency-key KEY]
                         [--task-token TOKEN] [--wait [--timeout 30m] [--json]] [options]

Sends a launch request to the launch queue. By default, the queue of the local stack that \`npm start\` runs
(found, with this run's local credentials, in its data directory's stack.json); with --queue-url, a deployed
queue, using the standard AWS credentials and region.

options:
  --job JOB_ID             the Product-Live job to run (24 hexadecimal characters)
  --input JSON             the execution's input, a JSON object
  --file KEY=PATH          a local file for input[KEY] (repeatable): put in the local inbox bucket under
                           ${RESERVED_INBOX_PREFIX}, sent as an s3_object reference the launcher uploads to Product-Live
  --idempotency-key KEY    requests with the same key start at most one execution
  --task-token TOKEN       a Step Functions task token to send the result to (locally: a line of
                           <data-dir>/task-callbacks.ndjson per callback, heartbeats while it runs)
  --wait                   follow the request to its result: refused (with the reason), or its execution
                           ended and every file of it copied (or failed for good); local stack only
  --timeout DURATION       how long --wait waits (default 30m; e.g. 90s, 10m, 2h)
  --json                   with --wait, print the result as one JSON object
  --queue-url URL          a deployed launch queue (see the stack output LaunchQueueUrl)
  --data-dir DIR           the local stack's data directory (default ${DEFAULT_DATA_DIR})
  -h, --help               show this text

examples:
  npm run launch -- --job 65819ba43ad5b963658ab35d --input '{"sku": "A-1"}' --idempotency-key order-4711
  npm run launch -- --job 65819ba43ad5b963658ab35d --file file=./prices.csv --wait
  npm run launch -- --job 65819ba43ad5b963658ab35d --idempotency-key run-7 --task-token "$TASK_TOKEN"

exit codes: 0 sent (with --wait: the execution COMPLETED), 1 with --wait: it ended otherwise or the request
was refused, 2 a bad command line or a setup problem (no running stack, a file that cannot be read),
${WAIT_EXIT_CODES.timeout} with --wait: no result within --timeout`;

async function main(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv);
  if (!values.job) throw new UsageError('--job is required');
  let input: unknown;
  if (values.input !== undefined) {
    try {
      input = JSON.parse(values.input);
    } catch {
      throw new UsageError(`--input: not valid JSON: ${values.input}`);
    }
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      throw new UsageError('--input: expected a JSON object');
    }
  }
  const local = values['queue-url'] === undefined;
  const files = await readLocalFiles(values.file ?? []);
  if (!local && files.length > 0)
    throw new UsageError('--file puts files in the local inbox: not with --queue-url');
  if (!local && values.wait) {
    throw new UsageError(
      '--wait follows a launch of the local stack; in AWS, follow the Job Execution Result event or give a Step Functions task token',
    );
  }
  if (!values.wait && (values.timeout !== undefined || values.json)) {
    throw new UsageError('--timeout and --json go with --wait');
  }
  const timeoutMs = parseDuration(values.timeout ?? '30m', '--timeout');
  for (const file of files) {
    if (input !== undefined && (input as Record<string, unknown>)[file.key] !== undefined) {
      throw new UsageError(`--file ${file.key}=…: --input already has a "${file.key}"`);
    }
  }
  const buildMessage = (references: Record<string, unknown>) => {
    const parsed = LaunchMessage.safeParse({
      jobId: values.job,
      ...(input !== undefined || files.length > 0 ? { input: { ...(input as object), ...references } } : {}),
      ...(values['idempotency-key'] !== undefined ? { idempotencyKey: values['idempotency-key'] } : {}),
      ...(values['task-token'] !== undefined ? { taskToken: values['task-token'] } : {}),
    });
    if (!parsed.success) {
      throw new UsageError(
        parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '),
      );
    }
    return parsed.data;
  };
  // The request is checked before anything is put in the inbox: a refused one leaves nothing behind.
  buildMessage(
    Object.fromEntries(files.map((file) => [file.key, { object: S3_OBJECT, uri: 's3://checked/later' }])),
  );
  const dataDir = values['data-dir'] ?? DEFAULT_DATA_DIR;
  if (local) await checkDataDir(dataDir);
  const stack = local ? await runningStack(dataDir) : undefined;
  const message = { data: buildMessage(stack ? await putFiles(stack, files) : {}) };
  const { sqs, queueUrl } = stack
    ? localQueue(stack)
    : { sqs: new SQSClient({}), queueUrl: values['queue-url'] ?? '' };
  let sent: { MessageId?: string };
  try {
    sent = await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(message.data) }),
    );
  } catch (error) {
    throw new SetupError(
      `could not send to ${queueUrl} (${(error as Error).message})${stack ? ': is `npm start` still running?' : ''}`,
    );
  } finally {
    sqs.destroy();
  }
  const messageId = sent.MessageId ?? '';
  if (!values.wait || !stack) {
    process.stdout.write(`sent launch request ${messageId} for job ${message.data.jobId} to ${queueUrl}\n`);
    return 0;
  }
  if (!values.json) {
    process.stderr.write(
      `sent launch request ${messageId}; waiting for its result (at most ${values.timeout ?? '30m'})…\n`,
    );
  }
  const result = await waitForResult({
    dataDir,
    key:
      message.data.idempotencyKey === undefined
        ? `messageId:${messageId}`
        : `idempotencyKey:${message.data.idempotencyKey}`,
    messageId,
    timeoutMs,
    env: process.env,
  });
  process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : renderWaitResult(result));
  return WAIT_EXIT_CODES[result.outcome];
}

/** The running local stack of the data directory, or a setup error saying to start it. */
async function runningStack(dataDir: string): Promise<LocalStackState> {
  const stack = await readRunningStack(dataDir);
  if (!stack) {
    throw new SetupError(
      `no local stack is running in ${dataDir}: start it with \`npm start\` (and --data-dir ${dataDir} if it is not the default), or pass --queue-url for a deployed queue`,
    );
  }
  return stack;
}

function localQueue(stack: LocalStackState) {
  return {
    sqs: new SQSClient({
      region: stack.region,
      credentials: { ...stack.credentials },
      endpoint: stack.endpoints.sqs,
    }),
    queueUrl: stack.queues.launchUrl,
  };
}

/**
 * Puts each file in the local inbox under `uploads/<sha256 of its bytes>/<name>` (a prefix no inbox rule may
 * claim, so it launches by this message only) and returns the input's references to them. The key is the
 * content's, so that a request repeated with the same --idempotency-key and the same file is the same request
 * (a duplicate: nothing uploaded, nothing created), and the same key with other bytes is refused as a reuse.
 */
async function putFiles(
  stack: LocalStackState,
  files: readonly LocalFile[],
): Promise<Record<string, unknown>> {
  if (files.length === 0) return {};
  if (!stack.inboxBucket) {
    throw new SetupError(
      'the running stack has no inbox bucket: restart `npm start` (an older version started it)',
    );
  }
  const s3 = new S3Client({
    region: stack.region,
    credentials: { ...stack.credentials },
    endpoint: stack.endpoints.s3,
    ...LOCAL_S3_SETTINGS,
  });
  const references: Record<string, unknown> = {};
  try {
    for (const file of files) {
      const key = `${RESERVED_INBOX_PREFIX}${await sha256Of(file.path)}/${basename(file.path)}`;
      await s3.send(
        new PutObjectCommand({
          Bucket: stack.inboxBucket,
          Key: key,
          Body: createReadStream(file.path),
          ContentLength: file.size,
        }),
      );
      references[file.key] = { object: S3_OBJECT, uri: `s3://${stack.inboxBucket}/${key}` };
    }
  } finally {
    s3.destroy();
  }
  return references;
}

/** SHA-256 (hex) of a file's bytes, streamed. */
async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

function parse(argv: readonly string[]) {
  return parseCommandLine(argv, {
    options: {
      job: { type: 'string' },
      input: { type: 'string' },
      file: { type: 'string', multiple: true },
      'idempotency-key': { type: 'string' },
      'task-token': { type: 'string' },
      wait: { type: 'boolean' },
      timeout: { type: 'string' },
      json: { type: 'boolean' },
      'queue-url': { type: 'string' },
      'data-dir': { type: 'string' },
    },
  });
}

await runCli({ usage: USAGE, run: main });
