// Batch processing of launch messages: every outcome, the DLQ message, the visibility backoff, the partial
// batch response. The launch itself is a fake; SQS is aws-sdk-client-mock behind the real queue adapter.
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyValidationError,
} from '@aws-lambda-powertools/idempotency';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, type Mock, vi } from 'vitest';
import {
  ProductLiveApiError,
  ProductLiveAuthError,
  ProductLiveNetworkError,
  ProductLiveNotFoundError,
  ProductLiveRateLimitError,
} from '#core/product-live/product-live.errors';
import type { LaunchRequest } from '#functions/launch/launch-job';
import { SqsLaunchQueue } from '#functions/launch/launch-queue';
import {
  classifyLaunchFailure,
  type IdempotentLaunchResult,
  type LaunchBatchDeps,
  processLaunchBatch,
  retryDelaySeconds,
} from '#functions/launch/process-launch-batch';

const JOB_ID = '65819ba43ad5b963658ab35d';
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/launch';
const DLQ_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/launch-dlq';
const NOW = Date.parse('2024-06-01T12:00:00.000Z');
const CREATE = {
  method: 'POST' as const,
  path: '/v1/data_factory/job_executions',
  operation: 'create' as const,
};
const sqsMock = mockClient(SQSClient);

let sequence = 0;
function anSqsRecord(
  body: string | object,
  options: { receiveCount?: number; messageId?: string } = {},
): SQSRecord {
  sequence += 1;
  return {
    messageId: options.messageId ?? `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`,
    receiptHandle: `receipt-${sequence}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: String(NOW),
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: String(NOW),
    },
    messageAttributes: {},
    md5OfBody: 'not-checked',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:launch',
    awsRegion: 'eu-west-1',
  };
}

const event = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

const launched = (
  request: LaunchRequest,
  extra: Partial<IdempotentLaunchResult> = {},
): IdempotentLaunchResult => ({
  outcome: 'launched',
  executionId: '6660000000000000000000aa',
  jobId: request.jobId,
  status: 'RUNNING',
  createdAt: new Date(NOW).toISOString(),
  ...extra,
});

let launch: ReturnType<typeof vi.fn<LaunchBatchDeps['launch']>>;
type LogFn = (message: string, ...attributes: Record<string, unknown>[]) => void;
let logger: { debug: Mock<LogFn>; info: Mock<LogFn>; warn: Mock<LogFn>; error: Mock<LogFn> };
let deps: LaunchBatchDeps;
let outcomes: string[];

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'dlq-1' });
  sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
  launch = vi.fn<LaunchBatchDeps['launch']>(async (request) => launched(request));
  logger = { debug: vi.fn<LogFn>(), info: vi.fn<LogFn>(), warn: vi.fn<LogFn>(), error: vi.fn<LogFn>() };
  outcomes = [];
  deps = {
    launch,
    queue: new SqsLaunchQueue(new SQSClient({ region: 'eu-west-1' }), QUEUE_URL, DLQ_URL),
    logger,
    now: () => NOW,
    remainingTimeMs: () => 600_000,
    reserveMs: 35_000,
    onOutcome: (outcome) => outcomes.push(outcome),
  };
});

/** Every log line written for a message, whatever its level. */
function linesFor(messageId: string) {
  return [...logger.info.mock.calls, ...logger.warn.mock.calls, ...logger.error.mock.calls].filter(
    ([, attributes]) => (attributes as { messageId?: string } | undefined)?.messageId === messageId,
  );
}

describe('processLaunchBatch: handled messages', () => {
  it('launches every valid message and reports no batch item failure', async () => {
    const records = [
      anSqsRecord({ jobId: JOB_ID, input: { sku: 'A' }, idempotencyKey: 'order-1' }),
      anSqsRecord({ jobId: JOB_ID }),
    ];

    const response = await processLaunchBatch(deps, event(...records));

    expect(response).toEqual({ batchItemFailures: [] });
    const requestedAt = new Date(NOW).toISOString();
    expect(launch.mock.calls.map(([request]) => request)).toEqual([
      {
        key: 'idempotencyKey:order-1',
        jobId: JOB_ID,
        input: { sku: 'A' },
        launch: { idempotencyKey: 'order-1', messageId: records[0]?.messageId, requestedAt },
      },
      {
        key: `messageId:${records[1]?.messageId}`,
        jobId: JOB_ID,
        launch: { idempotencyKey: null, messageId: records[1]?.messageId, requestedAt },
      },
    ]);
    expect(sqsMock).not.toHaveReceivedAnyCommand();
    expect(outcomes).toEqual(['launched', 'launched']);
  });

  it('writes one structured log line per message with its outcome, key, job and execution', async () => {
    launch
      .mockImplementationOnce(async (request) => launched(request))
      .mockImplementationOnce(async (request) => launched(request, { outcome: 'adopted' }))
      .mockImplementationOnce(async (request) => launched(request, { replayed: true }));
    const records = [1, 2, 3].map((index) => anSqsRecord({ jobId: JOB_ID, idempotencyKey: `k${index}` }));

    await processLaunchBatch(deps, event(...records));

    expect(outcomes).toEqual(['launched', 'adopted', 'duplicate']);
    records.forEach((record, index) => {
      const lines = linesFor(record.messageId);
      expect(lines).toHaveLength(1);
      expect(lines[0]?.[1]).toEqual({
        outcome: ['launched', 'adopted', 'duplicate'][index],
        messageId: record.messageId,
        receiveCount: 1,
        key: `idempotencyKey:k${index + 1}`,
        jobId: JOB_ID,
        executionId: '6660000000000000000000aa',
      });
    });
  });

  it('processes the records of a batch one at a time', async () => {
    let running = 0;
    let overlapped = false;
    launch.mockImplementation(async (request) => {
      running += 1;
      overlapped ||= running > 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      running -= 1;
      return launched(request);
    });
    await processLaunchBatch(deps, event(...[1, 2, 3].map(() => anSqsRecord({ jobId: JOB_ID }))));
    expect(launch).toHaveBeenCalledTimes(3);
    expect(overlapped).toBe(false);
  });
});

describe('processLaunchBatch: messages that can never succeed go to the DLQ at once', () => {
  it.each([
    ['malformed JSON', '{"jobId": "65819ba4', /^invalid message: body is not valid JSON \(/],
    ['a missing jobId', '{"input": {}}', /^invalid message: jobId: is required$/],
    [
      'an invalid jobId',
      '{"jobId": "job-1"}',
      /^invalid message: jobId: expected 24 hexadecimal characters$/,
    ],
  ])(
    'dead-letters %s with its original body and a readable reason, without calling the API',
    async (_what, body, reason) => {
      const record = anSqsRecord(body, { receiveCount: 1 });

      const response = await processLaunchBatch(deps, event(record));

      expect(response.batchItemFailures).toEqual([]);
      expect(launch).not.toHaveBeenCalled();
      expect(sqsMock).toHaveReceivedCommandTimes(SendMessageCommand, 1);
      const sent = sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input;
      expect(sent?.QueueUrl).toBe(DLQ_URL);
      expect(sent?.MessageBody).toBe(body);
      expect(sent?.MessageAttributes?.FailureReason?.StringValue).toMatch(reason);
      expect(sent?.MessageAttributes).toMatchObject({
        FailureKind: { DataType: 'String', StringValue: 'invalid-message' },
        SourceMessageId: { DataType: 'String', StringValue: record.messageId },
        FailedAt: { DataType: 'String', StringValue: new Date(NOW).toISOString() },
      });
      expect(sqsMock).not.toHaveReceivedCommand(ChangeMessageVisibilityCommand);
      expect(outcomes).toEqual(['dead-lettered']);
      expect(linesFor(record.messageId)).toHaveLength(1);
    },
  );

  it('dead-letters an unknown jobId (404), naming the job', async () => {
    launch.mockRejectedValueOnce(
      new ProductLiveNotFoundError({
        ...CREATE,
        status: 404,
        body: '{"message":"Job 65819ba43ad5b963658ab35d not found"}',
      }),
    );
    await processLaunchBatch(deps, event(anSqsRecord({ jobId: JOB_ID })));
    const reason =
      sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageAttributes?.FailureReason;
    expect(reason?.StringValue).toBe(
      `unknown jobId ${JOB_ID}: Product-Live answered HTTP 404: {"message":"Job 65819ba43ad5b963658ab35d not found"}`,
    );
  });

  it.each([
    [
      new ProductLiveApiError({ ...CREATE, status: 400, body: 'Job has no pipeline' }),
      /^Product-Live refused the launch \(HTTP 400: Job has no pipeline\)$/,
    ],
    [
      new ProductLiveApiError({ ...CREATE, status: 422, body: '' }),
      /^Product-Live refused the launch \(HTTP 422\)$/,
    ],
    [
      new ProductLiveAuthError({ ...CREATE, status: 401, body: 'Invalid API key' }),
      /^Product-Live refused the API key \(HTTP 401/,
    ],
  ])('dead-letters any other 4xx than 429 (%s)', async (error, reason) => {
    launch.mockRejectedValueOnce(error);
    const response = await processLaunchBatch(deps, event(anSqsRecord({ jobId: JOB_ID })));
    expect(response.batchItemFailures).toEqual([]);
    const attributes = sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageAttributes;
    expect(attributes?.FailureReason?.StringValue).toMatch(reason);
    expect(attributes?.FailureKind?.StringValue).toBe('rejected-by-api');
  });

  it('dead-letters an idempotencyKey reused for a different request', async () => {
    launch.mockRejectedValueOnce(
      new IdempotencyValidationError('Payload does not match stored record for this event key'),
    );
    await processLaunchBatch(deps, event(anSqsRecord({ jobId: JOB_ID, idempotencyKey: 'order-1' })));
    const attributes = sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageAttributes;
    expect(attributes?.FailureKind?.StringValue).toBe('idempotency-key-reused');
    expect(attributes?.FailureReason?.StringValue).toMatch(
      /^idempotencyKey was already used for a different request/,
    );
  });

  it('keeps the reason on one line', async () => {
    launch.mockRejectedValueOnce(
      new ProductLiveApiError({ ...CREATE, status: 400, body: 'line one\nline two' }),
    );
    await processLaunchBatch(deps, event(anSqsRecord({ jobId: JOB_ID })));
    const reason =
      sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageAttributes?.FailureReason;
    expect(reason?.StringValue).toBe('Product-Live refused the launch (HTTP 400: line one line two)');
  });

  it('retries the message instead when the DLQ cannot be reached: nothing is lost', async () => {
    sqsMock.on(SendMessageCommand).rejects(new Error('SQS unavailable'));
    const record = anSqsRecord('not json', { receiveCount: 2 });

    const response = await processLaunchBatch(deps, event(record));

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(sqsMock).toHaveReceivedCommandWith(ChangeMessageVisibilityCommand, {
      QueueUrl: QUEUE_URL,
      ReceiptHandle: record.receiptHandle,
      VisibilityTimeout: 60,
    });
    expect(outcomes).toEqual(['retry']);
    expect(linesFor(record.messageId)[0]?.[1]).toMatchObject({
      outcome: 'retry',
      reason: expect.stringMatching(
        /^could not send to the dead-letter queue \(Error: SQS unavailable\); invalid message/,
      ),
    });
  });
});

describe('processLaunchBatch: transient failures are retried with backoff', () => {
  it.each([
    ['a 429', new ProductLiveRateLimitError({ ...CREATE, status: 429, body: '' })],
    ['a 500 (the job may have started)', new ProductLiveApiError({ ...CREATE, status: 500, body: '' })],
    ['a 503', new ProductLiveApiError({ ...CREATE, status: 503, body: '' })],
    [
      'a reset connection',
      new ProductLiveNetworkError({ ...CREATE, timedOut: false, requestMayHaveBeenSent: true }),
    ],
    [
      'a timeout',
      new ProductLiveNetworkError({
        ...CREATE,
        timedOut: true,
        requestMayHaveBeenSent: true,
        timeoutMs: 30_000,
      }),
    ],
    ['a delivery in progress elsewhere', new IdempotencyAlreadyInProgressError('in progress')],
    ['a store failure', new Error('ProvisionedThroughputExceededException')],
  ])('reports %s as a batch item failure and delays the next delivery', async (_what, error) => {
    launch.mockRejectedValueOnce(error);
    const record = anSqsRecord({ jobId: JOB_ID, idempotencyKey: 'k' }, { receiveCount: 3 });

    const response = await processLaunchBatch(deps, event(record));

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(sqsMock).toHaveReceivedCommandExactlyOnceWith(ChangeMessageVisibilityCommand, {
      QueueUrl: QUEUE_URL,
      ReceiptHandle: record.receiptHandle,
      VisibilityTimeout: 120,
    });
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
    expect(outcomes).toEqual(['retry']);
    const lines = linesFor(record.messageId);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.[1]).toMatchObject({
      outcome: 'retry',
      key: 'idempotencyKey:k',
      jobId: JOB_ID,
      retryInSeconds: 120,
    });
  });

  it('says that the job may have started only when create failed ambiguously, not when the lookup did', async () => {
    const find = { method: 'POST' as const, path: '/v1/job_executions/find', operation: 'find' as const };
    expect(
      classifyLaunchFailure(new ProductLiveApiError({ ...CREATE, status: 502, body: '' })).reason,
    ).toContain('the job may have started');
    const lookup = classifyLaunchFailure(new ProductLiveApiError({ ...find, status: 502, body: '' }));
    expect(lookup).toMatchObject({ action: 'retry' });
    expect(lookup.reason).not.toContain('may have started');
  });

  it('dead-letters a transient failure on the last delivery the queue allows, saying why, instead of leaving it to the redrive', async () => {
    deps.maxReceiveCount = 10;
    const failure = new ProductLiveApiError({ ...CREATE, status: 503, body: 'busy' });
    launch.mockRejectedValue(failure);
    const beforeLast = anSqsRecord({ jobId: JOB_ID, idempotencyKey: 'k' }, { receiveCount: 9 });
    const last = anSqsRecord({ jobId: JOB_ID, idempotencyKey: 'k' }, { receiveCount: 10 });

    const response = await processLaunchBatch(deps, event(beforeLast, last));

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: beforeLast.messageId }]);
    expect(sqsMock).toHaveReceivedCommandExactlyOnceWith(ChangeMessageVisibilityCommand, {
      ReceiptHandle: beforeLast.receiptHandle,
    });
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageCommand, 1);
    const sent = sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input;
    expect(sent?.MessageBody).toBe(last.body);
    expect(sent?.MessageAttributes?.FailureKind?.StringValue).toBe('retries-exhausted');
    expect(sent?.MessageAttributes?.FailureReason?.StringValue).toMatch(
      /^still failing after 10 deliveries; last failure: ProductLiveApiError: .*HTTP 503: busy \(the job may have started; the retry checks first\)$/,
    );
    expect(outcomes).toEqual(['retry', 'dead-lettered']);
  });

  it('leaves the last delivery to the redrive when it does not know the queue limit', async () => {
    launch.mockRejectedValueOnce(new ProductLiveApiError({ ...CREATE, status: 503, body: '' }));
    const record = anSqsRecord({ jobId: JOB_ID }, { receiveCount: 50 });
    const response = await processLaunchBatch(deps, event(record));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
  });

  it('waits at least as long as a Retry-After the API asked for', async () => {
    launch.mockRejectedValueOnce(
      new ProductLiveRateLimitError({ ...CREATE, status: 429, body: '', retryAfterMs: 300_500 }),
    );
    await processLaunchBatch(deps, event(anSqsRecord({ jobId: JOB_ID })));
    expect(sqsMock).toHaveReceivedCommandWith(ChangeMessageVisibilityCommand, { VisibilityTimeout: 301 });
  });

  it('still reports the failure when the visibility cannot be changed', async () => {
    sqsMock.on(ChangeMessageVisibilityCommand).rejects(new Error('receipt handle expired'));
    launch.mockRejectedValueOnce(new ProductLiveApiError({ ...CREATE, status: 502, body: '' }));
    const record = anSqsRecord({ jobId: JOB_ID });
    const response = await processLaunchBatch(deps, event(record));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(logger.warn).toHaveBeenCalledWith(
      'could not delay the retry of a launch message',
      expect.any(Object),
    );
  });

  it('reports exactly the retried records of a mixed batch, even when every record fails', async () => {
    const records = [
      anSqsRecord({ jobId: JOB_ID }),
      anSqsRecord({ jobId: JOB_ID }),
      anSqsRecord('{'),
      anSqsRecord({ jobId: JOB_ID }),
    ];
    launch
      .mockRejectedValueOnce(new ProductLiveApiError({ ...CREATE, status: 500, body: '' }))
      .mockImplementationOnce(async (request) => launched(request))
      .mockRejectedValueOnce(new ProductLiveRateLimitError({ ...CREATE, status: 429, body: '' }));

    const response = await processLaunchBatch(deps, event(...records));

    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: records[0]?.messageId },
      { itemIdentifier: records[3]?.messageId },
    ]);
    expect(outcomes).toEqual(['retry', 'launched', 'dead-lettered', 'retry']);

    launch.mockRejectedValue(new ProductLiveApiError({ ...CREATE, status: 500, body: '' }));
    const allFailed = await processLaunchBatch(
      deps,
      event(anSqsRecord({ jobId: JOB_ID }), anSqsRecord({ jobId: JOB_ID })),
    );
    expect(allFailed.batchItemFailures).toHaveLength(2);
  });

  it('launches nothing once too little time is left, and retries those messages', async () => {
    deps.remainingTimeMs = () => 30_000;
    const record = anSqsRecord({ jobId: JOB_ID });

    const response = await processLaunchBatch(deps, event(record));

    expect(launch).not.toHaveBeenCalled();
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(linesFor(record.messageId)[0]?.[1]).toMatchObject({
      outcome: 'retry',
      reason: 'LaunchDeadlineError: not enough time left in this invocation to launch safely; retried later',
    });
  });

  it('abandons a launch still waiting when the deadline passes', async () => {
    deps.remainingTimeMs = () => 35_020;
    launch.mockImplementationOnce(
      (_request, { signal }) =>
        new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason))),
    );
    const record = anSqsRecord({ jobId: JOB_ID });
    const response = await processLaunchBatch(deps, event(record));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(linesFor(record.messageId)[0]?.[1]).toMatchObject({
      reason: expect.stringMatching(/^LaunchDeadlineError/),
    });
  });
});

describe('retryDelaySeconds', () => {
  it('doubles from 30 s with each receive, up to 15 minutes', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map((count) => retryDelaySeconds(count, undefined))).toEqual([
      30, 60, 120, 240, 480, 900, 900, 900,
    ]);
  });

  it('never waits less than Retry-After', () => {
    expect(retryDelaySeconds(1, 45_001)).toBe(46);
    expect(retryDelaySeconds(6, 1_000)).toBe(900);
  });

  it('takes its steps from the backoff settings', () => {
    expect(retryDelaySeconds(3, undefined, { baseSeconds: 5, maxSeconds: 12 })).toBe(12);
    expect(retryDelaySeconds(2, undefined, { baseSeconds: 5, maxSeconds: 60 })).toBe(10);
  });
});
