// Layer flow: EventBridge Scheduler (or the local runner) -> this factory's handler (middleware, adapters) ->
// runSync. `handler.ts` calls it with the production dependencies; the local stack, the benchmarks and the
// tests call it with their own clients, logger and hooks.
import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { createApiKeyResolver } from '#core/api-key';
import { createDocumentClient } from '#core/aws-clients';
import type { SyncConfig } from '#core/config';
import { describeError } from '#core/errors';
import type { BusEventSink } from '#core/events/bus-event';
import { observedHandler } from '#core/observability';
import { createClientForKey } from '#core/product-live/client-for-key';
import type { ProductLiveClientOptions } from '#core/product-live/product-live-client';
import { ExecutionRepository } from '#core/store/execution-repository';
import { JobHealthRepository } from '#core/store/job-health-repository';
import { LAKE_MARK_REUSE_MS, LakeMarks, SYNC_RUN_MARKS_ITEM } from '#core/store/lake-marks';
import { SyncRunRepository } from '#core/store/sync-run-repository';
import { SyncStateRepository } from '#core/store/sync-state-repository';
import { dayOf } from '#core/warehouse/lake-tables';
import * as z from '#core/zod';
import { filesBucketAdapters } from './files-bucket';
import { runSync, type SyncDeps, type SyncProgress } from './run-sync';
import { toSyncRunRecord } from './sync-run-record';
import type { SyncSummary } from './sync-summary';

/** The AWS clients the sync uses, created once per container by the caller. */
export interface SyncClients {
  dynamo: DynamoDBClient;
  s3: S3Client;
  /** Reads the API key's secret (default: Powertools' own provider). */
  secrets?: SecretsProvider;
}

/** Observers of a run, for the local runner (Lambda sets none). */
export interface SyncHooks {
  onProgress?: (progress: SyncProgress) => void;
}

export interface SyncHandlerDeps {
  config: SyncConfig;
  clients: SyncClients;
  logger: Logger;
  metrics: Metrics;
  /** X-Ray tracing of the invocation (production); absent outside Lambda. */
  tracer?: Tracer;
  hooks?: SyncHooks;
  /** The clock of the run (tests: the emulator's clock). Default Date.now. */
  now?: () => number;
  /** Product-Live client settings beyond the configuration (tests: shorter waits between retries). */
  api?: Partial<Omit<ProductLiveClientOptions, 'baseUrl' | 'apiKey'>>;
  /** Replaces dependencies of the use case (tests: a store that fails at a chosen moment). */
  overrides?: Partial<SyncDeps>;
  /**
   * Where the job health changes go: EventBridge in AWS (handler.ts), the events file locally. Absent: they are
   * recorded in the state table, not published.
   */
  eventSink?: BusEventSink;
}

/**
 * The invocation's input: EventBridge Scheduler passes `{}`. `{"audit": true}` runs the completeness audit
 * now, `{"retryFailedFiles": true}` puts the copies that failed for good back in the queue; other fields are
 * ignored.
 */
const SyncEvent = z.union([
  z.looseObject({ audit: z.optional(z.boolean()), retryFailedFiles: z.optional(z.boolean()) }),
  z.undefined(),
  z.null(),
]);

/** The sync function's handler: one run per invocation, its summary as the return value. */
export function createSyncHandler(deps: SyncHandlerDeps) {
  const { config, clients, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const doc = createDocumentClient(clients.dynamo);
  // Every execution write marks its day for the lake (LakeMarks): the lake function rewrites those days.
  const executions = new ExecutionRepository(doc, config.executionsTableName, {
    marks: new LakeMarks(doc, config.stateTableName, { now, reuseMs: LAKE_MARK_REUSE_MS }),
  });
  const state = new SyncStateRepository(doc, config.stateTableName);
  const health = {
    records: new JobHealthRepository(doc, config.stateTableName),
    runs: executions,
    ...(deps.eventSink ? { sink: deps.eventSink } : {}),
  };
  const syncRuns = new SyncRunRepository(doc, config.stateTableName);
  // Each run's record marks its day for the lake's `sync_runs` table (apart from the executions' days).
  const syncRunMarks = new LakeMarks(doc, config.stateTableName, { now, item: SYNC_RUN_MARKS_ITEM });
  const apiKeys = createApiKeyResolver(config.apiKey, clients.secrets);
  const { copierFor, storeLargePayload } = filesBucketAdapters(clients.s3, config);
  const productLiveClient = createClientForKey({
    baseUrl: config.apiUrl,
    findPath: config.findPath,
    requestsPerMinute: config.requestsPerMinute,
    timeoutMs: config.timeoutMs,
    // A 429 without Retry-After may need most of a minute: 2, 4, 8, 16, 32, 60, 60 s.
    maxAttempts: 8,
    retryBaseMs: 2_000,
    logger,
    ...deps.api,
  });
  const syncHandler = async (event: unknown, context: Context): Promise<SyncSummary> => {
    const parsed = SyncEvent.safeParse(event);
    if (!parsed.success) logger.warn('unexpected sync event shape; running anyway', { event });
    const request = parsed.success ? (parsed.data ?? {}) : {};
    const apiKey = await apiKeys.get();
    const runId = `${context.awsRequestId || 'local'}:${randomUUID()}`;
    const startedAt = now();
    const summary = await runSync(
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
        ...(deps.hooks?.onProgress ? { onProgress: deps.hooks.onProgress } : {}),
        health,
        ...deps.overrides,
      },
      {
        runId,
        startDate: config.startDate,
        pageSize: config.pageSize,
        lookbackMs: config.lookbackMs,
        timeMarginMs: config.timeMarginMs,
        leaseMs: config.leaseMs,
        fileCopyConcurrency: config.fileCopyConcurrency,
        fileCopyRetryDelayMs: config.fileCopyRetryDelayMs,
        auditIntervalMs: config.auditIntervalMs,
        forceAudit: request.audit === true,
        retryFailedFiles: request.retryFailedFiles === true,
        jobExpectations: config.jobExpectations,
      },
    );
    publishMetrics(metrics, summary, now());
    logger.info('sync summary', { summary });
    // Every run is kept as data (skipped ones too): the state table for the retention, then the warehouse.
    const record = toSyncRunRecord(summary, { runId, startedAt, finishedAt: now() });
    await syncRunMarks
      .mark([dayOf(record.startedAt)])
      .then(() => syncRuns.save(record, config.syncRunRetentionDays))
      .catch((error: unknown) =>
        logger.warn('could not keep the run in the sync runs', { error: describeError(error) }),
      );
    // Kept for the dashboard's sync health; a run skipped for the lease would hide the real last one.
    if (!summary.skipped) {
      await state
        .saveLastRun({ finishedAt: new Date(now()).toISOString(), summary: { ...summary } })
        .catch((error: unknown) =>
          logger.warn('could not save the run summary', { error: describeError(error) }),
        );
    }
    return summary;
  };

  return observedHandler(syncHandler, deps);
}

function publishMetrics(metrics: Metrics, summary: SyncSummary, nowMs: number): void {
  const count = (name: string, value: number) => metrics.addMetric(name, MetricUnit.Count, value);
  count('ExecutionsNew', summary.executions.new);
  count('ExecutionsUpdated', summary.executions.updated);
  count('ExecutionsUnchanged', summary.executions.unchanged);
  count('OpenExecutionsRefreshed', summary.executions.openRefreshed);
  count('FilesCopied', summary.files.copied);
  count('FilesSkipped', summary.files.skipped);
  count('FilesFailed', summary.files.failed);
  count('FilesPending', summary.files.pending);
  count('ApiRequests', summary.apiRequests);
  count('Throttled', summary.throttled);
  count('RunsSkipped', summary.skipped ? 1 : 0);
  count('RunsFailed', summary.error ? 1 : 0);
  count('MoreRemaining', summary.moreRemaining ? 1 : 0);
  if (summary.audit) {
    count('AuditRuns', 1);
    count('AuditExecutionsRecovered', summary.audit.executionsRecovered);
    count('AuditExecutionsRemovedFromApi', summary.audit.executionsRemovedFromApi);
    count('AuditMonthsDiffering', summary.audit.monthsDiffering);
  }
  if (summary.health) {
    // Jobs per state after the run (a gauge: read it with Maximum or Average, not Sum).
    for (const [state, jobs] of Object.entries(summary.health.byState)) {
      count(`Jobs${state.charAt(0).toUpperCase()}${state.slice(1)}`, jobs);
    }
    count('HealthChanges', summary.health.changed);
    count('HealthEventsPublished', summary.health.eventsPublished);
    count('HealthEventsPending', summary.health.eventsPending);
    count('HealthEvaluationsFailed', summary.health.error ? 1 : 0);
  }
  if (summary.watermark) {
    metrics.addMetric(
      'LagSeconds',
      MetricUnit.Seconds,
      Math.max(0, (nowMs - Date.parse(summary.watermark)) / 1000),
    );
  }
}
