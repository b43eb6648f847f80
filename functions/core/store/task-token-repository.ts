// Layer flow: the launch, callbacks and follow functions -> this repository -> DynamoDB (the idempotency table,
// document client). The Step Functions task tokens that wait on a launch request live on the request's attempt
// marker (`launch-attempt#<launch key>`, written by the launch function), in a map by token id, each with its
// state: `waiting` until its callback is sent (`sent`) or Step Functions refuses it (`rejected`). Tokens are
// never put on the execution's item: whoever holds one can end the waiting task, and the item is published.

import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { LaunchInfo } from '../executions/execution-record';

/** Key prefix of a launch request's attempt marker in the idempotency table. */
export const ATTEMPT_KEY_PREFIX = 'launch-attempt#';

/** What became of one task token. */
export type TaskTokenState = 'waiting' | 'sent' | 'rejected';

/** A task token waiting on a launch request, as stored. */
export interface StoredTaskToken {
  /** A short, stable name for the token (a hash of it): logs name this, never the token. */
  id: string;
  token: string;
  state: TaskTokenState;
  addedAt: string;
  /** When the result (success or failure) was sent. */
  sentAt?: string;
  lastHeartbeatAt?: string;
  /** Why Step Functions refused the token (timed out, unknown, invalid). */
  rejectedReason?: string;
}

/** The launch key of a request as the launch function keys it (`idempotencyKey:<k>` or `messageId:<id>`). */
export function launchKeyOf(launch: Pick<LaunchInfo, 'idempotencyKey' | 'messageId'>): string {
  return launch.idempotencyKey === null
    ? `messageId:${launch.messageId}`
    : `idempotencyKey:${launch.idempotencyKey}`;
}

/** The id under which a token is stored and logged. */
function taskTokenId(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

export interface TaskTokenRepositoryOptions {
  /** Lifetime of a marker that attaching a token creates (the idempotency records'); only `attach` needs it. */
  ttlSeconds?: number;
  /** Name of the table's key attribute (Powertools' default `id`). */
  keyAttribute?: string;
  /** Name of the table's TTL attribute, epoch seconds (Powertools' default `expiration`). */
  expiryAttribute?: string;
}

export class TaskTokenRepository {
  private readonly keyAttribute: string;
  private readonly expiryAttribute: string;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
    private readonly options: TaskTokenRepositoryOptions = {},
  ) {
    this.keyAttribute = options.keyAttribute ?? 'id';
    this.expiryAttribute = options.expiryAttribute ?? 'expiration';
  }

  /**
   * Attaches a task token to the request of `launchKey` (once: attaching it again changes nothing, whatever
   * its state). Done before the launch is tried, so that a result found later always finds the token.
   */
  async attach(launchKey: string, token: string, nowMs: number): Promise<StoredTaskToken> {
    const { ttlSeconds } = this.options;
    if (ttlSeconds === undefined) throw new Error("TaskTokenRepository.attach needs the markers' ttlSeconds");
    const id = taskTokenId(token);
    const entry: StoredTaskToken = { id, token, state: 'waiting', addedAt: new Date(nowMs).toISOString() };
    // Two updates: DynamoDB cannot create a map and set a path inside it in one expression.
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [this.keyAttribute]: ATTEMPT_KEY_PREFIX + launchKey },
        UpdateExpression: 'SET #tokens = if_not_exists(#tokens, :none), #exp = if_not_exists(#exp, :exp)',
        ExpressionAttributeNames: { '#tokens': 'taskTokens', '#exp': this.expiryAttribute },
        ExpressionAttributeValues: {
          ':none': {},
          ':exp': Math.floor(nowMs / 1000) + ttlSeconds,
        },
      }),
    );
    const result = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [this.keyAttribute]: ATTEMPT_KEY_PREFIX + launchKey },
        UpdateExpression: 'SET #tokens.#id = if_not_exists(#tokens.#id, :entry)',
        ExpressionAttributeNames: { '#tokens': 'taskTokens', '#id': id },
        ExpressionAttributeValues: { ':entry': entry },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const stored = (result.Attributes?.taskTokens as Record<string, StoredTaskToken> | undefined)?.[id];
    return stored ?? entry;
  }

  /** The tokens attached to the request of `launchKey`, oldest first (none: no marker, or no token). */
  async tokensOf(launchKey: string): Promise<StoredTaskToken[]> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [this.keyAttribute]: ATTEMPT_KEY_PREFIX + launchKey },
        ProjectionExpression: '#tokens',
        ExpressionAttributeNames: { '#tokens': 'taskTokens' },
        ConsistentRead: true,
      }),
    );
    const tokens = result.Item?.taskTokens;
    if (tokens === null || typeof tokens !== 'object') return [];
    return Object.values(tokens as Record<string, StoredTaskToken>)
      .filter((token) => typeof token?.token === 'string' && token.token !== '')
      .sort((a, b) => (a.addedAt < b.addedAt ? -1 : a.addedAt > b.addedAt ? 1 : 0));
  }

  /** Records that the result was sent to a token (it gets no more callbacks but a repeated result's). */
  async markSent(launchKey: string, id: string, nowMs: number): Promise<void> {
    await this.update(launchKey, id, { state: 'sent', sentAt: new Date(nowMs).toISOString() });
  }

  /** Records that Step Functions refused a token: nothing is sent to it any more. */
  async markRejected(launchKey: string, id: string, reason: string, nowMs: number): Promise<void> {
    await this.update(launchKey, id, {
      state: 'rejected',
      rejectedReason: reason.slice(0, 500),
      lastHeartbeatAt: new Date(nowMs).toISOString(),
    });
  }

  /** Records a heartbeat sent to a token. */
  async markHeartbeat(launchKey: string, id: string, nowMs: number): Promise<void> {
    await this.update(launchKey, id, { lastHeartbeatAt: new Date(nowMs).toISOString() });
  }

  private async update(launchKey: string, id: string, fields: Partial<StoredTaskToken>): Promise<void> {
    const names: Record<string, string> = { '#tokens': 'taskTokens', '#id': id };
    const values: Record<string, unknown> = {};
    const assignments: string[] = [];
    for (const [field, value] of Object.entries(fields)) {
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      assignments.push(`#tokens.#id.#${field} = :${field}`);
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [this.keyAttribute]: ATTEMPT_KEY_PREFIX + launchKey },
          UpdateExpression: `SET ${assignments.join(', ')}`,
          // Only a token that is there: a marker gone with its TTL is not recreated for it.
          ConditionExpression: 'attribute_exists(#tokens.#id)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw error;
    }
  }
}
