// Layer flow: the executions table's DynamoDB stream (event source mapping filtered to awaited executions, with
// partial batch responses; locally the stream reader) -> this factory's handler -> sendResult per record whose
// write made a result due -> a TaskCallbackClient (Step Functions in AWS, a file locally). `handler.ts` calls it
// with the production dependencies; the local stack and the tests with their own.
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { createDocumentClient } from '#core/aws-clients';
import {
  callbackDue,
  type OutputLoader,
  sendResult,
  type TaskCallbackClient,
} from '#core/callbacks/task-callbacks';
import type { CallbacksConfig } from '#core/config';
import { describeError } from '#core/errors';
import { s3PayloadLoader } from '#core/history/large-payload';
import { observedHandler } from '#core/observability';
import type { ExecutionItem } from '#core/store/execution-repository';
import { TaskTokenRepository } from '#core/store/task-token-repository';

export interface CallbacksHandlerDeps {
  config: CallbacksConfig;
  clients: { dynamo: DynamoDBClient; s3: S3Client };
  /** Where callbacks go: Step Functions (handler.ts), a file (the local stack), a fake (tests). */
  callbacks: TaskCallbackClient;
  logger: Logger;
  metrics: Metrics;
  /** X-Ray tracing of the invocation (production); absent outside Lambda. */
  tracer?: Tracer;
  /** The clock (tests). Default Date.now. */
  now?: () => number;
}

/** The callbacks function's handler: one stream batch in, the record to deliver again (and those after it) out. */
export function createCallbacksHandler(deps: CallbacksHandlerDeps) {
  const { config, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const tokens = new TaskTokenRepository(
    createDocumentClient(deps.clients.dynamo),
    config.idempotencyTableName,
  );
  const loadPayload = s3PayloadLoader(deps.clients.s3, config.filesBucketName);
  const loadOutput: OutputLoader = async (item) => {
    const raw = item.rawS3Key ? await loadPayload(item.rawS3Key) : item.raw;
    return (JSON.parse(raw) as { output?: unknown }).output ?? null;
  };

  const callbacksHandler = async (
    event: DynamoDBStreamEvent,
    _context: Context,
  ): Promise<DynamoDBBatchResponse> => {
    let sent = 0;
    let rejected = 0;
    let failed = 0;
    const batchItemFailures: DynamoDBBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records ?? []) {
      const after = imageOf(record.dynamodb?.NewImage);
      if (!callbackDue(imageOf(record.dynamodb?.OldImage), after)) continue;
      try {
        const counts = await sendResult(
          { client: deps.callbacks, tokens, now, logger, onRejected: () => undefined },
          after,
          loadOutput,
          config.filesBucketName,
        );
        sent += counts.sent;
        rejected += counts.rejected;
      } catch (error) {
        // This record and every one after it come again, in order: a callback is sent at least once.
        failed += 1;
        const sequence = record.dynamodb?.SequenceNumber ?? '';
        batchItemFailures.push({ itemIdentifier: sequence });
        logger.warn('task callbacks not sent; the stream delivers them again from this record', {
          executionId: after.id,
          sequenceNumber: sequence,
          error: describeError(error),
        });
        break;
      }
    }
    metrics.addMetric('TaskCallbacksSent', MetricUnit.Count, sent);
    metrics.addMetric('TaskTokensRejected', MetricUnit.Count, rejected);
    metrics.addMetric('TaskCallbacksFailed', MetricUnit.Count, failed);
    if (sent + rejected + failed > 0) logger.info('task callbacks', { sent, rejected, failed });
    return { batchItemFailures };
  };

  return observedHandler(callbacksHandler, deps);
}

function imageOf(image: Record<string, unknown> | undefined): ExecutionItem | undefined {
  return image ? (unmarshall(image as never) as ExecutionItem) : undefined;
}
