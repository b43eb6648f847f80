import { ChangeMessageVisibilityCommand, DeleteMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { JobExecution } from '#core/product-live/product-live.schema';
import { ExecutionRepository } from '#core/store/execution-repository';
import { LakeMarks } from '#core/store/lake-marks';
import { LaunchAttemptRepository } from '#functions/launch/launch-attempt-repository';
import type { LaunchAttemptStore } from '#functions/launch/launch-job';
import {
  closeLaunchHarnesses,
  createLaunchHarness as createHarness,
  type Harness,
  lambdaContext,
  toSqsRecord,
} from '../support/launch-harness';

afterEach(closeLaunchHarnesses);

/** The job's executions by their `input.orderId`. */
function countByOrder(executions: JobExecution[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const execution of executions) {
    const orderId = String((execution.input as { orderId?: unknown }).orderId);
    counts.set(orderId, (counts.get(orderId) ?? 0) + 1);
  }
  return counts;
}

/** What Lambda's timeout leaves behind for an invocation that died: its in-progress records expire. */
async function expireInProgressRecords(harness: Harness): Promise<number> {
  const { doc } = harness.clients;
  const scan = await doc.send(
    new ScanCommand({
      TableName: harness.store.idempotencyTable,
      FilterExpression: '#status = :inProgress',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':inProgress': 'INPROGRESS' },
    }),
  );
  for (const item of scan.Items ?? []) {
    await doc.send(
      new UpdateCommand({
        TableName: harness.store.idempotencyTable,
        Key: { id: item.id },
        UpdateExpression: 'SET in_progress_expiration = :past',
        ExpressionAttributeValues: { ':past': Date.now() - 1 },
      }),
    );
  }
  return scan.Items?.length ?? 0;
}

describe('launch: exactly once', () => {
  it('starts 10 executions for 10 valid messages, and none when the same 10 are delivered again', async () => {
    const h = await createHarness();
    // The deployed wiring: the `handler` export, configured from the environment at cold start.
    for (const [name, value] of Object.entries({ ...h.env, POWERTOOLS_LOG_LEVEL: 'SILENT' }))
      vi.stubEnv(name, value);
    vi.resetModules();
    const { handler } = await import('#functions/launch/handler');
    const bodies = Array.from({ length: 10 }, (_, index) => ({
      jobId: h.job.id,
      input: { orderId: `order-${index}` },
      ...(index < 8 ? { idempotencyKey: `order-${index}` } : {}),
    }));
    for (const body of bodies) await h.send(body);

    const messages = await h.receive();
    expect(messages).toHaveLength(10);
    const event: SQSEvent = { Records: messages.map((message) => toSqsRecord(message, h.queueArn)) };
    expect(await handler(event, lambdaContext())).toEqual({ batchItemFailures: [] });
    for (const message of messages) {
      await h.clients.sqs.send(
        new DeleteMessageCommand({ QueueUrl: h.queueUrl, ReceiptHandle: message.ReceiptHandle }),
      );
    }

    expect(h.createRequests()).toBe(10);
    const launched = h.executionsOfJob();
    expect(countByOrder(launched)).toEqual(new Map(bodies.map((body) => [body.input.orderId, 1])));
    // Each launch is recorded at once, before any sync.
    const stored = await h.storedItems();
    expect(stored.map((item) => item.id).sort()).toEqual(launched.map((execution) => execution.id).sort());
    expect(stored.every((item) => item.source === 'launch' && item.jobId === h.job.id)).toBe(true);
    // Their days are marked for the lake, which rewrites them on its next run.
    const marked = await new LakeMarks(h.clients.doc, h.store.stateTable).read();
    expect(Object.keys(marked.marks).sort()).toEqual([...new Set(stored.map((item) => item.day))].sort());

    // At-least-once delivery: the same 10 messages (same message ids) again.
    expect(await handler(event, lambdaContext())).toEqual({ batchItemFailures: [] });
    // A producer that retried its sends: the 8 keyed requests again, as new messages.
    for (const body of bodies.slice(0, 8)) await h.send(body);
    const resent = await h.receive();
    expect(resent).toHaveLength(8);
    expect(
      await handler({ Records: resent.map((message) => toSqsRecord(message, h.queueArn)) }, lambdaContext()),
    ).toEqual({ batchItemFailures: [] });

    expect(h.createRequests()).toBe(10);
    expect(h.executionsOfJob()).toHaveLength(10);
    expect(await h.deadLetters()).toEqual([]);
  });

  it('starts one execution for two messages with the same idempotencyKey', async () => {
    const h = await createHarness();
    const body = { jobId: h.job.id, input: { orderId: 'order-7' }, idempotencyKey: 'order-7' };
    await h.send(body);
    await h.send(body);

    expect((await h.drain()).sort()).toEqual(['duplicate', 'launched']);
    await h.send(body);
    expect(await h.drain()).toEqual(['duplicate']);

    expect(h.createRequests()).toBe(1);
    expect(h.executionsOfJob()).toHaveLength(1);
  });

  it('sends malformed JSON, a missing jobId and an unknown jobId to the DLQ exactly once with a readable reason, and launches the rest of their batch', async () => {
    const h = await createHarness();
    const unknownJobId = 'aaaaaaaaaaaaaaaaaaaaaaaa';
    const bad = {
      malformed: '{"jobId": "65819ba43ad5b963658ab35d", ',
      missingJobId: JSON.stringify({ input: { orderId: 'order-x' } }),
      unknownJobId: JSON.stringify({ jobId: unknownJobId, input: { orderId: 'order-y' } }),
    };
    const ids = {
      first: await h.send({ jobId: h.job.id, input: { orderId: 'order-1' } }),
      malformed: await h.send(bad.malformed),
      missingJobId: await h.send(bad.missingJobId),
      unknownJobId: await h.send(bad.unknownJobId),
      last: await h.send({ jobId: h.job.id, input: { orderId: 'order-2' } }),
    };

    const outcomes = await h.drain();

    // SQS does not keep the send order.
    expect(outcomes.sort()).toEqual([
      'dead-lettered',
      'dead-lettered',
      'dead-lettered',
      'launched',
      'launched',
    ]);
    expect(countByOrder(h.executionsOfJob())).toEqual(
      new Map([
        ['order-1', 1],
        ['order-2', 1],
      ]),
    );
    const letters = await h.deadLetters();
    expect(letters).toHaveLength(3);
    const bySource = new Map(
      letters.map((letter) => [letter.MessageAttributes?.SourceMessageId?.StringValue, letter]),
    );
    const expectations: Array<[keyof typeof bad, RegExp]> = [
      ['malformed', /^invalid message: body is not valid JSON \(.+\)$/],
      ['missingJobId', /^invalid message: jobId: is required$/],
      [
        'unknownJobId',
        new RegExp(`^unknown jobId ${unknownJobId}: Product-Live answered HTTP 404: .*not found`),
      ],
    ];
    for (const [which, reason] of expectations) {
      const letter = bySource.get(ids[which]);
      expect(letter?.Body).toBe(bad[which]);
      expect(letter?.MessageAttributes?.FailureReason?.StringValue).toMatch(reason);
      expect(Date.parse(letter?.MessageAttributes?.FailedAt?.StringValue ?? '')).not.toBeNaN();
    }
    // Nothing left to redeliver: each reached the DLQ once, and the source queue is empty.
    expect(await h.drain()).toEqual([]);
    expect(await h.deadLetters()).toEqual([]);
  });

  it('launches every message exactly once while the API answers 429 and 500 for a while', async () => {
    const h = await createHarness();
    // Every failure goes back to SQS (no in-process retry), so each one is a redelivery; a budget larger than
    // the default 10 requests/minute keeps the retries from waiting for a new minute.
    const handler = h.createHandler({ api: { maxAttempts: 1, requestsPerMinute: 1_000 } });
    h.emulator.failNext('commit-then-500', { count: 2, endpoint: 'create' });
    h.emulator.failNext('429', { count: 2, endpoint: 'create' });
    h.emulator.failNext('500', { count: 1, endpoint: 'find' });
    h.emulator.setFaults({
      rate: 0.4,
      seed: 11,
      kinds: ['429', '429-no-retry-after', '500', '503', 'commit-then-500'],
      endpoints: ['create', 'find'],
    });
    const orders = Array.from({ length: 10 }, (_, index) => `order-${index}`);
    for (const [index, orderId] of orders.entries()) {
      await h.send({
        jobId: h.job.id,
        input: { orderId },
        ...(index % 2 === 0 ? { idempotencyKey: orderId } : {}),
      });
    }

    const outcomes = await h.drain({
      handler,
      maxRounds: 30,
      beforeRound: (round) => {
        if (round === 4) h.emulator.setFaults(undefined);
      },
    });

    expect(countByOrder(h.executionsOfJob())).toEqual(new Map(orders.map((orderId) => [orderId, 1])));
    const faults = h.emulator.requests.map((request) => request.fault).filter(Boolean);
    expect(faults).toEqual(expect.arrayContaining(['commit-then-500', '429', '500']));
    expect(outcomes.filter((outcome) => outcome === 'retry').length).toBeGreaterThanOrEqual(4);
    // The ambiguous creates were resolved by adopting what they had started.
    expect(outcomes.filter((outcome) => outcome === 'adopted').length).toBeGreaterThanOrEqual(2);
    expect(outcomes.filter((outcome) => outcome === 'launched' || outcome === 'adopted')).toHaveLength(10);
    expect(await h.deadLetters()).toEqual([]);
    const stored = await h.storedItems();
    expect(stored.map((item) => item.id).sort()).toEqual(
      h
        .executionsOfJob()
        .map((execution) => execution.id)
        .sort(),
    );
  });

  it('dead-letters a request still failing on its last delivery, with its reason, before the redrive would', async () => {
    const h = await createHarness();
    const handler = h.createHandler({ api: { maxAttempts: 1, requestsPerMinute: 1_000 } });
    h.emulator.setFaults({ rate: 1, seed: 3, kinds: ['503'], endpoints: ['create'] });
    const body = JSON.stringify({
      jobId: h.job.id,
      input: { orderId: 'order-1' },
      idempotencyKey: 'order-1',
    });
    const messageId = await h.send(body);

    const outcomes = await h.drain({ handler, maxRounds: 10 });

    // local-aws-sqs counts three receives per retry here (the receive, the handler's backoff, the drain's reset
    // of it): the 4th delivery shows 10, past the function's limit of 9 (localLastDeliveryReceiveCount(10)) and
    // the last one the queue's redrive allows. Its failure is dead-lettered by the function, with attributes.
    expect(outcomes).toEqual(['retry', 'retry', 'retry', 'dead-lettered']);
    const letters = await h.deadLetters();
    expect(letters.map((letter) => letter.Body)).toEqual([body]);
    const attributes = letters[0]?.MessageAttributes;
    expect(attributes?.FailureKind?.StringValue).toBe('retries-exhausted');
    expect(attributes?.SourceMessageId?.StringValue).toBe(messageId);
    expect(attributes?.FailureReason?.StringValue).toMatch(
      /^still failing after \d+ deliveries; last failure: ProductLiveApiError: .*HTTP 503/,
    );
    expect(h.executionsOfJob()).toEqual([]);
  });

  it('does not launch again when the function crashed right after the API call and the message is redelivered', async () => {
    const h = await createHarness();
    const attempts = new LaunchAttemptRepository(h.clients.doc, h.store.idempotencyTable, {
      ttlSeconds: h.config.idempotencyTtlSeconds,
    });
    let crash: () => void = () => undefined;
    const crashed = new Promise<void>((resolve) => {
      crash = resolve;
    });
    // The first thing after create is the claim: the process dies there (the call never returns).
    const dyingAttempts: LaunchAttemptStore = {
      recordAttempt: (...args) => attempts.recordAttempt(...args),
      settleAttempt: (...args) => attempts.settleAttempt(...args),
      findClaims: (...args) => attempts.findClaims(...args),
      recordUpload: (...args) => attempts.recordUpload(...args),
      recordOutcome: (...args) => attempts.recordOutcome(...args),
      claimExecution: () => {
        crash();
        return new Promise<boolean>(() => undefined);
      },
    };
    const messageId = await h.send({ jobId: h.job.id, input: { orderId: 'order-1' } });
    const [message] = await h.receive();
    expect(message?.MessageId).toBe(messageId);

    void h.createHandler({ overrides: { attempts: dyingAttempts } })(
      { Records: [toSqsRecord(message as Message, h.queueArn)] },
      lambdaContext(40_000),
    );
    await crashed;
    expect(h.createRequests()).toBe(1);

    // The invocation's end (Lambda timeout) expires its in-progress record; the message becomes visible again.
    expect(await expireInProgressRecords(h)).toBe(1);
    await h.clients.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: h.queueUrl,
        ReceiptHandle: message?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    const outcomes = await h.drain();

    expect(outcomes).toEqual(['adopted']);
    expect(h.createRequests()).toBe(1);
    const [execution] = h.executionsOfJob();
    expect(h.executionsOfJob()).toHaveLength(1);
    expect(
      (await new ExecutionRepository(h.clients.doc, h.store.executionsTable).get(execution?.id ?? ''))
        ?.source,
    ).toBe('launch');
  });

  it('does not launch again when the function crashed after claiming the execution, and the producer resends', async () => {
    const h = await createHarness();
    let crash: () => void = () => undefined;
    const crashed = new Promise<void>((resolve) => {
      crash = resolve;
    });
    const body = { jobId: h.job.id, input: { orderId: 'order-1' }, idempotencyKey: 'order-1' };
    await h.send(body);
    const [message] = await h.receive();
    void h.createHandler({
      overrides: {
        executions: {
          insertIfAbsent: () => {
            crash();
            return new Promise(() => undefined);
          },
          setLaunch: async () => 'written',
        },
      },
    })({ Records: [toSqsRecord(message as Message, h.queueArn)] }, lambdaContext(40_000));
    await crashed;

    expect(await expireInProgressRecords(h)).toBe(1);
    await h.clients.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: h.queueUrl,
        ReceiptHandle: message?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    await h.send(body);

    // The redelivered message and the resent one, in whichever order SQS hands them over.
    const outcomes = await h.drain();
    expect(outcomes.sort()).toEqual(['adopted', 'duplicate']);
    expect(h.createRequests()).toBe(1);
    expect(h.executionsOfJob()).toHaveLength(1);
  });
});
