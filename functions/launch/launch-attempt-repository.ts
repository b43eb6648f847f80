// Layer flow: launch use case -> this repository -> DynamoDB (the idempotency table, document client).
// Two kinds of small items live beside Powertools' idempotency records, under prefixes that cannot clash
// with Powertools' keys (`launch#<hash>`):
//   `launch-attempt#<launch key>`  the first time a launch for that key was tried (survives crashes), how
//                                  many attempts were made, how many of them provably started nothing, the
//                                  files uploaded for it (reused by every later attempt), and its outcome:
//                                  the execution it started, or why it was refused (`npm run launch --wait`),
//                                  and the Step Functions task tokens waiting on it (task-token-repository.ts)
//   `launch-claim#<execution id>`  which launch key owns an execution (so two keys never adopt one execution)
// Both expire with the table's TTL attribute, like the idempotency records.
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { batchGetAll, realSleep, type Sleep } from '#core/store/dynamo-batch';
import { ATTEMPT_KEY_PREFIX } from '#core/store/task-token-repository';
import type { LaunchAttempt, LaunchAttemptStore, LaunchRecord, RecordedUpload } from './launch-job';

export const CLAIM_KEY_PREFIX = 'launch-claim#';

/** Raised when DynamoDB keeps returning unprocessed claim keys after every retry. */
export { UnprocessedItemsError as UnprocessedClaimKeysError } from '#core/store/dynamo-batch';

export interface LaunchAttemptRepositoryOptions {
  /** Lifetime of markers and claims; the idempotency records' lifetime (LAUNCH_IDEMPOTENCY_TTL_SECONDS). */
  ttlSeconds: number;
  /** Name of the table's key attribute (Powertools' default `id`). */
  keyAttribute?: string;
  /** Name of the table's TTL attribute, epoch seconds (Powertools' default `expiration`). */
  expiryAttribute?: string;
  /** Waits between retries of unprocessed keys (tests pass a no-op). */
  sleep?: Sleep;
}

export class LaunchAttemptRepository implements LaunchAttemptStore {
  private readonly ttlSeconds: number;
  private readonly keyAttribute: string;
  private readonly expiryAttribute: string;
  private readonly sleep: Sleep;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
    options: LaunchAttemptRepositoryOptions,
  ) {
    this.ttlSeconds = options.ttlSeconds;
    this.keyAttribute = options.keyAttribute ?? 'id';
    this.expiryAttribute = options.expiryAttribute ?? 'expiration';
    this.sleep = options.sleep ?? realSleep;
  }

  /**
   * Records one more attempt for `key`, keeping the earliest `firstAttemptAt`. A marker whose TTL has passed
   * (DynamoDB deletes expired items lazily) is replaced by a fresh one: its launch is as forgotten as the
   * idempotency record that expired with it.
   */
  async recordAttempt(key: string, jobId: string, nowMs: number): Promise<LaunchAttempt> {
    const nowIso = new Date(nowMs).toISOString();
    const expiry = this.expiryFrom(nowMs);
    const result = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [this.keyAttribute]: ATTEMPT_KEY_PREFIX + key },
        UpdateExpression:
          'SET #first = if_not_exists(#first, :now), #last = :now, #job = :job, #exp = if_not_exists(#exp, :exp), ' +
          '#uploads = if_not_exists(#uploads, :none) ADD #attempts :one',
        ExpressionAttributeNames: {
          '#first': 'firstAttemptAt',
          '#last': 'lastAttemptAt',
          '#job': 'jobId',
          '#exp': this.expiryAttribute,
          '#attempts': 'attempts',
          '#uploads': 'uploads',
        },
        ExpressionAttributeValues: { ':now': nowIso, ':job': jobId, ':exp': expiry, ':one': 1, ':none': {} },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const item = result.Attributes ?? {};
    const attempts = typeof item.attempts === 'number' ? item.attempts : 1;
    const firstAttemptAt = Date.parse(String(item.firstAttemptAt ?? nowIso));
    const storedExpiry = item[this.expiryAttribute];
    if (attempts > 1 && typeof storedExpiry === 'number' && storedExpiry * 1000 < nowMs) {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            [this.keyAttribute]: ATTEMPT_KEY_PREFIX + key,
            firstAttemptAt: nowIso,
            lastAttemptAt: nowIso,
            jobId,
            attempts: 1,
            uploads: {},
            // The task tokens attached for this delivery (task-token-repository.ts) wait on it: they stay.
            ...(isRecord(item.taskTokens) ? { taskTokens: item.taskTokens } : {}),
            [this.expiryAttribute]: expiry,
          },
        }),
      );
      return { firstAttemptAt: nowMs, previousAttempts: 0, unsettledAttempts: 0, uploads: {} };
    }
    const previousAttempts = Math.max(0, attempts - 1);
    const settled = typeof item.settledAttempts === 'number' ? item.settledAttempts : 0;
    return {
      firstAttemptAt: Number.isFinite(firstAttemptAt) ? firstAttemptAt : nowMs,
      previousAttempts,
      unsettledAttempts: Math.max(0, previousAttempts - settled),
      uploads: isRecord(item.uploads) ? (item.uploads as Record<string, RecordedUpload>) : {},
    };
  }

  /**
   * Records a file uploaded for `key` at an input path, before the execution is created: every later attempt
   * for the key puts this file in that place instead of uploading again.
   */
  async recordUpload(key: string, path: string, upload: RecordedUpload): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [this.keyAttribute]: ATTEMPT_KEY_PREFIX + key },
        UpdateExpression: 'SET #uploads.#path = :upload',
        ConditionExpression: 'attribute_exists(#uploads)',
        ExpressionAttributeNames: { '#uploads': 'uploads', '#path': path },
        ExpressionAttributeValues: { ':upload': upload },
      }),
    );
  }

  /** Records what became of the request of `key`: the execution it started, or why it was refused. */
  async recordOutcome(key: string, record: LaunchRecord, nowMs: number): Promise<void> {
    const values: Record<string, unknown> = {
      ':at': new Date(nowMs).toISOString(),
      ':exp': this.expiryFrom(nowMs),
    };
    const assignments = ['#decidedAt = :at', '#exp = if_not_exists(#exp, :exp)'];
    const names: Record<string, string> = { '#decidedAt': 'decidedAt', '#exp': this.expiryAttribute };
    for (const [field, value] of Object.entries(record)) {
      if (value === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      assignments.push(`#${field} = :${field}`);
    }
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [this.keyAttribute]: ATTEMPT_KEY_PREFIX + key },
        UpdateExpression: `SET ${assignments.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  /** What is known of the request of `key` (undefined: no attempt yet, or forgotten with its TTL). */
  async read(
    key: string,
  ): Promise<(LaunchRecord & { firstAttemptAt?: string; attempts?: number }) | undefined> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [this.keyAttribute]: ATTEMPT_KEY_PREFIX + key },
        ConsistentRead: true,
      }),
    );
    return result.Item as (LaunchRecord & { firstAttemptAt?: string; attempts?: number }) | undefined;
  }

  /**
   * Counts one attempt for `key` as settled (it started nothing). A marker that is gone (expired) is not
   * recreated: the next attempt starts afresh anyway.
   */
  async settleAttempt(key: string, nowMs: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [this.keyAttribute]: ATTEMPT_KEY_PREFIX + key },
          UpdateExpression: 'SET #settledAt = :now ADD #settled :one',
          ConditionExpression: 'attribute_exists(#id)',
          ExpressionAttributeNames: {
            '#id': this.keyAttribute,
            '#settled': 'settledAttempts',
            '#settledAt': 'lastSettledAt',
          },
          ExpressionAttributeValues: { ':now': new Date(nowMs).toISOString(), ':one': 1 },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw error;
    }
  }

  /**
   * Makes `key` the owner of `executionId` unless another key owns it already. True when `key` owns it
   * now (newly or from before), false when another key does.
   */
  async claimExecution(executionId: string, key: string, nowMs: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            [this.keyAttribute]: CLAIM_KEY_PREFIX + executionId,
            launchKey: key,
            claimedAt: new Date(nowMs).toISOString(),
            [this.expiryAttribute]: this.expiryFrom(nowMs),
          },
          ConditionExpression: 'attribute_not_exists(#id) OR #owner = :key',
          ExpressionAttributeNames: { '#id': this.keyAttribute, '#owner': 'launchKey' },
          ExpressionAttributeValues: { ':key': key },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** The owner (launch key) of each claimed execution among `executionIds`; unclaimed ones are absent. */
  async findClaims(executionIds: readonly string[]): Promise<Map<string, string>> {
    const items = await batchGetAll(
      this.client,
      this.tableName,
      [...new Set(executionIds)].map((id) => ({ [this.keyAttribute]: CLAIM_KEY_PREFIX + id })),
      {
        projection: '#id, #owner',
        names: { '#id': this.keyAttribute, '#owner': 'launchKey' },
        sleep: this.sleep,
      },
    );
    const owners = new Map<string, string>();
    for (const item of items) {
      const id = String(item[this.keyAttribute] ?? '');
      if (id.startsWith(CLAIM_KEY_PREFIX) && typeof item.launchKey === 'string') {
        owners.set(id.slice(CLAIM_KEY_PREFIX.length), item.launchKey);
      }
    }
    return owners;
  }

  private expiryFrom(nowMs: number): number {
    return Math.floor(nowMs / 1000) + this.ttlSeconds;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
