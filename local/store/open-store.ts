// Layer flow: every CLI that reads the history (history, history sql, dashboard, health, doctor) -> openStore ->
// a running local stack (its stack.json), a data directory (DynamoDB Local started on it, s3rver on first need),
// or a deployed account (names given, or read from the stacks' outputs; the standard AWS credentials). The one
// way to open a store: clients, names and what was started come back together, and close() undoes it all.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '#core/aws-clients';
import { HistoryReader } from '#core/history/history-reader';
import { s3PayloadLoader } from '#core/history/large-payload';
import type { LocalStackState } from '../stack/local-stack-settings';
import { resolveDeployed } from './deployed-stack';
import { connectLocalStore } from './local-store';
import { StoreError } from './store-error';
import type { DeployedStoreChoice, LocalStoreChoice, StoreChoice, StoreNames } from './store-types';

export type { DeployedStoreChoice, StoreChoice, StoreNames } from './store-types';

/** An opened store: its clients, created once, and what was started for it. */
export interface Store {
  readonly kind: 'local' | 'aws';
  readonly names: StoreNames;
  /** The running local stack, when the store is one (its endpoints, queues and credentials). */
  readonly stack: LocalStackState | undefined;
  /** Every output of the deployed stacks, when they were named (`--stack`); undefined otherwise. */
  readonly stackOutputs: Readonly<Record<string, string>> | undefined;
  /** The data directory (local), or where local copies of a deployed store's lake go. */
  readonly dataDir: string;
  readonly dynamo: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  /**
   * The executions, read by index queries only, offloaded executions fetched from the files bucket; a
   * StoreError when the store has no executions table (a deployed lake bucket alone).
   */
  reader(): HistoryReader;
  /** An S3 client for the store's buckets, made on first need (locally s3rver starts on the data directory). */
  s3(): Promise<S3Client>;
  /** An SQS client for the launch queues, when the store has them (a running stack, or a deployed one). */
  sqs(): SQSClient | undefined;
  /** What is read, for people: one line per resource. */
  describe(): string[];
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** The process environment: AWS_ENDPOINT_URL_S3 selects path-style S3 URLs, as the functions do. */
  env: Record<string, string | undefined>;
  /** Progress notes for people (starting DynamoDB Local takes a few seconds). */
  note?: (message: string) => void;
}

/** A store's name that a command needs; absent, a StoreError naming the flag that gives it. */
export function requireName<K extends keyof StoreNames>(
  store: Store,
  name: K,
  flag: string,
): NonNullable<StoreNames[K]> {
  const value = store.names[name];
  if (value === undefined || value === '') {
    throw new StoreError(`this command needs the store's ${String(name)}: pass ${flag} (or --stack NAME)`);
  }
  return value as NonNullable<StoreNames[K]>;
}

/** Opens the store the command line chose; a store that cannot be opened is a StoreError saying what to do. */
export async function openStore(choice: StoreChoice, options: OpenStoreOptions): Promise<Store> {
  return choice.kind === 'local' ? openLocal(choice, options) : openDeployed(choice, options);
}

async function openLocal(choice: LocalStoreChoice, options: OpenStoreOptions): Promise<Store> {
  const connection = await connectLocalStore(choice.dataDir, options);
  const { stack } = connection;
  const s3 = lazy(async () => {
    const [{ S3Client }, config] = await Promise.all([import('@aws-sdk/client-s3'), connection.s3Config()]);
    return new S3Client(config);
  });
  const sqs = lazy(() =>
    stack
      ? new SQSClient({
          region: stack.region,
          credentials: { ...stack.credentials },
          endpoint: stack.endpoints.sqs,
        })
      : undefined,
  );
  const doc = createDocumentClient(connection.dynamo);
  return {
    kind: 'local',
    names: connection.names,
    stack,
    stackOutputs: undefined,
    dataDir: choice.dataDir,
    dynamo: connection.dynamo,
    doc,
    reader: lazyReader(doc, connection.names, s3.get),
    s3: s3.get,
    sqs: sqs.get,
    describe: () => [
      stack
        ? `the local stack's store (${choice.dataDir}): DynamoDB ${stack.endpoints.dynamodb}, S3 ${stack.endpoints.s3}`
        : `the local store in ${choice.dataDir} (DynamoDB Local started for this command; no launch queue)`,
    ],
    close: async () => {
      sqs.peek()?.destroy();
      (await s3.peekAsync())?.destroy();
      await connection.close();
    },
  };
}

async function openDeployed(choice: DeployedStoreChoice, options: OpenStoreOptions): Promise<Store> {
  const { names, outputs } = await resolveDeployed(choice);
  const dynamo = new DynamoDBClient({});
  const doc = createDocumentClient(dynamo);
  const s3Config: S3ClientConfig = { forcePathStyle: Boolean(options.env.AWS_ENDPOINT_URL_S3) };
  const s3 = lazy(async () => new (await import('@aws-sdk/client-s3')).S3Client(s3Config));
  const sqs = lazy(() => (names.launchQueueUrl || names.launchDlqUrl ? new SQSClient({}) : undefined));
  return {
    kind: 'aws',
    names,
    stack: undefined,
    stackOutputs: outputs,
    dataDir: choice.dataDir,
    dynamo,
    doc,
    reader: lazyReader(doc, names, s3.get),
    s3: s3.get,
    sqs: sqs.get,
    describe: () => [
      ...(names.executionsTable
        ? [`table ${names.executionsTable}${names.stateTable ? `, state table ${names.stateTable}` : ''}`]
        : []),
      ...(names.filesBucket ? [`files bucket ${names.filesBucket}`] : []),
      ...(names.lakeBucket
        ? [`lake bucket ${names.lakeBucket} (copied to ${choice.dataDir}/lake-cache)`]
        : []),
      ...(names.launchQueueUrl
        ? [`launch queue ${names.launchQueueUrl} and its DLQ ${names.launchDlqUrl}`]
        : []),
    ],
    close: async () => {
      dynamo.destroy();
      sqs.peek()?.destroy();
      (await s3.peekAsync())?.destroy();
    },
  };
}

function lazyReader(
  doc: DynamoDBDocumentClient,
  names: StoreNames,
  s3: () => Promise<S3Client>,
): () => HistoryReader {
  let reader: HistoryReader | undefined;
  return () => {
    if (reader) return reader;
    const { filesBucket, executionsTable } = names;
    if (!executionsTable) {
      throw new StoreError('this command needs the executions table: pass --table NAME (or --stack NAME)');
    }
    reader = new HistoryReader(doc, executionsTable, {
      ...(filesBucket
        ? { loadLargePayload: async (key: string) => s3PayloadLoader(await s3(), filesBucket)(key) }
        : {}),
    });
    return reader;
  };
}

/** A value made on first need; `peek` tells whether it was made (for close()). */
function lazy<T>(create: () => T) {
  let made = false;
  let value: T | undefined;
  return {
    get: (): T => {
      if (!made) {
        value = create();
        made = true;
      }
      return value as T;
    },
    peek: (): T | undefined => value,
    /** The made value once it settles, or undefined (a failed creation has nothing to close). */
    peekAsync: async (): Promise<Awaited<T> | undefined> => {
      if (!made) return undefined;
      try {
        return await value;
      } catch {
        return undefined;
      }
    },
  };
}
