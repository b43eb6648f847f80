// Layer flow: openStore -> connectLocalStore -> the running local stack of a data directory (its stack.json:
// endpoints and this run's credentials), else DynamoDB Local started on the directory for the command, and
// s3rver on first need. Only what this module started is stopped by close().
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import type { LocalAwsServers } from '../aws/local-aws-servers';
import { LOCAL_STORE_NAMES, type LocalStackState, readRunningStack } from '../stack/local-stack-settings';
import { StoreError } from './store-error';
import type { StoreNames } from './store-types';

/** A local store's servers as a command reaches them. */
export interface LocalStoreConnection {
  dynamo: DynamoDBClient;
  /** Settings of an S3 client for the store's buckets; a locally started s3rver starts on the first call. */
  s3Config(): Promise<S3ClientConfig>;
  /** The running stack, or undefined when the servers were started for this command. */
  stack: LocalStackState | undefined;
  names: StoreNames;
  /** Destroys the DynamoDB client and stops what was started. */
  close(): Promise<void>;
}

// The local servers' module loads s3rver and DynamoDB Local's launcher: loaded only when a command needs them.
const localAws = () => import('../aws/local-aws-servers');

/** Connects to the running local stack of `dataDir`, else starts DynamoDB Local on it. */
export async function connectLocalStore(
  dataDir: string,
  options: { note?: (message: string) => void },
): Promise<LocalStoreConnection> {
  const stack = await readRunningStack(dataDir);
  if (stack) return connectRunningStack(stack);
  const { LOCAL_S3_SETTINGS, startLocalAwsServers } = await localAws();
  const directory = resolve(dataDir);
  const noStore = `no local store in ${dataDir}: run \`npm start -- --once\` first to sync into it, or pass --table NAME (or --stack NAME) to read a deployed one`;
  if (!(await hasDynamoDbData(join(directory, 'dynamodb')))) throw new StoreError(noStore);
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
    await dynamo.send(new DescribeTableCommand({ TableName: LOCAL_STORE_NAMES.executionsTable }));
  } catch (error) {
    await close();
    if (error instanceof ResourceNotFoundException) throw new StoreError(noStore);
    throw error;
  }
  return {
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
    names: localNames(),
    close,
  };
}

/** Clients' settings for a running local stack (nothing is started, nothing stopped but the client). */
async function connectRunningStack(stack: LocalStackState): Promise<LocalStoreConnection> {
  const { LOCAL_S3_SETTINGS } = await localAws();
  const common = { region: stack.region, credentials: { ...stack.credentials } };
  const dynamo = new DynamoDBClient({ ...common, endpoint: stack.endpoints.dynamodb });
  return {
    dynamo,
    s3Config: async () => ({ ...common, ...LOCAL_S3_SETTINGS, endpoint: stack.endpoints.s3 }),
    stack,
    names: {
      ...localNames(),
      executionsTable: stack.tables.executions,
      stateTable: stack.tables.state,
      idempotencyTable: stack.tables.idempotency,
      filesBucket: stack.bucket,
      lakeBucket: stack.lakeBucket ?? LOCAL_STORE_NAMES.lakeBucket,
      launchQueueUrl: stack.queues.launchUrl,
      launchDlqUrl: stack.queues.dlqUrl,
    },
    close: async () => dynamo.destroy(),
  };
}

function localNames(): StoreNames {
  return {
    executionsTable: LOCAL_STORE_NAMES.executionsTable,
    stateTable: LOCAL_STORE_NAMES.stateTable,
    idempotencyTable: LOCAL_STORE_NAMES.idempotencyTable,
    filesBucket: LOCAL_STORE_NAMES.filesBucket,
    lakeBucket: LOCAL_STORE_NAMES.lakeBucket,
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
