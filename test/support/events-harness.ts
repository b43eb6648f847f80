// Test support: the events function built by its factory (createEventsHandler), fed by DynamoDB Local's real
// stream of a test store's executions table through the local stack's stream reader, publishing to a
// recording sink that a test can make refuse entries or fail, and an invocation that can crash after the
// handler ran (as a Lambda that times out after PutEvents would).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { EVENT_DETAIL_TYPE, type ExecutionEvent, RESULT_DETAIL_TYPE } from '#core/events/execution-event';
import { RecordingMetrics } from '#core/observability';
import { createEventsHandler } from '#functions/events/events-handler';
import type { EventSink, PublishResult } from '#functions/events/publish-status-changes';
import { DynamoDBStreamPoller } from '#local/stack/dynamodb-stream-poller';
import { lambdaContext } from '#local/stack/local-stack';
import { type CapturedLine, CapturingLogger } from './capturing-logger';
import type { LocalAwsClients } from './local-aws';

export interface EventsHarness {
  /** Every event the sink accepted, in the order it accepted them (redeliveries included). */
  published: ExecutionEvent[];
  /** Of those, the status changes (`Job Execution Status Change`), in order. */
  readonly statusChanges: Array<Extract<ExecutionEvent, { detailType: typeof EVENT_DETAIL_TYPE }>>;
  /** Of those, the results (`Job Execution Result`), in order. */
  readonly resultEvents: Array<Extract<ExecutionEvent, { detailType: typeof RESULT_DETAIL_TYPE }>>;
  /** Every PutEvents-like call: how many entries it had and how many were refused. */
  calls: Array<{ entries: number; refused: number }>;
  /** Every batch result of the handler. */
  results: PublishResult[];
  metrics: RecordingMetrics;
  logs: CapturedLine[];
  /**
   * Decides, per entry of a call, whether the sink refuses it (a reason) or accepts it (null). Default: all
   * accepted. A thrown error fails the whole call.
   */
  refuse: (event: ExecutionEvent, call: number) => string | null;
  /** When set, the next invocation throws after the handler returned (its events were published). */
  crashAfterNextInvocation: boolean;
  /** Reads the stream until caught up; returns the records handled. */
  drain(): Promise<number>;
  /** Problems the stream reader reported (failed batches, trimmed data). */
  problems: string[];
  close(): Promise<void>;
}

export async function createEventsHarness(
  clients: LocalAwsClients,
  tableName: string,
): Promise<EventsHarness> {
  const directory = await mkdtemp(join(tmpdir(), 'events-'));
  const streams = new DynamoDBStreamsClient({
    region: clients.region,
    endpoint: clients.endpoints.dynamodb,
    credentials: await clients.dynamo.config.credentials(),
  });
  const logger = new CapturingLogger();
  const metrics = new RecordingMetrics({ namespace: 'Test', serviceName: 'events' });
  let callNumber = 0;
  const sink: EventSink = {
    async put(events) {
      callNumber += 1;
      const outcomes = events.map((event) => harness.refuse(event, callNumber));
      harness.calls.push({ entries: events.length, refused: outcomes.filter((o) => o !== null).length });
      events.forEach((event, index) => {
        if (outcomes[index] === null) harness.published.push(event);
      });
      return outcomes;
    },
  };
  const handler = createEventsHandler({
    sink,
    logger,
    metrics,
    options: { sleep: async () => {} },
    onResult: (result) => harness.results.push(result),
  });
  const invoke = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const response = await handler(event, lambdaContext('events', 60_000));
    if (harness.crashAfterNextInvocation) {
      harness.crashAfterNextInvocation = false;
      throw new Error('the function crashed after publishing');
    }
    return response;
  };
  const problems: string[] = [];
  const poller = new DynamoDBStreamPoller({
    dynamodb: clients.dynamo,
    streams,
    tableName,
    region: clients.region,
    checkpointFile: join(directory, 'checkpoint.json'),
    invoke,
    maxAttempts: 10,
    onProblem: (message) => problems.push(message),
  });
  const harness: EventsHarness = {
    published: [],
    get statusChanges() {
      return this.published.filter(
        (event): event is Extract<ExecutionEvent, { detailType: typeof EVENT_DETAIL_TYPE }> =>
          event.detailType === EVENT_DETAIL_TYPE,
      );
    },
    get resultEvents() {
      return this.published.filter(
        (event): event is Extract<ExecutionEvent, { detailType: typeof RESULT_DETAIL_TYPE }> =>
          event.detailType === RESULT_DETAIL_TYPE,
      );
    },
    calls: [],
    results: [],
    metrics,
    logs: logger.lines,
    refuse: () => null,
    crashAfterNextInvocation: false,
    drain: () => poller.drain(),
    problems,
    close: async () => {
      await poller.stop();
      streams.destroy();
      await rm(directory, { recursive: true, force: true });
    },
  };
  return harness;
}

/** The statuses each execution's events announce, in the order of their first publication. */
export function statusesPerExecution(events: readonly ExecutionEvent[]): Map<string, string[]> {
  const seen = new Set<string>();
  const statuses = new Map<string, string[]>();
  for (const event of events) {
    if (seen.has(event.detail.eventId)) continue;
    seen.add(event.detail.eventId);
    const list = statuses.get(event.detail.executionId) ?? [];
    list.push(event.detail.status);
    statuses.set(event.detail.executionId, list);
  }
  return statuses;
}
