// Layer flow: `npm run launch -- --wait` -> waitForResult -> the local store (opened as every command opens it):
// the request's attempt marker in the idempotency table (the execution it started, or why it was refused),
// then the execution's item until it has ended and every file of it is settled. Read-only.

import { isTerminalStatus } from '#core/product-live/product-live.schema';
import type { ExecutionItem } from '#core/store/execution-repository';
import { LaunchAttemptRepository } from '#functions/launch/launch-attempt-repository';
import { openStore } from '../store/open-store';
import { SetupError } from './cli-runner';

/** What `--wait` reports (with `--json`, exactly this object). */
export interface WaitResult {
  /** completed: the execution COMPLETED; failed: it ended otherwise; refused: dead-lettered; timeout: neither yet. */
  outcome: 'completed' | 'failed' | 'refused' | 'timeout';
  executionId: string | null;
  status: string | null;
  /** endedAt − startedAt, when both are known. */
  durationMs: number | null;
  /** The execution's output as the API returned it. */
  output: unknown;
  /** Every file of the execution and its copy (input files and output files, by their path). */
  files: Array<{ path: string; s3Key: string; size: number | null; sha256: string | null; status: string }>;
  /** Why the request was refused (its DLQ FailureReason), or what the timeout was waiting for. */
  reason: string | null;
}

/** The exit code of each outcome (`npm run launch` documents them). */
export const WAIT_EXIT_CODES: Readonly<Record<WaitResult['outcome'], number>> = {
  completed: 0,
  failed: 1,
  refused: 1,
  timeout: 3,
};

const POLL_MS = 500;

/**
 * Waits for the result of the request keyed `key` (sent as `messageId`): refused, or its execution ended with
 * every file copied or failed for good (so that whatever the result names can be read at once).
 */
export async function waitForResult(options: {
  dataDir: string;
  key: string;
  messageId: string;
  timeoutMs: number;
  env: Record<string, string | undefined>;
  sleep?: (ms: number) => Promise<void>;
}): Promise<WaitResult> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = Date.now() + options.timeoutMs;
  const store = await openStore({ kind: 'local', dataDir: options.dataDir }, { env: options.env });
  try {
    const { idempotencyTable, executionsTable } = store.names;
    if (!idempotencyTable || !executionsTable)
      throw new SetupError('the local store lacks its launch tables');
    const markers = new LaunchAttemptRepository(store.doc, idempotencyTable, { ttlSeconds: 1 });
    const reader = store.reader();
    let executionId: string | undefined;
    let last: ExecutionItem | undefined;
    while (Date.now() < deadline) {
      if (executionId === undefined) {
        const decided = await decisionOf(markers, options.key, options.messageId);
        if (decided?.outcome === 'refused') return { ...empty(), outcome: 'refused', reason: decided.reason };
        executionId = decided?.executionId;
      }
      if (executionId !== undefined) {
        last = await reader.get(executionId);
        if (last && isTerminalStatus(last.status) && last.files.every((file) => file.status !== 'pending')) {
          return resultOf(last, await reader.apiObject(last));
        }
      }
      await sleep(POLL_MS);
    }
    return {
      ...(last ? resultOf(last, undefined) : empty()),
      ...(executionId ? { executionId } : {}),
      outcome: 'timeout',
      reason: executionId
        ? `execution ${executionId} is ${last?.status ?? 'not stored yet'}${last && isTerminalStatus(last.status) ? ' (files still being copied)' : ''}`
        : 'the launcher has not taken the request yet',
    };
  } finally {
    await store.close();
  }
}

/**
 * What the launcher decided for this message, once it has: refused, or the execution it started or repeated.
 * The key's marker speaks for this message only when it names it; a key first used by another message (a
 * repeat, or a key reused for another request) waits for the record under `messageId:<id>`.
 */
async function decisionOf(
  markers: LaunchAttemptRepository,
  key: string,
  messageId: string,
): Promise<{ outcome: 'refused'; reason: string } | { outcome: 'started'; executionId: string } | undefined> {
  const own = await markers.read(`messageId:${messageId}`);
  const marker = own?.messageId === messageId ? own : await markers.read(key);
  if (marker?.messageId !== messageId) return undefined;
  if (marker.outcome === 'refused') return { outcome: 'refused', reason: marker.reason ?? 'refused' };
  return marker.executionId ? { outcome: 'started', executionId: marker.executionId } : undefined;
}

function empty(): Omit<WaitResult, 'outcome'> {
  return { executionId: null, status: null, durationMs: null, output: null, files: [], reason: null };
}

function resultOf(item: ExecutionItem, api: Record<string, unknown> | undefined): WaitResult {
  return {
    outcome: item.status === 'COMPLETED' ? 'completed' : 'failed',
    executionId: item.id,
    status: item.status,
    durationMs: item.durationMs ?? null,
    output: api?.output ?? null,
    files: item.files.map((file) => ({
      path: file.path,
      s3Key: file.s3Key,
      size: file.size ?? null,
      sha256: file.sha256 ?? null,
      status: file.status,
    })),
    reason: null,
  };
}

/** The result for people: one line of outcome, then each file's copy. */
export function renderWaitResult(result: WaitResult): string {
  const lines: string[] = [];
  if (result.outcome === 'refused') {
    lines.push(`refused: ${result.reason}`);
  } else if (result.outcome === 'timeout') {
    lines.push(`no result yet: ${result.reason}`);
  } else {
    const duration = result.durationMs === null ? '' : ` in ${(result.durationMs / 1000).toFixed(1)} s`;
    lines.push(`${result.outcome}: execution ${result.executionId} ended ${result.status}${duration}`);
  }
  for (const file of result.files) {
    const size = file.size === null ? '' : `${file.size} bytes`;
    lines.push(`  ${file.path}  ${file.status}  ${file.s3Key}  ${size}  ${file.sha256 ?? ''}`.trimEnd());
  }
  return `${lines.join('\n')}\n`;
}
