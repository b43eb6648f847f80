// Layer flow: the CDK stack, the local provisioning and the tests -> these definitions -> their tables. One
// definition, so keys and indexes cannot drift; every read is a key lookup or an index Query, never a Scan
// (the access patterns: docs/sync.md "Data model").
import { OPEN_FLAG } from '../executions/execution-record';
import { TERMINAL_STATUSES } from '../product-live/product-live.schema';

export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N';
}

export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey: KeyAttribute;
}

export interface TableDefinition {
  /** Logical name, used for the CDK construct id and local table names. */
  readonly logicalName: string;
  readonly partitionKey: KeyAttribute;
  readonly indexes: readonly IndexDefinition[];
  /** Attribute holding an epoch-seconds expiry, when the table uses DynamoDB TTL. */
  readonly timeToLiveAttribute?: string;
  /** A DynamoDB stream of the table's changes (the events function reads the executions table's). */
  readonly stream?: 'NEW_AND_OLD_IMAGES';
}

const createdAt: KeyAttribute = { name: 'createdAt', type: 'S' };

export const EXECUTION_INDEXES = {
  byJob: 'byJob',
  byStatus: 'byStatus',
  byMonth: 'byMonth',
  byOpen: 'byOpen',
  byFilesDue: 'byFilesDue',
  byFilesFailed: 'byFilesFailed',
} as const;

/** Constant partition values of the two sparse indexes (the domain decides when an item carries them). */
export { FILES_FAILED_FLAG, FILES_PENDING_FLAG, OPEN_FLAG } from '../executions/execution-record';

/** One index partition of the executions table: index name, partition key attribute and value. */
export interface ExecutionPartition {
  readonly index: string;
  readonly key: string;
  readonly value: string;
}

/**
 * Partitions that together hold every execution exactly once, each sorted by createdAt: an execution is
 * either in one of the terminal statuses (index byStatus) or carries the open flag (index byOpen).
 */
export const EVERY_EXECUTION_PARTITIONS: readonly ExecutionPartition[] = [
  ...[...TERMINAL_STATUSES].map((status) => ({
    index: EXECUTION_INDEXES.byStatus,
    key: 'status',
    value: status,
  })),
  { index: EXECUTION_INDEXES.byOpen, key: 'openFlag', value: OPEN_FLAG },
];

export const EXECUTIONS_TABLE: TableDefinition = {
  logicalName: 'Executions',
  partitionKey: { name: 'id', type: 'S' },
  // Every status change becomes an event (functions/events): the old and the new image of each write.
  stream: 'NEW_AND_OLD_IMAGES',
  indexes: [
    { indexName: EXECUTION_INDEXES.byJob, partitionKey: { name: 'jobId', type: 'S' }, sortKey: createdAt },
    {
      indexName: EXECUTION_INDEXES.byStatus,
      partitionKey: { name: 'status', type: 'S' },
      sortKey: createdAt,
    },
    { indexName: EXECUTION_INDEXES.byMonth, partitionKey: { name: 'month', type: 'S' }, sortKey: createdAt },
    {
      indexName: EXECUTION_INDEXES.byOpen,
      partitionKey: { name: 'openFlag', type: 'S' },
      sortKey: createdAt,
    },
    {
      indexName: EXECUTION_INDEXES.byFilesDue,
      partitionKey: { name: 'filesPending', type: 'S' },
      sortKey: { name: 'filesDueAt', type: 'S' },
    },
    {
      indexName: EXECUTION_INDEXES.byFilesFailed,
      partitionKey: { name: 'filesFailed', type: 'S' },
      sortKey: createdAt,
    },
  ],
};

export const STATE_INDEXES = { byKind: 'byKind' } as const;

/**
 * The kinds of the state table's items that come many at a time, listed by the sparse index byKind (partition
 * `kind`, sorted by `sortKey`): one item per sync run (sorted by its start, expiring after its retention) and one
 * health record per job (sorted by job id). The singletons (lease, checkpoint, audit, marks) carry no kind.
 */
export const STATE_ITEM_KINDS = { syncRun: 'sync-run', jobHealth: 'job-health' } as const;

/**
 * Sync checkpoint and lease, and the items of STATE_ITEM_KINDS: the sync runs (each deleted by TTL once its
 * `deleteAfter`, epoch seconds, has passed) and the job health records (docs/health.md "Where it is kept").
 */
export const STATE_TABLE: TableDefinition = {
  logicalName: 'SyncState',
  partitionKey: { name: 'name', type: 'S' },
  indexes: [
    {
      indexName: STATE_INDEXES.byKind,
      partitionKey: { name: 'kind', type: 'S' },
      sortKey: { name: 'sortKey', type: 'S' },
    },
  ],
  timeToLiveAttribute: 'deleteAfter',
};

/** Powertools idempotency records for launches (its default key attribute `id`, TTL `expiration`). */
export const IDEMPOTENCY_TABLE: TableDefinition = {
  logicalName: 'LaunchIdempotency',
  partitionKey: { name: 'id', type: 'S' },
  indexes: [],
  timeToLiveAttribute: 'expiration',
};
