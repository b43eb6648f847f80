// Layer flow: local stack / tests -> this adapter -> DynamoDB CreateTable from the shared table definitions.
import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import type { TableDefinition } from './table-definitions';

/** The CreateTable request for a definition: on-demand billing, every index projecting all attributes. */
export function toCreateTableInput(definition: TableDefinition, tableName: string): CreateTableCommandInput {
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
  };
}

/** Creates the table if it does not exist yet (an existing table is left as it is). */
export async function ensureTable(
  client: DynamoDBClient,
  definition: TableDefinition,
  tableName: string,
): Promise<void> {
  try {
    await client.send(new CreateTableCommand(toCreateTableInput(definition, tableName)));
  } catch (error) {
    if (error instanceof ResourceInUseException) return;
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
