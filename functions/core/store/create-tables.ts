// Layer flow: local stack / tests -> this adapter -> DynamoDB CreateTable from the shared table definitions
// (indexes, TTL, stream), and what an older local table lacks of them.
import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import type { TableDefinition } from './table-definitions';

/** The CreateTable request for a definition: on-demand billing, every index projecting all attributes. */
function toCreateTableInput(definition: TableDefinition, tableName: string): CreateTableCommandInput {
  const attributes = new Map<string, AttributeDefinition>();
  const addAttribute = (key: { name: string; type: 'S' | 'N' }) =>
    attributes.set(key.name, { AttributeName: key.name, AttributeType: key.type });
  addAttribute(definition.partitionKey);
  for (const index of definition.indexes) {
    addAttribute(index.partitionKey);
    addAttribute(index.sortKey);
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes.values()],
    KeySchema: [{ AttributeName: definition.partitionKey.name, KeyType: 'HASH' }],
    ...(definition.indexes.length > 0 && {
      GlobalSecondaryIndexes: definition.indexes.map((index) => ({
        IndexName: index.indexName,
        KeySchema: [
          { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
          { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
    }),
    ...(definition.stream && {
      StreamSpecification: { StreamEnabled: true, StreamViewType: definition.stream },
    }),
  };
}

/**
 * Creates the table if it does not exist yet. An existing table keeps its data and gets the indexes the
 * definition added since it was created (a local store from an earlier version of the project).
 */
export async function ensureTable(
  client: DynamoDBClient,
  definition: TableDefinition,
  tableName: string,
): Promise<void> {
  try {
    await client.send(new CreateTableCommand(toCreateTableInput(definition, tableName)));
  } catch (error) {
    if (error instanceof ResourceInUseException) {
      await addMissingIndexes(client, definition, tableName);
      await enableMissingStream(client, definition, tableName);
      await enableMissingTimeToLive(client, definition, tableName);
      return;
    }
    throw error;
  }
  await waitUntilTableExists({ client, maxWaitTime: 60 }, { TableName: tableName });
  if (definition.timeToLiveAttribute) {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: definition.timeToLiveAttribute, Enabled: true },
      }),
    );
  }
}

/** Turns on the definition's TTL on a table created before it had one. */
async function enableMissingTimeToLive(
  client: DynamoDBClient,
  definition: TableDefinition,
  tableName: string,
): Promise<void> {
  if (!definition.timeToLiveAttribute) return;
  const current = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  const status = current.TimeToLiveDescription?.TimeToLiveStatus;
  if (status === 'ENABLED' || status === 'ENABLING') return;
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: definition.timeToLiveAttribute, Enabled: true },
    }),
  );
}

/** Turns on the definition's stream on a table created before it had one. */
async function enableMissingStream(
  client: DynamoDBClient,
  definition: TableDefinition,
  tableName: string,
): Promise<void> {
  if (!definition.stream) return;
  const table = (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  if (table?.StreamSpecification?.StreamEnabled) return;
  await client.send(
    new UpdateTableCommand({
      TableName: tableName,
      StreamSpecification: { StreamEnabled: true, StreamViewType: definition.stream },
    }),
  );
}

/** Adds, one at a time (DynamoDB's rule), every index of the definition the table lacks. */
async function addMissingIndexes(
  client: DynamoDBClient,
  definition: TableDefinition,
  tableName: string,
): Promise<void> {
  const full = toCreateTableInput(definition, tableName);
  for (const index of full.GlobalSecondaryIndexes ?? []) {
    const table = (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
    if (table?.GlobalSecondaryIndexes?.some((existing) => existing.IndexName === index.IndexName)) continue;
    const keys = new Set(index.KeySchema?.map((key) => key.AttributeName));
    await client.send(
      new UpdateTableCommand({
        TableName: tableName,
        AttributeDefinitions: full.AttributeDefinitions?.filter((attribute) =>
          keys.has(attribute.AttributeName),
        ),
        GlobalSecondaryIndexUpdates: [{ Create: index }],
      }),
    );
    await waitForIndex(client, tableName, index.IndexName ?? '');
  }
}

async function waitForIndex(client: DynamoDBClient, tableName: string, indexName: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const table = (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
    const index = table?.GlobalSecondaryIndexes?.find((candidate) => candidate.IndexName === indexName);
    if (index?.IndexStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`index ${indexName} of ${tableName} did not become active within 2 minutes`);
}
