// The launch handler's wiring: Powertools idempotency (DynamoDB persistence, mocked) in front of the use
// case, the Product-Live client on a fake fetch, SQS mocked. Proves that a duplicate delivery is answered
// from the idempotency record without any API call.
import { createHash } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadLaunchConfig } from '#core/config';
import { RecordingMetrics } from '#core/observability';
import { ATTEMPT_KEY_PREFIX } from '#core/store/task-token-repository';
import { CLAIM_KEY_PREFIX } from '#functions/launch/launch-attempt-repository';
import { createLaunchHandler } from '#functions/launch/launch-handler';
import { fakeFetch, jsonReply } from '../../../builders/fetch-responder';
import createdFixture from '../../../fixtures/product-live/create-job-execution.response.json';

const JOB_ID = createdFixture.jobId;
const IDEMPOTENCY_TABLE = 'launch-idempotency';
const EXECUTIONS_TABLE = 'executions';
const config = loadLaunchConfig({
  PRODUCT_LIVE_API_URL: 'https://api.product-live.com',
  PRODUCT_LIVE_API_KEY: 'test-key',
  EXECUTIONS_TABLE_NAME: EXECUTIONS_TABLE,
  STATE_TABLE_NAME: 'state',
  IDEMPOTENCY_TABLE_NAME: IDEMPOTENCY_TABLE,
  LAUNCH_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/launch',
  LAUNCH_DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/launch-dlq',
});

const dynamoMock = mockClient(DynamoDBClient);
const documentMock = mockClient(DynamoDBDocumentClient);
const sqsMock = mockClient(SQSClient);

function lambdaContext(remainingMs = 300_000): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'launch',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:launch',
    memoryLimitInMB: '256',
    awsRequestId: 'request-1',
    logGroupName: '/aws/lambda/launch',
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => remainingMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function sqsEvent(body: object, messageId = '11111111-1111-4111-8111-111111111111'): SQSEvent {
  return {
    Records: [
      {
        messageId,
        receiptHandle: 'receipt-1',
        body: JSON.stringify(body),
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: '1717243200000',
          SenderId: 'AIDAEXAMPLE',
          ApproximateFirstReceiveTimestamp: '1717243200000',
        },
        messageAttributes: {},
        md5OfBody: 'not-checked',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:launch',
        awsRegion: 'eu-west-1',
      },
    ],
  };
}

/** The payload hash Powertools stores for `[jobId, input]` (md5, base64). */
const payloadHash = (jobId: string, input: unknown = null) =>
  createHash('md5')
    .update(JSON.stringify([jobId, input]))
    .digest('base64');

/** A stored idempotency record, as DynamoDB returns it with a failed conditional put. */
function storedRecord(status: 'COMPLETED' | 'INPROGRESS', validation: string) {
  return {
    id: { S: 'launch#hash' },
    status: { S: status },
    expiration: { N: String(Math.floor(Date.now() / 1000) + 3_600) },
    in_progress_expiration: { N: String(Date.now() + 60_000) },
    validation: { S: validation },
    data: {
      M: {
        outcome: { S: 'launched' },
        executionId: { S: createdFixture.id },
        jobId: { S: JOB_ID },
        status: { S: 'RUNNING' },
        createdAt: { S: createdFixture.createdAt },
      },
    },
  };
}

function alreadyExists(item: Record<string, unknown>) {
  return new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: {},
    Item: item as never,
  });
}

let logger: Logger;
let metrics: RecordingMetrics;
let api: ReturnType<typeof fakeFetch>;

function buildHandler() {
  return createLaunchHandler({
    config,
    clients: {
      dynamo: new DynamoDBClient({ region: 'eu-west-1' }),
      sqs: new SQSClient({ region: 'eu-west-1' }),
      s3: new S3Client({ region: 'eu-west-1' }),
    },
    logger,
    metrics,
    api: { fetch: api.fetch, maxAttempts: 1 },
  });
}

const outcomeLines = () =>
  [
    ...vi.mocked(logger.info).mock.calls,
    ...vi.mocked(logger.warn).mock.calls,
    ...vi.mocked(logger.error).mock.calls,
  ]
    .map(([, attributes]) => attributes as Record<string, unknown> | undefined)
    .filter((attributes) => attributes?.outcome !== undefined);

beforeEach(() => {
  metrics = new RecordingMetrics({ namespace: 'Test', serviceName: 'launch' });
  dynamoMock.reset();
  documentMock.reset();
  sqsMock.reset();
  dynamoMock.on(PutItemCommand).resolves({});
  dynamoMock.on(UpdateItemCommand).resolves({});
  dynamoMock.on(DeleteItemCommand).resolves({});
  documentMock
    .on(UpdateCommand, { TableName: IDEMPOTENCY_TABLE })
    .resolves({ Attributes: { firstAttemptAt: new Date().toISOString(), attempts: 1 } });
  documentMock.on(UpdateCommand, { TableName: EXECUTIONS_TABLE }).resolves({});
  documentMock.on(PutCommand).resolves({});
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'dlq-1' });
  sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
  logger = new Logger({ serviceName: 'launch-test', logLevel: 'SILENT' });
  vi.spyOn(logger, 'info');
  vi.spyOn(logger, 'warn');
  vi.spyOn(logger, 'error');
  api = fakeFetch(() => jsonReply(createdFixture));
});

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('launch handler', () => {
  it('launches a new request: in-progress record, attempt marker, one create, claim, execution record, completed record', async () => {
    const response = await buildHandler()(
      sqsEvent({ jobId: JOB_ID, idempotencyKey: 'order-1' }),
      lambdaContext(),
    );

    expect(response).toEqual({ batchItemFailures: [] });
    expect(api.requests.map((request) => `${request.method} ${request.url.pathname}`)).toEqual([
      'POST /v1/data_factory/job_executions',
    ]);
    // The idempotency record of the request (Powertools owns its layout): written before the launch under the
    // function's key prefix, and updated with the result after it.
    const idempotencyWrites = [
      ...dynamoMock.commandCalls(PutItemCommand),
      ...dynamoMock.commandCalls(UpdateItemCommand),
    ].map((call) => call.args[0].input);
    expect(idempotencyWrites.map((input) => input.TableName)).toEqual([IDEMPOTENCY_TABLE, IDEMPOTENCY_TABLE]);
    const recordKey = dynamoMock.commandCalls(PutItemCommand)[0]?.args[0].input.Item?.id?.S;
    expect(recordKey).toMatch(/^launch#/);
    expect(dynamoMock.commandCalls(UpdateItemCommand)[0]?.args[0].input.Key?.id?.S).toBe(recordKey);
    expect(documentMock).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: IDEMPOTENCY_TABLE,
      Key: { id: `${ATTEMPT_KEY_PREFIX}idempotencyKey:order-1` },
    });
    expect(documentMock).toHaveReceivedCommandWith(PutCommand, {
      Item: expect.objectContaining({
        id: `${CLAIM_KEY_PREFIX}${createdFixture.id}`,
        launchKey: 'idempotencyKey:order-1',
      }),
    });
    expect(documentMock).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: EXECUTIONS_TABLE,
      Key: { id: createdFixture.id },
      ConditionExpression: 'attribute_not_exists(#id)',
    });
    expect(outcomeLines()).toEqual([
      expect.objectContaining({
        outcome: 'launched',
        key: 'idempotencyKey:order-1',
        executionId: createdFixture.id,
      }),
    ]);
  });

  it('answers a duplicate delivery from the completed record, without calling the API or writing more than its own outcome', async () => {
    dynamoMock.on(PutItemCommand).rejects(alreadyExists(storedRecord('COMPLETED', payloadHash(JOB_ID))));

    const response = await buildHandler()(
      sqsEvent({ jobId: JOB_ID, idempotencyKey: 'order-1' }, 'message-2'),
      lambdaContext(),
    );

    expect(response).toEqual({ batchItemFailures: [] });
    expect(api.requests).toEqual([]);
    // One write: the duplicate outcome under its message id (for `npm run launch -- --wait`), never on the key.
    const writes = documentMock.commandCalls(UpdateCommand).map((call) => call.args[0].input);
    expect(writes).toHaveLength(1);
    expect(writes[0]?.Key).toEqual({ id: `${ATTEMPT_KEY_PREFIX}messageId:message-2` });
    expect(writes[0]?.ExpressionAttributeValues).toMatchObject({
      ':outcome': 'duplicate',
      ':executionId': createdFixture.id,
      ':messageId': 'message-2',
    });
    expect(dynamoMock).not.toHaveReceivedCommand(UpdateItemCommand);
    expect(outcomeLines()).toEqual([
      expect.objectContaining({ outcome: 'duplicate', executionId: createdFixture.id }),
    ]);
  });

  it('dead-letters a request that reuses an idempotencyKey with another input', async () => {
    dynamoMock.on(PutItemCommand).rejects(alreadyExists(storedRecord('COMPLETED', payloadHash(JOB_ID))));

    const response = await buildHandler()(
      sqsEvent({ jobId: JOB_ID, input: { sku: 'B' }, idempotencyKey: 'order-1' }, 'message-3'),
      lambdaContext(),
    );

    expect(response).toEqual({ batchItemFailures: [] });
    expect(api.requests).toEqual([]);
    // The key is the first request's: the refusal is recorded under this message, the key's marker untouched.
    const writes = documentMock.commandCalls(UpdateCommand).map((call) => call.args[0].input);
    expect(writes.map((write) => write.Key)).toEqual([{ id: `${ATTEMPT_KEY_PREFIX}messageId:message-3` }]);
    expect(writes[0]?.ExpressionAttributeValues).toMatchObject({
      ':outcome': 'refused',
      ':messageId': 'message-3',
    });
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: config.dlqUrl,
      MessageAttributes: expect.objectContaining({
        FailureKind: { DataType: 'String', StringValue: 'idempotency-key-reused' },
      }),
    });
  });

  it('retries a message whose twin is still in progress', async () => {
    dynamoMock.on(PutItemCommand).rejects(alreadyExists(storedRecord('INPROGRESS', payloadHash(JOB_ID))));
    const event = sqsEvent({ jobId: JOB_ID, idempotencyKey: 'order-1' });

    const response = await buildHandler()(event, lambdaContext());

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[0]?.messageId }] });
    expect(api.requests).toEqual([]);
    expect(sqsMock).toHaveReceivedCommandWith(ChangeMessageVisibilityCommand, { VisibilityTimeout: 30 });
  });

  it('releases the in-progress record when the launch fails, so that the retry can run', async () => {
    api = fakeFetch(() => jsonReply({ message: 'boom' }, 503));
    const event = sqsEvent({ jobId: JOB_ID });

    const response = await buildHandler()(event, lambdaContext());

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]?.messageId }]);
    expect(dynamoMock).toHaveReceivedCommandTimes(DeleteItemCommand, 1);
    expect(outcomeLines()).toEqual([
      expect.objectContaining({
        outcome: 'retry',
        key: `messageId:${event.Records[0]?.messageId}`,
        reason: expect.stringContaining('the job may have started'),
      }),
    ]);
  });

  it('dead-letters an unknown job at once', async () => {
    api = fakeFetch(() => jsonReply({ statusCode: 404, message: `Job ${JOB_ID} not found` }, 404));
    const response = await buildHandler()(sqsEvent({ jobId: JOB_ID }), lambdaContext());
    expect(response).toEqual({ batchItemFailures: [] });
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageCommand, {
      MessageAttributes: expect.objectContaining({
        FailureReason: {
          DataType: 'String',
          StringValue: expect.stringMatching(
            /^unknown jobId 65819ba43ad5b963658ab35d: Product-Live answered HTTP 404/,
          ),
        },
      }),
    });
  });
});
