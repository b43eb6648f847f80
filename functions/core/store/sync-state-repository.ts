// Layer flow: sync and lake use cases -> this repository -> DynamoDB state table (leases, checkpoint, what was
// learned about the API, the audit).
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';

/** A window of createdAt being paged: offsets of `createdAt >= lower`, fixed when the window opened. */
export interface PassState {
  lower: string;
  /** Run start when the window opened: the watermark once the window is complete. */
  upper: string;
  nextPage: number;
  /** Page size requested for every page of the pass (offsets depend on it). */
  pageSize: number;
  /** Items per full page as the server served them (a server may cap pages below the requested size). */
  servedPageSize?: number;
  /** 1 for the first pass over the window, 2 for the verification pass. */
  round: 1 | 2;
}

/**
 * Progress of the sync. `watermark`: every execution created before it is stored. `pass`: the window
 * being paged, when a run stopped in the middle of one.
 */
export interface Checkpoint {
  watermark?: string;
  pass?: PassState;
  updatedAt: string;
}

/**
 * What the sync learned about the API it talks to, so that a cold start does not pay to learn it again;
 * forgotten after a day, so that a change on the API's side is noticed.
 */
export interface ApiProfile {
  learnedAt: string;
  /** The find path that answered (the configured one, or the other documented spelling). */
  findPath?: string;
  /** False once the API refused an `in` query (HTTP 400). */
  inSupported?: boolean;
  /** False once the API refused an `or` query. */
  orSupported?: boolean;
  /** False once the API refused a `lower` criterion. */
  lowerSupported?: boolean;
  /** The largest page size the API accepted, after refusing a larger one. */
  pageSize?: number;
  /** The largest number of ids an `in` query was accepted with, after a larger one was refused. */
  inBatchSize?: number;
}

/** One interval of the audit: createdAt from `from` (inclusive) to `to` (exclusive), and its counts. */
export interface AuditInterval {
  from: string;
  to: string;
  api: number;
  store: number;
}

/** The completeness audit: when the last one completed, and the one in progress (it resumes). */
export interface AuditState {
  lastCompletedAt?: string;
  progress?: AuditProgress;
}

export interface AuditProgress {
  startedAt: string;
  /** The boundaries of the intervals, oldest first: the start date, month starts, the watermark. */
  boundaries: string[];
  /** The API's count of `createdAt >= boundary`, for the boundaries counted so far (same indexes). */
  apiCounts: Array<number | null>;
  /**
   * True while the audit looks for the API's first month holding data (the store was empty when it
   * started): `boundaries` then holds every month start, and `apiCounts` the counts asked so far.
   */
  searching?: boolean;
  /** Intervals whose counts differ, once every boundary is counted. */
  differing?: AuditInterval[];
  /** The re-read under way: which differing interval, how, from which page. */
  reread?: { index: number; mode: 'range' | 'from'; nextPage: number };
  monthsChecked: number;
  executionsRecovered: number;
  executionsRemovedFromApi: number;
  apiRequests: number;
}

const LEASE = 'lease';
const CHECKPOINT = 'checkpoint';
const API_PROFILE = 'api-profile';
const AUDIT = 'audit';
const LAST_RUN = 'last-run';

/** The summary of the last sync run that did its work, as the dashboard shows it (docs/dashboard.md). */
export interface LastRun {
  finishedAt: string;
  summary: Record<string, unknown>;
}

export class SyncStateRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  /**
   * Takes the lease unless another run holds a live one. A crashed run's lease simply expires.
   * Returns false when the lease is held. `lease` names it: the sync's (default) or the lake's.
   */
  async acquireLease(owner: string, nowMs: number, durationMs: number, lease = LEASE): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { name: lease, owner, acquiredAt: nowMs, expiresAt: nowMs + durationMs },
          ConditionExpression: 'attribute_not_exists(#name) OR expiresAt <= :now',
          ExpressionAttributeNames: { '#name': 'name' },
          ExpressionAttributeValues: { ':now': nowMs },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Gives the lease back if this owner still holds it. */
  async releaseLease(owner: string, lease = LEASE): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { name: lease },
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async getCheckpoint(): Promise<Checkpoint | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { name: CHECKPOINT }, ConsistentRead: true }),
    );
    if (!result.Item) return undefined;
    const { name: _name, ...checkpoint } = result.Item;
    return checkpoint as Checkpoint;
  }

  /** Saves progress. The watermark never moves backwards (a condition guards it). */
  async saveCheckpoint(checkpoint: Checkpoint): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { name: CHECKPOINT, ...checkpoint },
        ...(checkpoint.watermark
          ? {
              ConditionExpression: 'attribute_not_exists(watermark) OR watermark <= :watermark',
              ExpressionAttributeValues: { ':watermark': checkpoint.watermark },
            }
          : { ConditionExpression: 'attribute_not_exists(watermark)' }),
      }),
    );
  }

  /** What the sync learned about the API (undefined before the first run). */
  async getApiProfile(): Promise<ApiProfile | undefined> {
    return this.getItem<ApiProfile>(API_PROFILE);
  }

  async saveApiProfile(profile: ApiProfile): Promise<void> {
    await this.putItem(API_PROFILE, profile);
  }

  /** The audit's schedule and progress (undefined before the first audit). */
  async getAudit(): Promise<AuditState | undefined> {
    return this.getItem<AuditState>(AUDIT);
  }

  async saveAudit(state: AuditState): Promise<void> {
    await this.putItem(AUDIT, state);
  }

  /** The last run that was not skipped (undefined before the first one). */
  async getLastRun(): Promise<LastRun | undefined> {
    return this.getItem<LastRun>(LAST_RUN);
  }

  async saveLastRun(lastRun: LastRun): Promise<void> {
    await this.putItem(LAST_RUN, lastRun);
  }

  private async getItem<T>(name: string): Promise<T | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { name }, ConsistentRead: true }),
    );
    if (!result.Item) return undefined;
    const { name: _name, ...item } = result.Item;
    return item as T;
  }

  private async putItem(name: string, item: object): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: { ...item, name } }));
  }
}
