// Layer flow: EventBridge Scheduler (or the local stack) -> this factory's handler (middleware, adapters) ->
// runFollow. `handler.ts` calls it with the production dependencies; the local stack and the tests call it with
// their own clients, logger and hooks.
import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import { createApiKeyResolver } from '#core/api-key';
import { createDocumentClient } from '#core/aws-clients';
import { stepFunctionsCallbacks } from '#core/callbacks/step-functions-client';
import { sendHeartbeats, type TaskCallbackClient } from '#core/callbacks/task-callbacks';
import type { FollowConfig } from '#core/config';
import { observedHandler } from '#core/observability';
import { createClientForKey } from '#core/product-live/client-for-key';
import type { ProductLiveClientOptions } from '#core/product-live/product-live-client';
import { ExecutionRepository } from '#core/store/execution-repository';
import { LAKE_MARK_REUSE_MS, LakeMarks } from '#core/store/lake-marks';
import { SyncStateRepository } from '#core/store/sync-state-repository';
import { TaskTokenRepository } from '#core/store/task-token-repository';
import { filesBucketAdapters } from '#functions/sync/files-bucket';
import { type FollowDeps, type FollowedExecution, type FollowSummary, runFollow } from './run-follow';

export interface FollowClients {
  dynamo: DynamoDBClient;
  s3: S3Client;
  /** Reads the API key's secret (default: Powertools' own provider). */
  secrets?: SecretsProvider;
  /** Where heartbeats for awaited open executions go (default: Step Functions). */
  callbacks?: TaskCallbackClient;
}

export interface FollowHandlerDeps {
  config: FollowConfig;
  clients: FollowClients;
  logger: Logger;
  metrics: Metrics;
  /** X-Ray tracing of the invocation (production); absent outside Lambda. */
  tracer?: Tracer;
  /** The clock (tests: the emulator's clock). Default Date.now. */
  now?: () => number;
  /** Product-Live client settings beyond the configuration (tests: shorter waits between retries). */
  api?: Partial<Omit<ProductLiveClientOptions, 'baseUrl' | 'apiKey'>>;
  /** Replaces dependencies of the use case (tests). */
  overrides?: Partial<FollowDeps>;
}

/** The follow function's handler: one pass per invocation (the event is ignored), its summary as the return value. */
export function createFollowHandler(deps: FollowHandlerDeps) {
  const { config, clients, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const doc = createDocumentClient(clients.dynamo);
  // Every execution write marks its day for the lake, as the sync's do.
  const executions = new ExecutionRepository(doc, config.executionsTableName, {
    marks: new LakeMarks(doc, config.stateTableName, { now, reuseMs: LAKE_MARK_REUSE_MS }),
  });
  const state = new SyncStateRepository(doc, config.stateTableName);
  const tokens = new TaskTokenRepository(doc, config.idempotencyTableName);
  const callbacks = clients.callbacks ?? stepFunctionsCallbacks(new SFNClient({}));
  // Heartbeats to the waiters of executions still open; an execution none of whose tokens is still accepted is
  // no longer awaited, and no longer followed.
  const onStillOpen = async (open: readonly FollowedExecution[]) => {
    const outcome = await sendHeartbeats({ client: callbacks, tokens, now, logger }, open);
    for (const id of outcome.unawaited) {
      const execution = open.find((candidate) => candidate.id === id);
      if (execution) await executions.releaseWaiters(execution);
    }
    metrics.addMetric('TaskHeartbeatsSent', MetricUnit.Count, outcome.sent);
    metrics.addMetric('TaskTokensRejected', MetricUnit.Count, outcome.rejected);
  };
  const apiKeys = createApiKeyResolver(config.apiKey, clients.secrets);
  const { copierFor, storeLargePayload } = filesBucketAdapters(clients.s3, config);
  const productLiveClient = createClientForKey({
    baseUrl: config.apiUrl,
    findPath: config.findPath,
    // The follow function's own share of the launch share (invariant 6).
    requestsPerMinute: config.requestsPerMinute,
    timeoutMs: config.timeoutMs,
    maxAttempts: 3,
    retryBaseMs: 1_000,
    retryMaxMs: 10_000,
    logger,
    ...deps.api,
  });
  const followHandler = async (_event: unknown, context: Context): Promise<FollowSummary> => {
    const apiKey = await apiKeys.get();
    const summary = await runFollow(
      {
        api: productLiveClient(apiKey),
        executions,
        state,
        copier: copierFor(apiKey),
        renewCopier: async () => copierFor(await apiKeys.refresh()),
        storeLargePayload,
        now,
        remainingTimeMs: () => context.getRemainingTimeInMillis(),
        logger,
        onStillOpen,
        ...deps.overrides,
      },
      {
        runId: `follow:${context.awsRequestId || 'local'}:${randomUUID()}`,
        scope: config.scope,
        leaseMs: config.leaseMs,
        timeMarginMs: config.timeMarginMs,
        fileCopyConcurrency: config.fileCopyConcurrency,
        fileCopyRetryDelayMs: config.fileCopyRetryDelayMs,
      },
    );
    const count = (name: string, value: number) => metrics.addMetric(name, MetricUnit.Count, value);
    count('FollowedExecutions', summary.followed);
    count('FollowedExecutionsEnded', summary.ended);
    count('SettlingExecutions', summary.settling);
    count('ApiRequests', summary.apiRequests);
    count('FilesCopied', summary.files.copied);
    count('FilesFailed', summary.files.failed);
    count('PassesSkipped', summary.skipped ? 1 : 0);
    count('PassesFailed', summary.error ? 1 : 0);
    if (summary.followed > 0 || summary.settling > 0) logger.info('follow summary', { summary });
    return summary;
  };

  return observedHandler(followHandler, deps);
}
