import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, type QueryCommandInput, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#core/aws-clients';
import { LargePayloadUnavailableError } from '#core/history/history.errors';
import { type ExecutionSelection, HistoryReader, planQueries } from '#core/history/history-reader';

const doc = createDocumentClient(new DynamoDBClient({ region: 'eu-west-1' }));
const dynamo = mockClient(doc);

beforeEach(() => dynamo.reset());

/** Answers the one-item edge Queries of createdAtRange from these createdAt values (terminal ones). */
function storedRange(first: string | undefined, last: string | undefined) {
  return (input: QueryCommandInput) => {
    const edge = input.ScanIndexForward ? first : last;
    const isCompleted = input.ExpressionAttributeValues?.[':pk'] === 'COMPLETED';
    return { Items: edge && isCompleted ? [{ createdAt: edge }] : [] };
  };
}

const queries = () => dynamo.commandCalls(QueryCommand).map((call) => call.args[0].input);

async function collect(reader: HistoryReader, selection: ExecutionSelection) {
  const ids: string[] = [];
  for await (const item of reader.select(selection)) ids.push(item.id);
  return ids;
}

describe('planQueries', () => {
  it('uses byJob for a job (filtering a status), byStatus for a status, byMonth otherwise', () => {
    expect(planQueries({ jobId: 'J', status: 'FAILED', period: {} }, [])).toEqual([
      { indexName: 'byJob', partitionKey: 'jobId', partitionValue: 'J', statusFilter: 'FAILED' },
    ]);
    expect(planQueries({ status: 'FAILED', period: {} }, [])).toEqual([
      { indexName: 'byStatus', partitionKey: 'status', partitionValue: 'FAILED' },
    ]);
    expect(planQueries({ period: {} }, ['2024-04', '2024-05']).map((query) => query.partitionValue)).toEqual([
      '2024-05',
      '2024-04',
    ]);
    expect(
      planQueries({ period: {}, order: 'oldest' }, ['2024-04', '2024-05']).map(
        (query) => query.partitionValue,
      ),
    ).toEqual(['2024-04', '2024-05']);
  });
});

describe('HistoryReader.select', () => {
  it('pages a job Query to the end, within the period, newest first', async () => {
    dynamo
      .on(QueryCommand)
      .resolvesOnce({ Items: [{ id: 'a' }, { id: 'b' }], LastEvaluatedKey: { id: 'b' } })
      .resolvesOnce({ Items: [{ id: 'c' }], LastEvaluatedKey: { id: 'c' } })
      .resolvesOnce({ Items: [] });
    const reader = new HistoryReader(doc, 'executions');
    const ids = await collect(reader, {
      jobId: 'J',
      period: { since: '2024-05-01T00:00:00.000Z', until: '2024-06-01T00:00:00.000Z' },
    });
    expect(ids).toEqual(['a', 'b', 'c']);
    const sent = queries();
    expect(sent).toHaveLength(3);
    expect(sent[0]).toMatchObject({
      TableName: 'executions',
      IndexName: 'byJob',
      KeyConditionExpression: '#pk = :pk AND #createdAt BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': 'J',
        ':from': '2024-05-01T00:00:00.000Z',
        ':to': '2024-05-31T23:59:59.999Z',
      },
      ScanIndexForward: false,
    });
    expect(sent[1]?.ExclusiveStartKey).toEqual({ id: 'b' });
    expect(sent[2]?.ExclusiveStartKey).toEqual({ id: 'c' });
  });

  it('filters a job Query by status without a Limit (Limit would count items before the filter)', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [{ id: 'a' }] });
    await collect(new HistoryReader(doc, 'executions'), {
      jobId: 'J',
      status: 'FAILED',
      period: {},
      limit: 5,
    });
    expect(queries()[0]).toMatchObject({
      IndexName: 'byJob',
      FilterExpression: '#status = :status',
      ExpressionAttributeValues: { ':status': 'FAILED' },
    });
    expect(queries()[0]?.Limit).toBeUndefined();
  });

  it('reads a status from byStatus with a page Limit of what is still wanted', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [{ id: 'a' }, { id: 'b' }], LastEvaluatedKey: { id: 'b' } });
    const ids = await collect(new HistoryReader(doc, 'executions'), {
      status: 'FAILED',
      period: {},
      limit: 2,
    });
    expect(ids).toEqual(['a', 'b']);
    expect(queries()).toHaveLength(1);
    expect(queries()[0]).toMatchObject({ IndexName: 'byStatus', Limit: 2 });
  });

  it('queries byMonth one month at a time, newest first, and stops at the limit', async () => {
    const range = storedRange('2024-03-10T00:00:00.000Z', '2024-05-20T00:00:00.000Z');
    dynamo.on(QueryCommand).callsFake((input: QueryCommandInput) => {
      if (input.Limit === 1 && input.IndexName !== 'byMonth') return range(input);
      const month = input.ExpressionAttributeValues?.[':pk'] as string;
      return { Items: [{ id: `${month}-1` }, { id: `${month}-2` }] };
    });
    const ids = await collect(new HistoryReader(doc, 'executions'), { period: {}, limit: 3 });
    expect(ids).toEqual(['2024-05-1', '2024-05-2', '2024-04-1']);
    const months = queries().filter((input) => input.IndexName === 'byMonth');
    expect(months.map((input) => input.ExpressionAttributeValues?.[':pk'])).toEqual(['2024-05', '2024-04']);
    expect(months.map((input) => input.Limit)).toEqual([3, 1]);
  });

  it('finds the stored months from the oldest and newest createdAt of every status partition', async () => {
    const range = storedRange('2024-03-10T00:00:00.000Z', '2024-05-20T00:00:00.000Z');
    dynamo
      .on(QueryCommand)
      .callsFake((input: QueryCommandInput) =>
        input.IndexName === 'byMonth' ? { Items: [] } : range(input),
      );
    const reader = new HistoryReader(doc, 'executions');
    expect(await reader.createdAtRange()).toEqual({
      first: '2024-03-10T00:00:00.000Z',
      last: '2024-05-20T00:00:00.000Z',
    });
    const partitions = queries().map(
      (input) => `${input.IndexName}:${input.ExpressionAttributeValues?.[':pk']}`,
    );
    expect(new Set(partitions)).toEqual(
      new Set([
        'byStatus:COMPLETED',
        'byStatus:USER_ERROR',
        'byStatus:FAILED',
        'byStatus:TERMINATED',
        'byStatus:TIMEDOUT',
        'byOpen:OPEN',
      ]),
    );
    dynamo.resetHistory();
    // A period reaching past the stored range only queries the stored months.
    await collect(reader, { period: { since: '2020-01-01T00:00:00.000Z' }, order: 'oldest' });
    const months = queries().filter((input) => input.IndexName === 'byMonth');
    expect(months.map((input) => input.ExpressionAttributeValues?.[':pk'])).toEqual([
      '2024-03',
      '2024-04',
      '2024-05',
    ]);
  });

  it('sends no month Query for an empty table, and never a Scan', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [] });
    expect(await collect(new HistoryReader(doc, 'executions'), { period: {} })).toEqual([]);
    expect(queries().every((input) => input.Limit === 1)).toBe(true);
    expect(dynamo).not.toHaveReceivedCommand(ScanCommand);
  });

  it('reads only the asked attributes', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [] });
    await collect(new HistoryReader(doc, 'executions'), {
      jobId: 'J',
      period: {},
      attributes: ['status', 'createdAt'],
    });
    expect(queries()[0]).toMatchObject({
      ProjectionExpression: '#a0, #a1',
      ExpressionAttributeNames: { '#a0': 'status', '#a1': 'createdAt' },
    });
  });
});

describe('HistoryReader.get and apiObject', () => {
  it('gets one execution by key', async () => {
    dynamo.on(GetCommand, { TableName: 'executions', Key: { id: 'e1' } }).resolves({ Item: { id: 'e1' } });
    expect(await new HistoryReader(doc, 'executions').get('e1')).toEqual({ id: 'e1' });
  });

  it('parses the stored JSON, or reads it from the files bucket when it was offloaded', async () => {
    const loads: string[] = [];
    const reader = new HistoryReader(doc, 'executions', {
      loadLargePayload: async (key) => {
        loads.push(key);
        return '{"id":"big","extra":1}';
      },
    });
    expect(await reader.apiObject({ id: 'e', raw: '{"id":"e","b":2,"a":1}' })).toEqual({
      id: 'e',
      b: 2,
      a: 1,
    });
    expect(
      await reader.apiObject({ id: 'big', raw: '', rawS3Key: 'executions/j/big/execution.json' }),
    ).toEqual({
      id: 'big',
      extra: 1,
    });
    expect(loads).toEqual(['executions/j/big/execution.json']);
    await expect(
      new HistoryReader(doc, 'executions').apiObject({ id: 'big', raw: '', rawS3Key: 'k' }),
    ).rejects.toBeInstanceOf(LargePayloadUnavailableError);
  });
});
