import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#core/aws-clients';
import { toExecutionFields } from '#core/executions/execution-record';
import {
  type ExecutionItem,
  ExecutionRepository,
  UnprocessedItemsError,
} from '#core/store/execution-repository';
import { SyncStateRepository } from '#core/store/sync-state-repository';
import { aJobExecution } from '../../../../builders/job-execution.builder';

const doc = createDocumentClient(new DynamoDBClient({ region: 'eu-west-1' }));
const dynamo = mockClient(doc);
const noSleep = async () => undefined;

function anItem(overrides: Partial<ExecutionItem> = {}): ExecutionItem {
  return {
    ...toExecutionFields(aJobExecution()),
    files: [],
    firstSyncedAt: '2024-01-01T00:00:00.000Z',
    syncedAt: '2024-01-01T00:00:00.000Z',
    source: 'sync',
    ...overrides,
  };
}

beforeEach(() => dynamo.reset());

describe('ExecutionRepository', () => {
  it('retries unprocessed batch writes until DynamoDB takes them all', async () => {
    const items = [anItem(), anItem(), anItem()];
    dynamo
      .on(BatchWriteCommand)
      .resolvesOnce({ UnprocessedItems: { executions: [{ PutRequest: { Item: items[2] } }] } })
      .resolves({ UnprocessedItems: {} });
    await new ExecutionRepository(doc, 'executions', { sleep: noSleep }).insertMany(items);
    expect(dynamo).toHaveReceivedCommandTimes(BatchWriteCommand, 2);
    const retried = dynamo.commandCalls(BatchWriteCommand)[1]?.args[0].input.RequestItems?.executions;
    expect(retried).toHaveLength(1);
  });

  it('fails loudly when unprocessed items never drain', async () => {
    const item = anItem();
    dynamo
      .on(BatchWriteCommand)
      .resolves({ UnprocessedItems: { executions: [{ PutRequest: { Item: item } }] } });
    await expect(
      new ExecutionRepository(doc, 'executions', { sleep: noSleep }).insertMany([item]),
    ).rejects.toThrow(UnprocessedItemsError);
  });

  it('retries unprocessed keys of a batch read', async () => {
    const item = anItem();
    dynamo
      .on(BatchGetCommand)
      .resolvesOnce({
        Responses: { executions: [] },
        UnprocessedKeys: { executions: { Keys: [{ id: item.id }] } },
      })
      .resolves({ Responses: { executions: [{ id: item.id, statusRank: 2, fingerprint: 'f' }] } });
    const states = await new ExecutionRepository(doc, 'executions', { sleep: noSleep }).getStates([
      item.id,
      item.id,
    ]);
    expect(states.get(item.id)).toEqual({ id: item.id, statusRank: 2, fingerprint: 'f', files: [] });
    expect(dynamo).toHaveReceivedCommandTimes(BatchGetCommand, 2);
  });

  it('reports a conditional check failure as a stale view instead of an error', async () => {
    dynamo.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'no', $metadata: {} }));
    expect(await new ExecutionRepository(doc, 'executions').upsert(anItem())).toBe('stale');
  });

  it('lets throttling errors through to the caller once the SDK gave up', async () => {
    dynamo
      .on(UpdateCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));
    await expect(new ExecutionRepository(doc, 'executions').upsert(anItem())).rejects.toThrow('slow down');
  });

  it('writes an update only when the rank is higher, or equal with different content, or the execution was marked gone', async () => {
    dynamo.on(UpdateCommand).resolves({});
    await new ExecutionRepository(doc, 'executions').upsert(anItem({ status: 'COMPLETED' }));
    const input = dynamo.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.ConditionExpression).toBe(
      'attribute_not_exists(#id) OR #statusRank < :statusRank OR (#statusRank = :statusRank AND #fingerprint <> :fingerprint) OR attribute_exists(#removedFromApiAt)',
    );
    expect(input?.UpdateExpression).toContain('REMOVE');
    expect(input?.UpdateExpression).toContain('#openFlag');
  });
});

describe('SyncStateRepository', () => {
  it('refuses the lease while another run holds a live one', async () => {
    dynamo.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: 'held', $metadata: {} }));
    expect(await new SyncStateRepository(doc, 'state').acquireLease('me', 1_000, 60_000)).toBe(false);
  });

  it('never moves the watermark backwards', async () => {
    dynamo.on(PutCommand).resolves({});
    await new SyncStateRepository(doc, 'state').saveCheckpoint({
      watermark: '2024-01-01T00:00:00.000Z',
      updatedAt: '2024-01-01T00:00:00.000Z',
    });
    expect(dynamo.commandCalls(PutCommand)[0]?.args[0].input.ConditionExpression).toBe(
      'attribute_not_exists(watermark) OR watermark <= :watermark',
    );
  });
});
