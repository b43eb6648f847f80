// Where the dashboard reads from, as `npm run history` does (local/cli/history-store.ts): the running local
// stack (its stack.json), else DynamoDB Local started on the data directory (and s3rver, on first need, for
// file downloads and the lake), or a deployed store with the standard AWS credentials. Only reads are sent.
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createDocumentClient } from '../../functions/core/aws-clients';
import { ENV_VARIABLES } from '../../functions/core/config';
import { HistoryReader } from '../../functions/core/history/history-reader';
import { s3PayloadLoader } from '../../functions/core/history/large-payload';
import { LakeMarks } from '../../functions/core/store/lake-marks';
import { LOCAL_CREDENTIALS, type LocalAwsServers, startLocalAwsServers } from '../aws/local-aws-servers';
import { LOCAL_S3_SETTINGS } from '../aws/provision';
import { HistoryStoreError } from '../cli/history-store';
import {
  DEFAULT_DATA_DIR,
  LOCAL_BUCKET_NAME,
  LOCAL_LAKE_BUCKET_NAME,
  LOCAL_TABLE_NAMES,
  type LocalStackState,
  readRunningStack,
} from '../stack/local-stack-settings';
import type { DashboardDeps } from './dashboard-data';
import { LakeSnapshots } from './lake-snapshots';
import type { SyncActivity } from './sync-health';

/** The store the command line chose. */
export type DashboardStoreChoice =
  | { kind: 'local'; dataDir: string }
  | {
      kind: 'aws';
      tableName: string;
      stateTable?: string;
      filesBucket?: string;
      lakeBucket?: string;
      queueUrl?: string;
      dlqUrl?: string;
      /** Where the copy of a deployed lake is kept (default .local/lake-cache/<bucket>). */
      dataDir?: string;
    };

export interface DashboardStore {
  deps: DashboardDeps;
  /** What is read, for the start-up lines. */
  describe: string[];
  close(): Promise<void>;
}

export interface OpenDashboardOptions {
  /** The process environment: SYNC_REQUESTS_PER_MINUTE, AWS_ENDPOINT_URL_S3 (path-style S3 URLs). */
  env: Record<string, string | undefined>;
  note?: (message: string) => void;
  activity?: () => SyncActivity | undefined;
}

function requestsPerMinute(env: Record<string, string | undefined>): number {
  const configured = Number(env.SYNC_REQUESTS_PER_MINUTE);
  return Number.isInteger(configured) && configured > 0
    ? configured
    : Number(ENV_VARIABLES.SYNC_REQUESTS_PER_MINUTE.defaultValue);
}

/** An S3 client made on first need (s3rver started on the data directory, too, locally). */
function lazy<T>(create: () => Promise<T>): { get: () => Promise<T>; peek: () => Promise<T> | undefined } {
  let value: Promise<T> | undefined;
  return { get: () => (value ??= create()), peek: () => value };
}

/** Opens the store the command line chose. */
export async function openDashboardStore(
  choice: DashboardStoreChoice,
  options: OpenDashboardOptions,
): Promise<DashboardStore> {
  if (choice.kind === 'aws') return openDeployed(choice, options);
  const stack = await readRunningStack(choice.dataDir);
  if (stack) return openStackDashboard(stack, choice.dataDir, options);
  return openDataDir(choice.dataDir, options);
}

/** The dashboard over a running local stack (`npm start` itself, or another process's stack). */
export function openStackDashboard(
  stack: LocalStackState,
  dataDir: string,
  options: OpenDashboardOptions,
): DashboardStore {
  const common = { region: stack.region, credentials: LOCAL_CREDENTIALS };
  const dynamo = new DynamoDBClient({ ...common, endpoint: stack.endpoints.dynamodb });
  const doc = createDocumentClient(dynamo);
  const s3 = lazy(async () => {
    const { S3Client } = await import('@aws-sdk/client-s3');
    return new S3Client({ ...common, ...LOCAL_S3_SETTINGS, endpoint: stack.endpoints.s3 });
  });
  const sqs = new SQSClient({ ...common, endpoint: stack.endpoints.sqs });
  const lakeBucket = stack.lakeBucket ?? LOCAL_LAKE_BUCKET_NAME;
  const lake = new LakeSnapshots(new LakeMarks(doc, stack.tables.state), {
    bucket: lakeBucket,
    cacheDir: join(resolve(dataDir), 'lake-cache', lakeBucket),
    s3: s3.get,
  });
  return {
    deps: {
      reader: new HistoryReader(doc, stack.tables.executions, {
        loadLargePayload: async (key) => s3PayloadLoader(await s3.get(), stack.bucket)(key),
      }),
      state: { client: doc, tableName: stack.tables.state },
      lake,
      files: { bucket: stack.bucket, s3: s3.get },
      launches: { sqs, urls: stack.queues },
      syncRequestsPerMinute: requestsPerMinute(options.env),
      ...(options.activity ? { activity: options.activity } : {}),
    },
    describe: [
      `the local stack's store (${dataDir}): DynamoDB ${stack.endpoints.dynamodb}, S3 ${stack.endpoints.s3}`,
    ],
    close: async () => {
      lake.close();
      dynamo.destroy();
      sqs.destroy();
      (await s3.peek()?.catch(() => undefined))?.destroy();
    },
  };
}

async function openDataDir(dataDir: string, options: OpenDashboardOptions): Promise<DashboardStore> {
  const directory = resolve(dataDir);
  const noStore = `no local store in ${dataDir}: run \`npm start -- --once\` first to sync into it, or pass --table NAME to read a deployed table`;
  if (!(await hasDynamoDbData(join(directory, 'dynamodb')))) throw new HistoryStoreError(noStore);
  options.note?.(`No local stack is running: starting DynamoDB Local on ${join(dataDir, 'dynamodb')}...`);
  const dynamoServer = await startLocalAwsServers({ services: ['dynamodb'], dataDir: directory });
  const common = { region: dynamoServer.region, credentials: LOCAL_CREDENTIALS };
  const dynamo = new DynamoDBClient({ ...common, endpoint: dynamoServer.endpoints.dynamodb });
  const doc = createDocumentClient(dynamo);
  const s3Server = lazy<LocalAwsServers>(() =>
    startLocalAwsServers({ services: ['s3'], dataDir: directory }),
  );
  const s3 = lazy(async () => {
    const [{ S3Client }, server] = await Promise.all([import('@aws-sdk/client-s3'), s3Server.get()]);
    return new S3Client({ ...common, ...LOCAL_S3_SETTINGS, endpoint: server.endpoints.s3 });
  });
  const lake = new LakeSnapshots(new LakeMarks(doc, LOCAL_TABLE_NAMES.state), {
    bucket: LOCAL_LAKE_BUCKET_NAME,
    cacheDir: join(directory, 'lake-cache', LOCAL_LAKE_BUCKET_NAME),
    s3: s3.get,
  });
  const close = async () => {
    lake.close();
    dynamo.destroy();
    (await s3.peek()?.catch(() => undefined))?.destroy();
    await Promise.all([
      dynamoServer.stop(),
      s3Server.peek()?.then(
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
    deps: {
      reader: new HistoryReader(doc, LOCAL_TABLE_NAMES.executions, {
        loadLargePayload: async (key) => s3PayloadLoader(await s3.get(), LOCAL_BUCKET_NAME)(key),
      }),
      state: { client: doc, tableName: LOCAL_TABLE_NAMES.state },
      lake,
      files: { bucket: LOCAL_BUCKET_NAME, s3: s3.get },
      syncRequestsPerMinute: requestsPerMinute(options.env),
    },
    describe: [`the local store in ${dataDir} (DynamoDB Local started for the dashboard; no launch queue)`],
    close,
  };
}

function openDeployed(
  choice: Extract<DashboardStoreChoice, { kind: 'aws' }>,
  options: OpenDashboardOptions,
): DashboardStore {
  const dynamo = new DynamoDBClient({});
  const doc = createDocumentClient(dynamo);
  const s3Config: S3ClientConfig = { forcePathStyle: Boolean(options.env.AWS_ENDPOINT_URL_S3) };
  const s3 = lazy<S3Client>(async () => new (await import('@aws-sdk/client-s3')).S3Client(s3Config));
  const sqs = choice.queueUrl && choice.dlqUrl ? new SQSClient({}) : undefined;
  const lake =
    choice.lakeBucket && choice.stateTable
      ? new LakeSnapshots(new LakeMarks(doc, choice.stateTable), {
          bucket: choice.lakeBucket,
          cacheDir: join(resolve(choice.dataDir ?? DEFAULT_DATA_DIR), 'lake-cache', choice.lakeBucket),
          s3: s3.get,
        })
      : undefined;
  const { filesBucket } = choice;
  return {
    deps: {
      reader: new HistoryReader(doc, choice.tableName, {
        ...(filesBucket
          ? { loadLargePayload: async (key: string) => s3PayloadLoader(await s3.get(), filesBucket)(key) }
          : {}),
      }),
      ...(choice.stateTable ? { state: { client: doc, tableName: choice.stateTable } } : {}),
      ...(lake ? { lake } : {}),
      ...(filesBucket ? { files: { bucket: filesBucket, s3: s3.get } } : {}),
      ...(sqs && choice.queueUrl && choice.dlqUrl
        ? { launches: { sqs, urls: { launchUrl: choice.queueUrl, dlqUrl: choice.dlqUrl } } }
        : {}),
      syncRequestsPerMinute: requestsPerMinute(options.env),
    },
    describe: [
      `table ${choice.tableName}${choice.stateTable ? `, state table ${choice.stateTable}` : ''}`,
      ...(filesBucket ? [`files bucket ${filesBucket}`] : []),
      ...(lake
        ? [`lake bucket ${choice.lakeBucket} (copied to ${choice.dataDir ?? DEFAULT_DATA_DIR}/lake-cache)`]
        : []),
      ...(sqs ? [`launch queue ${choice.queueUrl} and its DLQ ${choice.dlqUrl}`] : []),
    ],
    close: async () => {
      lake?.close();
      dynamo.destroy();
      sqs?.destroy();
      (await s3.peek()?.catch(() => undefined))?.destroy();
    },
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
