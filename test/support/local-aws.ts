// Test support: AWS clients pointed at the integration suite's local servers, and fresh, uniquely named
// stores (tables, bucket, queues) so that test files never see each other's data.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import { executionS3Prefix, toExecutionFields } from '#core/executions/execution-record';
import type { JobExecution } from '#core/product-live/product-live.schema';
import { ExecutionRepository } from '#core/store/execution-repository';
import {
  type LocalAwsClients as Clients,
  createLocalClients,
  type ProvisionedStore,
  type ProvisionOptions,
  provisionStore,
  uniqueStoreNames,
} from '#local/aws/provision';

export interface LocalAwsClients extends Clients {
  /** Environment variables pointing a process (a CLI under test) at the local servers. */
  env: Record<string, string>;
  /** The suite's generated credentials (the servers refuse any other signature). */
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/** Clients for the suite's local DynamoDB, S3 and SQS. */
export function localAwsClients(): LocalAwsClients {
  const { region, endpoints, env, credentials } = inject('localAws');
  return { ...createLocalClients({ endpoints, region, credentials }), env, credentials };
}

export type TestStore = ProvisionedStore;

/**
 * Creates a fresh store with unique names: tables and bucket, and the launch queues when asked. The
 * executions table has its stream only when asked (`stream: true`): the tests of the events read it.
 */
export async function createTestStore(
  clients: LocalAwsClients,
  prefix = 'test',
  options: ProvisionOptions = { services: ['dynamodb', 's3'] },
): Promise<TestStore> {
  return provisionStore(clients, uniqueStoreNames(prefix), { stream: false, ...options });
}

/**
 * Stores an execution the way the sync stores one too large for a DynamoDB item: its JSON in the files
 * bucket under the execution's prefix, the item pointing at it with `rawS3Key`.
 */
export async function storeOffloadedExecution(
  clients: LocalAwsClients,
  store: TestStore,
  execution: JobExecution,
): Promise<string> {
  const fields = toExecutionFields(execution);
  const rawS3Key = `${executionS3Prefix(fields)}/execution.json`;
  await clients.s3.send(new PutObjectCommand({ Bucket: store.filesBucket, Key: rawS3Key, Body: fields.raw }));
  await new ExecutionRepository(clients.doc, store.executionsTable).insertIfAbsent({
    ...fields,
    raw: '',
    rawS3Key,
    files: [],
    firstSyncedAt: fields.createdAt,
    syncedAt: fields.createdAt,
    source: 'sync',
  });
  return rawS3Key;
}
