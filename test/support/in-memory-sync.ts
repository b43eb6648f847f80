// Test support: in-memory stand-ins for the sync's stores and for a paging Product-Live API, with the same
// semantics as the real ones (conditional writes by rank and fingerprint; offset paging over the order of
// the moment). They let property-based tests run thousands of syncs in seconds.
import { pendingFilesMarker } from '#core/executions/execution-record';
import type { AppLogger } from '#core/observability';
import { ProductLiveApiError, ProductLiveNotFoundError } from '#core/product-live/product-live.errors';
import type { FindQuery, JobExecution, JobExecutionList } from '#core/product-live/product-live.schema';
import type { ExecutionItem, StoredState } from '#core/store/execution-repository';
import type { ApiProfile, AuditState, Checkpoint } from '#core/store/sync-state-repository';
import {
  runSync,
  type SyncApi,
  type SyncExecutionStore,
  type SyncOptions,
  type SyncStateStore,
} from '#functions/sync/run-sync';
import type { SyncSummary } from '#functions/sync/sync-summary';

export class InMemoryExecutionStore implements SyncExecutionStore {
  readonly items = new Map<string, ExecutionItem>();
  writes = 0;

  async get(id: string) {
    return this.items.get(id);
  }

  async getStates(ids: readonly string[]) {
    const states = new Map<string, StoredState>();
    for (const id of ids) {
      const item = this.items.get(id);
      if (item)
        states.set(id, { id, statusRank: item.statusRank, fingerprint: item.fingerprint, files: item.files });
    }
    return states;
  }

  async insertMany(items: readonly ExecutionItem[]) {
    for (const item of items) {
      this.writes += 1;
      this.items.set(item.id, structuredClone(item));
    }
  }

  async upsert(item: ExecutionItem) {
    const stored = this.items.get(item.id);
    const newer =
      !stored ||
      stored.statusRank < item.statusRank ||
      (stored.statusRank === item.statusRank && stored.fingerprint !== item.fingerprint);
    if (!newer) return 'stale' as const;
    this.writes += 1;
    this.items.set(item.id, {
      ...structuredClone(item),
      firstSyncedAt: stored?.firstSyncedAt ?? item.firstSyncedAt,
    });
    return 'written' as const;
  }

  async saveFiles({ id }: Pick<ExecutionItem, 'id' | 'createdAt'>, files: ExecutionItem['files']) {
    const item = this.items.get(id);
    if (!item) throw new Error(`no execution ${id}`);
    this.writes += 1;
    item.files = structuredClone(files);
  }

  async *listOpen() {
    for (const item of [...this.items.values()]) {
      if (item.openFlag)
        yield { id: item.id, status: item.status, createdAt: item.createdAt, syncedAt: item.syncedAt };
    }
  }

  async countSince(sinceIso: string) {
    return [...this.items.values()].filter((item) => item.createdAt >= sinceIso).length;
  }

  async *listFilesDue(nowIso: string) {
    for (const item of [...this.items.values()]) {
      const marker = pendingFilesMarker(item.files);
      if (marker && marker.filesDueAt <= nowIso) yield item;
    }
  }

  async *listFilesFailed() {
    for (const item of [...this.items.values()]) {
      if (item.files.some((file) => file.status === 'failed')) yield item;
    }
  }

  async createdAtRange() {
    const dates = [...this.items.values()].map((item) => item.createdAt).sort();
    const first = dates[0];
    const last = dates.at(-1);
    return first !== undefined && last !== undefined ? { first, last } : undefined;
  }

  async countInRange(fromIso: string, toIso: string) {
    return [...this.items.values()].filter(
      (item) => item.createdAt >= fromIso && item.createdAt < toIso && item.removedFromApiAt === undefined,
    ).length;
  }

  async *idsInRange(fromIso: string, toIso: string) {
    for (const item of [...this.items.values()]) {
      if (item.createdAt >= fromIso && item.createdAt < toIso)
        yield { id: item.id, createdAt: item.createdAt, removedFromApiAt: item.removedFromApiAt };
    }
  }

  async markRemovedFromApi(items: readonly Pick<ExecutionItem, 'id' | 'createdAt'>[], atIso: string) {
    let marked = 0;
    for (const { id } of items) {
      const item = this.items.get(id);
      if (!item || item.removedFromApiAt !== undefined) continue;
      item.removedFromApiAt = atIso;
      delete item.openFlag;
      marked += 1;
    }
    return marked;
  }
}

export class InMemoryStateStore implements SyncStateStore {
  checkpoint: Checkpoint | undefined;
  audit: AuditState | undefined;
  profile: ApiProfile | undefined;
  private lease: { owner: string; expiresAt: number } | undefined;

  async getAudit() {
    return this.audit && structuredClone(this.audit);
  }

  async saveAudit(state: AuditState) {
    this.audit = structuredClone(state);
  }

  async getApiProfile() {
    return this.profile && structuredClone(this.profile);
  }

  async saveApiProfile(profile: ApiProfile) {
    this.profile = structuredClone(profile);
  }

  async acquireLease(owner: string, nowMs: number, durationMs: number) {
    if (this.lease && this.lease.expiresAt > nowMs) return false;
    this.lease = { owner, expiresAt: nowMs + durationMs };
    return true;
  }

  async releaseLease(owner: string) {
    if (this.lease?.owner === owner) this.lease = undefined;
  }

  async getCheckpoint() {
    return this.checkpoint && structuredClone(this.checkpoint);
  }

  async saveCheckpoint(checkpoint: Checkpoint) {
    if (
      checkpoint.watermark &&
      this.checkpoint?.watermark &&
      checkpoint.watermark < this.checkpoint.watermark
    ) {
      throw new Error('watermark moved backwards');
    }
    this.checkpoint = structuredClone(checkpoint);
  }
}

/**
 * A Product-Live API over an in-memory list: `order` gives the result order at each request (it may
 * change between requests), `beforeRequest` may add executions, `pageCap` silently caps page sizes.
 */
export class PagingApi implements SyncApi {
  requestCount = 0;
  throttledCount = 0;
  executions: JobExecution[] = [];

  constructor(
    private readonly options: {
      order: (executions: readonly JobExecution[]) => JobExecution[];
      beforeRequest?: (requestIndex: number, api: PagingApi) => void;
      pageCap?: number;
      /** Query types answered with HTTP 400, like an API without that operator. */
      refuse?: readonly FindQuery['type'][];
    },
  ) {}

  async findJobExecutions(query: FindQuery, page: { page: number; size: number }): Promise<JobExecutionList> {
    this.options.beforeRequest?.(this.requestCount, this);
    this.requestCount += 1;
    if (usesAny(query, this.options.refuse ?? [])) {
      // What the Product-Live client throws for a 400 answer.
      throw new ProductLiveApiError({
        method: 'POST',
        path: '/v1/job_executions/find',
        operation: 'find',
        status: 400,
        body: `unsupported query type ${query.type}`,
      });
    }
    const matching = this.options.order(this.executions).filter((execution) => matches(query, execution));
    const size = Math.min(page.size, this.options.pageCap ?? page.size);
    return {
      object: 'list',
      data: structuredClone(matching.slice(page.page * size, (page.page + 1) * size)),
      totalElements: matching.length,
    };
  }

  async getJobExecution(id: string): Promise<JobExecution> {
    this.requestCount += 1;
    const found = this.executions.find((execution) => execution.id === id);
    if (!found) {
      throw new ProductLiveNotFoundError({
        method: 'GET',
        path: `/v1/data_factory/job_executions/${id}`,
        operation: 'get',
        status: 404,
        body: `${id} not found`,
      });
    }
    return structuredClone(found);
  }
}

function matches(query: FindQuery, execution: JobExecution): boolean {
  switch (query.type) {
    case 'in':
      return query.value.includes(execution.id);
    case 'greaterOrEqual':
      return Date.parse(execution.createdAt) >= Date.parse(String(query.value));
    case 'lower':
      return Date.parse(execution.createdAt) < Date.parse(String(query.value));
    case 'or':
      return query.queries.some((part) => matches(part, execution));
    case 'and':
      return query.queries.every((part) => matches(part, execution));
    default:
      throw new Error(`the sync is not expected to send ${query.type}`);
  }
}

/** True when the query, or any part of it, is of one of these types. */
function usesAny(query: FindQuery, types: readonly FindQuery['type'][]): boolean {
  if (types.includes(query.type)) return true;
  return 'queries' in query && query.queries.some((part) => usesAny(part, types));
}

/**
 * One sync run over in-memory stores, with no file to copy and time to spare, at the instant `now`;
 * `options` change the defaults (page size 1000, lookback 10 minutes, an audit a day).
 */
export function syncInMemory(
  api: SyncApi,
  run: { executions: InMemoryExecutionStore; state: InMemoryStateStore; logger: AppLogger; now: number },
  options: Partial<SyncOptions> = {},
): Promise<SyncSummary> {
  return runSync(
    {
      api,
      executions: run.executions,
      state: run.state,
      copier: { copy: () => Promise.reject(new Error('no files here')) },
      now: () => run.now,
      remainingTimeMs: () => 900_000,
      logger: run.logger,
    },
    {
      runId: 'in-memory',
      startDate: '1970-01-01T00:00:00.000Z',
      pageSize: 1000,
      lookbackMs: 600_000,
      timeMarginMs: 60_000,
      leaseMs: 960_000,
      fileCopyConcurrency: 2,
      fileCopyRetryDelayMs: 300_000,
      auditIntervalMs: 86_400_000,
      ...options,
    },
  );
}
