// Layer flow: the local stack (npm start) -> InboxPoller -> the local S3's inbox bucket (listed every few seconds:
// s3rver sends no notifications) -> for each object created or rewritten since, the "Object Created" event S3
// would send through EventBridge, key URL-encoded as S3 writes it -> the local launch queue, where the launch
// function reads it as in AWS. What was seen is kept in the data directory, so a restart relaunches nothing.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { type _Object, ListObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { RESERVED_INBOX_PREFIX } from '#core/inbox-rules';
import { encodeEventKey } from '#functions/launch/inbox';

/** Where the poller records the objects it has announced (`<data-dir>/inbox-seen.json`). */
export const INBOX_SEEN_FILE = 'inbox-seen.json';

export interface InboxPollerOptions {
  s3: S3Client;
  sqs: SQSClient;
  bucket: string;
  queueUrl: string;
  region: string;
  accountId: string;
  /** The file of what was seen (persisted between runs). */
  seenFile: string;
  intervalMs?: number;
  /** Told each object announced, and each failure (a failed pass is retried by the next one). */
  onAnnounced?: (key: string) => void;
  onProblem?: (message: string) => void;
}

/** Announces the inbox's new objects to the launch queue, as S3 and EventBridge do in AWS. */
export class InboxPoller {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private seen: Record<string, string> | undefined;
  private stopped = false;

  constructor(private readonly options: InboxPollerOptions) {}

  start(): void {
    this.stopped = false;
    const tick = () => {
      this.running = this.poll()
        .then(() => undefined)
        .catch((error: unknown) =>
          this.options.onProblem?.(`inbox: ${(error as Error).message ?? String(error)}`),
        )
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.options.intervalMs ?? 2_000);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass: every object whose version (ETag and time) was not announced yet is announced once. */
  async poll(): Promise<number> {
    this.seen ??= await readSeen(this.options.seenFile);
    let announced = 0;
    for await (const object of listAll(this.options.s3, this.options.bucket)) {
      const key = object.Key ?? '';
      if (!key || key.startsWith(RESERVED_INBOX_PREFIX) || key.endsWith('/')) continue;
      const version = `${object.ETag ?? ''}@${object.LastModified?.toISOString() ?? ''}`;
      if (this.seen[key] === version) continue;
      await this.options.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.options.queueUrl,
          MessageBody: JSON.stringify(this.objectCreated(key, object)),
        }),
      );
      this.seen[key] = version;
      await writeSeen(this.options.seenFile, this.seen);
      this.options.onAnnounced?.(key);
      announced += 1;
    }
    return announced;
  }

  /** The event S3 sends EventBridge for a new object (versionless, as s3rver is: ETag and a sequencer instead). */
  private objectCreated(key: string, object: _Object): Record<string, unknown> {
    const time = object.LastModified ?? new Date();
    return {
      version: '0',
      id: crypto.randomUUID(),
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: this.options.accountId,
      time: time.toISOString(),
      region: this.options.region,
      resources: [`arn:aws:s3:::${this.options.bucket}`],
      detail: {
        version: '0',
        bucket: { name: this.options.bucket },
        object: {
          key: encodeEventKey(key),
          size: object.Size ?? 0,
          etag: (object.ETag ?? '').replaceAll('"', ''),
          sequencer: time.getTime().toString(16).toUpperCase().padStart(16, '0'),
        },
        'request-id': 'local',
        requester: this.options.accountId,
        reason: 'PutObject',
      },
    };
  }
}

/** Every object of the bucket (ListObjects v1, paged by marker: s3rver's V2 fails beyond 1,000 objects). */
async function* listAll(s3: S3Client, bucket: string): AsyncGenerator<_Object> {
  let marker: string | undefined;
  for (;;) {
    const page = await s3.send(
      new ListObjectsCommand({ Bucket: bucket, ...(marker ? { Marker: marker } : {}) }),
    );
    const objects = page.Contents ?? [];
    yield* objects;
    if (!page.IsTruncated || objects.length === 0) return;
    marker = page.NextMarker ?? objects.at(-1)?.Key;
  }
}

async function readSeen(file: string): Promise<Record<string, string>> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, string>) : {};
  } catch {
    return {};
  }
}

async function writeSeen(file: string, seen: Record<string, string>): Promise<void> {
  const partial = `${file}.${process.pid}.partial`;
  await writeFile(partial, `${JSON.stringify(seen)}\n`);
  await rename(partial, file);
}
