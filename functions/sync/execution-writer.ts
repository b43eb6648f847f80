// Layer flow: the open refresh, the window and the audit -> ExecutionWriter -> the execution store (inserts,
// conditional upserts), the files bucket (payloads too large for an item), then the files phase (FileCopies).
// A view is written only if it is newer: a terminal state is never replaced by an open one (docs/sync.md).
import Bottleneck from 'bottleneck/light';
import { settleAll } from '#core/concurrency';
import { MAX_INLINE_RAW_BYTES } from '#core/defaults';
import {
  type ExecutionFields,
  executionS3Prefix,
  type FileCopy,
  mergeFileCopies,
  statusRank,
  toExecutionFields,
} from '#core/executions/execution-record';
import type { JobExecution } from '#core/product-live/product-live.schema';
import type { ExecutionItem, StoredState } from '#core/store/execution-repository';
import type { FileCopies } from './file-copies';
import type { SyncDeps, SyncExecutionStore } from './sync-deps';

/** What became of an execution the run read: the summary counts each execution once, by its best outcome. */
export type Outcome = 'new' | 'updated' | 'unchanged';

/** What to do with a view read from the API, given what the store holds. */
export type WriteDecision = 'insert' | 'update' | 'skip';

export interface ExecutionWriterDeps {
  executions: Pick<SyncExecutionStore, 'getStates' | 'insertMany' | 'upsert'>;
  /** Stores an execution JSON too large for a DynamoDB item under an S3 key. */
  storeLargePayload?: SyncDeps['storeLargePayload'];
  /** The files phase: copies the files of what was written. */
  files: Pick<FileCopies, 'copyWritten'>;
  now: () => number;
}

/** Upserts in flight at once. */
const MAX_CONCURRENT_UPSERTS = 8;

/**
 * The view to keep of each execution of a batch that holds it more than once (pages that overlap): the
 * highest status rank, the later view among equals.
 */
export function latestViews(executions: readonly JobExecution[]): Map<string, JobExecution> {
  const latest = new Map<string, JobExecution>();
  for (const execution of executions) {
    const previous = latest.get(execution.id);
    if (!previous || statusRank(execution.status) >= statusRank(previous.status))
      latest.set(execution.id, execution);
  }
  return latest;
}

/**
 * Whether a view is written: `insert` when the store does not hold the execution; `skip` when the stored
 * view has a higher status rank (a terminal state is not replaced by an open one) or the same rank and the
 * same content; `update` otherwise. An execution marked removed from the API is always written again, which
 * clears the mark.
 */
export function decideWrite(
  view: Pick<ExecutionFields, 'statusRank' | 'fingerprint'>,
  stored: Pick<StoredState, 'statusRank' | 'fingerprint' | 'removedFromApiAt'> | undefined,
): WriteDecision {
  if (!stored) return 'insert';
  if (stored.removedFromApiAt !== undefined) return 'update';
  if (view.statusRank < stored.statusRank) return 'skip';
  if (view.statusRank === stored.statusRank && view.fingerprint === stored.fingerprint) return 'skip';
  return 'update';
}

/** Writes what a run reads from the API, and counts what became of each execution. */
export class ExecutionWriter {
  private readonly outcomes = new Map<string, Outcome>();
  private readonly jobs = new Set<string>();

  constructor(private readonly deps: ExecutionWriterDeps) {}

  /** Executions new, updated and unchanged so far in this run (each counted once). */
  get counts(): Record<Outcome, number> {
    const counts = { new: 0, updated: 0, unchanged: 0 };
    for (const outcome of this.outcomes.values()) counts[outcome] += 1;
    return counts;
  }

  /** The jobs of every execution the run read (new, updated or unchanged): their health is looked at again. */
  get jobIds(): ReadonlySet<string> {
    return this.jobs;
  }

  /**
   * Stores new and changed executions (unchanged ones are not rewritten), then copies their files. Returns
   * how many were new to the store.
   */
  async write(executions: readonly JobExecution[]): Promise<number> {
    const latest = latestViews(executions);
    if (latest.size === 0) return 0;
    for (const execution of latest.values()) this.jobs.add(execution.jobId);
    const stored = await this.deps.executions.getStates([...latest.keys()]);
    const nowIso = new Date(this.deps.now()).toISOString();
    const inserts: ExecutionItem[] = [];
    const updates: ExecutionItem[] = [];
    for (const execution of latest.values()) {
      const fields = toExecutionFields(execution);
      const previous = stored.get(execution.id);
      const decision = decideWrite(fields, previous);
      if (decision === 'skip') {
        this.record(execution.id, 'unchanged');
        continue;
      }
      // Only what will be written goes to S3 when too large: an unchanged execution costs no upload.
      const item = toItem(await this.offloadLargePayload(fields), execution, previous?.files ?? [], nowIso);
      (decision === 'insert' ? inserts : updates).push(item);
    }
    await this.deps.executions.insertMany(inserts);
    for (const item of inserts) this.record(item.id, 'new');
    const limiter = new Bottleneck({ maxConcurrent: MAX_CONCURRENT_UPSERTS });
    await settleAll(
      updates.map((item) =>
        limiter.schedule(async () => {
          const outcome = await this.deps.executions.upsert(item);
          this.record(item.id, outcome === 'written' ? 'updated' : 'unchanged');
        }),
      ),
    );
    await this.deps.files.copyWritten([...inserts, ...updates]);
    return inserts.length;
  }

  private async offloadLargePayload(fields: ExecutionFields): Promise<ExecutionFields> {
    if (Buffer.byteLength(fields.raw) <= MAX_INLINE_RAW_BYTES) return fields;
    if (!this.deps.storeLargePayload) throw new Error(`execution ${fields.id} is too large to store inline`);
    const rawS3Key = `${executionS3Prefix(fields)}/execution.json`;
    await this.deps.storeLargePayload(rawS3Key, fields.raw);
    return { ...fields, raw: '', rawS3Key };
  }

  private record(id: string, outcome: Outcome): void {
    const previous = this.outcomes.get(id);
    const rank = { unchanged: 0, updated: 1, new: 2 } as const;
    if (!previous || rank[outcome] > rank[previous]) this.outcomes.set(id, outcome);
  }
}

function toItem(
  fields: ExecutionFields,
  execution: JobExecution,
  recordedFiles: FileCopy[],
  nowIso: string,
): ExecutionItem {
  return {
    ...fields,
    files: mergeFileCopies(execution, recordedFiles, nowIso),
    firstSyncedAt: nowIso,
    syncedAt: nowIso,
    source: 'sync',
  };
}
