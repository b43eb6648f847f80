import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#core/aws-clients';
import { ATTEMPT_KEY_PREFIX } from '#core/store/task-token-repository';
import {
  CLAIM_KEY_PREFIX,
  LaunchAttemptRepository,
  UnprocessedClaimKeysError,
} from '#functions/launch/launch-attempt-repository';

const TABLE = 'launch-idempotency';
const NOW = Date.parse('2024-06-01T12:00:00.000Z');
const TTL = 3_600;
const documentMock = mockClient(DynamoDBDocumentClient);

let repository: LaunchAttemptRepository;

beforeEach(() => {
  documentMock.reset();
  repository = new LaunchAttemptRepository(
    createDocumentClient(new DynamoDBClient({ region: 'eu-west-1' })),
    TABLE,
    {
      ttlSeconds: TTL,
      sleep: async () => undefined,
    },
  );
});

const conditionFailed = () =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

describe('LaunchAttemptRepository.recordAttempt', () => {
  it('keeps the earliest first attempt with one conditional-free update, under a prefix Powertools never uses', async () => {
    documentMock.on(UpdateCommand).resolves({
      Attributes: { firstAttemptAt: new Date(NOW).toISOString(), attempts: 1, expiration: NOW / 1000 + TTL },
    });

    const attempt = await repository.recordAttempt('idempotencyKey:order-1', '65819ba43ad5b963658ab35d', NOW);

    expect(attempt).toEqual({ firstAttemptAt: NOW, previousAttempts: 0, unsettledAttempts: 0, uploads: {} });
    expect(documentMock).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: TABLE,
      Key: { id: `${ATTEMPT_KEY_PREFIX}idempotencyKey:order-1` },
      UpdateExpression: expect.stringContaining('#first = if_not_exists(#first, :now)'),
      ExpressionAttributeValues: expect.objectContaining({ ':exp': NOW / 1000 + TTL, ':one': 1 }),
      ReturnValues: 'ALL_NEW',
    });
    expect(ATTEMPT_KEY_PREFIX.startsWith('launch#')).toBe(false);
  });

  it('reports earlier attempts, how many of them are not settled, and the first attempt time they recorded', async () => {
    const first = NOW - 90_000;
    documentMock.on(UpdateCommand).resolves({
      Attributes: {
        firstAttemptAt: new Date(first).toISOString(),
        attempts: 4,
        settledAttempts: 2,
        expiration: NOW / 1000 + 100,
      },
    });
    expect(await repository.recordAttempt('k', 'job', NOW)).toEqual({
      firstAttemptAt: first,
      previousAttempts: 3,
      unsettledAttempts: 1,
      uploads: {},
    });
  });

  it('replaces a marker whose TTL has passed but that DynamoDB has not deleted yet', async () => {
    documentMock.on(UpdateCommand).resolves({
      Attributes: { firstAttemptAt: '2020-01-01T00:00:00.000Z', attempts: 4, expiration: NOW / 1000 - 1 },
    });
    documentMock.on(PutCommand).resolves({});

    expect(await repository.recordAttempt('k', 'job', NOW)).toEqual({
      firstAttemptAt: NOW,
      previousAttempts: 0,
      unsettledAttempts: 0,
      uploads: {},
    });
    expect(documentMock).toHaveReceivedCommandWith(PutCommand, {
      Item: expect.objectContaining({
        id: `${ATTEMPT_KEY_PREFIX}k`,
        attempts: 1,
        expiration: NOW / 1000 + TTL,
      }),
    });
  });
});

describe('LaunchAttemptRepository.settleAttempt', () => {
  it('counts a settled attempt on the existing marker only', async () => {
    documentMock.on(UpdateCommand).resolves({});
    await repository.settleAttempt('idempotencyKey:order-1', NOW);
    expect(documentMock).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: TABLE,
      Key: { id: `${ATTEMPT_KEY_PREFIX}idempotencyKey:order-1` },
      UpdateExpression: expect.stringContaining('ADD #settled :one'),
      ConditionExpression: 'attribute_exists(#id)',
      ExpressionAttributeNames: expect.objectContaining({ '#id': 'id', '#settled': 'settledAttempts' }),
    });
  });

  it('does nothing when the marker is gone, and propagates any other failure', async () => {
    documentMock.on(UpdateCommand).rejects(conditionFailed());
    await expect(repository.settleAttempt('k', NOW)).resolves.toBeUndefined();
    documentMock.reset();
    documentMock.on(UpdateCommand).rejects(new Error('throttled'));
    await expect(repository.settleAttempt('k', NOW)).rejects.toThrow('throttled');
  });
});

describe('LaunchAttemptRepository.claimExecution', () => {
  it('claims an unclaimed execution (or one the key owns) with a conditional put', async () => {
    documentMock.on(PutCommand).resolves({});
    expect(await repository.claimExecution('6660aaaa', 'k', NOW)).toBe(true);
    expect(documentMock).toHaveReceivedCommandWith(PutCommand, {
      TableName: TABLE,
      Item: {
        id: `${CLAIM_KEY_PREFIX}6660aaaa`,
        launchKey: 'k',
        claimedAt: new Date(NOW).toISOString(),
        expiration: NOW / 1000 + TTL,
      },
      ConditionExpression: 'attribute_not_exists(#id) OR #owner = :key',
      ExpressionAttributeValues: { ':key': 'k' },
    });
  });

  it('answers false when another key owns the execution', async () => {
    documentMock.on(PutCommand).rejects(conditionFailed());
    expect(await repository.claimExecution('6660aaaa', 'k', NOW)).toBe(false);
  });

  it('lets any other failure through', async () => {
    documentMock.on(PutCommand).rejects(new Error('throttled'));
    await expect(repository.claimExecution('6660aaaa', 'k', NOW)).rejects.toThrow('throttled');
  });
});

describe('LaunchAttemptRepository.findClaims', () => {
  it('reads the owners with consistent reads, retrying unprocessed keys', async () => {
    documentMock
      .on(BatchGetCommand)
      .resolvesOnce({
        Responses: { [TABLE]: [{ id: `${CLAIM_KEY_PREFIX}a`, launchKey: 'k1' }] },
        UnprocessedKeys: { [TABLE]: { Keys: [{ id: `${CLAIM_KEY_PREFIX}b` }] } },
      })
      .resolvesOnce({ Responses: { [TABLE]: [{ id: `${CLAIM_KEY_PREFIX}b`, launchKey: 'k2' }] } });

    const owners = await repository.findClaims(['a', 'b', 'c', 'a']);

    expect(owners).toEqual(
      new Map([
        ['a', 'k1'],
        ['b', 'k2'],
      ]),
    );
    expect(documentMock).toHaveReceivedNthCommandWith(BatchGetCommand, 1, {
      RequestItems: {
        [TABLE]: expect.objectContaining({
          Keys: [
            { id: `${CLAIM_KEY_PREFIX}a` },
            { id: `${CLAIM_KEY_PREFIX}b` },
            { id: `${CLAIM_KEY_PREFIX}c` },
          ],
          ConsistentRead: true,
        }),
      },
    });
  });

  it('gives up with a named error when keys stay unprocessed', async () => {
    documentMock
      .on(BatchGetCommand)
      .resolves({ UnprocessedKeys: { [TABLE]: { Keys: [{ id: `${CLAIM_KEY_PREFIX}a` }] } } });
    await expect(repository.findClaims(['a'])).rejects.toBeInstanceOf(UnprocessedClaimKeysError);
  });

  it('asks nothing for no ids', async () => {
    expect(await repository.findClaims([])).toEqual(new Map());
    expect(documentMock).not.toHaveReceivedAnyCommand();
  });
});
