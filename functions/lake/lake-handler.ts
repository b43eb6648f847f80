// Layer flow: EventBridge Scheduler (or the local runner) -> this factory's handler (middleware, adapters) ->
// runLake. `handler.ts` calls it with the production dependencies; the local stack, the benchmarks and the
// tests call it with their own clients, logger and clock.
import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { createDocumentClient } from '#core/aws-clients';
import type { LakeConfig } from '#core/config';
import { HistoryReader } from '#core/history/history-reader';
import { s3PayloadLoader } from '#core/history/large-payload';
import { observedHandler } from '#core/observability';
import { LakeMarks, SYNC_RUN_MARKS_ITEM } from '#core/store/lake-marks';
import { SyncRunRepository } from '#core/store/sync-run-repository';
import { SyncStateRepository } from '#core/store/sync-state-repository';
import { dayRange } from '#core/warehouse/lake-tables';
import type { LakeSummary } from './lake-summary';
import { type LakeDeps, type LakeOptions, runLake } from './run-lake';

export interface LakeClients {
  dynamo: DynamoDBClient;
  s3: S3Client;
}

export interface LakeHandlerDeps {
  config: LakeConfig;
  clients: LakeClients;
  logger: Logger;
  metrics: Metrics;
  /** X-Ray tracing of the invocation (production); absent outside Lambda. */
  tracer?: Tracer;
  /** The clock of the run (tests: the emulator's clock). Default Date.now. */
  now?: () => number;
  /** Options of the use case beyond the configuration (tests with a manual clock: settleMs 0). */
  options?: Partial<Pick<LakeOptions, 'settleMs' | 'concurrency' | 'leaseMs'>>;
  /** Replaces dependencies of the use case (tests: a bucket that fails at a chosen moment). */
  overrides?: Partial<LakeDeps>;
}

/** How long a lake run's lease lasts: longer than the function's timeout. */
const LAKE_LEASE_MS = 16 * 60_000;

/** The lake function's handler: one run per invocation (the event is ignored), its summary as the return value. */
export function createLakeHandler(deps: LakeHandlerDeps) {
  const { config, clients, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const doc = createDocumentClient(clients.dynamo);
  const reader = new HistoryReader(doc, config.executionsTableName, {
    loadLargePayload: s3PayloadLoader(clients.s3, config.filesBucketName),
  });
  const state = new SyncStateRepository(doc, config.stateTableName);
  const marks = new LakeMarks(doc, config.stateTableName, { now });
  const syncRunMarks = new LakeMarks(doc, config.stateTableName, { now, item: SYNC_RUN_MARKS_ITEM });
  const syncRuns = new SyncRunRepository(doc, config.stateTableName);
  const objects = {
    put: async (key: string, body: Uint8Array) => {
      await clients.s3.send(
        new PutObjectCommand({
          Bucket: config.lakeBucketName,
          Key: key,
          Body: body,
          ContentType: 'application/vnd.apache.parquet',
        }),
      );
    },
    delete: async (key: string) => {
      await clients.s3.send(new DeleteObjectCommand({ Bucket: config.lakeBucketName, Key: key }));
    },
  };

  const lakeHandler = async (_event: unknown, context: Context): Promise<LakeSummary> => {
    const summary = await runLake(
      {
        marks,
        source: {
          executionsOfDay: (day) => {
            const { since, until } = dayRange(day);
            return reader.createdBetween(since, until);
          },
          apiObject: (item) => reader.apiObject(item),
          createdAtRange: () => reader.createdAtRange(),
        },
        syncRuns: {
          marks: syncRunMarks,
          source: {
            runsOfDay: (day) => {
              const { since, until } = dayRange(day);
              return syncRuns.listBetween(since, until);
            },
            range: () => syncRuns.range(),
          },
        },
        objects,
        lease: state,
        now,
        remainingTimeMs: () => context.getRemainingTimeInMillis(),
        logger,
        ...deps.overrides,
      },
      {
        runId: `${context.awsRequestId || 'local'}:${randomUUID()}`,
        timeMarginMs: config.timeMarginMs,
        leaseMs: LAKE_LEASE_MS,
        ...deps.options,
      },
    );
    publishMetrics(metrics, summary);
    logger.info('lake summary', { summary });
    return summary;
  };

  return observedHandler(lakeHandler, deps);
}

function publishMetrics(metrics: Metrics, summary: LakeSummary): void {
  const count = (name: string, value: number) => metrics.addMetric(name, MetricUnit.Count, value);
  count('LakeDaysWritten', summary.daysWritten);
  count('LakeDaysFailed', summary.daysFailed);
  count('LakeDaysLeft', summary.daysLeft);
  count('LakeRowsWritten', summary.executionRows + summary.fileRows + summary.syncRunRows);
  metrics.addMetric('LakeBytesWritten', MetricUnit.Bytes, summary.bytesWritten);
  count('LakeRunsFailed', summary.error ? 1 : 0);
}
