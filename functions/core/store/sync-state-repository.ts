// Layer flow: sync use case -> this repository -> DynamoDB state table (lease and checkpoint items).
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

const LEASE = 'lease';
const CHECKPOINT = 'checkpoint';

export class SyncStateRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  /**
   * Takes the lease unless another run holds a live one. A crashed run's lease simply expires.
   * Returns false when the lease is held.
   */
  async acquireLease(owner: string, nowMs: number, durationMs: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { name: LEASE, owner, acquiredAt: nowMs, expiresAt: nowMs + durationMs },
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
  async releaseLease(owner: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { name: LEASE },
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
}
