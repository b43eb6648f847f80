// Layer flow: repositories -> these helpers -> DynamoDB BatchGetItem / BatchWriteItem. DynamoDB may leave
// part of a batch unprocessed under load; these helpers retry that part with backoff, a bounded number of
// times, and fail loudly if it never drains.
import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { forEachConcurrently } from '../concurrency';

/** Raised when DynamoDB keeps returning unprocessed keys or items after every retry. */
export class UnprocessedItemsError extends Error {
  override readonly name = 'UnprocessedItemsError';
}

const BATCH_GET_SIZE = 100;
const BATCH_WRITE_SIZE = 25;
const UNPROCESSED_RETRIES = 8;
/** Batch requests in flight at once for one call. */
const BATCH_CONCURRENCY = 4;

export type Sleep = (ms: number) => Promise<void>;
export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

type Item = Record<string, unknown>;

export interface BatchGetOptions {
  projection?: string;
  names?: Record<string, string>;
  sleep?: Sleep;
}

/** Every item found for `keys` (strongly consistent), reading 100 keys a request, 4 requests at once. */
export async function batchGetAll(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Item[],
  options: BatchGetOptions = {},
): Promise<Item[]> {
  const found: Item[] = [];
  await forEachConcurrently(chunks(keys, BATCH_GET_SIZE), BATCH_CONCURRENCY, async (chunk) => {
    let pending: Item[] = chunk;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > UNPROCESSED_RETRIES) {
        throw new UnprocessedItemsError(`BatchGetItem left ${pending.length} keys unprocessed after retries`);
      }
      if (attempt > 0) await (options.sleep ?? realSleep)(backoffMs(attempt));
      const result = await client.send(
        new BatchGetCommand({
          RequestItems: {
            [tableName]: {
              Keys: pending,
              ConsistentRead: true,
              ...(options.projection ? { ProjectionExpression: options.projection } : {}),
              ...(options.names ? { ExpressionAttributeNames: options.names } : {}),
            },
          },
        }),
      );
      found.push(...(result.Responses?.[tableName] ?? []));
      pending = (result.UnprocessedKeys?.[tableName]?.Keys as Item[] | undefined) ?? [];
    }
  });
  return found;
}

/** Puts every item, 25 a request, 4 requests at once. BatchWriteItem takes no condition. */
export async function batchPutAll(
  client: DynamoDBDocumentClient,
  tableName: string,
  items: readonly Item[],
  options: { sleep?: Sleep } = {},
): Promise<void> {
  await forEachConcurrently(chunks(items, BATCH_WRITE_SIZE), BATCH_CONCURRENCY, async (chunk) => {
    let pending: Item[] = chunk.map((item) => ({ PutRequest: { Item: item } }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > UNPROCESSED_RETRIES) {
        throw new UnprocessedItemsError(
          `BatchWriteItem left ${pending.length} items unprocessed after retries`,
        );
      }
      if (attempt > 0) await (options.sleep ?? realSleep)(backoffMs(attempt));
      const result = await client.send(
        new BatchWriteCommand({ RequestItems: { [tableName]: pending as never } }),
      );
      pending = (result.UnprocessedItems?.[tableName] as Item[] | undefined) ?? [];
    }
  });
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += size) result.push(items.slice(start, start + size));
  return result;
}

/** Exponential backoff with jitter, capped at 5 seconds. */
function backoffMs(attempt: number): number {
  return Math.min(5_000, 50 * 2 ** attempt) * (0.5 + Math.random() / 2);
}
