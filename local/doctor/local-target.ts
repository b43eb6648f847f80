// Layer flow: runDoctor (a data directory) -> createLocalContext -> its stack.json (is `npm start` running on it,
// how it runs the sync), the store opened as `npm run history` opens it (the running stack's servers, else DynamoDB
// Local started on the directory), and the Product-Live API and key to try. Nothing here writes.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ENV_VARIABLES } from '#core/config';
import { DEFAULT_API_KEY } from '../emulator/emulator-options';
import { type LocalStackState, STACK_STATE_FILE } from '../stack/local-stack-settings';
import { openStore, type Store } from '../store/open-store';
import type { DoctorContext, DoctorOptions, FixCommands, SyncCadence } from './doctor-context';
import { storeJobHealth, storeSyncRuns } from './health-sources';
import { memo } from './memo';
import { NotCheckedError } from './not-checked';
import { readStateSnapshot } from './state-snapshot';

/** The data directory's stack.json, and what it says about `npm start`. */
export type StackFile =
  | { status: 'running'; state: LocalStackState }
  /** stack.json is left by a process that is gone (killed before it could remove it). */
  | { status: 'stale'; pid: number; startedAt: string | null }
  /** A live process wrote it, but an older version, without the credentials this one signs with. */
  | { status: 'unusable'; pid: number }
  | { status: 'absent' };

/** The API and key the key's check tries, or why it tries none. */
export type LocalApiTarget =
  | { url: string; key: string; keySource: string; keyKind: GivenKey['kind'] | 'emulator' }
  | { url: string | undefined; key: undefined; reason: string; fix: string };

/** Where the key given to `npm run doctor` came from (local/cli/api-key-option.ts). */
export interface GivenKey {
  key: string;
  kind: 'file' | 'env';
  /** `--api-key-file PATH` or `PRODUCT_LIVE_API_KEY`, for messages (never the key). */
  source: string;
}

export interface LocalTarget {
  readonly kind: 'local';
  readonly dataDir: string;
  readonly stackFile: StackFile;
  readonly api: LocalApiTarget;
  /** The store, opened once; rejects with the reason it cannot be opened (local.data-dir reports it). */
  openStore(): Promise<Store>;
}

export interface LocalContextOptions {
  dataDir: string;
  options: DoctorOptions;
  /** `--api-url` (or PRODUCT_LIVE_API_URL): the API whose key to try instead of the running stack's. */
  apiUrl: string | undefined;
  /** `--api-key-file` or PRODUCT_LIVE_API_KEY. */
  key: GivenKey | undefined;
  env: Record<string, string | undefined>;
  note?: (message: string) => void;
  now?: () => number;
  fetch?: DoctorContext['fetch'];
}

/** A context over a data directory, whether or not `npm start` runs on it. */
export async function createLocalContext(
  input: LocalContextOptions,
): Promise<DoctorContext & { close(): Promise<void> }> {
  const stackFile = await readStackFile(input.dataDir);
  const running = stackFile.status === 'running' ? stackFile.state : undefined;
  let opened: Store | undefined;
  const open = memo(async () => {
    opened = await openStore(
      { kind: 'local', dataDir: input.dataDir },
      { env: input.env, ...(input.note ? { note: input.note } : {}) },
    );
    return opened;
  });
  const target: LocalTarget = {
    kind: 'local',
    dataDir: input.dataDir,
    stackFile,
    api: resolveLocalApi({ apiUrl: input.apiUrl, key: input.key, stack: running }),
    openStore: open,
  };
  const store = async () => {
    try {
      return await open();
    } catch {
      throw new NotCheckedError(
        `the local store in ${input.dataDir} could not be opened (see local.data-dir)`,
        'fix what local.data-dir says first',
      );
    }
  };
  const state = memo(async () => {
    const opened = await store();
    const table = opened.names.stateTable;
    if (!table) throw new NotCheckedError('the store has no state table', 'see local.data-dir');
    return readStateSnapshot(opened.doc, table);
  });
  return {
    target,
    options: input.options,
    fixes: localFixes(input.dataDir, running !== undefined),
    now: input.now ?? Date.now,
    store,
    state,
    cadence: async () => localCadence(running),
    syncRuns: storeSyncRuns(store),
    jobHealth: storeJobHealth(store),
    ...(input.fetch ? { fetch: input.fetch } : {}),
    close: async () => {
      await opened?.close();
    },
  };
}

/** What stack.json in the data directory says (read-only: a stale file is reported, never removed). */
export async function readStackFile(dataDir: string): Promise<StackFile> {
  let state: Partial<LocalStackState>;
  try {
    state = JSON.parse(await readFile(join(resolve(dataDir), STACK_STATE_FILE), 'utf8')) as LocalStackState;
  } catch {
    return { status: 'absent' };
  }
  const pid = typeof state.pid === 'number' ? state.pid : 0;
  if (pid <= 0 || !isAlive(pid)) return { status: 'stale', pid, startedAt: state.startedAt ?? null };
  if (!state.credentials?.accessKeyId) return { status: 'unusable', pid };
  return { status: 'running', state: state as LocalStackState };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The API and key to try: `--api-url` (or PRODUCT_LIVE_API_URL) with the key given, else the running stack's API,
 * with the key given or, when that API is the built-in emulator, the emulator's public key.
 */
export function resolveLocalApi(input: {
  apiUrl: string | undefined;
  key: GivenKey | undefined;
  stack: LocalStackState | undefined;
}): LocalApiTarget {
  const url = input.apiUrl ?? input.stack?.endpoints.productLive;
  if (url === undefined) {
    return {
      url,
      key: undefined,
      reason: 'no local stack runs and no --api-url was given',
      fix: 'to check a key: npm run doctor -- --api-url URL --api-key-file PATH (or PRODUCT_LIVE_API_KEY)',
    };
  }
  if (input.key) return { url, key: input.key.key, keySource: input.key.source, keyKind: input.key.kind };
  if (input.apiUrl === undefined && input.stack?.emulator) {
    return { url, key: DEFAULT_API_KEY, keySource: "the emulator's own key", keyKind: 'emulator' };
  }
  return {
    url,
    key: undefined,
    reason: `the key for ${url} was not given`,
    fix: 'pass --api-key-file PATH (or set PRODUCT_LIVE_API_KEY) with the key npm start was given',
  };
}

/** The sync's cadence of a running stack (stack.json); a stopped one runs nothing, and its ages are not judged. */
export function localCadence(stack: LocalStackState | undefined): SyncCadence {
  const defaults = {
    leaseMs: Number(ENV_VARIABLES.SYNC_LEASE_SECONDS.defaultValue) * 1000,
    auditIntervalMs: Number(ENV_VARIABLES.SYNC_AUDIT_INTERVAL_SECONDS.defaultValue) * 1000,
  };
  const everyMs = stack?.sync?.everyMs ?? null;
  return {
    scheduled: stack !== undefined && everyMs !== null,
    everyMs,
    leaseMs: stack?.sync?.leaseMs ?? defaults.leaseMs,
    auditIntervalMs: stack?.sync?.auditIntervalMs ?? defaults.auditIntervalMs,
    // The lake runs after each sync of npm start.
    lakeEveryMs: everyMs,
    runner: stack
      ? everyMs !== null
        ? `npm start (every ${Math.round(everyMs / 1000)}s)`
        : 'npm start'
      : 'nothing (the local stack is not running)',
  };
}

function localFixes(dataDir: string, running: boolean): FixCommands {
  const storeFlags = `--data-dir ${dataDir}`;
  const stopFirst = running ? 'stop npm start (Ctrl-C), then ' : '';
  return {
    storeFlags,
    syncNow: (request = {}) =>
      `${stopFirst}npm start -- --once${request.audit ? ' --audit' : ''}${request.retryFailedFiles ? ' --retry-failed-files' : ''} ${storeFlags}`,
    syncLogs: 'npm start prints each run (its summary and error; --verbose adds the functions’ logs)',
  };
}
