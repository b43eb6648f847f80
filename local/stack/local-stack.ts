// Layer flow: `npm start` (local/cli/start.ts) -> this module -> local AWS servers, the Product-Live emulator,
// and the functions built by the same factories Lambda's handler modules call (createSyncHandler,
// createLaunchHandler), invoked with the same event shapes. Nothing here is business logic: it wires and
// schedules.
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { Context } from 'aws-lambda';
import type { TaskCallbackClient } from '#core/callbacks/task-callbacks';
import {
  ENV_VARIABLES,
  type EnvVariableName,
  loadCallbacksConfig,
  loadFollowConfig,
  loadLakeConfig,
  loadLaunchConfig,
  loadSyncConfig,
} from '#core/config';
import type { InboxRule } from '#core/inbox-rules';
import { createObservability } from '#core/observability';
import { createCallbacksHandler } from '#functions/callbacks/callbacks-handler';
import { createEventsHandler } from '#functions/events/events-handler';
import { createFollowHandler } from '#functions/follow/follow-handler';
import type { FollowSummary } from '#functions/follow/run-follow';
import { createLakeHandler } from '#functions/lake/lake-handler';
import type { LakeSummary } from '#functions/lake/lake-summary';
import { createLaunchHandler } from '#functions/launch/launch-handler';
import type { SyncProgress } from '#functions/sync/run-sync';
import { createSyncHandler } from '#functions/sync/sync-handler';
import type { SyncSummary } from '#functions/sync/sync-summary';
import {
  type LocalAwsServers,
  localLastDeliveryReceiveCount,
  startLocalAwsServers,
} from '../aws/local-aws-servers';
import { createLocalClients, provisionStore, storeEnvironment } from '../aws/provision';
import { createEmulator, type Emulator, systemClock } from '../emulator';
import { DynamoDBStreamPoller } from './dynamodb-stream-poller';
import { EVENTS_CHECKPOINT_FILE, EVENTS_FILE, fileEventSink } from './file-event-sink';
import { CALLBACKS_CHECKPOINT_FILE, fileTaskCallbacks, TASK_CALLBACKS_FILE } from './file-task-callbacks';
import { INBOX_SEEN_FILE, InboxPoller } from './inbox-poller';
import {
  DEFAULT_LOCAL_PORTS,
  LOCAL_STORE_NAMES,
  LOCAL_TABLE_NAMES,
  type LocalStackState,
  STACK_STATE_FILE,
} from './local-stack-settings';
import { type LaunchPollerStats, SqsLaunchPoller } from './sqs-launch-poller';

export type LocalLogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';

export interface LocalStackOptions {
  dataDir: string;
  /** A real Product-Live account; without it, the built-in emulator with demo data serves the API. */
  api?: { url: string; key: string };
  ports?: Partial<Record<keyof typeof DEFAULT_LOCAL_PORTS, number>>;
  /** Demo data of the emulator. */
  demo?: { seed: number; executions: number };
  /**
   * The functions' own settings (SYNC_PAGE_SIZE, ...), as environment variables would give them; only the
   * variables the functions define are read.
   */
  settings?: Record<string, string | undefined>;
  /** Log level of the functions (their JSON logs go to stdout). */
  logLevel?: LocalLogLevel;
  /** Inbox rules (`npm start -- --inbox PREFIX=JOB_ID`): objects created under a prefix launch its job. */
  inbox?: InboxRule[];
  /**
   * Where task callbacks go (default: `<data-dir>/task-callbacks.ndjson`, which accepts every token); tests
   * pass a client that refuses some, as Step Functions does with a timed-out token.
   */
  taskCallbacks?: TaskCallbackClient;
  /** How often the caller runs the sync (`npm start -- --every`), for stack.json; absent: one run (`--once`). */
  syncEveryMs?: number;
}

/** How often the local follower re-reads the open launched executions (`--wait` answers within 15 s of an end). */
const FOLLOW_INTERVAL_MS = 5_000;
/** The local follower's budget: a pass every 5 s with executions open (the emulator allows 50 in all). */
const LOCAL_FOLLOW_REQUESTS_PER_MINUTE = 12;

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
  /**
   * One sync run through the sync handler; `onProgress` sees its progress events; `request` is the event
   * (`{ audit: true }`, `{ retryFailedFiles: true }`), as `aws lambda invoke` would send it.
   */
  syncOnce(
    onProgress?: (progress: SyncProgress) => void,
    request?: { audit?: boolean; retryFailedFiles?: boolean },
  ): Promise<SyncSummary>;
  /** One lake run through the lake handler: rewrites the days the sync (or a launch) marked. */
  lakeOnce(): Promise<LakeSummary>;
  /**
   * Reads the executions table's stream and invokes the events and callbacks handlers until caught up: every event
   * stored so far is then a line of `<data-dir>/events.ndjson`. Resolves with the count of events published
   * by this call; throws StreamDrainError when some could not be (they are delivered again next time).
   */
  drainEvents(): Promise<number>;
  /**
   * Polls the launch queue and invokes the launch handler until stop(), watches the inbox bucket for new objects
   * (announcing each to the launch queue, as S3 and EventBridge do in AWS), and runs a follow pass every few
   * seconds (one API request while launched executions are open, none otherwise); events are drained after
   * each batch and each pass that wrote.
   */
  startLauncher(
    onBatch?: (stats: LaunchPollerStats) => void,
    onFollow?: (summary: FollowSummary) => void,
  ): void;
  /** One follow pass through the follow handler (tests; the launcher runs them on its own). */
  followOnce(): Promise<FollowSummary>;
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
    const clients = createLocalClients(servers);
    cleanups.push(async () => clients.destroy());
    const store = await provisionStore(clients, LOCAL_STORE_NAMES, { maxReceiveCount: MAX_RECEIVE_COUNT });
    const queues = store.queues as NonNullable<typeof store.queues>;
    // The functions' configuration, exactly as Lambda's environment would give it.
    const environment = {
      ...functionSettings(options.settings),
      ...storeEnvironment(store),
      PRODUCT_LIVE_API_URL: api.url,
      PRODUCT_LIVE_API_KEY: api.key,
      LAUNCH_MAX_RECEIVE_COUNT: String(localLastDeliveryReceiveCount(MAX_RECEIVE_COUNT)),
      LAUNCH_INBOX_RULES: JSON.stringify(options.inbox ?? []),
      // Locally every launched execution is followed, so that `npm run launch -- --wait` answers soon after it ends.
      FOLLOW_SCOPE: 'launched',
      FOLLOW_REQUESTS_PER_MINUTE: String(LOCAL_FOLLOW_REQUESTS_PER_MINUTE),
    };
    const syncConfig = loadSyncConfig(environment);
    const { dynamodb, s3, sqs } = servers.endpoints as Required<typeof servers.endpoints>;
    const state: LocalStackState = {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      region: servers.region,
      endpoints: { dynamodb, s3, sqs, productLive: api.url },
      credentials: { ...servers.credentials },
      tables: LOCAL_TABLE_NAMES,
      bucket: store.filesBucket,
      lakeBucket: store.lakeBucket,
      inboxBucket: store.inboxBucket,
      queues: { launchUrl: queues.launchUrl, dlqUrl: queues.dlqUrl },
      emulator: emulator !== undefined,
      sync: {
        everyMs: options.syncEveryMs ?? null,
        auditIntervalMs: syncConfig.auditIntervalMs,
        leaseMs: syncConfig.leaseMs,
      },
    };
    const stateFile = join(dataDir, STACK_STATE_FILE);
    // It holds this run's local credentials: readable by this user only.
    await writeFile(stateFile, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    await chmod(stateFile, 0o600);
    cleanups.push(() => rm(stateFile, { force: true }));

    const logLevel = options.logLevel ?? 'WARN';
    let onProgress: ((progress: SyncProgress) => void) | undefined;
    const eventSink = fileEventSink(join(dataDir, EVENTS_FILE), ACCOUNT_ID, servers.region);
    const sync = createSyncHandler({
      config: syncConfig,
      clients,
      ...createObservability({
        serviceName: 'sync',
        namespace: 'ProductLiveSync',
        logLevel,
        recordMetrics: true,
        tracing: false,
      }),
      hooks: { onProgress: (progress) => onProgress?.(progress) },
      // The job health changes go to the events file, as the status changes do.
      eventSink,
    });
    const lake = createLakeHandler({
      config: loadLakeConfig(environment),
      clients,
      ...createObservability({
        serviceName: 'lake',
        namespace: 'ProductLiveSync',
        logLevel,
        recordMetrics: true,
        tracing: false,
      }),
    });
    let lakeRun: Promise<LakeSummary> | undefined;
    const followObservability = createObservability({
      serviceName: 'follow',
      namespace: 'ProductLiveSync',
      logLevel,
      recordMetrics: true,
      tracing: false,
    });
    // Step Functions' part: a file of callbacks (or the tests' client).
    const taskCallbacks = options.taskCallbacks ?? fileTaskCallbacks(join(dataDir, TASK_CALLBACKS_FILE));
    const follow = createFollowHandler({
      config: loadFollowConfig(environment),
      clients: { ...clients, callbacks: taskCallbacks },
      ...followObservability,
    });
    const launch = createLaunchHandler({
      config: loadLaunchConfig(environment),
      clients: { ...clients, callbacks: taskCallbacks },
      ...createObservability({
        serviceName: 'launch',
        namespace: 'ProductLiveSync',
        logLevel,
        recordMetrics: true,
        tracing: false,
      }),
    });
    // The events function, with a file in place of EventBridge, fed by DynamoDB Local's stream as Lambda's
    // event source mapping would feed it.
    let eventsPublished = 0;
    const eventsObservability = createObservability({
      serviceName: 'events',
      namespace: 'ProductLiveSync',
      logLevel,
      recordMetrics: true,
      tracing: false,
    });
    const events = createEventsHandler({
      sink: eventSink,
      ...eventsObservability,
      onResult: (result) => {
        eventsPublished += result.published;
      },
    });
    const streams = new DynamoDBStreamsClient({
      region: servers.region,
      endpoint: dynamodb,
      credentials: await clients.dynamo.config.credentials(),
    });
    cleanups.push(async () => streams.destroy());
    const streamPoller = new DynamoDBStreamPoller({
      dynamodb: clients.dynamo,
      streams,
      tableName: LOCAL_TABLE_NAMES.executions,
      region: servers.region,
      checkpointFile: join(dataDir, EVENTS_CHECKPOINT_FILE),
      invoke: (event) => events(event, lambdaContext('events', 60_000)),
      onProblem: (message) => eventsObservability.logger.warn(message),
    });
    // The callbacks function, fed by the same stream through a reader of its own, as its own event source
    // mapping would feed it in AWS.
    const callbacksObservability = createObservability({
      serviceName: 'callbacks',
      namespace: 'ProductLiveSync',
      logLevel,
      recordMetrics: true,
      tracing: false,
    });
    const callbacks = createCallbacksHandler({
      config: loadCallbacksConfig(environment),
      clients,
      callbacks: taskCallbacks,
      ...callbacksObservability,
    });
    const callbacksPoller = new DynamoDBStreamPoller({
      dynamodb: clients.dynamo,
      streams,
      tableName: LOCAL_TABLE_NAMES.executions,
      region: servers.region,
      checkpointFile: join(dataDir, CALLBACKS_CHECKPOINT_FILE),
      invoke: (event) => callbacks(event, lambdaContext('callbacks', 60_000)),
      onProblem: (message) => callbacksObservability.logger.warn(message),
    });
    let eventsDrain: Promise<number> = Promise.resolve(0);
    const drainEvents = (): Promise<number> => {
      const next = eventsDrain
        .catch(() => 0)
        .then(async () => {
          const before = eventsPublished;
          try {
            await streamPoller.drain();
          } finally {
            await callbacksPoller.drain();
          }
          return eventsPublished - before;
        });
      eventsDrain = next;
      return next;
    };
    let poller: SqsLaunchPoller | undefined;
    let inboxPoller: InboxPoller | undefined;
    let followTimer: NodeJS.Timeout | undefined;
    let following: Promise<FollowSummary> | undefined;
    let stopping = false;
    let syncing: Promise<SyncSummary> | undefined;
    const followOnce = async (): Promise<FollowSummary> => {
      following = follow({}, lambdaContext('follow', 110_000));
      try {
        const summary = await following;
        if (summary.followed > 0) await drainEvents().catch(() => undefined);
        return summary;
      } finally {
        following = undefined;
      }
    };
    cleanups.push(async () => {
      stopping = true;
      clearTimeout(followTimer);
      await inboxPoller?.stop();
      await following?.catch(() => undefined);
      await poller?.stop();
      await syncing?.catch(() => undefined);
      await lakeRun?.catch(() => undefined);
      await eventsDrain.catch(() => undefined);
    });

    return {
      state,
      emulator,
      async syncOnce(listener, request = {}) {
        onProgress = listener;
        try {
          syncing = sync(request, lambdaContext('sync', LOCAL_RUN_BUDGET_MS));
          return await syncing;
        } finally {
          onProgress = undefined;
          syncing = undefined;
        }
      },
      async lakeOnce() {
        try {
          lakeRun = lake({}, lambdaContext('lake', LOCAL_RUN_BUDGET_MS));
          return await lakeRun;
        } finally {
          lakeRun = undefined;
        }
      },
      drainEvents,
      startLauncher(onBatch, onFollow) {
        poller ??= new SqsLaunchPoller({
          sqs: clients.sqs,
          queueUrl: queues.launchUrl,
          queueArn: queues.launchArn,
          region: servers.region,
          invoke: async (event) => {
            const response = await launch(event, lambdaContext('launch', 60_000));
            // A launch stores PENDING and RUNNING: their events follow at once, as the stream would send them.
            await drainEvents().catch(() => undefined);
            return response;
          },
          onBatch,
        });
        poller.start();
        if (store.inboxBucket && !inboxPoller) {
          inboxPoller = new InboxPoller({
            s3: clients.s3,
            sqs: clients.sqs,
            bucket: store.inboxBucket,
            queueUrl: queues.launchUrl,
            region: servers.region,
            accountId: ACCOUNT_ID,
            seenFile: join(dataDir, INBOX_SEEN_FILE),
            onProblem: (message) => followObservability.logger.warn(message),
          });
          inboxPoller.start();
        }
        if (followTimer === undefined) {
          const tick = () => {
            void followOnce()
              .then((summary) => onFollow?.(summary))
              .catch((error: unknown) => followObservability.logger.warn(`follow: ${String(error)}`))
              .finally(() => {
                if (!stopping) followTimer = setTimeout(tick, FOLLOW_INTERVAL_MS);
              });
          };
          followTimer = setTimeout(tick, FOLLOW_INTERVAL_MS);
        }
      },
      followOnce,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** The variables of `settings` that the functions define (anything else in a shell's environment is ignored). */
function functionSettings(settings: Record<string, string | undefined> = {}): Record<string, string> {
  const known = new Set<string>(Object.keys(ENV_VARIABLES) as EnvVariableName[]);
  const picked: Record<string, string> = {};
  for (const [name, value] of Object.entries(settings)) {
    if (known.has(name) && value !== undefined) picked[name] = value;
  }
  // The stack decides where the API, the tables and the queues are; a key or secret id in the shell does not.
  for (const name of [
    'PRODUCT_LIVE_API_URL',
    'PRODUCT_LIVE_API_KEY',
    'PRODUCT_LIVE_API_KEY_SECRET_ID',
    'EXECUTIONS_TABLE_NAME',
    'STATE_TABLE_NAME',
    'FILES_BUCKET_NAME',
    'IDEMPOTENCY_TABLE_NAME',
    'LAUNCH_QUEUE_URL',
    'LAUNCH_DLQ_URL',
  ]) {
    delete picked[name];
  }
  return picked;
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
