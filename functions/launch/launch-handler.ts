// Layer flow: SQS event source (or the local poller) -> this factory's handler (middleware, idempotency,
// adapters) -> processLaunchBatch -> launchJob. `handler.ts` calls it with the production dependencies; the
// local stack, the benchmarks and the tests call it with their own clients, logger and hooks.

import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createApiKeyResolver } from '#core/api-key';
import { createDocumentClient } from '#core/aws-clients';
import { stepFunctionsCallbacks } from '#core/callbacks/step-functions-client';
import { sendRejection, type TaskCallbackClient } from '#core/callbacks/task-callbacks';
import type { LaunchConfig } from '#core/config';
import { LAUNCH_RESERVE_MARGIN_SECONDS } from '#core/defaults';
import { describeError } from '#core/errors';
import { observedHandler } from '#core/observability';
import { createClientForKey } from '#core/product-live/client-for-key';
import type { ProductLiveClientOptions } from '#core/product-live/product-live-client';
import { ExecutionRepository } from '#core/store/execution-repository';
import { LAKE_MARK_REUSE_MS, LakeMarks } from '#core/store/lake-marks';
import { TaskTokenRepository } from '#core/store/task-token-repository';
import { LaunchAttemptRepository } from './launch-attempt-repository';
import {
  type LaunchDeps,
  type LaunchOptions,
  type LaunchRequest,
  type LaunchResult,
  launchJob,
} from './launch-job';
import { SqsLaunchQueue } from './launch-queue';
import {
  type IdempotentLaunchResult,
  type MessageOutcome,
  processLaunchBatch,
  type RetryBackoff,
  type TaskWaiters,
} from './process-launch-batch';
import { S3Objects } from './s3-objects';

/** Prefix of Powertools' idempotency keys (`launch#<hash>`); fixed, so that renaming the function keeps them. */
const IDEMPOTENCY_KEY_PREFIX = 'launch';

const OUTCOME_METRICS: Record<MessageOutcome, string> = {
  launched: 'LaunchesStarted',
  adopted: 'LaunchesAdopted',
  duplicate: 'LaunchDuplicates',
  'dead-lettered': 'LaunchesDeadLettered',
  retry: 'LaunchRetries',
  ignored: 'InboxObjectsIgnored',
};

/** The AWS clients the launcher uses, created once per container by the caller. */
export interface LaunchClients {
  /** Used for the idempotency records (Powertools), attempt markers and the executions table. */
  dynamo: DynamoDBClient;
  sqs: SQSClient;
  /** Reads the S3 objects that requests reference (the configured buckets and the inbox). */
  s3: S3Client;
  /** Reads the API key's secret (default: Powertools' own provider). */
  secrets?: SecretsProvider;
  /** Where a refusal or a heartbeat for a request's task token goes (default: Step Functions). */
  callbacks?: TaskCallbackClient;
}

/** Observers of an invocation, for the local runner and tests (Lambda sets none). */
export interface LaunchHooks {
  onOutcome?: (outcome: MessageOutcome) => void;
}

export interface LaunchHandlerDeps {
  config: LaunchConfig;
  clients: LaunchClients;
  logger: Logger;
  metrics: Metrics;
  /** X-Ray tracing of the invocation (production); absent outside Lambda. */
  tracer?: Tracer;
  hooks?: LaunchHooks;
  /** The clock (tests). Default Date.now. */
  now?: () => number;
  /** Product-Live client settings beyond the configuration (tests: fewer retries, shorter waits). */
  api?: Partial<Omit<ProductLiveClientOptions, 'baseUrl' | 'apiKey'>>;
  /** Replaces dependencies of the use case (tests: a store that fails at a chosen moment). */
  overrides?: Partial<Omit<LaunchDeps, 'api'>>;
  /** Visibility backoff of retried messages (tests: seconds instead of minutes). */
  retryBackoff?: RetryBackoff;
}

/** The launch function's handler: an SQS batch in, a partial batch response out. */
export function createLaunchHandler(options: LaunchHandlerDeps) {
  const { config, clients, logger, metrics } = options;
  const now = options.now ?? Date.now;
  const doc = createDocumentClient(clients.dynamo);
  // Every execution write marks its day for the lake (LakeMarks): the lake function rewrites those days.
  const executions = new ExecutionRepository(doc, config.executionsTableName, {
    marks: new LakeMarks(doc, config.stateTableName, { now, reuseMs: LAKE_MARK_REUSE_MS }),
  });
  const attempts = new LaunchAttemptRepository(doc, config.idempotencyTableName, {
    ttlSeconds: config.idempotencyTtlSeconds,
  });
  const queue = new SqsLaunchQueue(clients.sqs, config.queueUrl, config.dlqUrl);
  const tokens = new TaskTokenRepository(doc, config.idempotencyTableName, {
    ttlSeconds: config.idempotencyTtlSeconds,
  });
  const callbacks = clients.callbacks ?? stepFunctionsCallbacks(new SFNClient({}));
  const tasks: TaskWaiters = {
    attach: async (key, token) => {
      await tokens.attach(key, token, now());
    },
    markAwaited: async (executionId) => (await executions.attachWaiter({ id: executionId })) === 'written',
    reject: async (token, refusal) => {
      const delivered = await sendRejection(
        {
          client: callbacks,
          now,
          logger,
          onRejected: () => metrics.addMetric('TaskTokensRejected', MetricUnit.Count, 1),
        },
        token,
        refusal,
      );
      if (delivered) metrics.addMetric('TaskCallbacksSent', MetricUnit.Count, 1);
    },
    heartbeat: async (token) => {
      try {
        await callbacks.heartbeat(token);
      } catch (error) {
        logger.warn('no heartbeat for the task token of a retried launch request', {
          error: describeError(error),
        });
      }
    },
  };
  const objects = new S3Objects(clients.s3);
  const apiKeys = createApiKeyResolver(config.apiKey, clients.secrets);

  const idempotencyConfig = new IdempotencyConfig({
    eventKeyJmesPath: 'key',
    // The same key with another job or input is a client mistake, not a duplicate: it is dead-lettered.
    payloadValidationJmesPath: '[jobId, input]',
    throwOnNoIdempotencyKey: true,
    expiresAfterSeconds: config.idempotencyTtlSeconds,
    responseHook: (response) => ({ ...(response as object), replayed: true }),
  });
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: config.idempotencyTableName,
    awsSdkV3Client: clients.dynamo,
  });
  const launchIdempotently = makeIdempotent(
    (request: LaunchRequest, call: { deps: LaunchDeps; options: LaunchOptions }): Promise<LaunchResult> =>
      launchJob(call.deps, request, call.options),
    { persistenceStore, config: idempotencyConfig, keyPrefix: IDEMPOTENCY_KEY_PREFIX, dataIndexArgument: 0 },
  );

  const productLiveClient = createClientForKey({
    baseUrl: config.apiUrl,
    findPath: config.findPath,
    // This function's own share of the account's budget (invariant 6).
    requestsPerMinute: config.requestsPerMinute,
    timeoutMs: config.timeoutMs,
    // Short in-process retries; longer waits are SQS's job (visibility backoff).
    maxAttempts: 3,
    retryBaseMs: 1_000,
    retryMaxMs: 10_000,
    logger,
    ...options.api,
  });

  const launchHandler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    // In-progress idempotency records expire with this invocation, so a crash is retried after it.
    idempotencyConfig.registerLambdaContext(context);
    const api = productLiveClient(await apiKeys.get());
    const deps: LaunchDeps = { api, executions, attempts, objects, now, logger, ...options.overrides };
    const requestsBefore = api.requestCount;
    const throttledBefore = api.throttledCount;
    try {
      return await processLaunchBatch(
        {
          launch: (request, launchOptions) =>
            launchIdempotently(request, { deps, options: launchOptions }) as Promise<IdempotentLaunchResult>,
          queue,
          logger,
          now,
          remainingTimeMs: () => context.getRemainingTimeInMillis(),
          reserveMs: config.timeoutMs + LAUNCH_RESERVE_MARGIN_SECONDS * 1000,
          ...(options.retryBackoff ? { retryBackoff: options.retryBackoff } : {}),
          maxReceiveCount: config.maxReceiveCount,
          readable: config.readable,
          inbox: config.inbox,
          recordOutcome: (key, record) => attempts.recordOutcome(key, record, now()),
          tasks,
          onOutcome: (outcome) => {
            metrics.addMetric(OUTCOME_METRICS[outcome], MetricUnit.Count, 1);
            options.hooks?.onOutcome?.(outcome);
          },
        },
        event,
      );
    } finally {
      metrics.addMetric('ApiRequests', MetricUnit.Count, api.requestCount - requestsBefore);
      metrics.addMetric('Throttled', MetricUnit.Count, api.throttledCount - throttledBefore);
    }
  };

  return observedHandler(launchHandler, options);
}
