// Layer flow: `npm start` (local/cli/start.ts) -> this module -> local AWS servers, the Product-Live emulator,
// and the very handler modules Lambda runs (functions/sync/handler.ts, functions/launch/handler.ts), invoked
// with the same event shapes. Nothing here is business logic: it wires and schedules.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { ensureTable } from '../../functions/core/store/create-tables';
import {
  EXECUTIONS_TABLE,
  IDEMPOTENCY_TABLE,
  STATE_TABLE,
} from '../../functions/core/store/table-definitions';
import type { SyncProgress } from '../../functions/sync/run-sync';
import type { SyncSummary } from '../../functions/sync/sync-summary';
import {
  type LocalAwsServers,
  localLastDeliveryReceiveCount,
  startLocalAwsServers,
} from '../aws/local-aws-servers';
import { createEmulator, type Emulator, systemClock } from '../emulator';
import {
  DEFAULT_LOCAL_PORTS,
  LOCAL_BUCKET_NAME,
  LOCAL_QUEUE_NAMES,
  LOCAL_TABLE_NAMES,
  type LocalStackState,
  STACK_STATE_FILE,
} from './local-stack-settings';
import { type LaunchPollerStats, SqsLaunchPoller } from './sqs-launch-poller';

export interface LocalStackOptions {
  dataDir: string;
  /** A real Product-Live account; without it, the built-in emulator with demo data serves the API. */
  api?: { url: string; key: string };
  ports?: Partial<Record<keyof typeof DEFAULT_LOCAL_PORTS, number>>;
  /** Demo data of the emulator. */
  demo?: { seed: number; executions: number };
  /** The environment the handlers see on top of the stack's own settings (SYNC_PAGE_SIZE, ...). */
  env?: Record<string, string | undefined>;
  /** Powertools log level of the handlers (their JSON logs go to stdout/stderr). */
  logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
}

/** Time budget of one local sync run (a Lambda's 15 minutes, less a minute). */
const LOCAL_RUN_BUDGET_MS = 14 * 60_000;
/**
 * How many receives before SQS moves a message to the DLQ. The deployed queue uses 10; local-aws-sqs also
 * counts each ChangeMessageVisibility (one per retry, the backoff) as a receive, so 20 here is the same
 * number of deliveries.
 */
const MAX_RECEIVE_COUNT = 20;
const ACCOUNT_ID = '123456789012';

export interface LocalStack {
  readonly state: LocalStackState;
  readonly emulator: Emulator | undefined;
  /** One sync run through the sync handler; `onProgress` sees its progress events. */
  syncOnce(onProgress?: (progress: SyncProgress) => void): Promise<SyncSummary>;
  /** Polls the launch queue and invokes the launch handler until stop(). */
  startLauncher(onBatch?: (stats: LaunchPollerStats) => void): void;
  stop(): Promise<void>;
}

/** Starts the whole system on this machine. On failure, whatever was started is stopped again. */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  const ports: Record<keyof typeof DEFAULT_LOCAL_PORTS, number> = { ...DEFAULT_LOCAL_PORTS };
  for (const [service, port] of Object.entries(options.ports ?? {})) {
    if (port !== undefined) ports[service as keyof typeof ports] = port;
  }
  const cleanups: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    cleanups.length = 0;
  };
  try {
    const servers: LocalAwsServers = await startLocalAwsServers({
      dataDir,
      ports: { dynamodb: ports.dynamodb, s3: ports.s3, sqs: ports.sqs },
    });
    cleanups.push(() => servers.stop());
    let emulator: Emulator | undefined;
    let api = options.api;
    if (!api) {
      emulator = createEmulator({
        clock: systemClock,
        demo: { ...(await pinnedDemo(dataDir, options.demo)) },
        maxGeneratedFileBytes: 1024 * 1024,
      });
      await emulator.start(ports.emulator);
      cleanups.push(() => emulator?.stop() ?? Promise.resolve());
      api = { url: emulator.url, key: emulator.apiKey };
    }
    const { dynamodb, s3, sqs } = servers.endpoints as Required<typeof servers.endpoints>;
    const clientSettings = { region: servers.region, credentials: servers.credentials };
    const dynamo = new DynamoDBClient({ ...clientSettings, endpoint: dynamodb });
    await Promise.all([
      ensureTable(dynamo, EXECUTIONS_TABLE, LOCAL_TABLE_NAMES.executions),
      ensureTable(dynamo, STATE_TABLE, LOCAL_TABLE_NAMES.state),
      ensureTable(dynamo, IDEMPOTENCY_TABLE, LOCAL_TABLE_NAMES.idempotency),
      ensureBucket(new S3Client({ ...clientSettings, endpoint: s3, forcePathStyle: true })),
    ]);
    const sqsClient = new SQSClient({ ...clientSettings, endpoint: sqs });
    const queues = await ensureQueues(sqsClient);
    const state: LocalStackState = {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      region: servers.region,
      endpoints: { dynamodb, s3, sqs, productLive: api.url },
      tables: LOCAL_TABLE_NAMES,
      bucket: LOCAL_BUCKET_NAME,
      queues,
    };
    const stateFile = join(dataDir, STACK_STATE_FILE);
    await writeFile(stateFile, `${JSON.stringify(state, null, 2)}\n`);
    cleanups.push(() => rm(stateFile, { force: true }));

    // The handlers read their configuration from the environment at import, exactly as in Lambda.
    Object.assign(process.env, {
      ...options.env,
      ...servers.env,
      PRODUCT_LIVE_API_URL: api.url,
      PRODUCT_LIVE_API_KEY: api.key,
      EXECUTIONS_TABLE_NAME: LOCAL_TABLE_NAMES.executions,
      STATE_TABLE_NAME: LOCAL_TABLE_NAMES.state,
      IDEMPOTENCY_TABLE_NAME: LOCAL_TABLE_NAMES.idempotency,
      FILES_BUCKET_NAME: LOCAL_BUCKET_NAME,
      LAUNCH_QUEUE_URL: queues.launchUrl,
      LAUNCH_DLQ_URL: queues.dlqUrl,
      LAUNCH_MAX_RECEIVE_COUNT: String(localLastDeliveryReceiveCount(MAX_RECEIVE_COUNT)),
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: options.logLevel ?? 'WARN',
      POWERTOOLS_SERVICE_NAME: 'product-live-sync-local',
    });
    const sync = await import('../../functions/sync/handler');
    const launch = await import('../../functions/launch/handler');
    let poller: SqsLaunchPoller | undefined;
    let syncing: Promise<SyncSummary> | undefined;
    cleanups.push(async () => {
      await poller?.stop();
      await syncing?.catch(() => undefined);
    });

    return {
      state,
      emulator,
      async syncOnce(onProgress) {
        const listener = (progress: SyncProgress) => onProgress?.(progress);
        sync.syncProgress.on('progress', listener);
        try {
          syncing = sync.handler({}, lambdaContext('sync', LOCAL_RUN_BUDGET_MS));
          return await syncing;
        } finally {
          sync.syncProgress.off('progress', listener);
          syncing = undefined;
        }
      },
      startLauncher(onBatch) {
        poller ??= new SqsLaunchPoller({
          sqs: sqsClient,
          queueUrl: queues.launchUrl,
          queueArn: `arn:aws:sqs:${servers.region}:${ACCOUNT_ID}:${LOCAL_QUEUE_NAMES.launch}`,
          region: servers.region,
          invoke: (event) => launch.handler(event, lambdaContext('launch', 60_000)),
          onBatch,
        });
        poller.start();
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/**
 * The demo history is generated relative to an instant pinned in the data directory at the first start, so
 * that a restart serves the same executions and the next sync is incremental.
 */
async function pinnedDemo(
  dataDir: string,
  demo: LocalStackOptions['demo'],
): Promise<{ seed: number; executions: number; endAt: string }> {
  const file = join(dataDir, 'emulator.json');
  try {
    const pinned = JSON.parse(await readFile(file, 'utf8')) as {
      seed: number;
      executions: number;
      endAt: string;
    };
    if (!demo || (demo.seed === pinned.seed && demo.executions === pinned.executions)) return pinned;
  } catch {
    // First start in this data directory.
  }
  const fresh = {
    seed: demo?.seed ?? 1,
    executions: demo?.executions ?? 400,
    endAt: new Date().toISOString(),
  };
  await writeFile(file, `${JSON.stringify(fresh, null, 2)}\n`);
  return fresh;
}

async function ensureBucket(s3: S3Client): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: LOCAL_BUCKET_NAME }));
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
  }
}

/** The launch queue and its DLQ, with the redrive policy of the deployed stack. */
async function ensureQueues(sqs: SQSClient): Promise<{ launchUrl: string; dlqUrl: string }> {
  const dlq = await sqs.send(
    new CreateQueueCommand({
      QueueName: LOCAL_QUEUE_NAMES.dlq,
      Attributes: { MessageRetentionPeriod: String(14 * 24 * 3600) },
    }),
  );
  const dlqUrl = dlq.QueueUrl ?? '';
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
  );
  const launch = await sqs.send(
    new CreateQueueCommand({
      QueueName: LOCAL_QUEUE_NAMES.launch,
      Attributes: {
        VisibilityTimeout: '60',
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: attributes.Attributes?.QueueArn,
          maxReceiveCount: MAX_RECEIVE_COUNT,
        }),
      },
    }),
  );
  return { launchUrl: launch.QueueUrl ?? '', dlqUrl };
}

/** A Lambda context for a local invocation with the given time budget. */
export function lambdaContext(functionName: string, budgetMs: number): Context {
  const deadline = Date.now() + budgetMs;
  return {
    awsRequestId: `local-${Date.now().toString(36)}`,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:${ACCOUNT_ID}:function:${functionName}`,
    memoryLimitInMB: '1024',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
