// Layer flow: the execution repository (every write) and the lake use case -> this repository -> the state
// table's `lake-marks` item. A day is marked before an execution of that day is written; the lake rewrites the
// marked days and clears a mark only if nobody marked the day again meanwhile (a conditional REMOVE), so a
// write is never left out of the lake, even across crashes (docs/analytics.md "How the lake stays current").
import { randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

export const LAKE_MARKS_ITEM = 'lake-marks';
/** The marks of the `sync_runs` table's days (the days sync runs started on), apart from the executions' days. */
export const SYNC_RUN_MARKS_ITEM = 'lake-marks-sync-runs';

/** A writer process marks a day at most once in this window (LakeMarks `reuseMs` in the functions). */
export const LAKE_MARK_REUSE_MS = 10_000;

/**
 * The lake clears a day's mark only if the mark is at least this old when the day is read: a write that
 * marked the day within the reuse window, or whose index entry is not visible yet, is then surely in the
 * store. A younger mark is kept, and the day rewritten again by the next lake run.
 */
export const LAKE_SETTLE_MS = 60_000;

/** Marks are written in chunks of this many days (an update expression stays small). */
const DAYS_PER_UPDATE = 50;

/** A mark's value: `<epoch ms>:<random>`, unique per marking, so a re-mark is always seen as a change. */
export type MarkToken = string;

/** When a mark was written (epoch ms). */
export function markedAt(token: MarkToken): number {
  return Number(token.split(':')[0]);
}

/** The state of the lake in the state table. */
export interface LakeMarksState {
  /** Marked days (`YYYY-MM-DD`) and their latest mark. */
  marks: Record<string, MarkToken>;
  /** When every stored day was marked for the first build of the lake; absent until then. */
  initializedAt?: string;
}

/** What writers of executions need: mark the days they are about to write. */
export interface DayMarker {
  mark(days: Iterable<string>): Promise<void>;
}

export interface LakeMarksOptions {
  now?: () => number;
  /**
   * A day marked by this process less than this long ago is not marked again (0: every write marks). The
   * lake clears only marks older than its settle time, which must exceed this (docs: LAKE_SETTLE_MS).
   */
  reuseMs?: number;
  /** The state table item holding the marks (default LAKE_MARKS_ITEM, the executions' days). */
  item?: string;
}

export class LakeMarks implements DayMarker {
  private readonly now: () => number;
  private readonly reuseMs: number;
  private readonly item: string;
  /** Days this process marked, and when (epoch ms). */
  private readonly recent = new Map<string, number>();

  constructor(
    private readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
    options: LakeMarksOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.reuseMs = options.reuseMs ?? 0;
    this.item = options.item ?? LAKE_MARKS_ITEM;
  }

  /** Marks days for the lake (call it before writing their executions). */
  async mark(days: Iterable<string>): Promise<void> {
    const nowMs = this.now();
    const fresh = [...new Set(days)]
      .filter((day) => {
        const last = this.recent.get(day);
        return last === undefined || nowMs - last >= this.reuseMs || nowMs < last;
      })
      .sort();
    if (fresh.length === 0) return;
    const token: MarkToken = `${nowMs}:${randomBytes(4).toString('hex')}`;
    for (let start = 0; start < fresh.length; start += DAYS_PER_UPDATE) {
      await this.setMarks(fresh.slice(start, start + DAYS_PER_UPDATE), token);
    }
    for (const day of fresh) this.recent.set(day, nowMs);
  }

  async read(): Promise<LakeMarksState> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { name: this.item }, ConsistentRead: true }),
    );
    const item = result.Item ?? {};
    return {
      marks: { ...((item.days as Record<string, MarkToken> | undefined) ?? {}) },
      ...(typeof item.initializedAt === 'string' ? { initializedAt: item.initializedAt } : {}),
    };
  }

  /** Clears a day's mark if it is still `token`; false when the day was marked again since (it stays). */
  async clear(day: string, token: MarkToken): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { name: this.item },
          UpdateExpression: 'REMOVE #days.#day',
          ConditionExpression: '#days.#day = :token',
          ExpressionAttributeNames: { '#days': 'days', '#day': day },
          ExpressionAttributeValues: { ':token': token },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Records that every stored day has been marked for the first build. */
  async setInitialized(atIso: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { name: this.item },
        UpdateExpression: 'SET #initializedAt = :at',
        ExpressionAttributeNames: { '#initializedAt': 'initializedAt' },
        ExpressionAttributeValues: { ':at': atIso },
      }),
    );
  }

  private async setMarks(days: readonly string[], token: MarkToken): Promise<void> {
    const names: Record<string, string> = { '#days': 'days' };
    const assignments = days.map((day, index) => {
      names[`#d${index}`] = day;
      return `#days.#d${index} = :token`;
    });
    const update = () =>
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { name: this.item },
          UpdateExpression: `SET ${assignments.join(', ')}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':token': token },
        }),
      );
    try {
      await update();
    } catch (error) {
      // The first mark ever: the map does not exist yet, and a nested path cannot be set in a missing map.
      if (!(error instanceof Error && error.name === 'ValidationException')) throw error;
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { name: this.item },
          UpdateExpression: 'SET #days = if_not_exists(#days, :empty)',
          ExpressionAttributeNames: { '#days': 'days' },
          ExpressionAttributeValues: { ':empty': {} },
        }),
      );
      await update();
    }
  }
}
