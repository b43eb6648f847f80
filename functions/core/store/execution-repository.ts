// Layer flow: use cases -> this repository -> DynamoDB (document client). Every read is a key lookup or
// an index Query; writes are conditional so that a stale view never replaces a newer one.
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  paginateQuery,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { ExecutionFields, FileCopy, LaunchInfo } from '../executions/execution-record';
import { hasFailedCopy, pendingFilesMarker } from '../executions/execution-record';
import { batchGetAll, batchPutAll, realSleep, type Sleep } from './dynamo-batch';
import type { DayMarker } from './lake-marks';
import {
  EVERY_EXECUTION_PARTITIONS,
  EXECUTION_INDEXES,
  FILES_FAILED_FLAG,
  FILES_PENDING_FLAG,
  OPEN_FLAG,
} from './table-definitions';

/** A stored execution: the derived fields, the raw API JSON, and its file copies. */
export interface ExecutionItem extends ExecutionFields {
  files: FileCopy[];
  filesPending?: typeof FILES_PENDING_FLAG;
  filesDueAt?: string;
  filesFailed?: typeof FILES_FAILED_FLAG;
  firstSyncedAt: string;
  syncedAt: string;
  source: 'sync' | 'launch';
  /** When the completeness audit found that the API no longer returns this execution (it is kept). */
  removedFromApiAt?: string;
  /** The launch request that started it, when the launch function did (set once, never by the sync). */
  launch?: LaunchInfo;
}

/** What the sync needs to know about a stored execution to decide whether to write it. */
export type StoredState = Pick<
  ExecutionItem,
  'id' | 'statusRank' | 'fingerprint' | 'files' | 'removedFromApiAt'
>;

/** A run of a job as the health pass reads it. */
export type RunOfJob = Pick<
  ExecutionItem,
  'id' | 'status' | 'createdAt' | 'startedAt' | 'endedAt' | 'durationMs' | 'title' | 'removedFromApiAt'
>;

/** The oldest and newest createdAt stored. */
export interface CreatedAtRange {
  first: string;
  last: string;
}

export type WriteOutcome = 'written' | 'stale';

export { UnprocessedItemsError } from './dynamo-batch';

export interface ExecutionRepositoryOptions {
  /** Waits between retries of unprocessed batch items (tests pass a no-op). */
  sleep?: Sleep;
  /**
   * Marks the days (UTC, of createdAt) of the executions about to be written, so that the lake rewrites
   * them (LakeMarks). Absent: no lake to keep current.
   */
  marks?: DayMarker;
}

/** The UTC day of an execution: what the lake partitions by. */
const dayOfItem = (item: Pick<ExecutionItem, 'createdAt'>) => item.createdAt.slice(0, 10);

export class ExecutionRepository {
  private readonly sleep: Sleep;
  private readonly marks: DayMarker | undefined;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
    options: ExecutionRepositoryOptions = {},
  ) {
    this.sleep = options.sleep ?? realSleep;
    this.marks = options.marks;
  }

  /** One conditional update of a stored execution: 'stale' when its condition does not hold. */
  private async conditionalUpdate(
    id: string,
    update: Omit<UpdateCommandInput, 'TableName' | 'Key'>,
  ): Promise<WriteOutcome> {
    try {
      await this.client.send(new UpdateCommand({ TableName: this.tableName, Key: { id }, ...update }));
      return 'written';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'stale';
      throw error;
    }
  }

  /** Marks the lake days of executions about to be written (before the write: a crash leaves the mark). */
  private async markDays(items: Iterable<Pick<ExecutionItem, 'createdAt'>>): Promise<void> {
    if (this.marks) await this.marks.mark([...items].map(dayOfItem));
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
      { projection: 'id, statusRank, fingerprint, files, removedFromApiAt', sleep: this.sleep },
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
    if (items.length === 0) return;
    await this.markDays(items);
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
    await this.markDays([item]);
    return this.conditionalUpdate(item.id, {
      ...toUpdate(withIndexMarkers(item), {
        onlyIfAbsent: ['firstSyncedAt'],
        removeIfUndefined: REMOVABLE_ATTRIBUTES,
      }),
      // The newer view wins; so does any view of an execution marked as gone from the API (it is back).
      ConditionExpression:
        'attribute_not_exists(#id) OR #statusRank < :statusRank OR (#statusRank = :statusRank AND #fingerprint <> :fingerprint) OR attribute_exists(#removedFromApiAt)',
    });
  }

  /**
   * Records the launch request that started an execution, unless one is recorded already (a redelivered
   * request's second record changes nothing). The sync's writes leave the attribute alone.
   */
  async setLaunch(item: Pick<ExecutionItem, 'id' | 'createdAt'>, launch: LaunchInfo): Promise<WriteOutcome> {
    await this.markDays([item]);
    return this.conditionalUpdate(item.id, {
      UpdateExpression: 'SET #launch = if_not_exists(#launch, :launch)',
      // Never an item of its own: only a stored execution gets its launch.
      ConditionExpression: 'attribute_exists(#id)',
      ExpressionAttributeNames: { '#launch': 'launch', '#id': 'id' },
      ExpressionAttributeValues: { ':launch': launch },
    });
  }

  /**
   * Marks a stored execution's launch as awaited by one more task token (`launch.awaited`, `launch.waiters` + 1):
   * the write that tells the callbacks function, through the stream, that a new waiter may need the result.
   * 'stale' when the execution or its launch is not stored.
   */
  async attachWaiter(item: Pick<ExecutionItem, 'id'>): Promise<WriteOutcome> {
    return this.conditionalUpdate(item.id, {
      UpdateExpression: 'SET #launch.#awaited = :true ADD #launch.#waiters :one',
      ConditionExpression: 'attribute_exists(#launch)',
      ExpressionAttributeNames: { '#launch': 'launch', '#awaited': 'awaited', '#waiters': 'waiters' },
      ExpressionAttributeValues: { ':true': true, ':one': 1 },
    });
  }

  /**
   * Clears `launch.awaited` when no token waits any more (each was refused), unless a waiter was attached since
   * `seen.waiters` was read: the follow-up of the execution ends. 'stale' when a new waiter came meanwhile.
   */
  async releaseWaiters(item: Pick<ExecutionItem, 'id' | 'launch'>): Promise<WriteOutcome> {
    const waiters = item.launch?.waiters ?? 0;
    return this.conditionalUpdate(item.id, {
      UpdateExpression: 'SET #launch.#awaited = :false',
      ConditionExpression:
        waiters === 0 ? 'attribute_not_exists(#launch.#waiters)' : '#launch.#waiters = :waiters',
      ExpressionAttributeNames: { '#launch': 'launch', '#awaited': 'awaited', '#waiters': 'waiters' },
      ExpressionAttributeValues: { ':false': false, ...(waiters === 0 ? {} : { ':waiters': waiters }) },
    });
  }

  /** Inserts an execution only if no view of it is stored yet (the launch's first record). */
  async insertIfAbsent(item: ExecutionItem): Promise<WriteOutcome> {
    await this.markDays([item]);
    return this.conditionalUpdate(item.id, {
      ...toUpdate(withIndexMarkers(item)),
      ConditionExpression: 'attribute_not_exists(#id)',
    });
  }

  /** Records the state of an execution's file copies, and its place in the files-due and failed indexes. */
  async saveFiles(item: Pick<ExecutionItem, 'id' | 'createdAt'>, files: readonly FileCopy[]): Promise<void> {
    await this.markDays([item]);
    const marker = pendingFilesMarker(files);
    const failed = hasFailedCopy(files);
    const sets = ['#files = :files'];
    const removes: string[] = [];
    const values: Record<string, unknown> = { ':files': files };
    if (marker) {
      sets.push('#pending = :pending', '#due = :due');
      values[':pending'] = FILES_PENDING_FLAG;
      values[':due'] = marker.filesDueAt;
    } else {
      removes.push('#pending', '#due');
    }
    if (failed) {
      sets.push('#failed = :failed');
      values[':failed'] = FILES_FAILED_FLAG;
    } else {
      removes.push('#failed');
    }
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { id: item.id },
        UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
        ConditionExpression: 'attribute_exists(#id)',
        ExpressionAttributeNames: {
          '#id': 'id',
          '#files': 'files',
          '#pending': 'filesPending',
          '#due': 'filesDueAt',
          '#failed': 'filesFailed',
        },
        ExpressionAttributeValues: values,
      }),
    );
  }

  /**
   * Marks executions the API no longer returns: kept (the store is the lasting record), with the instant
   * the audit noticed, and no longer re-read as open. Returns how many were newly marked.
   */
  async markRemovedFromApi(
    items: readonly Pick<ExecutionItem, 'id' | 'createdAt'>[],
    atIso: string,
  ): Promise<number> {
    if (items.length === 0) return 0;
    await this.markDays(items);
    let marked = 0;
    for (const { id } of items) {
      const outcome = await this.conditionalUpdate(id, {
        UpdateExpression: 'SET #removed = :at REMOVE #open',
        ConditionExpression: 'attribute_exists(#id) AND attribute_not_exists(#removed)',
        ExpressionAttributeNames: { '#id': 'id', '#removed': 'removedFromApiAt', '#open': 'openFlag' },
        ExpressionAttributeValues: { ':at': atIso },
      });
      if (outcome === 'written') marked += 1;
    }
    return marked;
  }

  /** Every execution stored as not yet ended (sparse index byOpen). */
  async *listOpen(): AsyncGenerator<
    Pick<ExecutionItem, 'id' | 'status' | 'createdAt' | 'syncedAt' | 'launch'>
  > {
    yield* this.query<Pick<ExecutionItem, 'id' | 'status' | 'createdAt' | 'syncedAt' | 'launch'>>({
      IndexName: EXECUTION_INDEXES.byOpen,
      KeyConditionExpression: '#open = :open',
      ExpressionAttributeNames: {
        '#open': 'openFlag',
        '#id': 'id',
        '#status': 'status',
        '#createdAt': 'createdAt',
        '#syncedAt': 'syncedAt',
        '#launch': 'launch',
      },
      ExpressionAttributeValues: { ':open': OPEN_FLAG },
      ProjectionExpression: '#id, #status, #createdAt, #syncedAt, #launch',
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

  /** Executions with a file copy that failed for good (sparse index byFilesFailed), oldest first. */
  async *listFilesFailed(): AsyncGenerator<ExecutionItem> {
    yield* this.query<ExecutionItem>({
      IndexName: EXECUTION_INDEXES.byFilesFailed,
      KeyConditionExpression: '#failed = :failed',
      ExpressionAttributeNames: { '#failed': 'filesFailed' },
      ExpressionAttributeValues: { ':failed': FILES_FAILED_FLAG },
    });
  }

  /**
   * The `limit` most recent runs of a job, newest first: one Query of the index byJob (a page), with only the
   * fields the health pass reads.
   */
  async recentRunsOfJob(jobId: string, limit: number): Promise<RunOfJob[]> {
    const result = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: EXECUTION_INDEXES.byJob,
        KeyConditionExpression: '#jobId = :jobId',
        ExpressionAttributeNames: {
          '#jobId': 'jobId',
          '#id': 'id',
          '#status': 'status',
          '#createdAt': 'createdAt',
          '#startedAt': 'startedAt',
          '#endedAt': 'endedAt',
          '#durationMs': 'durationMs',
          '#title': 'title',
          '#removed': 'removedFromApiAt',
        },
        ExpressionAttributeValues: { ':jobId': jobId },
        ProjectionExpression: '#id, #status, #createdAt, #startedAt, #endedAt, #durationMs, #title, #removed',
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (result.Items ?? []) as RunOfJob[];
  }

  /** The jobs with an execution created in a month (`YYYY-MM`; index byMonth, only the job ids read). */
  async jobIdsOfMonth(month: string): Promise<Set<string>> {
    const jobs = new Set<string>();
    for await (const item of this.query<{ jobId: string }>({
      IndexName: EXECUTION_INDEXES.byMonth,
      KeyConditionExpression: '#month = :month',
      ExpressionAttributeNames: { '#month': 'month', '#jobId': 'jobId' },
      ExpressionAttributeValues: { ':month': month },
      ProjectionExpression: '#jobId',
    })) {
      jobs.add(item.jobId);
    }
    return jobs;
  }

  /** The oldest and newest createdAt stored, or undefined when the table holds no execution. */
  createdAtRange(): Promise<CreatedAtRange | undefined> {
    return readCreatedAtRange(this.client, this.tableName);
  }

  /**
   * How many executions are stored with `fromIso <= createdAt < toIso`, leaving out those marked as gone
   * from the API: one COUNT Query per month partition (index byMonth) the range touches, never a Scan.
   */
  async countInRange(fromIso: string, toIso: string): Promise<number> {
    let count = 0;
    for (const month of monthsOfRange(fromIso, toIso)) {
      for await (const page of paginateQuery(
        { client: this.client },
        this.rangeQuery(month, fromIso, toIso, 'COUNT'),
      )) {
        count += page.Count ?? 0;
      }
    }
    return count;
  }

  /** The ids (and marks) of every execution stored with `fromIso <= createdAt < toIso` (index byMonth). */
  async *idsInRange(
    fromIso: string,
    toIso: string,
  ): AsyncGenerator<Pick<ExecutionItem, 'id' | 'createdAt' | 'removedFromApiAt'>> {
    for (const month of monthsOfRange(fromIso, toIso)) {
      const input = this.rangeQuery(month, fromIso, toIso, 'ids');
      for await (const page of paginateQuery({ client: this.client }, input)) {
        for (const item of page.Items ?? [])
          yield item as Pick<ExecutionItem, 'id' | 'createdAt' | 'removedFromApiAt'>;
      }
    }
  }

  private rangeQuery(month: string, fromIso: string, toIso: string, what: 'COUNT' | 'ids') {
    const lastIncluded = new Date(Date.parse(toIso) - 1).toISOString();
    return {
      TableName: this.tableName,
      IndexName: EXECUTION_INDEXES.byMonth,
      KeyConditionExpression: '#month = :month AND #createdAt BETWEEN :from AND :to',
      ExpressionAttributeNames: {
        '#month': 'month',
        '#createdAt': 'createdAt',
        '#removed': 'removedFromApiAt',
        ...(what === 'ids' ? { '#id': 'id' } : {}),
      },
      ExpressionAttributeValues: { ':month': month, ':from': fromIso, ':to': lastIncluded },
      ...(what === 'COUNT'
        ? { Select: 'COUNT' as const, FilterExpression: 'attribute_not_exists(#removed)' }
        : { ProjectionExpression: '#id, #createdAt, #removed' }),
    };
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
  const { filesPending: _pending, filesDueAt: _due, filesFailed: _failed, ...rest } = item;
  return {
    ...rest,
    ...(marker ? { filesPending: FILES_PENDING_FLAG, filesDueAt: marker.filesDueAt } : {}),
    ...(hasFailedCopy(item.files) ? { filesFailed: FILES_FAILED_FLAG } : {}),
  };
}

/** The months ("YYYY-MM") that `fromIso <= createdAt < toIso` touches, oldest first. */
function monthsOfRange(fromIso: string, toIso: string): string[] {
  if (!(fromIso < toIso)) return [];
  const last = new Date(Date.parse(toIso) - 1).toISOString();
  const months: string[] = [];
  let year = Number(fromIso.slice(0, 4));
  let month = Number(fromIso.slice(5, 7));
  for (;;) {
    const current = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}`;
    if (current > last.slice(0, 7)) return months;
    months.push(current);
    month += 1;
    if (month > 12) {
      month = 1;
      year += 1;
    }
  }
}

/** The oldest and newest createdAt of a table: one-item Queries on the partitions that hold every execution. */
export async function readCreatedAtRange(
  client: DynamoDBDocumentClient,
  tableName: string,
): Promise<CreatedAtRange | undefined> {
  const edges = await Promise.all(
    EVERY_EXECUTION_PARTITIONS.flatMap((partition) =>
      [true, false].map(async (forward) => {
        const result = await client.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: partition.index,
            KeyConditionExpression: '#pk = :pk',
            ExpressionAttributeNames: { '#pk': partition.key, '#createdAt': 'createdAt' },
            ExpressionAttributeValues: { ':pk': partition.value },
            ProjectionExpression: '#createdAt',
            ScanIndexForward: forward,
            Limit: 1,
          }),
        );
        return (result.Items?.[0] as { createdAt?: string } | undefined)?.createdAt;
      }),
    ),
  );
  const found = edges.filter((edge): edge is string => typeof edge === 'string').sort();
  const first = found[0];
  const last = found.at(-1);
  return first !== undefined && last !== undefined ? { first, last } : undefined;
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
  'filesFailed',
  // A view of an execution marked as gone from the API: it is back.
  'removedFromApiAt',
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
