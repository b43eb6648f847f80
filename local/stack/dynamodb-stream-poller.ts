// Layer flow: local stack -> this reader -> DynamoDB Local's stream of a table (DescribeStream, GetShardIterator,
// GetRecords) -> the events handler. It plays the part of Lambda's DynamoDB event source mapping: records of a
// shard in order, parents before children, batches as stream event records, and partial batch responses (a
// batch is delivered again from its first failed record). Where it stopped is kept in a checkpoint file, so a
// restart of `npm start` neither loses nor repeats what was published.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type Shard,
  type _Record as StreamRecord,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

export interface StreamPollerOptions {
  dynamodb: DynamoDBClient;
  streams: DynamoDBStreamsClient;
  tableName: string;
  region: string;
  /** Where the reader keeps, per shard, the last record handled. */
  checkpointFile: string;
  invoke: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | undefined>;
  /** Records per batch (Lambda's default for streams is 100). */
  batchSize?: number;
  /** Passes over a failing batch within one drain before it gives up (default 5). */
  maxAttempts?: number;
  /** Told about anything that went wrong (a failed batch, a trimmed stream). */
  onProblem?: (message: string) => void;
}

/** Records that could not be handled: drain() names how many are still to deliver. */
class StreamDrainError extends Error {
  override readonly name = 'StreamDrainError';
}

interface ShardCheckpoint {
  /** The last record handled. */
  sequence?: string;
  /** The shard is closed and every record of it was handled. */
  finished?: boolean;
}

interface Checkpoint {
  streamArn: string;
  shards: Record<string, ShardCheckpoint>;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class DynamoDBStreamPoller {
  private checkpoint: Checkpoint | undefined;
  private draining: Promise<number> = Promise.resolve(0);
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: StreamPollerOptions) {}

  /**
   * Delivers every record in the stream that was not handled yet, in order, and resolves with how many were
   * handled. Calls are serialized. Throws StreamDrainError when a batch still fails after maxAttempts passes:
   * its records stay in the stream (and the checkpoint before them) for the next drain.
   */
  drain(): Promise<number> {
    const next = this.draining.catch(() => 0).then(() => this.drainNow());
    this.draining = next;
    return next;
  }

  /** Drains every `intervalMs` until stop(); problems go to onProblem. */
  start(intervalMs = 1_000): void {
    if (this.timer || this.stopped) return;
    const tick = () => {
      this.drain()
        .catch((error: Error) => this.options.onProblem?.(error.message))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, intervalMs);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.draining.catch(() => undefined);
  }

  private async drainNow(): Promise<number> {
    const streamArn = await this.streamArn();
    const checkpoint = await this.loadCheckpoint(streamArn);
    const maxAttempts = this.options.maxAttempts ?? 5;
    let handled = 0;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.pass(streamArn, checkpoint);
      handled += outcome.handled;
      if (outcome.failing === 0) return handled;
      if (attempt >= maxAttempts) {
        throw new StreamDrainError(
          `${outcome.failing} stream record(s) of ${this.options.tableName} not handled after ${attempt} tries ` +
            `(${outcome.reason}); they are delivered again on the next drain`,
        );
      }
      await realSleep(100 * 2 ** (attempt - 1));
    }
  }

  /** One pass over every shard, parents first; stops a shard at its first failing batch. */
  private async pass(
    streamArn: string,
    checkpoint: Checkpoint,
  ): Promise<{ handled: number; failing: number; reason?: string }> {
    let handled = 0;
    const shards = await this.shards(streamArn);
    const known = new Set(shards.map((shard) => shard.ShardId));
    const done = (id: string | undefined) =>
      !id || !known.has(id) || checkpoint.shards[id]?.finished === true;
    const pending = shards.filter((shard) => !checkpoint.shards[shard.ShardId as string]?.finished);
    // Parents before children: a child is read once its parent is finished (or trimmed away).
    for (let progress = true; progress; ) {
      progress = false;
      for (const shard of pending) {
        const id = shard.ShardId as string;
        if (checkpoint.shards[id]?.finished || !done(shard.ParentShardId)) continue;
        const outcome = await this.readShard(streamArn, id, checkpoint);
        handled += outcome.handled;
        if (outcome.failing > 0) return { handled, failing: outcome.failing, reason: outcome.reason };
        if (checkpoint.shards[id]?.finished) progress = true;
      }
    }
    return { handled, failing: 0 };
  }

  /** Reads a shard to its current end (or, if closed, to its end for good). */
  private async readShard(
    streamArn: string,
    shardId: string,
    checkpoint: Checkpoint,
  ): Promise<{ handled: number; failing: number; reason?: string }> {
    const { streams } = this.options;
    let iterator: string | undefined = await this.iteratorFor(streamArn, shardId, checkpoint);
    let handled = 0;
    while (iterator) {
      let page: { Records?: StreamRecord[]; NextShardIterator?: string };
      try {
        page = await streams.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: this.options.batchSize ?? 100 }),
        );
      } catch (error) {
        if (!(error instanceof ExpiredIteratorException)) throw error;
        iterator = await this.iteratorFor(streamArn, shardId, checkpoint);
        continue;
      }
      const records = page.Records ?? [];
      if (records.length > 0) {
        const outcome = await this.deliver(streamArn, records);
        handled += outcome.handled;
        const last = outcome.handled > 0 ? records[outcome.handled - 1]?.dynamodb?.SequenceNumber : undefined;
        if (last) await this.saveCheckpoint(checkpoint, shardId, { sequence: last });
        if (outcome.failing > 0) return { handled, failing: outcome.failing, reason: outcome.reason };
      }
      if (!page.NextShardIterator) {
        await this.saveCheckpoint(checkpoint, shardId, { finished: true });
        return { handled, failing: 0 };
      }
      // An open shard with nothing more to read: caught up.
      if (records.length === 0) return { handled, failing: 0 };
      iterator = page.NextShardIterator;
    }
    return { handled, failing: 0 };
  }

  /** Invokes the handler with one batch; returns how many leading records it handled. */
  private async deliver(
    streamArn: string,
    records: StreamRecord[],
  ): Promise<{ handled: number; failing: number; reason?: string }> {
    const event: DynamoDBStreamEvent = {
      Records: records.map((record) => toLambdaRecord(record, streamArn, this.options.region)),
    };
    let response: DynamoDBBatchResponse | undefined;
    try {
      response = await this.options.invoke(event);
    } catch (error) {
      const reason = `the handler failed: ${(error as Error).message}`;
      this.options.onProblem?.(reason);
      return { handled: 0, failing: records.length, reason };
    }
    const failures = response?.batchItemFailures ?? [];
    if (failures.length === 0) return { handled: records.length, failing: 0 };
    // Lambda's rule: the batch is delivered again from the lowest failed sequence number on.
    const failed = new Set(failures.map((failure) => failure.itemIdentifier));
    const first = records.findIndex((record) => failed.has(record.dynamodb?.SequenceNumber ?? ''));
    const handled = Math.max(first, 0);
    const reason = `the handler reported ${failures.length} failed record(s)`;
    this.options.onProblem?.(reason);
    return { handled, failing: records.length - handled, reason };
  }

  private async iteratorFor(
    streamArn: string,
    shardId: string,
    checkpoint: Checkpoint,
  ): Promise<string | undefined> {
    const sequence = checkpoint.shards[shardId]?.sequence;
    const request = sequence
      ? {
          StreamArn: streamArn,
          ShardId: shardId,
          ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' as const,
          SequenceNumber: sequence,
        }
      : { StreamArn: streamArn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' as const };
    try {
      return (await this.options.streams.send(new GetShardIteratorCommand(request))).ShardIterator;
    } catch (error) {
      if (!(error instanceof TrimmedDataAccessException) || !sequence) throw error;
      // The stream kept the records for 24 hours; what was written while the stack was stopped for longer
      // is gone from it (the table still has it).
      this.options.onProblem?.(
        `the stream of ${this.options.tableName} no longer holds the records after the checkpoint ` +
          '(the stack was stopped for more than a day); reading from the oldest record it holds',
      );
      return (
        await this.options.streams.send(
          new GetShardIteratorCommand({
            StreamArn: streamArn,
            ShardId: shardId,
            ShardIteratorType: 'TRIM_HORIZON',
          }),
        )
      ).ShardIterator;
    }
  }

  private async streamArn(): Promise<string> {
    const table = await this.options.dynamodb.send(
      new DescribeTableCommand({ TableName: this.options.tableName }),
    );
    const arn = table.Table?.LatestStreamArn;
    if (!arn || !table.Table?.StreamSpecification?.StreamEnabled) {
      throw new StreamDrainError(`table ${this.options.tableName} has no stream enabled`);
    }
    return arn;
  }

  /** Every shard of the stream (DescribeStream pages by the last shard id). */
  private async shards(streamArn: string): Promise<Shard[]> {
    const shards: Shard[] = [];
    let exclusiveStartShardId: string | undefined;
    do {
      const page = await this.options.streams.send(
        new DescribeStreamCommand({
          StreamArn: streamArn,
          ...(exclusiveStartShardId ? { ExclusiveStartShardId: exclusiveStartShardId } : {}),
        }),
      );
      shards.push(...(page.StreamDescription?.Shards ?? []));
      exclusiveStartShardId = page.StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId);
    return shards.filter((shard) => shard.ShardId);
  }

  private async loadCheckpoint(streamArn: string): Promise<Checkpoint> {
    if (this.checkpoint?.streamArn === streamArn) return this.checkpoint;
    let stored: Checkpoint | undefined;
    try {
      stored = JSON.parse(await readFile(this.options.checkpointFile, 'utf8')) as Checkpoint;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.options.onProblem?.(
          `${this.options.checkpointFile} is unreadable (${(error as Error).message}); reading the stream from its oldest record`,
        );
      }
    }
    // A recreated table has a new stream: its records are all new.
    this.checkpoint =
      stored?.streamArn === streamArn && typeof stored.shards === 'object' && stored.shards
        ? stored
        : { streamArn, shards: {} };
    return this.checkpoint;
  }

  /** Written to a temporary file and renamed, so that a crash leaves the old or the new checkpoint. */
  private async saveCheckpoint(
    checkpoint: Checkpoint,
    shardId: string,
    update: ShardCheckpoint,
  ): Promise<void> {
    checkpoint.shards[shardId] = { ...checkpoint.shards[shardId], ...update };
    const temporary = `${this.options.checkpointFile}.tmp`;
    await writeFile(temporary, `${JSON.stringify(checkpoint, null, 2)}\n`);
    await rename(temporary, this.options.checkpointFile);
  }
}

/** A Streams API record as Lambda's event source mapping hands it to a function. */
function toLambdaRecord(record: StreamRecord, streamArn: string, region: string): DynamoDBRecord {
  const data = record.dynamodb ?? {};
  const created = data.ApproximateCreationDateTime;
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion ?? region,
    eventSourceARN: streamArn,
    dynamodb: {
      ...(created ? { ApproximateCreationDateTime: Math.floor(new Date(created).getTime() / 1000) } : {}),
      Keys: data.Keys as never,
      ...(data.NewImage ? { NewImage: data.NewImage as never } : {}),
      ...(data.OldImage ? { OldImage: data.OldImage as never } : {}),
      SequenceNumber: data.SequenceNumber,
      SizeBytes: data.SizeBytes,
      StreamViewType: data.StreamViewType,
    },
  } as DynamoDBRecord;
}
