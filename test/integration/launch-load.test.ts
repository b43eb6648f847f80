// Launch under load (invariants 5 and 7): 1,000 messages, 20 % of them duplicates of others, poison
// messages among them, and the API failing 20 % of create and find calls (429, 5xx, and creates that
// succeed but answer 500). Two pollers play Lambda's concurrency. Every distinct request must start
// exactly one execution, and the DLQ must hold exactly the poison messages.
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { createSeededRandom } from '#local/emulator/seeded-random';
import {
  closeLaunchHarnesses,
  createLaunchHarness,
  lambdaContext,
  toSqsRecord,
} from '../support/launch-harness';

afterEach(closeLaunchHarnesses);

const seed = Number(process.env.LAUNCH_LOAD_SEED ?? 4_711);

describe(`launch under load (seed ${seed})`, () => {
  it('starts exactly one execution per distinct request and dead-letters exactly the poison messages', {
    timeout: 300_000,
  }, async () => {
    const random = createSeededRandom(`launch-load/${seed}`);
    // local-aws-sqs counts every ChangeMessageVisibility as a receive, so a retry costs it two receives:
    // 30 here is the deployed queue's 10 deliveries with room to spare. Backoff is cut to a second.
    const h = await createLaunchHarness({ maxReceiveCount: 30 });
    // The client retries as deployed, only sooner and fewer times (3 attempts, 50 ms backoff): a failed find
    // is retried in place, and create only when nothing was sent or the API answered 429. Every ambiguous
    // create (5xx, commit-then-500) still fails the message, so its retry must find and adopt the execution.
    const handler = h.createHandler({
      api: { maxAttempts: 3, retryBaseMs: 50, requestsPerMinute: 100_000 },
      retryBackoff: { baseSeconds: 1, maxSeconds: 1 },
    });
    const keyed = Array.from({ length: 710 }, (_, index) => ({
      jobId: h.job.id,
      input: { orderId: `order-${index}` },
      idempotencyKey: `order-${index}`,
    }));
    const unkeyed = Array.from({ length: 50 }, (_, index) => ({
      jobId: h.job.id,
      input: { orderId: `loose-${index}` },
    }));
    const duplicates = Array.from({ length: 200 }, () => random.pick(keyed));
    const poison = [
      ...Array.from({ length: 15 }, (_, index) => `{"jobId": "${h.job.id}", "input": ${index}`),
      ...Array.from({ length: 10 }, (_, index) => JSON.stringify({ input: { orderId: `no-job-${index}` } })),
      ...Array.from({ length: 10 }, (_, index) =>
        JSON.stringify({ jobId: `${index}`.padStart(24, 'f'), idempotencyKey: `unknown-job-${index}` }),
      ),
      ...Array.from({ length: 5 }, (_, index) =>
        JSON.stringify({ jobId: h.job.id, idempotencyKey: `typo-${index}`, idempotencyKye: 'x' }),
      ),
    ];
    const bodies = [...keyed, ...unkeyed, ...duplicates].map((body) => JSON.stringify(body)).concat(poison);
    expect(bodies).toHaveLength(1_000);
    // Shuffle, so that duplicates and poison are spread over batches.
    for (let i = bodies.length - 1; i > 0; i--) {
      const j = random.int(0, i);
      [bodies[i], bodies[j]] = [bodies[j] as string, bodies[i] as string];
    }
    for (let start = 0; start < bodies.length; start += 50) {
      await Promise.all(bodies.slice(start, start + 50).map((body) => h.send(body)));
    }
    h.emulator.setFaults({
      rate: 0.2,
      seed,
      kinds: ['429', '429-no-retry-after', '500', '503', 'commit-then-500'],
      endpoints: ['create', 'find'],
    });

    const { sqs } = h.clients;
    let invocations = 0;
    let lastRetryAt = 0;
    const queueIsEmpty = async () => {
      const { visible, invisible } = await h.queueCounts();
      return visible + invisible === 0;
    };
    const poll = async () => {
      for (;;) {
        const messages =
          (
            await sqs.send(
              new ReceiveMessageCommand({
                QueueUrl: h.queueUrl,
                MaxNumberOfMessages: 10,
                WaitTimeSeconds: 0,
                AttributeNames: ['All'],
              }),
            )
          ).Messages ?? [];
        if (messages.length === 0) {
          // A retried message is invisible for its 1 s backoff: only after that may an empty queue be final.
          if (Date.now() - lastRetryAt > 2_500 && (await queueIsEmpty())) return;
          await new Promise((resolve) => setTimeout(resolve, 100));
          continue;
        }
        invocations += 1;
        const response = await handler(
          { Records: messages.map((message) => toSqsRecord(message, h.queueArn)) },
          lambdaContext(),
        );
        const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
        if (failed.size > 0) lastRetryAt = Date.now();
        const handled = messages.filter((message) => !failed.has(message.MessageId ?? ''));
        if (handled.length > 0) {
          await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: h.queueUrl,
              Entries: handled.map((message, index) => ({
                Id: String(index),
                ReceiptHandle: message.ReceiptHandle,
              })),
            }),
          );
        }
      }
    };
    await Promise.all([poll(), poll()]);

    const launched = h.executionsOfJob();
    const perOrder = new Map<string, number>();
    for (const execution of launched) {
      const orderId = String((execution.input as { orderId?: unknown }).orderId);
      perOrder.set(orderId, (perOrder.get(orderId) ?? 0) + 1);
    }
    const expected = [...keyed, ...unkeyed].map((body) => body.input.orderId);
    const missing = expected.filter((orderId) => !perOrder.has(orderId));
    if (missing.length > 0) {
      // Say where the missing requests went before failing (the DLQ by redrive, most likely).
      const letters = await h.deadLetters();
      const outcomes = h.outcomes();
      console.error(
        'launch load: missing',
        missing,
        'dead letters of them:',
        letters
          .filter((letter) => missing.some((orderId) => letter.Body?.includes(`"${orderId}"`)))
          .map((letter) => ({
            body: letter.Body,
            attributes: letter.Attributes,
            reason: letter.MessageAttributes,
          })),
        'outcomes',
        Object.fromEntries([...new Set(outcomes)].map((o) => [o, outcomes.filter((x) => x === o).length])),
      );
    }
    expect([...perOrder.entries()].filter(([, count]) => count !== 1)).toEqual([]);
    expect([...perOrder.keys()].sort()).toEqual([...expected].sort());
    expect(launched).toHaveLength(760);

    const letters = await h.deadLetters();
    expect(letters.map((letter) => letter.Body).sort()).toEqual([...poison].sort());
    expect(
      letters.every((letter) => (letter.MessageAttributes?.FailureReason?.StringValue ?? '').length > 0),
    ).toBe(true);

    const faults = h.emulator.requests.filter((request) => request.fault);
    const outcomes = h.outcomes();
    const count = (outcome: string) => outcomes.filter((candidate) => candidate === outcome).length;
    expect(faults.length).toBeGreaterThan(50);
    expect(count('adopted')).toBeGreaterThan(0);
    expect(count('duplicate')).toBeGreaterThan(0);
    console.info(
      `launch load seed ${seed}: 1000 messages, ${invocations} invocations, ${faults.length} API faults, ` +
        `${count('launched')} launched, ${count('adopted')} adopted, ${count('duplicate')} duplicates, ` +
        `${count('retry')} retries, ${letters.length} dead-lettered`,
    );
  });
});
