// launch: 1,000 launch messages (some of them duplicates of others) through the local queue, consumed by the
// local stack's SQS poller and the real launch handler, against an emulator that enforces the launch budget.
// How fully does the launcher use its budget, and does every distinct request start exactly one execution?
// First, the upload of a 100 MB object from S3 to the Files API (support/upload-throughput.ts): throughput
// against a plain copy of the same bytes, and the memory it takes.
import { Logger } from '@aws-lambda-powertools/logger';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import { loadLaunchConfig } from '#core/config';
import { RecordingMetrics } from '#core/observability';
import { RateBudget } from '#core/product-live/rate-budget';
import { createLaunchHandler } from '#functions/launch/launch-handler';
import { localLastDeliveryReceiveCount } from '#local/aws/local-aws-servers';
import { storeEnvironment } from '#local/aws/provision';
import { createEmulator, systemClock } from '#local/emulator/index';
import { createSeededRandom } from '#local/emulator/seeded-random';
import { lambdaContext } from '#local/stack/local-stack';
import { queueDepth, SqsLaunchPoller } from '#local/stack/sqs-launch-poller';
import { parseBenchArgs } from './support/bench-args';
import type { Benchmark, BenchReport, Check } from './support/bench-report';
import { formatDuration, formatNumber } from './support/bench-report';
import { BenchResources } from './support/bench-resources';
import { createStore, startLocalAws } from './support/bench-stack';
import { measureBudgetUse } from './support/measures';
import { measureUpload } from './support/upload-throughput';

/** The deployed launch function's default timeout (infra/config.ts launchTimeoutSeconds). */
const FUNCTION_TIMEOUT_MS = 180_000;
/**
 * local-aws-sqs counts every ChangeMessageVisibility (the handler's retry backoff) as a receive, so the
 * deployed 10 deliveries need head room here; nothing in this benchmark should be dead-lettered anyway.
 */
const MAX_RECEIVE_COUNT = 100;

/** Counts the handler's per-message outcomes (its metrics), publishing nothing. */

export const benchmark: Benchmark = {
  name: 'launch',
  title: '1,000 launch messages through the local queue, poller and launch handler, under a launch budget',
  async run(args): Promise<BenchReport> {
    const { mode, values } = parseBenchArgs(args, {
      messages: { full: 1_000, quick: 200, description: 'messages sent to the launch queue' },
      budget: { full: 300, quick: 50, description: 'launch budget: requests per window, on both sides' },
      'window-seconds': { full: 60, quick: 10, description: 'length of the budget window' },
      'upload-mib': {
        full: 100,
        quick: 16,
        min: 0,
        description: 'size of the object uploaded from S3 to the Files API, in MiB (0: no upload part)',
      },
    });
    const { messages: total, budget } = values;
    const windowMs = values['window-seconds'] * 1000;
    const resources = new BenchResources();
    try {
      // Before the launch part's servers start: the upload's RSS is measured in a quiet process.
      const upload =
        values['upload-mib'] > 0
          ? await measureUpload(resources, values['upload-mib'] * 1024 * 1024)
          : undefined;
      const aws = await startLocalAws(resources, ['dynamodb', 'sqs']);
      const store = await createStore(aws, 'launch', { maxReceiveCount: MAX_RECEIVE_COUNT });
      const queues = store.queues as NonNullable<typeof store.queues>;
      const emulator = createEmulator({
        clock: systemClock,
        rateLimit: { requestsPerMinute: budget, windowMs, retryAfter: 'seconds' },
        seed: 'bench-launch',
      });
      await emulator.start();
      resources.defer('emulator', () => emulator.stop());
      const job = emulator.addJob({ title: 'Price update', kind: 'no-files' });

      // The messages: most with an idempotency key, some without (the SQS message id is the key), and 10 %
      // re-sends of keyed ones (same key, same body): duplicates that must start nothing. Shuffled.
      const random = createSeededRandom('bench-launch');
      const duplicateCount = Math.round(total * 0.1);
      const unkeyedCount = Math.round(total * 0.05);
      const keyedCount = total - duplicateCount - unkeyedCount;
      const keyed = Array.from({ length: keyedCount }, (_, index) => ({
        jobId: job.id,
        input: { orderId: `order-${index}` },
        idempotencyKey: `order-${index}`,
      }));
      const unkeyed = Array.from({ length: unkeyedCount }, (_, index) => ({
        jobId: job.id,
        input: { orderId: `loose-${index}` },
      }));
      const bodies = [
        ...keyed,
        ...unkeyed,
        ...Array.from({ length: duplicateCount }, () => random.pick(keyed)),
      ].map((body) => JSON.stringify(body));
      for (let i = bodies.length - 1; i > 0; i--) {
        const j = random.int(0, i);
        [bodies[i], bodies[j]] = [bodies[j] as string, bodies[i] as string];
      }
      for (let start = 0; start < bodies.length; start += 10) {
        await aws.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queues.launchUrl,
            Entries: bodies
              .slice(start, start + 10)
              .map((body, index) => ({ Id: String(index), MessageBody: body })),
          }),
        );
      }
      const distinct = keyedCount + unkeyedCount;

      const config = loadLaunchConfig({
        ...storeEnvironment(store),
        PRODUCT_LIVE_API_URL: emulator.url,
        PRODUCT_LIVE_API_KEY: emulator.apiKey,
        LAUNCH_REQUESTS_PER_MINUTE: String(budget),
        LAUNCH_MAX_RECEIVE_COUNT: String(localLastDeliveryReceiveCount(MAX_RECEIVE_COUNT)),
      });
      const outcomes = new RecordingMetrics({ namespace: 'Bench', serviceName: 'launch' });
      const handler = createLaunchHandler({
        config,
        clients: aws,
        logger: new Logger({ serviceName: 'bench-launch', logLevel: 'SILENT' }),
        metrics: outcomes,
        // A shorter window (development) needs the client's budget on the same window; a minute is the
        // production path (LAUNCH_REQUESTS_PER_MINUTE).
        ...(windowMs === 60_000
          ? {}
          : {
              api: {
                rateBudget: new RateBudget({
                  limit: budget,
                  windowMs,
                  marginMs: Math.round((1_000 * windowMs) / 60_000),
                }),
              },
            }),
      });
      const batches = { count: 0, received: 0, failed: 0, errors: [] as string[] };
      const poller = new SqsLaunchPoller({
        sqs: aws.sqs,
        queueUrl: queues.launchUrl,
        queueArn: queues.launchArn,
        region: aws.region,
        invoke: (event) =>
          handler(event, lambdaContext('launch', FUNCTION_TIMEOUT_MS)) as Promise<SQSBatchResponse>,
        onBatch: (stats) => {
          batches.count += 1;
          batches.received += stats.received;
          batches.failed += stats.failed;
          if (stats.error) batches.errors.push(stats.error);
        },
      });
      resources.defer('launch poller', () => poller.stop());

      const started = Date.now();
      poller.start();
      const deadline = started + Math.max(5 * 60_000, ((3 * distinct) / budget) * windowMs + 5 * 60_000);
      for (;;) {
        const depth = await queueDepth(aws.sqs, queues.launchUrl);
        if (depth.visible === 0 && depth.invisible === 0) break;
        if (Date.now() > deadline)
          throw new Error(`the launch queue was not drained by ${new Date(deadline).toISOString()}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const drainedMs = Date.now() - started;
      await poller.stop();

      const creates = emulator.requests.filter((request) => request.endpoint === 'create');
      const accepted = creates.filter((request) => request.status === 200);
      const throttled = creates.filter((request) => request.status === 429).length;
      const otherRequests = emulator.requests.filter((request) => request.endpoint !== 'create').length;
      const startsPerOrder = new Map<string, number>();
      for (const execution of emulator.executions()) {
        const orderId = String((execution.input as { orderId?: unknown }).orderId);
        startsPerOrder.set(orderId, (startsPerOrder.get(orderId) ?? 0) + 1);
      }
      const wanted = [...keyed, ...unkeyed].map((body) => body.input.orderId);
      const duplicates = [...startsPerOrder.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0);
      const missing = wanted.filter((orderId) => !startsPerOrder.has(orderId)).length;
      const unexpected = [...startsPerOrder.keys()].filter((orderId) => !wanted.includes(orderId)).length;
      const deadLettered = (await queueDepth(aws.sqs, queues.dlqUrl)).visible;
      const use = measureBudgetUse(
        accepted.map((request) => request.at),
        budget,
        windowMs,
      );
      const windowLabel = windowMs === 60_000 ? 'minute' : `${values['window-seconds']} s window`;
      const count = (name: string) => outcomes.total(name);

      const checks: Check[] = [
        {
          label: 'every message handled, none dead-lettered',
          ok: deadLettered === 0 && batches.errors.length === 0,
          detail: `${deadLettered} in the DLQ, ${batches.errors.length} failed invocations${batches.errors[0] ? ` (${batches.errors[0]})` : ''}`,
        },
        {
          label: 'outcomes add up',
          ok:
            count('LaunchesStarted') + count('LaunchesAdopted') === distinct &&
            count('LaunchDuplicates') === duplicateCount,
          detail: `${count('LaunchesStarted')} launched, ${count('LaunchesAdopted')} adopted, ${count('LaunchDuplicates')} duplicates, ${count('LaunchRetries')} retries`,
        },
        {
          label: 'no execution for anything but the requests',
          ok: unexpected === 0,
          detail: `${unexpected} executions of unknown requests`,
        },
      ];
      const notes = [
        `Budget: ${budget} launches per ${formatDuration(windowMs)}, enforced by the emulator (sliding window) and ` +
          "kept by the handler's client (LAUNCH_REQUESTS_PER_MINUTE). The deployed default is 10 per minute " +
          `(1,000 messages would take 100 minutes); ${budget} per ${formatDuration(windowMs)} exercises the same ` +
          'code in minutes, and is low enough that the budget, not the local servers, is the limit: the ' +
          `first ${budget} launches took ${formatDuration(use.firstWindowMs)}.`,
        "One poller (the local stack's stand-in for the event source mapping: batches of 10, partial batch " +
          `responses) invokes one handler instance with a ${FUNCTION_TIMEOUT_MS / 1000} s Lambda context (the ` +
          'deployed timeout). Each distinct request costs one create request; duplicates are answered from the ' +
          'idempotency record without a request.',
        `Launches per ${windowLabel} is ${budget} × window ÷ the mean time between a create request and the one ` +
          `${budget} later, on the emulator's arrival instants (see budget): requests ÷ elapsed time would count ` +
          `the first window as free; that naive figure is ${formatNumber(use.naiveRequestsPerWindow, 1)}.`,
      ];
      if (throttled > 0) {
        notes.push(
          `Goal missed: ${throttled} create requests were refused with 429: the client's budget and the ` +
            "emulator's window disagree (clock, margin); the handler retried them, so nothing was lost.",
        );
      }
      if (duplicates > 0 || missing > 0) {
        notes.push(
          `Goal missed: ${duplicates} extra executions, ${missing} requests without one: an exactly-once bug in ` +
            'the launch path (see test/integration/launch-load.test.ts for the scenario that should catch it).',
        );
      }
      return {
        title: benchmark.title,
        mode,
        parameters: {
          messages: total,
          'distinct launch requests': distinct,
          'with an idempotency key': keyedCount,
          'without one (message id is the key)': unkeyedCount,
          'duplicates (same key, same body, shuffled in)': duplicateCount,
          'launch budget (both sides)': `${budget} per ${formatDuration(windowMs)}`,
          'job kind': 'no-files',
          'queue maxReceiveCount': MAX_RECEIVE_COUNT,
          ...upload?.parameters,
        },
        figures: [
          {
            key: 'launchesPerWindow',
            label: `launches per ${windowLabel}`,
            value: use.requestsPerWindow,
            unit: '',
            digits: 1,
          },
          {
            key: 'budgetUse',
            label: `launches per ${windowLabel} ÷ budget`,
            value: use.utilisation,
            unit: '',
            digits: 3,
          },
          {
            key: 'duplicates',
            label: 'extra executions (duplicates)',
            value: duplicates,
            unit: '',
            goal: { comparison: '=', target: 0 },
          },
          {
            key: 'missing',
            label: 'requests that started nothing',
            value: missing,
            unit: '',
            goal: { comparison: '=', target: 0 },
          },
          {
            key: 'throttled',
            label: '429s received',
            value: throttled,
            unit: '',
            goal: { comparison: '=', target: 0 },
          },
          ...(upload?.figures ?? []),
        ],
        checks: [...checks, ...(upload?.checks ?? [])],
        details: {
          'time to drain the queue': formatDuration(drainedMs),
          [`first ${budget} launches took`]: formatDuration(use.firstWindowMs),
          'messages handled per minute (end to end)': formatNumber((total / drainedMs) * 60_000, 0),
          'create requests accepted': accepted.length,
          'other API requests (lookups of earlier attempts)': otherRequests,
          'mean gap to the create request one budget later': formatDuration(use.meanGapMs),
          'poller batches': `${batches.count} (${batches.received} messages received, ${batches.failed} retried)`,
          ...upload?.details,
        },
        notes: [...notes, ...(upload?.notes ?? [])],
      };
    } finally {
      await resources.close();
    }
  },
};
