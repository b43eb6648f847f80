// Layer flow: the executions table's DynamoDB stream (event source mapping with partial batch responses, or
// the local stream reader) -> this factory's handler -> publishStatusChanges -> an event sink. `handler.ts`
// calls it with EventBridge as the sink; the local stack calls it with a file sink, the tests with their own.
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { observedHandler } from '#core/observability';
import {
  type EventSink,
  type PublishOptions,
  type PublishResult,
  publishStatusChanges,
} from './publish-status-changes';

export interface EventsHandlerDeps {
  sink: EventSink;
  logger: Logger;
  metrics: Metrics;
  /** X-Ray tracing of the invocation (production); absent outside Lambda. */
  tracer?: Tracer;
  /** In-place retries of refused events (tests: no waiting). */
  options?: PublishOptions & { sleep?: (ms: number) => Promise<void> };
  /** Sees the result of every batch (the local stack counts what was published). */
  onResult?: (result: PublishResult) => void;
}

/** The events function's handler: one stream batch in, the records to deliver again out. */
export function createEventsHandler(deps: EventsHandlerDeps) {
  const { sink, logger, metrics } = deps;
  const { sleep, ...options } = deps.options ?? {};

  const eventsHandler = async (
    event: DynamoDBStreamEvent,
    _context: Context,
  ): Promise<DynamoDBBatchResponse> => {
    const records = event.Records ?? [];
    const result = await publishStatusChanges(
      records,
      { sink, logger, ...(sleep ? { sleep } : {}) },
      options,
    );
    const count = (name: string, value: number) => metrics.addMetric(name, MetricUnit.Count, value);
    count('EventsPublished', result.published);
    count('EventsUnchanged', result.unchanged);
    count('EventsRetried', result.retried);
    count('EventsFailed', result.failed);
    logger.info('stream batch published', {
      records: records.length,
      published: result.published,
      unchanged: result.unchanged,
      retried: result.retried,
      failed: result.failed,
    });
    deps.onResult?.(result);
    return { batchItemFailures: result.batchItemFailures };
  };

  return observedHandler(eventsHandler, deps);
}
