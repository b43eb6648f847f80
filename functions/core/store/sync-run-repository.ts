// Layer flow: the sync handler (one record per run), the lake (the runs of a day), the dashboard, the history
// CLI and `npm run doctor` (the most recent runs) -> this repository -> the state table's sync-run items, listed by
// the sparse index byKind (kind `sync-run`, sorted by start), each deleted by TTL after its retention.
import { type DynamoDBDocumentClient, PutCommand, paginateQuery, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { STATE_INDEXES, STATE_ITEM_KINDS } from './table-definitions';

/** How long a sync run's record is kept unless `syncRunRetentionDays` says otherwise. */
const DEFAULT_SYNC_RUN_RETENTION_DAYS = 400;

/** How a run ended: its work done (`ok`, maybe with more left for the next run), stopped on an error, or skipped. */
export type SyncRunResult = 'ok' | 'failed' | 'skipped';

/** One sync run, as kept (the warehouse table `sync_runs` has one row per record). */
export interface SyncRunRecord {
  runId: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  result: SyncRunResult;
  /** Why the run stopped early (result `failed`), else null. */
  error: string | null;
  apiRequests: number;
  throttled: number;
  /** The run stopped before the end of its work (time budget, or an error); the next run goes on. */
  moreRemaining: boolean;
  /** Every execution created before it was stored when the run ended. */
  watermark: string | null;
  executions: { new: number; updated: number; unchanged: number; openRefreshed: number };
  files: { copied: number; skipped: number; pending: number; failed: number };
  /** The completeness audit of the run, when one ran. */
  audit: {
    monthsChecked: number;
    monthsDiffering: number;
    executionsRecovered: number;
    executionsRemovedFromApi: number;
    apiRequests: number;
    complete: boolean;
  } | null;
  /** The job health evaluation after the run, when one ran. */
  health: { jobs: number; changed: number; eventsPublished: number; durationMs: number } | null;
}

/** The sync runs in the state table. */
export class SyncRunRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  /** Keeps a run's record for `retentionDays` (then DynamoDB's TTL deletes it). */
  async save(run: SyncRunRecord, retentionDays = DEFAULT_SYNC_RUN_RETENTION_DAYS): Promise<void> {
    const sortKey = `${run.startedAt}#${run.runId}`;
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...run,
          name: `${STATE_ITEM_KINDS.syncRun}#${sortKey}`,
          kind: STATE_ITEM_KINDS.syncRun,
          sortKey,
          deleteAfter: Math.floor(Date.parse(run.startedAt) / 1000) + retentionDays * 86_400,
        },
      }),
    );
  }

  /**
   * The `limit` most recent runs, newest first (one Query of the index, no Scan); with `range`, those that started
   * in [since, until) (either bound may be left out).
   */
  async listRecent(limit: number, range: { since?: string; until?: string } = {}): Promise<SyncRunRecord[]> {
    const runs: SyncRunRecord[] = [];
    if (limit < 1) return runs;
    const query = this.rangeQuery(range);
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          ...query,
          ScanIndexForward: false,
          Limit: limit - runs.length,
          ExclusiveStartKey: startKey,
        }),
      );
      runs.push(...(page.Items ?? []).map(toRecord));
      startKey = page.LastEvaluatedKey;
    } while (startKey && runs.length < limit);
    return runs;
  }

  /** The runs that started in [sinceIso, untilIso), oldest first. */
  async *listBetween(sinceIso: string, untilIso: string): AsyncGenerator<SyncRunRecord> {
    const last = `${new Date(Date.parse(untilIso) - 1).toISOString()}#\uffff`;
    const query = this.kindQuery();
    for await (const page of paginateQuery(
      { client: this.client },
      {
        ...query,
        KeyConditionExpression: `${query.KeyConditionExpression} AND #sortKey BETWEEN :from AND :to`,
        ExpressionAttributeNames: { ...query.ExpressionAttributeNames, '#sortKey': 'sortKey' },
        ExpressionAttributeValues: { ...query.ExpressionAttributeValues, ':from': sinceIso, ':to': last },
      },
    )) {
      for (const item of page.Items ?? []) yield toRecord(item);
    }
  }

  /** When the oldest and the newest kept runs started, or undefined before the first run. */
  async range(): Promise<{ first: string; last: string } | undefined> {
    const [first, last] = await Promise.all(
      [true, false].map(async (forward) => {
        const page = await this.client.send(
          new QueryCommand({ ...this.kindQuery(), ScanIndexForward: forward, Limit: 1 }),
        );
        const item = page.Items?.[0] as { startedAt?: string } | undefined;
        return item?.startedAt;
      }),
    );
    return first && last ? { first, last } : undefined;
  }

  /** The kind query, narrowed to the runs that started in [since, until) when given. */
  private rangeQuery(range: { since?: string; until?: string }) {
    const query = this.kindQuery();
    const from = range.since;
    const to =
      range.until !== undefined ? `${new Date(Date.parse(range.until) - 1).toISOString()}#\uffff` : undefined;
    if (from === undefined && to === undefined) return query;
    const condition =
      from !== undefined && to !== undefined
        ? '#sortKey BETWEEN :from AND :to'
        : from !== undefined
          ? '#sortKey >= :from'
          : '#sortKey <= :to';
    return {
      ...query,
      KeyConditionExpression: `${query.KeyConditionExpression} AND ${condition}`,
      ExpressionAttributeNames: { ...query.ExpressionAttributeNames, '#sortKey': 'sortKey' },
      ExpressionAttributeValues: {
        ...query.ExpressionAttributeValues,
        ...(from !== undefined ? { ':from': from } : {}),
        ...(to !== undefined ? { ':to': to } : {}),
      },
    };
  }

  private kindQuery() {
    return {
      TableName: this.tableName,
      IndexName: STATE_INDEXES.byKind,
      KeyConditionExpression: '#kind = :kind',
      ExpressionAttributeNames: { '#kind': 'kind' } as Record<string, string>,
      ExpressionAttributeValues: { ':kind': STATE_ITEM_KINDS.syncRun } as Record<string, unknown>,
    };
  }
}

function toRecord(item: Record<string, unknown>): SyncRunRecord {
  const { name: _name, kind: _kind, sortKey: _sortKey, deleteAfter: _deleteAfter, ...run } = item;
  return run as unknown as SyncRunRecord;
}
