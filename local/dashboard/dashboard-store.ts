// Where the dashboard reads from, as `npm run history` does (connectLocalStore in local/cli/history-store.ts):
// the running local stack (its stack.json), else DynamoDB Local started on the data directory (and s3rver, on
// first need, for file downloads and the lake), or a deployed store with the standard AWS credentials. Only
// reads are sent.
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createDocumentClient } from '../../functions/core/aws-clients';
import { ENV_VARIABLES } from '../../functions/core/config';
import { LakeMarks } from '../../functions/core/store/lake-marks';
import { connectLocalStore, connectRunningStack, type LocalStoreConnection } from '../cli/history-store';
import { HistoryReader } from '../history/history-reader';
import { s3PayloadLoader } from '../history/large-payload';
import { DEFAULT_DATA_DIR, type LocalStackState } from '../stack/local-stack-settings';
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
  return overLocalStore(await connectLocalStore(choice.dataDir, options), choice.dataDir, options);
}

/** The dashboard over a running local stack (`npm start` itself, or another process's stack). */
export async function openStackDashboard(
  stack: LocalStackState,
  dataDir: string,
  options: OpenDashboardOptions,
): Promise<DashboardStore> {
  return overLocalStore(await connectRunningStack(stack), dataDir, options);
}

/** The dashboard over the local store: the running stack's (with its launch queues), or the data directory's. */
function overLocalStore(
  connection: LocalStoreConnection,
  dataDir: string,
  options: OpenDashboardOptions,
): DashboardStore {
  const { stack, names } = connection;
  const doc = createDocumentClient(connection.dynamo);
  const s3 = lazy(async () => {
    const [{ S3Client }, config] = await Promise.all([import('@aws-sdk/client-s3'), connection.s3Config()]);
    return new S3Client(config);
  });
  const sqs = stack
    ? new SQSClient({
        region: connection.region,
        credentials: { ...stack.credentials },
        endpoint: stack.endpoints.sqs,
      })
    : undefined;
  const lake = new LakeSnapshots(new LakeMarks(doc, names.tables.state), {
    bucket: names.lakeBucket,
    cacheDir: join(resolve(dataDir), 'lake-cache', names.lakeBucket),
    s3: s3.get,
  });
  return {
    deps: {
      reader: new HistoryReader(doc, names.tables.executions, {
        loadLargePayload: async (key) => s3PayloadLoader(await s3.get(), names.bucket)(key),
      }),
      state: { client: doc, tableName: names.tables.state },
      lake,
      files: { bucket: names.bucket, s3: s3.get },
      ...(sqs && stack ? { launches: { sqs, urls: stack.queues } } : {}),
      syncRequestsPerMinute: requestsPerMinute(options.env),
      ...(options.activity ? { activity: options.activity } : {}),
    },
    describe: [
      stack
        ? `the local stack's store (${dataDir}): DynamoDB ${stack.endpoints.dynamodb}, S3 ${stack.endpoints.s3}`
        : `the local store in ${dataDir} (DynamoDB Local started for the dashboard; no launch queue)`,
    ],
    close: async () => {
      lake.close();
      sqs?.destroy();
      (await s3.peek()?.catch(() => undefined))?.destroy();
      await connection.close();
    },
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
