// Layer flow: EventBridge Scheduler -> this handler (wiring only: config, clients, middleware) -> runSync.
// Everything below the handler function runs once per container (cold start).
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { resolveApiKey } from '../core/api-key';
import { createDocumentClient, createS3Client } from '../core/aws-clients';
import { loadSyncConfig } from '../core/config';
import { FileCopier } from '../core/files/file-copier';
import { createClientForKey } from '../core/product-live/client-for-key';
import { ExecutionRepository } from '../core/store/execution-repository';
import { SyncStateRepository } from '../core/store/sync-state-repository';
import { runSync, type SyncProgress } from './run-sync';
import type { SyncSummary } from './sync-summary';

const config = loadSyncConfig();
const logger = new Logger({ serviceName: 'product-live-sync' });
const metrics = new Metrics({ namespace: 'ProductLiveSync', serviceName: 'sync' });
const doc = createDocumentClient();
const s3 = createS3Client({ forcePathStyle: config.s3ForcePathStyle });
const executions = new ExecutionRepository(doc, config.executionsTableName);
const state = new SyncStateRepository(doc, config.stateTableName);

/** Progress of the running sync, for the local runner's progress bar (Lambda ignores it). */
export const syncProgress = new EventEmitter<{ progress: [SyncProgress] }>();

/** The schedule's input: EventBridge Scheduler passes `{}` (any other object is accepted and ignored). */
const SyncEvent = z.looseObject({}).or(z.undefined()).or(z.null());

const productLiveClient = createClientForKey({
  baseUrl: config.apiUrl,
  findPath: config.findPath,
  requestsPerMinute: config.requestsPerMinute,
  timeoutMs: config.timeoutMs,
  // A 429 without Retry-After may need most of a minute: 2, 4, 8, 16, 32, 60, 60 s.
  maxAttempts: 8,
  retryBaseMs: 2_000,
  logger,
});

const syncHandler = async (event: unknown, context: Context): Promise<SyncSummary> => {
  const parsed = SyncEvent.safeParse(event);
  if (!parsed.success) logger.warn('unexpected sync event shape; running anyway', { event });
  const apiKey = await resolveApiKey(config.apiKey);
  const api = productLiveClient(apiKey);
  const summary = await runSync(
    {
      api,
      executions,
      state,
      copier: new FileCopier({
        s3,
        bucket: config.filesBucketName,
        policy: { allowedHosts: config.allowedFileHosts, apiUrl: config.apiUrl },
        apiKey,
        idleTimeoutMs: config.fileDownloadIdleTimeoutMs,
      }),
      storeLargePayload: async (key, json) => {
        await s3.send(
          new PutObjectCommand({
            Bucket: config.filesBucketName,
            Key: key,
            Body: json,
            ContentType: 'application/json',
          }),
        );
      },
      now: Date.now,
      remainingTimeMs: () => context.getRemainingTimeInMillis(),
      logger,
      onProgress: (progress) => syncProgress.emit('progress', progress),
    },
    {
      runId: `${context.awsRequestId || 'local'}:${randomUUID()}`,
      startDate: config.startDate,
      pageSize: config.pageSize,
      lookbackMs: config.lookbackMs,
      timeMarginMs: config.timeMarginMs,
      leaseMs: config.leaseMs,
      fileCopyConcurrency: config.fileCopyConcurrency,
      fileCopyMaxAttempts: config.fileCopyMaxAttempts,
    },
  );
  publishMetrics(summary);
  logger.info('sync summary', { summary });
  return summary;
};

function publishMetrics(summary: SyncSummary): void {
  const count = (name: string, value: number) => metrics.addMetric(name, MetricUnit.Count, value);
  count('ExecutionsNew', summary.executions.new);
  count('ExecutionsUpdated', summary.executions.updated);
  count('ExecutionsUnchanged', summary.executions.unchanged);
  count('OpenExecutionsRefreshed', summary.executions.openRefreshed);
  count('FilesCopied', summary.files.copied);
  count('FilesSkipped', summary.files.skipped);
  count('FilesFailed', summary.files.failed);
  count('ApiRequests', summary.apiRequests);
  count('Throttled', summary.throttled);
  count('RunsSkipped', summary.skipped ? 1 : 0);
  count('RunsFailed', summary.error ? 1 : 0);
  count('MoreRemaining', summary.moreRemaining ? 1 : 0);
  if (summary.watermark) {
    metrics.addMetric(
      'LagSeconds',
      MetricUnit.Seconds,
      Math.max(0, (Date.now() - Date.parse(summary.watermark)) / 1000),
    );
  }
}

export const handler = middy(syncHandler)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
