// Layer flow: the local stack, the benchmarks and the tests -> this module -> DynamoDB Local, s3rver and local
// SQS. One way to get AWS clients for the local servers and to create a store (tables, bucket, launch queues)
// from the same definitions as the CDK stack, with fixed names (npm start) or unique ones (tests, benches).
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '#core/aws-clients';
import { ensureTable } from '#core/store/create-tables';
import { LAUNCH_DEAD_LETTER_QUEUE, LAUNCH_QUEUE } from '#core/store/queue-definitions';
import {
  EXECUTIONS_TABLE,
  IDEMPOTENCY_TABLE,
  STATE_TABLE,
  type TableDefinition,
} from '#core/store/table-definitions';
import {
  LOCAL_REGION,
  LOCAL_S3_SETTINGS,
  type LocalCredentials,
  type LocalService,
} from './local-aws-servers';

export { LOCAL_S3_SETTINGS };

/** Clients for the local servers: every AWS call of the local stack, the benches and the tests. */
export interface LocalAwsClients {
  region: string;
  endpoints: Partial<Record<LocalService, string>>;
  dynamo: DynamoDBClient;
  doc: DynamoDBDocumentClient;
  s3: S3Client;
  sqs: SQSClient;
  destroy(): void;
}

/** Where the local servers are and the credentials they answer (LocalAwsServers, a running stack's state). */
export interface LocalAwsConnection {
  endpoints: Partial<Record<LocalService, string>>;
  credentials: LocalCredentials;
  region?: string;
}

/** AWS clients pointed at the given local endpoints (the run's generated credentials, path-style S3). */
export function createLocalClients(connection: LocalAwsConnection): LocalAwsClients {
  const { endpoints, region = LOCAL_REGION } = connection;
  const common = { region, credentials: { ...connection.credentials } };
  const dynamo = new DynamoDBClient({ ...common, endpoint: endpoints.dynamodb });
  const s3 = new S3Client({ ...common, ...LOCAL_S3_SETTINGS, endpoint: endpoints.s3 });
  const sqs = new SQSClient({ ...common, endpoint: endpoints.sqs });
  return {
    region,
    endpoints,
    dynamo,
    doc: createDocumentClient(dynamo),
    s3,
    sqs,
    destroy() {
      dynamo.destroy();
      s3.destroy();
      sqs.destroy();
    },
  };
}

/** The names of a store's tables, bucket and launch queues. */
export interface StoreNames {
  executionsTable: string;
  stateTable: string;
  idempotencyTable: string;
  filesBucket: string;
  /** The warehouse's Parquet tables (`lake/…`). */
  lakeBucket: string;
  launchQueue: string;
  launchDeadLetterQueue: string;
  /** The inbox: objects created in it launch jobs by the inbox rules (absent: no inbox). */
  inboxBucket?: string;
}

/** A provisioned store: its names, and the launch queues' URLs and ARNs when SQS was provisioned. */
export interface ProvisionedStore extends StoreNames {
  queues?: { launchUrl: string; launchArn: string; dlqUrl: string; dlqArn: string };
}

/** Unique names (tests and benches: one store each, side by side in one set of servers). */
export function uniqueStoreNames(prefix: string): StoreNames {
  const suffix = randomUUID().slice(0, 8);
  return {
    executionsTable: `${prefix}-executions-${suffix}`,
    stateTable: `${prefix}-state-${suffix}`,
    idempotencyTable: `${prefix}-idempotency-${suffix}`,
    filesBucket: `${prefix}-files-${suffix}`.toLowerCase(),
    lakeBucket: `${prefix}-lake-${suffix}`.toLowerCase(),
    launchQueue: `${prefix}-launch-${suffix}`,
    launchDeadLetterQueue: `${prefix}-launch-dlq-${suffix}`,
    inboxBucket: `${prefix}-inbox-${suffix}`.toLowerCase(),
  };
}

export interface ProvisionOptions {
  /** What to create (default: the tables, the bucket when S3 runs, the queues when SQS runs). */
  services?: readonly LocalService[];
  /** The launch queue's redrive maxReceiveCount (default 10, the deployed stack's default). */
  maxReceiveCount?: number;
  /** The launch queue's visibility timeout in seconds (default 60). */
  visibilityTimeoutSeconds?: number;
  /**
   * The executions table's stream, as deployed (default true). Test stores that never read it go without:
   * DynamoDB Local keeps every stream record of its shared database, which slows all of its tables.
   */
  stream?: boolean;
}

/** A table definition without its stream (stores that never read it; see ProvisionOptions.stream). */
export function withoutStream(definition: TableDefinition): TableDefinition {
  const { stream: _stream, ...rest } = definition;
  return rest;
}

/**
 * Creates whatever of the store does not exist yet (an existing table, bucket or queue is kept, with its
 * data): the tables from the shared table definitions, the files and lake buckets, the launch queue with its DLQ and
 * the redrive policy of the deployed stack.
 */
export async function provisionStore(
  clients: LocalAwsClients,
  names: StoreNames,
  options: ProvisionOptions = {},
): Promise<ProvisionedStore> {
  const services = new Set(
    options.services ??
      (Object.keys(clients.endpoints) as LocalService[]).filter((s) => clients.endpoints[s]),
  );
  const work: Array<Promise<unknown>> = [];
  if (services.has('dynamodb')) {
    work.push(
      ensureTable(
        clients.dynamo,
        options.stream === false ? withoutStream(EXECUTIONS_TABLE) : EXECUTIONS_TABLE,
        names.executionsTable,
      ),
      ensureTable(clients.dynamo, STATE_TABLE, names.stateTable),
      ensureTable(clients.dynamo, IDEMPOTENCY_TABLE, names.idempotencyTable),
    );
  }
  if (services.has('s3')) {
    work.push(ensureBucket(clients.s3, names.filesBucket), ensureBucket(clients.s3, names.lakeBucket));
    if (names.inboxBucket) work.push(ensureBucket(clients.s3, names.inboxBucket));
  }
  const queues = services.has('sqs') ? ensureLaunchQueues(clients.sqs, names, options) : undefined;
  await Promise.all(work);
  return { ...names, ...(queues !== undefined ? { queues: await queues } : {}) };
}

async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
  }
}

/** The launch queue and its DLQ, with the redrive policy of the deployed stack. */
async function ensureLaunchQueues(
  sqs: SQSClient,
  names: StoreNames,
  options: ProvisionOptions,
): Promise<NonNullable<ProvisionedStore['queues']>> {
  const dlqUrl =
    (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: names.launchDeadLetterQueue,
          Attributes: { MessageRetentionPeriod: String(LAUNCH_DEAD_LETTER_QUEUE.retentionDays * 86_400) },
        }),
      )
    ).QueueUrl ?? '';
  const dlqArn = await queueArn(sqs, dlqUrl);
  const launchUrl =
    (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: names.launchQueue,
          Attributes: {
            MessageRetentionPeriod: String(LAUNCH_QUEUE.retentionDays * 86_400),
            VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 60),
            RedrivePolicy: JSON.stringify({
              deadLetterTargetArn: dlqArn,
              maxReceiveCount: options.maxReceiveCount ?? LAUNCH_QUEUE.defaultMaxReceiveCount,
            }),
          },
        }),
      )
    ).QueueUrl ?? '';
  return { launchUrl, launchArn: await queueArn(sqs, launchUrl), dlqUrl, dlqArn };
}

async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = attributes.Attributes?.QueueArn;
  if (!arn) throw new Error(`${queueUrl}: no QueueArn in GetQueueAttributes`);
  return arn;
}

/** The environment variables that name a store, as the stack sets them for the functions. */
export function storeEnvironment(store: ProvisionedStore): Record<string, string> {
  return {
    EXECUTIONS_TABLE_NAME: store.executionsTable,
    STATE_TABLE_NAME: store.stateTable,
    IDEMPOTENCY_TABLE_NAME: store.idempotencyTable,
    FILES_BUCKET_NAME: store.filesBucket,
    LAKE_BUCKET_NAME: store.lakeBucket,
    ...(store.inboxBucket ? { LAUNCH_INBOX_BUCKET: store.inboxBucket } : {}),
    ...(store.queues
      ? { LAUNCH_QUEUE_URL: store.queues.launchUrl, LAUNCH_DLQ_URL: store.queues.dlqUrl }
      : {}),
  };
}
