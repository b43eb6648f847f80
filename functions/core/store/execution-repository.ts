// Layer flow: use cases -> this repository -> DynamoDB (document client). Every read is a key lookup or
// an index Query; writes are conditional so that a stale view never replaces a newer one.
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  paginateQuery,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ExecutionFields, FileCopy } from '../executions/execution-record';
import { pendingFilesMarker } from '../executions/execution-record';
import { batchGetAll, batchPutAll, realSleep, type Sleep } from './dynamo-batch';
import {
  EVERY_EXECUTION_PARTITIONS,
  EXECUTION_INDEXES,
  FILES_PENDING_FLAG,
  OPEN_FLAG,
} from './table-definitions';

/** A stored execution: the derived fields, the raw API JSON, and its file copies. */
export interface ExecutionItem extends ExecutionFields {
  files: FileCopy[];
  filesPending?: typeof FILES_PENDING_FLAG;
  filesDueAt?: string;
  firstSyncedAt: string;
  syncedAt: string;
  source: 'sync' | 'launch';
}

/** What the sync needs to know about a stored execution to decide whether to write it. */
export type StoredState = Pick<ExecutionItem, 'id' | 'statusRank' | 'fingerprint' | 'files'>;

export type WriteOutcome = 'written' | 'stale';

export { UnprocessedItemsError } from './dynamo-batch';

export interface ExecutionRepositoryOptions {
  /** Waits between retries of unprocessed batch items (tests pass a no-op). */
  sleep?: Sleep;
}

export class ExecutionRepository {
  private readonly sleep: Sleep;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
    options: ExecutionRepositoryOptions = {},
  ) {
    this.sleep = options.sleep ?? realSleep;
  }

  /** One execution by id (strongly consistent), or undefined. */
  async get(id: string): Promise<ExecutionItem | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { id }, ConsistentRead: true }),
    );
    return result.Item as ExecutionItem | undefined;
  }

  /** The write-decision state of many executions at once (BatchGetItem, unprocessed keys retried). */
  async getStates(ids: readonly string[]): Promise<Map<string, StoredState>> {
    const items = await batchGetAll(
      this.client,
      this.tableName,
      [...new Set(ids)].map((id) => ({ id })),
      { projection: 'id, statusRank, fingerprint, files', sleep: this.sleep },
    );
    return new Map(
      items.map((item) => {
        const state = item as unknown as StoredState;
        return [state.id, { ...state, files: state.files ?? [] }];
      }),
    );
  }

  /**
   * Inserts executions known to be absent (BatchWriteItem: no condition is possible, so callers only pass
   * ids a consistent read just found missing, under the sync lease).
   */
  async insertMany(items: readonly ExecutionItem[]): Promise<void> {
    await batchPutAll(this.client, this.tableName, items.map(withIndexMarkers) as never, {
      sleep: this.sleep,
    });
  }

  /**
   * Writes a newer view of an execution. The condition is the invariant: a view replaces the stored one
   * only if its status rank is higher, or equal with different content. Returns 'stale' when the stored
   * view wins.
   */
  async upsert(item: ExecutionItem): Promise<WriteOutcome> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id: item.id },
          ...toUpdate(withIndexMarkers(item), {
            onlyIfAbsent: ['firstSyncedAt'],
            removeIfUndefined: REMOVABLE_ATTRIBUTES,
          }),
          ConditionExpression:
            'attribute_not_exists(#id) OR #statusRank < :statusRank OR (#statusRank = :statusRank AND #fingerprint <> :fingerprint)',
        }),
      );
      return 'written';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'stale';
      throw error;
    }
  }

  /** Inserts an execution only if no view of it is stored yet (the launch's first record). */
  async insertIfAbsent(item: ExecutionItem): Promise<WriteOutcome> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id: item.id },
          ...toUpdate(withIndexMarkers(item)),
          ConditionExpression: 'attribute_not_exists(#id)',
        }),
      );
      return 'written';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'stale';
      throw error;
    }
  }

  /** Records the state of an execution's file copies, and its place in the files-due index. */
  async saveFiles(id: string, files: readonly FileCopy[]): Promise<void> {
    const marker = pendingFilesMarker(files);
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { id },
        UpdateExpression: marker
          ? 'SET #files = :files, #pending = :pending, #due = :due'
          : 'SET #files = :files REMOVE #pending, #due',
        ConditionExpression: 'attribute_exists(#id)',
        ExpressionAttributeNames: {
          '#id': 'id',
          '#files': 'files',
          '#pending': 'filesPending',
          '#due': 'filesDueAt',
        },
        ExpressionAttributeValues: marker
          ? { ':files': files, ':pending': FILES_PENDING_FLAG, ':due': marker.filesDueAt }
          : { ':files': files },
      }),
    );
  }

  /** Every execution stored as not yet ended (sparse index byOpen). */
  async *listOpen(): AsyncGenerator<Pick<ExecutionItem, 'id' | 'status' | 'createdAt' | 'syncedAt'>> {
    yield* this.query<Pick<ExecutionItem, 'id' | 'status' | 'createdAt' | 'syncedAt'>>({
      IndexName: EXECUTION_INDEXES.byOpen,
      KeyConditionExpression: '#open = :open',
      ExpressionAttributeNames: {
        '#open': 'openFlag',
        '#id': 'id',
        '#status': 'status',
        '#createdAt': 'createdAt',
        '#syncedAt': 'syncedAt',
      },
      ExpressionAttributeValues: { ':open': OPEN_FLAG },
      ProjectionExpression: '#id, #status, #createdAt, #syncedAt',
    });
  }

  /** Executions with a file copy due at or before `nowIso` (sparse index byFilesDue), oldest due first. */
  async *listFilesDue(nowIso: string): AsyncGenerator<ExecutionItem> {
    yield* this.query<ExecutionItem>({
      IndexName: EXECUTION_INDEXES.byFilesDue,
      KeyConditionExpression: '#pending = :pending AND #due <= :now',
      ExpressionAttributeNames: { '#pending': 'filesPending', '#due': 'filesDueAt' },
      ExpressionAttributeValues: { ':pending': FILES_PENDING_FLAG, ':now': nowIso },
    });
  }

  /**
   * How many executions are stored with `createdAt >= sinceIso`. Every item is either ended (one of the
   * terminal statuses, index byStatus) or open (index byOpen), so six COUNT queries cover them all.
   * (Indexes are eventually consistent: a just-written item may be counted late, a missing one never.)
   */
  async countSince(sinceIso: string): Promise<number> {
    let count = 0;
    for (const partition of EVERY_EXECUTION_PARTITIONS) {
      for await (const page of paginateQuery(
        { client: this.client },
        {
          TableName: this.tableName,
          IndexName: partition.index,
          KeyConditionExpression: '#key = :value AND #createdAt >= :since',
          ExpressionAttributeNames: { '#key': partition.key, '#createdAt': 'createdAt' },
          ExpressionAttributeValues: { ':value': partition.value, ':since': sinceIso },
          Select: 'COUNT',
        },
      )) {
        count += page.Count ?? 0;
      }
    }
    return count;
  }

  /** Every item of a Query, page after page. */
  async *query<T>(input: Omit<QueryCommandInput, 'TableName'>): AsyncGenerator<T> {
    for await (const page of paginateQuery(
      { client: this.client },
      { ...input, TableName: this.tableName },
    )) {
      for (const item of page.Items ?? []) yield item as T;
    }
  }
}

function withIndexMarkers(item: ExecutionItem): ExecutionItem {
  const marker = pendingFilesMarker(item.files);
  const { filesPending: _pending, filesDueAt: _due, ...rest } = item;
  return marker ? { ...rest, filesPending: FILES_PENDING_FLAG, filesDueAt: marker.filesDueAt } : rest;
}

/** Optional attributes an update removes when the new view no longer has them. */
const REMOVABLE_ATTRIBUTES = [
  'pipelineId',
  'startedAt',
  'endedAt',
  'title',
  'durationMs',
  'openFlag',
  'filesPending',
  'filesDueAt',
  // An execution that shrank back under the inline limit no longer points at its S3 copy.
  'rawS3Key',
] as const;

/** An UpdateItem expression setting every attribute of the item but its key. */
function toUpdate(
  item: ExecutionItem,
  options: { onlyIfAbsent?: readonly string[]; removeIfUndefined?: readonly string[] } = {},
) {
  const names: Record<string, string> = { '#id': 'id' };
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  for (const [key, value] of Object.entries(item)) {
    if (key === 'id' || value === undefined) continue;
    names[`#${key}`] = key;
    values[`:${key}`] = value;
    sets.push(
      options.onlyIfAbsent?.includes(key) ? `#${key} = if_not_exists(#${key}, :${key})` : `#${key} = :${key}`,
    );
  }
  const removes = (options.removeIfUndefined ?? []).filter(
    (key) => (item as unknown as Record<string, unknown>)[key] === undefined,
  );
  for (const key of removes) names[`#${key}`] = key;
  return {
    UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.map((key) => `#${key}`).join(', ')}` : ''}`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}
