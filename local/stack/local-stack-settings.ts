// The names and places the local stack (`npm start`) and the local CLIs (`npm run launch`, `npm run history`)
// agree on. The tables, bucket and queues are created from the same definitions as the CDK stack's.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { StoreNames } from '../aws/provision';
import type { LocalCredentials } from '../aws/request-guard';

export const DEFAULT_DATA_DIR = '.local';

export const LOCAL_TABLE_NAMES = {
  executions: 'product-live-executions',
  state: 'product-live-sync-state',
  idempotency: 'product-live-launch-idempotency',
} as const;

const LOCAL_BUCKET_NAME = 'product-live-files';
export const LOCAL_LAKE_BUCKET_NAME = 'product-live-lake';
/** Objects created here launch jobs by the rules of `npm start -- --inbox`; `npm run launch -- --file` puts files here. */
const LOCAL_INBOX_BUCKET_NAME = 'product-live-inbox';

const LOCAL_QUEUE_NAMES = { launch: 'product-live-launch', dlq: 'product-live-launch-dlq' } as const;

/** The store of `npm start`, under fixed names so that the other local CLIs find it. */
export const LOCAL_STORE_NAMES: StoreNames = {
  executionsTable: LOCAL_TABLE_NAMES.executions,
  stateTable: LOCAL_TABLE_NAMES.state,
  idempotencyTable: LOCAL_TABLE_NAMES.idempotency,
  filesBucket: LOCAL_BUCKET_NAME,
  lakeBucket: LOCAL_LAKE_BUCKET_NAME,
  launchQueue: LOCAL_QUEUE_NAMES.launch,
  launchDeadLetterQueue: LOCAL_QUEUE_NAMES.dlq,
  inboxBucket: LOCAL_INBOX_BUCKET_NAME,
};

/** Fixed default ports, so that people (and their AWS CLI) find the running stack's servers without flags. */
export const DEFAULT_LOCAL_PORTS = { emulator: 4010, dynamodb: 8000, s3: 4569, sqs: 9324 } as const;

/** The dashboard's default port (`npm start` and `npm run dashboard`). */
export const DEFAULT_DASHBOARD_PORT = 4000;

/** Written by `npm start` into the data directory while it runs; removed when it stops. */
export const STACK_STATE_FILE = 'stack.json';

export interface LocalStackState {
  pid: number;
  startedAt: string;
  region: string;
  endpoints: { dynamodb: string; s3: string; sqs: string; productLive: string };
  /** The credentials this run's local servers answer (generated at start; the file is readable by its owner only). */
  credentials: LocalCredentials;
  tables: typeof LOCAL_TABLE_NAMES;
  bucket: string;
  /** The lake bucket (older stack.json files, written before the lake existed, lack it). */
  lakeBucket?: string;
  /** The inbox bucket (older stack.json files lack it). */
  inboxBucket?: string;
  queues: { launchUrl: string; dlqUrl: string };
  /** True when the API is the built-in emulator, whose key is its public default (older files lack it). */
  emulator?: boolean;
  /**
   * How this stack runs the sync (older files lack it): every `everyMs` (null: one run, `--once`), with the audit
   * interval and lease of its configuration. `npm run doctor` judges the last run's age by them.
   */
  sync?: { everyMs: number | null; auditIntervalMs: number; leaseMs: number };
}

/** The running local stack of this data directory, or undefined when none is running. */
export async function readRunningStack(
  dataDir: string = DEFAULT_DATA_DIR,
): Promise<LocalStackState | undefined> {
  let state: LocalStackState;
  try {
    state = JSON.parse(await readFile(join(resolve(dataDir), STACK_STATE_FILE), 'utf8')) as LocalStackState;
  } catch {
    return undefined;
  }
  // A stack.json without credentials was written by an older version, whose servers this one cannot sign for.
  return isAlive(state.pid) && state.credentials?.accessKeyId ? state : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
