import { DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#core/aws-clients';
import type { AppLogger } from '#core/observability';
import { ProductLiveNotFoundError } from '#core/product-live/product-live.errors';
import type { FindQuery, JobExecution } from '#core/product-live/product-live.schema';
import { ExecutionRepository } from '#core/store/execution-repository';
import { SyncStateRepository } from '#core/store/sync-state-repository';
import { runSync, type SyncApi } from '#functions/sync/run-sync';
import { aJobExecution, aJobExecutionList } from '../../../builders/job-execution.builder';

const doc = createDocumentClient(new DynamoDBClient({ region: 'eu-west-1' }));
const dynamo = mockClient(doc);
const silent: AppLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** A fake API serving `executions` in pages, counting requests. */
function fakeApi(executions: JobExecution[]): SyncApi & { queries: FindQuery[] } {
  const api = {
    requestCount: 0,
    throttledCount: 0,
    queries: [] as FindQuery[],
    async findJobExecutions(query: FindQuery, { page, size }: { page: number; size: number }) {
      api.requestCount += 1;
      api.queries.push(query);
      const matching =
        query.type === 'in'
          ? executions.filter((execution) => query.value.includes(execution.id))
          : executions;
      return aJobExecutionList(matching.slice(page * size, (page + 1) * size), matching.length);
    },
    async getJobExecution(id: string): Promise<JobExecution> {
      api.requestCount += 1;
      throw new ProductLiveNotFoundError({
        method: 'GET',
        path: `/v1/data_factory/job_executions/${id}`,
        status: 404,
        body: '',
      });
    },
  };
  return api;
}

const options = {
  runId: 'run-1',
  startDate: '1970-01-01T00:00:00.000Z',
  pageSize: 2,
  lookbackMs: 600_000,
  timeMarginMs: 60_000,
  leaseMs: 960_000,
  fileCopyConcurrency: 2,
  fileCopyRetryDelayMs: 300_000,
  auditIntervalMs: 86_400_000,
};

function deps(api: SyncApi) {
  return {
    api,
    executions: new ExecutionRepository(doc, 'executions', { sleep: async () => undefined }),
    state: new SyncStateRepository(doc, 'state'),
    copier: { copy: () => Promise.reject(new Error('no files in these tests')) },
    now: () => Date.parse('2024-06-01T12:00:00.000Z'),
    remainingTimeMs: () => 900_000,
    logger: silent,
  };
}

beforeEach(() => {
  dynamo.reset();
  dynamo.on(PutCommand).resolves({});
  dynamo.on(DeleteCommand).resolves({});
  dynamo.on(GetCommand).resolves({});
  dynamo.on(QueryCommand).resolves({ Items: [] });
  dynamo.on(BatchGetCommand).resolves({ Responses: { executions: [] } });
});

const noFiles = (status: JobExecution['status']) => aJobExecution({ status, output: {} });

describe('runSync against a failing DynamoDB', () => {
  it('keeps the checkpoint of the last page written when throttling outlasts the SDK retries', async () => {
    const api = fakeApi([
      noFiles('COMPLETED'),
      noFiles('FAILED'),
      noFiles('COMPLETED'),
      noFiles('COMPLETED'),
    ]);
    dynamo
      .on(BatchWriteCommand)
      .resolvesOnce({})
      .rejects(new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: {} }));
    const summary = await runSync(deps(api), options);
    expect(summary.error).toMatch(/ProvisionedThroughputExceededException: Rate exceeded/);
    expect(summary.moreRemaining).toBe(true);
    expect(summary.executions.new).toBe(2);
    expect(summary.watermark).toBeNull();
    const checkpoints = dynamo
      .commandCalls(PutCommand)
      .map((call) => call.args[0].input.Item)
      .filter((item) => item?.name === 'checkpoint');
    expect(checkpoints.at(-1)?.pass).toMatchObject({ nextPage: 1, round: 1 });
    // The lease is given back even though the run failed.
    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, { Key: { name: 'lease' } });
  });

  it('only uses find operators the documentation confirms, in one `or` request for a quiet run', async () => {
    const api = fakeApi([noFiles('COMPLETED')]);
    dynamo.on(BatchWriteCommand).resolves({});
    dynamo
      .on(QueryCommand)
      .resolves({ Items: [{ id: 'open-1', status: 'RUNNING', createdAt: '2024-01-01' }] });
    // The audit ran an hour ago: not due.
    dynamo
      .on(GetCommand, { Key: { name: 'audit' } })
      .resolves({ Item: { name: 'audit', lastCompletedAt: '2024-06-01T11:00:00.000Z' } });
    await runSync(deps(api), options);
    const types = (query: FindQuery): string[] =>
      'queries' in query ? [query.type, ...query.queries.flatMap(types)] : [query.type];
    const confirmed = new Set(['eq', 'greater', 'greaterOrEqual', 'in', 'search', 'and', 'or']);
    expect(api.queries.flatMap(types).every((type) => confirmed.has(type))).toBe(true);
    expect(api.queries.map((query) => query.type)).toEqual(['or']);
    expect(api.requestCount).toBe(2); // the `or` query, one GET for the open id it did not return
  });

  it('writes nothing for executions already stored with the same content', async () => {
    const execution = noFiles('COMPLETED');
    const { toExecutionFields } = await import('#core/executions/execution-record');
    const fields = toExecutionFields(execution);
    dynamo.on(BatchGetCommand).resolves({
      Responses: {
        executions: [{ id: execution.id, statusRank: 2, fingerprint: fields.fingerprint, files: [] }],
      },
    });
    const summary = await runSync(deps(fakeApi([execution])), options);
    expect(summary.executions).toEqual({ new: 0, updated: 0, unchanged: 1, openRefreshed: 0 });
    expect(dynamo).not.toHaveReceivedCommand(BatchWriteCommand);
  });
});

describe('runSync when the lease itself cannot be taken', () => {
  it('ends with a summary naming the error instead of throwing', async () => {
    dynamo
      .on(PutCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: {} }));
    const summary = await runSync(deps(fakeApi([])), options);
    expect(summary.error).toBe('ProvisionedThroughputExceededException: Rate exceeded');
    expect(summary.moreRemaining).toBe(true);
    expect(summary.apiRequests).toBe(0);
  });

  it('gives back a lease whose write may have taken effect, so that the next run does not wait for it', async () => {
    // The write succeeded, its response was lost: the run cannot know whether it holds the lease.
    dynamo.on(PutCommand).rejects(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }));
    const summary = await runSync(deps(fakeApi([])), options);
    expect(summary.error).toMatch(/socket hang up/);
    const releases = dynamo.commandCalls(DeleteCommand).map((call) => call.args[0].input);
    expect(releases).toEqual([
      expect.objectContaining({
        Key: { name: 'lease' },
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeValues: { ':owner': 'run-1' },
      }),
    ]);
  });
});
