// Layer flow: the sync's health pass (reads all, writes the changed ones), the history CLI, the dashboard and
// `npm run doctor` (through readJobHealth) -> this repository -> the state table's job health records, one per job,
// listed by the sparse index byKind (kind `job-health`, sorted by job id): a Query, never a Scan.
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { JobHealthEventDetail } from '../events/job-health-event';
import type { JobHealthEvaluation } from '../health/evaluate-job-health';
import type { HealthState } from '../health/health-states';
import type { JobRunFacts } from '../health/job-run-facts';
import { STATE_INDEXES, STATE_ITEM_KINDS } from './table-definitions';

/** A job's health as the last evaluation left it, with the facts it was based on. */
export interface JobHealthRecord {
  jobId: string;
  /** What the store says of the job's runs (refreshed when they change). */
  facts: JobRunFacts;
  evaluation: JobHealthEvaluation;
  /** The state before the current one; null until the state first changed. */
  previousState: HealthState | null;
  /** When the current state was entered (found by an evaluation). */
  stateSince: string;
  /** The evaluation that last wrote the record (a re-evaluation that changes nothing writes nothing). */
  evaluatedAt: string;
  /** The instant that evaluation judged as of: the sync's watermark (every run created before it is stored). */
  asOf: string;
  /** When the facts were last read from the job's runs. */
  refreshedAt: string;
  /** The event of the last change while it is not known to be published (the next pass publishes it again). */
  pendingEvent: JobHealthEventDetail | null;
}

/** Where a first evaluation over an existing history is in finding the jobs the store holds. */
export interface JobDiscovery {
  /** The next month to read (`YYYY-MM`, going back in time); null once every month was read. */
  nextMonth: string | null;
  completedAt?: string;
}

/** The last evaluation of every job: when, as of which instant, how many jobs. */
export interface HealthEvaluated {
  evaluatedAt: string;
  asOf: string;
  jobs: number;
}

const DISCOVERY = 'job-health-discovery';
const EVALUATED = 'job-health-evaluated';
const keyOf = (jobId: string) => `${STATE_ITEM_KINDS.jobHealth}#${jobId}`;

/** The job health records in the state table. */
export class JobHealthRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  /** Every job's record, by job id (a Query of the index, page after page). */
  async listAll(): Promise<JobHealthRecord[]> {
    const records: JobHealthRecord[] = [];
    for await (const page of paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        IndexName: STATE_INDEXES.byKind,
        KeyConditionExpression: '#kind = :kind',
        ExpressionAttributeNames: { '#kind': 'kind' },
        ExpressionAttributeValues: { ':kind': STATE_ITEM_KINDS.jobHealth },
      },
    )) {
      for (const item of page.Items ?? []) records.push(toRecord(item));
    }
    return records;
  }

  /** One job's record (strongly consistent), or undefined for a job never evaluated. */
  async get(jobId: string): Promise<JobHealthRecord | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { name: keyOf(jobId) }, ConsistentRead: true }),
    );
    return result.Item ? toRecord(result.Item) : undefined;
  }

  async put(record: JobHealthRecord): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...record,
          name: keyOf(record.jobId),
          kind: STATE_ITEM_KINDS.jobHealth,
          sortKey: record.jobId,
        },
      }),
    );
  }

  /** Forgets the pending event once published, unless a newer change replaced it meanwhile. */
  async clearPendingEvent(jobId: string, eventId: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { name: keyOf(jobId) },
          UpdateExpression: 'SET #pending = :null',
          ConditionExpression: '#pending.#eventId = :eventId',
          ExpressionAttributeNames: { '#pending': 'pendingEvent', '#eventId': 'eventId' },
          ExpressionAttributeValues: { ':null': null, ':eventId': eventId },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** Where the discovery of the stored jobs stands (undefined before the first evaluation). */
  async getDiscovery(): Promise<JobDiscovery | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { name: DISCOVERY }, ConsistentRead: true }),
    );
    if (!result.Item) return undefined;
    const { name: _name, ...discovery } = result.Item;
    return discovery as JobDiscovery;
  }

  async saveDiscovery(discovery: JobDiscovery): Promise<void> {
    await this.client.send(
      new PutCommand({ TableName: this.tableName, Item: { ...discovery, name: DISCOVERY } }),
    );
  }

  /** When every job was last evaluated (undefined before the first evaluation). */
  async getEvaluated(): Promise<HealthEvaluated | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { name: EVALUATED }, ConsistentRead: true }),
    );
    if (!result.Item) return undefined;
    const { name: _name, ...evaluated } = result.Item;
    return evaluated as HealthEvaluated;
  }

  async saveEvaluated(evaluated: HealthEvaluated): Promise<void> {
    await this.client.send(
      new PutCommand({ TableName: this.tableName, Item: { ...evaluated, name: EVALUATED } }),
    );
  }
}

function toRecord(item: Record<string, unknown>): JobHealthRecord {
  const { name: _name, kind: _kind, sortKey: _sortKey, ...record } = item;
  return record as unknown as JobHealthRecord;
}
