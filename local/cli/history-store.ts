// Where `npm run history` reads from: the running local stack (its stack.json), else DynamoDB Local started
// for this command on the data directory, or a deployed table with the standard AWS credentials. S3 is only
// needed for an execution the sync offloaded to the files bucket, so its client (and locally, s3rver) is
// created on first need.
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { createDocumentClient } from '../../functions/core/aws-clients';
import type { LocalAwsServers } from '../aws/local-aws-servers';
import { HistoryReader } from '../history/history-reader';
import {
  LOCAL_BUCKET_NAME,
  LOCAL_LAKE_BUCKET_NAME,
  LOCAL_TABLE_NAMES,
  type LocalStackState,
  readRunningStack,
} from '../stack/local-stack-settings';
import type { StoreChoice } from './history-args';

/** The store cannot be opened; the message says what to do. */
export class HistoryStoreError extends Error {
  override readonly name = 'HistoryStoreError';
}

export interface HistoryStore {
  reader: HistoryReader;
  /** Stops what was started for this command (DynamoDB Local, s3rver) and releases the clients. */
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** The process environment (AWS_ENDPOINT_URL_S3 selects path-style S3 URLs, as the functions do). */
  env: Record<string, string | undefined>;
  /** Progress notes for people (starting DynamoDB Local takes a few seconds). */
  note?: (message: string) => void;
}

/** Opens the store the command line chose. */
export async function openHistoryStore(
  choice: StoreChoice,
  options: OpenStoreOptions,
): Promise<HistoryStore> {
  return choice.kind === 'aws' ? openDeployedStore(choice, options) : openLocalStore(choice.dataDir, options);
}

// The local servers' module loads s3rver and DynamoDB Local's launcher, and the S3 client is large: both
// are loaded only when a command needs them.
const localAws = () => import('../aws/local-aws-servers');

/** A loadLargePayload whose S3 client is created by `connect` on the first offloaded execution. */
function lazyPayloadLoader(bucket: string, connect: () => Promise<S3ClientConfig>) {
  let client: Promise<S3Client> | undefined;
  const loader = async (s3Key: string): Promise<string> => {
    client ??= Promise.all([import('@aws-sdk/client-s3'), connect()]).then(
      ([{ S3Client }, config]) => new S3Client(config),
    );
    const { s3PayloadLoader } = await import('../history/large-payload');
    return s3PayloadLoader(await client, bucket)(s3Key);
  };
  const destroy = async () => (await client?.catch(() => undefined))?.destroy();
  return { loader, destroy };
}

function openDeployedStore(
  choice: Extract<StoreChoice, { kind: 'aws' }>,
  options: OpenStoreOptions,
): HistoryStore {
  const dynamo = new DynamoDBClient({});
  const payloads = choice.filesBucket
    ? lazyPayloadLoader(choice.filesBucket, async () => ({
        forcePathStyle: Boolean(options.env.AWS_ENDPOINT_URL_S3),
      }))
    : undefined;
  return {
    reader: new HistoryReader(createDocumentClient(dynamo), choice.tableName, {
      ...(payloads ? { loadLargePayload: payloads.loader } : {}),
    }),
    close: async () => {
      dynamo.destroy();
      await payloads?.destroy();
    },
  };
}

async function openLocalStore(dataDir: string, options: OpenStoreOptions): Promise<HistoryStore> {
  const connection = await connectLocalStore(dataDir, options);
  const payloads = lazyPayloadLoader(connection.names.bucket, connection.s3Config);
  return {
    reader: new HistoryReader(createDocumentClient(connection.dynamo), connection.names.tables.executions, {
      loadLargePayload: payloads.loader,
    }),
    close: async () => {
      await payloads.destroy();
      await connection.close();
    },
  };
}

/**
 * The local store's servers as a command reaches them: those of the running stack, or DynamoDB Local
 * started on the data directory for the command (s3rver too, on the first S3 need).
 */
export interface LocalStoreConnection {
  region: string;
  dynamo: DynamoDBClient;
  /** Settings of an S3 client for the store's buckets; a locally started s3rver starts on the first call. */
  s3Config(): Promise<S3ClientConfig>;
  /** The running stack (its queues too), or undefined when the servers were started for this command. */
  stack: LocalStackState | undefined;
  names: { tables: typeof LOCAL_TABLE_NAMES; bucket: string; lakeBucket: string };
  /** Destroys the DynamoDB client and stops what was started. */
  close(): Promise<void>;
}

/** Connects to the running local stack of `dataDir`, else starts DynamoDB Local on it. */
export async function connectLocalStore(
  dataDir: string,
  options: OpenStoreOptions,
): Promise<LocalStoreConnection> {
  const stack = await readRunningStack(dataDir);
  if (stack) return connectRunningStack(stack);
  const { LOCAL_S3_SETTINGS, startLocalAwsServers } = await localAws();

  const directory = resolve(dataDir);
  const noStore = `no local store in ${dataDir}: run \`npm start -- --once\` first to sync into it, or pass --table NAME to read a deployed table`;
  if (!(await hasDynamoDbData(join(directory, 'dynamodb')))) throw new HistoryStoreError(noStore);
  options.note?.(`No local stack is running: starting DynamoDB Local on ${join(dataDir, 'dynamodb')}...`);
  const dynamoServer = await startLocalAwsServers({ services: ['dynamodb'], dataDir: directory });
  let s3Server: Promise<LocalAwsServers> | undefined;
  const { credentials } = dynamoServer;
  const common = { region: dynamoServer.region, credentials: { ...credentials } };
  const dynamo = new DynamoDBClient({ ...common, endpoint: dynamoServer.endpoints.dynamodb });
  const close = async () => {
    dynamo.destroy();
    await Promise.all([
      dynamoServer.stop(),
      s3Server?.then(
        (server) => server.stop(),
        () => undefined,
      ),
    ]);
  };
  try {
    await dynamo.send(new DescribeTableCommand({ TableName: LOCAL_TABLE_NAMES.executions }));
  } catch (error) {
    await close();
    if (error instanceof ResourceNotFoundException) throw new HistoryStoreError(noStore);
    throw error;
  }
  return {
    region: dynamoServer.region,
    dynamo,
    s3Config: async () => {
      s3Server ??= startLocalAwsServers({ services: ['s3'], dataDir: directory, credentials });
      const server = await s3Server;
      return {
        ...common,
        ...LOCAL_S3_SETTINGS,
        ...(server.endpoints.s3 ? { endpoint: server.endpoints.s3 } : {}),
      };
    },
    stack: undefined,
    names: { tables: LOCAL_TABLE_NAMES, bucket: LOCAL_BUCKET_NAME, lakeBucket: LOCAL_LAKE_BUCKET_NAME },
    close,
  };
}

/** Clients' settings for a running local stack (nothing is started, nothing stopped but the client). */
export async function connectRunningStack(stack: LocalStackState): Promise<LocalStoreConnection> {
  const { LOCAL_S3_SETTINGS } = await localAws();
  const common = { region: stack.region, credentials: { ...stack.credentials } };
  const dynamo = new DynamoDBClient({ ...common, endpoint: stack.endpoints.dynamodb });
  return {
    region: stack.region,
    dynamo,
    s3Config: async () => ({ ...common, ...LOCAL_S3_SETTINGS, endpoint: stack.endpoints.s3 }),
    stack,
    names: {
      tables: stack.tables,
      bucket: stack.bucket,
      lakeBucket: stack.lakeBucket ?? LOCAL_LAKE_BUCKET_NAME,
    },
    close: async () => dynamo.destroy(),
  };
}

/** True when DynamoDB Local has written a database file into the directory. */
async function hasDynamoDbData(directory: string): Promise<boolean> {
  try {
    return (await readdir(directory)).some((name) => name.endsWith('.db'));
  } catch {
    return false;
  }
}
