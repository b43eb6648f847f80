// Test support: AWS clients pointed at the integration suite's local servers, and fresh, uniquely named
// tables, buckets and queues so that test files never see each other's data.
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { createDocumentClient } from '../../functions/core/aws-clients';
import { executionS3Prefix, toExecutionFields } from '../../functions/core/executions/execution-record';
import type { JobExecution } from '../../functions/core/product-live/product-live.schema';
import { ensureTable } from '../../functions/core/store/create-tables';
import { ExecutionRepository } from '../../functions/core/store/execution-repository';
import {
  EXECUTIONS_TABLE,
  IDEMPOTENCY_TABLE,
  STATE_TABLE,
} from '../../functions/core/store/table-definitions';
import { LOCAL_CREDENTIALS } from '../../local/aws/local-aws-servers';

export interface LocalAwsClients {
  dynamo: DynamoDBClient;
  doc: DynamoDBDocumentClient;
  s3: S3Client;
  sqs: SQSClient;
  /** Environment variables pointing a process (or a handler module) at the local servers. */
  env: Record<string, string>;
}

/** Clients for the suite's local DynamoDB, S3 and SQS. */
export function localAwsClients(): LocalAwsClients {
  const { region, endpoints, env } = inject('localAws');
  const common = { region, credentials: LOCAL_CREDENTIALS };
  const dynamo = new DynamoDBClient({ ...common, endpoint: endpoints.dynamodb });
  return {
    dynamo,
    doc: createDocumentClient(dynamo),
    s3: new S3Client({
      ...common,
      endpoint: endpoints.s3,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    }),
    sqs: new SQSClient({ ...common, endpoint: endpoints.sqs }),
    env,
  };
}

export interface TestStore {
  executionsTable: string;
  stateTable: string;
  idempotencyTable: string;
  bucket: string;
}

/** Creates a fresh set of tables and a bucket with unique names. */
export async function createTestStore(clients: LocalAwsClients, prefix = 'test'): Promise<TestStore> {
  const suffix = randomUUID().slice(0, 8);
  const store: TestStore = {
    executionsTable: `${prefix}-executions-${suffix}`,
    stateTable: `${prefix}-state-${suffix}`,
    idempotencyTable: `${prefix}-idempotency-${suffix}`,
    bucket: `${prefix}-files-${suffix}`.toLowerCase(),
  };
  await Promise.all([
    ensureTable(clients.dynamo, EXECUTIONS_TABLE, store.executionsTable),
    ensureTable(clients.dynamo, STATE_TABLE, store.stateTable),
    ensureTable(clients.dynamo, IDEMPOTENCY_TABLE, store.idempotencyTable),
    clients.s3.send(new CreateBucketCommand({ Bucket: store.bucket })),
  ]);
  return store;
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
  await clients.s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: rawS3Key, Body: fields.raw }));
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
