// Layer flow: history queries -> this reader -> DynamoDB (document client). Every read is a GetItem or an
// index Query paged to its end (LastEvaluatedKey), never a Scan:
//   one job            -> byJob    (jobId, createdAt)      + a status filter when both are asked
//   one status         -> byStatus (status, createdAt)
//   everything         -> byMonth  (month, createdAt), one Query per month of the period
// The months of an unbounded period come from the oldest and newest createdAt stored, which take one-item
// Queries: every execution is either in a terminal status (byStatus) or carries the open flag (byOpen).
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { type CreatedAtRange, type ExecutionItem, readCreatedAtRange } from '../store/execution-repository';
import { EXECUTION_INDEXES, FILES_FAILED_FLAG, FILES_PENDING_FLAG } from '../store/table-definitions';
import { LargePayloadUnavailableError } from './history.errors';
import { monthsBetween, type Period, periodKeyRange } from './period';

/** Which executions to read. */
export interface ExecutionSelection {
  jobId?: string;
  status?: string;
  period: Period;
  /** By createdAt: newest first (default) or oldest first. */
  order?: 'newest' | 'oldest';
  /** Stop after this many executions (the Queries stop too). */
  limit?: number;
  /** Read only these attributes (smaller responses for statistics). */
  attributes?: readonly string[];
}

export interface HistoryReaderOptions {
  /** Reads an execution's JSON that the sync offloaded to the files bucket (items with `rawS3Key`). */
  loadLargePayload?: (s3Key: string) => Promise<string>;
}

/** One index Query of a selection: the index, its partition, and an optional status filter. */
export interface PlannedQuery {
  indexName: string;
  partitionKey: string;
  partitionValue: string;
  statusFilter?: string;
}

/** The Queries that serve a selection, in the order to run them (months: by `order`). */
export function planQueries(selection: ExecutionSelection, months: readonly string[]): PlannedQuery[] {
  if (selection.jobId !== undefined) {
    return [
      {
        indexName: EXECUTION_INDEXES.byJob,
        partitionKey: 'jobId',
        partitionValue: selection.jobId,
        ...(selection.status !== undefined ? { statusFilter: selection.status } : {}),
      },
    ];
  }
  if (selection.status !== undefined) {
    return [
      { indexName: EXECUTION_INDEXES.byStatus, partitionKey: 'status', partitionValue: selection.status },
    ];
  }
  const ordered = selection.order === 'oldest' ? [...months] : [...months].reverse();
  return ordered.map((month) => ({
    indexName: EXECUTION_INDEXES.byMonth,
    partitionKey: 'month',
    partitionValue: month,
  }));
}

/** Reads stored executions for the history queries. */
export class HistoryReader {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
    private readonly options: HistoryReaderOptions = {},
  ) {}

  /** One execution by id, or undefined. */
  async get(id: string): Promise<ExecutionItem | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { id } }));
    return result.Item as ExecutionItem | undefined;
  }

  /** The executions of a selection, page after page, in createdAt order. */
  async *select(selection: ExecutionSelection): AsyncGenerator<ExecutionItem> {
    const needsMonths = selection.jobId === undefined && selection.status === undefined;
    const queries = planQueries(selection, needsMonths ? await this.monthsOf(selection.period) : []);
    const { from, to } = periodKeyRange(selection.period);
    let remaining = selection.limit ?? Number.POSITIVE_INFINITY;
    if (remaining <= 0) return;
    for (const query of queries) {
      const names: Record<string, string> = { '#pk': query.partitionKey, '#createdAt': 'createdAt' };
      const values: Record<string, unknown> = { ':pk': query.partitionValue, ':from': from, ':to': to };
      const input: Omit<QueryCommandInput, 'TableName'> = {
        IndexName: query.indexName,
        KeyConditionExpression: '#pk = :pk AND #createdAt BETWEEN :from AND :to',
        ScanIndexForward: selection.order === 'oldest',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      };
      if (query.statusFilter !== undefined) {
        names['#status'] = 'status';
        values[':status'] = query.statusFilter;
        input.FilterExpression = '#status = :status';
      }
      if (selection.attributes) {
        input.ProjectionExpression = selection.attributes
          .map((attribute, index) => {
            names[`#a${index}`] = attribute;
            return `#a${index}`;
          })
          .join(', ');
      }
      // Limit counts items read before the filter, so it only bounds unfiltered Queries.
      const pageLimit =
        query.statusFilter === undefined && Number.isFinite(remaining)
          ? Math.min(remaining, 1_000)
          : undefined;
      for await (const item of this.queryAll(input, pageLimit)) {
        yield item as unknown as ExecutionItem;
        remaining -= 1;
        if (remaining <= 0) return;
      }
    }
  }

  /**
   * The executions with a file copy not done: pending (sparse index byFilesDue) and failed for good (sparse
   * index byFilesFailed). An execution with both kinds is yielded once per index.
   */
  async *withCopiesNotDone(status: 'pending' | 'failed' | undefined): AsyncGenerator<ExecutionItem> {
    const partitions = [
      ...(status !== 'failed'
        ? [{ index: EXECUTION_INDEXES.byFilesDue, key: 'filesPending', value: FILES_PENDING_FLAG }]
        : []),
      ...(status !== 'pending'
        ? [{ index: EXECUTION_INDEXES.byFilesFailed, key: 'filesFailed', value: FILES_FAILED_FLAG }]
        : []),
    ];
    for (const partition of partitions) {
      for await (const item of this.queryAll(
        {
          IndexName: partition.index,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': partition.key },
          ExpressionAttributeValues: { ':pk': partition.value },
        },
        undefined,
      )) {
        yield item as unknown as ExecutionItem;
      }
    }
  }

  /**
   * The executions with `fromIso <= createdAt < toIso`, oldest first: one Query per month partition of the
   * range (index byMonth), without reading the stored range first (the lake reads one day at a time).
   */
  async *createdBetween(fromIso: string, toIso: string): AsyncGenerator<ExecutionItem> {
    const lastIncluded = new Date(Date.parse(toIso) - 1).toISOString();
    if (lastIncluded < fromIso) return;
    for (const month of monthsBetween(fromIso, lastIncluded)) {
      const input: Omit<QueryCommandInput, 'TableName'> = {
        IndexName: EXECUTION_INDEXES.byMonth,
        KeyConditionExpression: '#month = :month AND #createdAt BETWEEN :from AND :to',
        ExpressionAttributeNames: { '#month': 'month', '#createdAt': 'createdAt' },
        ExpressionAttributeValues: { ':month': month, ':from': fromIso, ':to': lastIncluded },
        ScanIndexForward: true,
      };
      for await (const item of this.queryAll(input, undefined)) yield item as unknown as ExecutionItem;
    }
  }

  /** The oldest and newest createdAt stored, or undefined when the table holds no execution. */
  createdAtRange(): Promise<CreatedAtRange | undefined> {
    return readCreatedAtRange(this.client, this.tableName);
  }

  /** The API object of a stored execution, exactly as the API returned it (read from S3 when offloaded). */
  async apiObject(item: Pick<ExecutionItem, 'id' | 'raw' | 'rawS3Key'>): Promise<Record<string, unknown>> {
    if (item.rawS3Key) {
      if (!this.options.loadLargePayload) throw new LargePayloadUnavailableError(item.id, item.rawS3Key);
      return JSON.parse(await this.options.loadLargePayload(item.rawS3Key)) as Record<string, unknown>;
    }
    return JSON.parse(item.raw) as Record<string, unknown>;
  }

  /** The months holding the period's executions, clamped to the stored range. */
  private async monthsOf(period: Period): Promise<string[]> {
    const range = await this.createdAtRange();
    if (!range) return [];
    const { from, to } = periodKeyRange(period);
    // ISO strings (not numbers): the later of the two lower ends, the earlier of the two upper ends.
    const [, first = from] = [from, range.first].sort();
    const [last = to] = [to, range.last].sort();
    return first <= last ? monthsBetween(first, last) : [];
  }

  /** Every item of a Query, following LastEvaluatedKey to the last page. */
  private async *queryAll(
    input: Omit<QueryCommandInput, 'TableName'>,
    pageLimit: number | undefined,
  ): AsyncGenerator<Record<string, unknown>> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          ...input,
          TableName: this.tableName,
          ...(pageLimit !== undefined ? { Limit: pageLimit } : {}),
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) yield item;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }
}
