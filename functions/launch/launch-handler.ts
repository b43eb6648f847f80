// Layer flow: SQS event source -> this handler (wiring only: middleware, idempotency, adapters) ->
// processLaunchBatch -> launchJob. `handler.ts` builds it once per container from the environment; tests and
// the local runner build it with their own clients.

import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { resolveApiKey } from '../core/api-key';
import { createDocumentClient } from '../core/aws-clients';
import type { LaunchConfig } from '../core/config';
import { createClientForKey } from '../core/product-live/client-for-key';
import type { ProductLiveClientOptions } from '../core/product-live/product-live-client';
import { ExecutionRepository } from '../core/store/execution-repository';
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
} from './process-launch-batch';

/** Prefix of Powertools' idempotency keys (`launch#<hash>`); fixed, so that renaming the function keeps them. */
export const IDEMPOTENCY_KEY_PREFIX = 'launch';
/** Time kept free at the end of an invocation, beyond one API request's timeout. */
const RESERVE_MARGIN_MS = 5_000;

const OUTCOME_METRICS: Record<MessageOutcome, string> = {
  launched: 'LaunchesStarted',
  adopted: 'LaunchesAdopted',
  duplicate: 'LaunchDuplicates',
  'dead-lettered': 'LaunchesDeadLettered',
  retry: 'LaunchRetries',
};

export interface LaunchHandlerOptions {
  config: LaunchConfig;
  /** Used for the idempotency records (Powertools), attempt markers and the executions table. */
  dynamo: DynamoDBClient;
  sqs: SQSClient;
  logger?: Logger;
  metrics?: Metrics;
  /** Settings of the Product-Live client beyond the configuration (tests: fewer retries, shorter waits). */
  clientOptions?: Partial<Omit<ProductLiveClientOptions, 'baseUrl' | 'apiKey'>>;
  /** Replaces dependencies of the use case (tests: a store that fails at a chosen moment). */
  deps?: Partial<Omit<LaunchDeps, 'api'>>;
  retryBackoff?: RetryBackoff;
  now?: () => number;
}

/** The launch function's handler: an SQS batch in, a partial batch response out. */
export function createLaunchHandler(options: LaunchHandlerOptions) {
  const { config } = options;
  const logger = options.logger ?? new Logger({ serviceName: 'product-live-launch' });
  const metrics = options.metrics ?? new Metrics({ namespace: 'ProductLiveSync', serviceName: 'launch' });
  const now = options.now ?? Date.now;
  const doc = createDocumentClient(options.dynamo);
  const executions = new ExecutionRepository(doc, config.executionsTableName);
  const attempts = new LaunchAttemptRepository(doc, config.idempotencyTableName, {
    ttlSeconds: config.idempotencyTtlSeconds,
  });
  const queue = new SqsLaunchQueue(options.sqs, config.queueUrl, config.dlqUrl);

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
    awsSdkV3Client: options.dynamo,
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
    ...options.clientOptions,
  });

  const launchHandler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    // In-progress idempotency records expire with this invocation, so a crash is retried after it.
    idempotencyConfig.registerLambdaContext(context);
    const api = productLiveClient(await resolveApiKey(config.apiKey));
    const deps: LaunchDeps = { api, executions, attempts, now, logger, ...options.deps };
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
          reserveMs: config.timeoutMs + RESERVE_MARGIN_MS,
          ...(options.retryBackoff ? { retryBackoff: options.retryBackoff } : {}),
          maxReceiveCount: config.maxReceiveCount,
          onOutcome: (outcome) => metrics.addMetric(OUTCOME_METRICS[outcome], MetricUnit.Count, 1),
        },
        event,
      );
    } finally {
      metrics.addMetric('ApiRequests', MetricUnit.Count, api.requestCount - requestsBefore);
      metrics.addMetric('Throttled', MetricUnit.Count, api.throttledCount - throttledBefore);
    }
  };

  return middy(launchHandler)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}
