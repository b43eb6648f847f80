// events: status changes from the executions table's stream to the event sink, through the local stack's
// stream reader (DynamoDB Local's real stream) and the events function's handler, publishing to the local
// file sink. Two figures: how many events per second a backlog drains at, and how long after a store write its
// event is published while writes keep coming (median, p95).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { RecordingMetrics } from '#core/observability';
import type { ExecutionItem } from '#core/store/execution-repository';
import { createEventsHandler } from '#functions/events/events-handler';
import type { EventSink } from '#functions/events/publish-status-changes';
import { createEmulator, ManualClock } from '#local/emulator/index';
import { nearestRank } from '#local/history/percentiles';
import { DynamoDBStreamPoller } from '#local/stack/dynamodb-stream-poller';
import { fileEventSink } from '#local/stack/file-event-sink';
import { lambdaContext } from '#local/stack/local-stack';
import { parseBenchArgs } from './support/bench-args';
import type { Benchmark, BenchReport, Check } from './support/bench-report';
import { formatDuration, formatNumber } from './support/bench-report';
import { BenchResources } from './support/bench-resources';
import { batchWriteRaw, createStore, startLocalAws, toNewItem } from './support/bench-stack';

/** How often the reader polls the stream between drains: Lambda's event source mapping polls about 4 times a second. */
const POLL_INTERVAL_MS = 250;

const percentile = (sorted: readonly number[], percent: number) => nearestRank(sorted, percent) ?? Number.NaN;

export const benchmark: Benchmark = {
  name: 'events',
  title: 'status-change events from DynamoDB Local’s stream through the events handler to the file sink',
  async run(args): Promise<BenchReport> {
    const { mode, values } = parseBenchArgs(args, {
      backlog: { full: 20_000, quick: 2_000, description: 'executions written before the reader starts' },
      steady: { full: 3_000, quick: 500, description: 'executions written while the reader runs' },
      'batch-every-ms': { full: 100, quick: 100, description: 'one batch write of 25 executions this often' },
    });
    const resources = new BenchResources();
    const directory = await mkdtemp(join(tmpdir(), 'bench-events-'));
    resources.defer('temporary directory', () => rm(directory, { recursive: true, force: true }));
    try {
      // The stream, as deployed, and its own DynamoDB Local: no other table's stream records to pay for.
      const aws = await startLocalAws(resources, ['dynamodb']);
      const store = await createStore(aws, 'events', { stream: true });
      const streams = new DynamoDBStreamsClient({
        region: aws.region,
        endpoint: aws.endpoints.dynamodb,
        credentials: await aws.dynamo.config.credentials(),
      });
      resources.defer('streams client', async () => streams.destroy());

      // Executions of the emulator's demo generator: realistic sizes (input, output, file lists).
      const emulator = createEmulator({
        clock: new ManualClock('2026-06-01T00:00:00.000Z'),
        demo: { seed: 'bench-events', executions: values.backlog + values.steady, days: 365 },
      });
      const nowIso = new Date().toISOString();
      const items = emulator.allExecutions().map((execution) => toNewItem(execution, nowIso));
      const backlog = items.slice(0, values.backlog);
      const steady = items.slice(values.backlog);

      const publishedAt = new Map<string, number>();
      const fileSink = fileEventSink(join(directory, 'events.ndjson'), '123456789012', aws.region);
      const sink: EventSink = {
        async put(events) {
          const outcomes = await fileSink.put(events);
          const at = Date.now();
          for (const event of events) publishedAt.set(event.detail.executionId, at);
          return outcomes;
        },
      };
      const metrics = new RecordingMetrics({ namespace: 'Bench', serviceName: 'events' });
      const handler = createEventsHandler({
        sink,
        logger: new Logger({ serviceName: 'bench-events', logLevel: 'SILENT' }),
        metrics,
      });
      const problems: string[] = [];
      const poller = new DynamoDBStreamPoller({
        dynamodb: aws.dynamo,
        streams,
        tableName: store.executionsTable,
        region: aws.region,
        checkpointFile: join(directory, 'checkpoint.json'),
        invoke: (event) => handler(event, lambdaContext('events', 60_000)),
        onProblem: (message) => problems.push(message),
      });
      resources.defer('stream reader', () => poller.stop());

      // 1. A backlog: written first, then drained.
      await batchWriteRaw(aws.doc, store.executionsTable, backlog);
      const drainStarted = performance.now();
      const drained = await poller.drain();
      const drainMs = performance.now() - drainStarted;

      // 2. Steady writes while the reader polls: the lag from a write's completion to its event.
      const writtenAt = new Map<string, number>();
      poller.start(POLL_INTERVAL_MS);
      for (let start = 0; start < steady.length; start += 25) {
        const batch: ExecutionItem[] = steady.slice(start, start + 25);
        const began = Date.now();
        await batchWriteRaw(aws.doc, store.executionsTable, batch);
        const done = Date.now();
        for (const item of batch) writtenAt.set(item.id, done);
        await new Promise((resolve) =>
          setTimeout(resolve, Math.max(0, values['batch-every-ms'] - (done - began))),
        );
      }
      const deadline = Date.now() + 120_000;
      while (steady.some((item) => !publishedAt.has(item.id)) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await poller.stop();
      const lags = steady
        .map((item) => (publishedAt.get(item.id) ?? Number.NaN) - (writtenAt.get(item.id) ?? Number.NaN))
        .filter((lag) => Number.isFinite(lag))
        .sort((a, b) => a - b);

      const lines = (await readFile(join(directory, 'events.ndjson'), 'utf8')).split('\n').filter(Boolean);
      const eventIds = lines.map(
        (line) => (JSON.parse(line) as { detail: { eventId: string } }).detail.eventId,
      );
      const distinct = new Set(eventIds).size;
      const checks: Check[] = [
        {
          label: 'one event per written execution, none twice',
          ok: distinct === items.length && eventIds.length === items.length,
          detail: `${eventIds.length} lines, ${distinct} distinct events, ${items.length} executions written`,
        },
        {
          label: 'the backlog drained in one call, no problem reported',
          ok: drained === backlog.length && problems.length === 0,
          detail: `${drained} records handled; ${problems.length} problems${problems[0] ? ` (${problems[0]})` : ''}`,
        },
      ];
      return {
        title: benchmark.title,
        mode,
        parameters: {
          'backlog executions': backlog.length,
          'steady executions': steady.length,
          'steady write rate': `25 every ${values['batch-every-ms']} ms`,
          'reader poll interval': `${POLL_INTERVAL_MS} ms`,
          'stream batch size': 100,
        },
        figures: [
          {
            key: 'eventsPerSecond',
            label: 'events published per second (backlog)',
            value: (backlog.length / drainMs) * 1000,
            unit: '/s',
            digits: 0,
          },
          {
            key: 'lagMedianMs',
            label: 'store write → event, median',
            value: percentile(lags, 50),
            unit: 'ms',
            digits: 0,
          },
          {
            key: 'lagP95Ms',
            label: 'store write → event, p95',
            value: percentile(lags, 95),
            unit: 'ms',
            digits: 0,
          },
        ],
        checks,
        details: {
          'backlog drain': formatDuration(drainMs),
          'stream batches (handler invocations)': metrics.published.length,
          'lag max': `${formatNumber(lags.at(-1) ?? Number.NaN, 0)} ms`,
        },
        notes: [
          'The reader is the local stack’s stand-in for Lambda’s DynamoDB event source mapping: one shard read in ' +
            `order, batches of 100, polled every ${POLL_INTERVAL_MS} ms when caught up (Lambda polls a shard about four times ` +
            'a second). The lag therefore includes up to one poll interval of waiting; the figure in AWS depends on ' +
            'the stream’s own propagation (typically under a second) and PutEvents’ latency, not measured here.',
          'The sink appends to a file; EventBridge’s PutEvents (10 entries a call, one call per chunk) would add its ' +
            'round trip per 10 events. Events per second is a ceiling of the reader and handler, not of EventBridge.',
        ],
      };
    } finally {
      await resources.close();
    }
  },
};
