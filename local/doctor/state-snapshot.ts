// Layer flow: the doctor's data checks -> readStateSnapshot -> the state table, read once with GetItem only: the
// sync's checkpoint, its last run's summary, its lease, the audit, the lake's day marks.
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { LakeMarks, type LakeMarksState } from '#core/store/lake-marks';
import {
  type AuditState,
  type Checkpoint,
  type LastRun,
  SyncStateRepository,
} from '#core/store/sync-state-repository';
import type { SyncSummary } from '#functions/sync/sync-summary';

/** The sync's lease item, as the repository writes it (`acquireLease`). */
export interface LeaseItem {
  owner: string;
  acquiredAt: number | null;
  expiresAt: number;
}

export interface StateSnapshot {
  checkpoint: Checkpoint | undefined;
  /** The last run that was not skipped, with its summary (the sync saves it after each run). */
  lastRun: (LastRun & { summary: Partial<SyncSummary> }) | undefined;
  lease: LeaseItem | undefined;
  audit: AuditState | undefined;
  lakeMarks: LakeMarksState;
}

/** Reads what the data checks need from the state table (GetItem only: nothing is written). */
export async function readStateSnapshot(
  client: DynamoDBDocumentClient,
  tableName: string,
): Promise<StateSnapshot> {
  const repository = new SyncStateRepository(client, tableName);
  const [checkpoint, lastRun, lease, audit, lakeMarks] = await Promise.all([
    repository.getCheckpoint(),
    repository.getLastRun(),
    readLease(client, tableName),
    repository.getAudit(),
    new LakeMarks(client, tableName).read(),
  ]);
  return {
    checkpoint,
    lastRun: lastRun as StateSnapshot['lastRun'],
    lease,
    audit,
    lakeMarks,
  };
}

async function readLease(client: DynamoDBDocumentClient, tableName: string): Promise<LeaseItem | undefined> {
  const { Item: item } = await client.send(
    new GetCommand({ TableName: tableName, Key: { name: 'lease' }, ConsistentRead: true }),
  );
  if (!item || typeof item.expiresAt !== 'number') return undefined;
  return {
    owner: String(item.owner ?? ''),
    acquiredAt: typeof item.acquiredAt === 'number' ? item.acquiredAt : null,
    expiresAt: item.expiresAt,
  };
}
