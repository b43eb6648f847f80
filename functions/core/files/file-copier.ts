// Layer flow: sync use case -> this adapter -> HTTPS download (allowed hosts only) streamed into S3 with
// @aws-sdk/lib-storage. Memory stays bounded by the multipart part size, whatever the file size.
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { GetObjectCommand, HeadObjectCommand, NotFound, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { describeError } from '../errors';
import { assertAllowedUrl, type UrlPolicy } from './url-policy';

export interface CopyRequest {
  sourceUrl: string;
  s3Key: string;
  /** Stored as S3 object metadata (never secrets). */
  metadata: Record<string, string>;
}

export interface CopyResult {
  size: number;
  sha256: string;
  contentType: string;
  /** True when a complete object was already in S3 (an earlier run died before recording it). */
  reusedExisting: boolean;
}

/**
 * Why a copy failed, which decides what happens next: `transient` (a reset or truncated download, a timeout,
 * 429, 5xx, an S3 error) is retried; `forbidden` (401/403) is retried once the API key is re-read;
 * `permanent` (404/410, another 4xx, a URL the policy refuses) is not retried.
 */
export type FileCopyFailure = 'transient' | 'forbidden' | 'permanent';

/** A download or upload that did not produce a complete copy. */
export class FileCopyError extends Error {
  override readonly name = 'FileCopyError';
  constructor(
    message: string,
    readonly failure: FileCopyFailure,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** True when retrying cannot help. */
  get permanent(): boolean {
    return this.failure === 'permanent';
  }
}

/** What an HTTP status of a download means for its copy. */
export function failureOfStatus(status: number): FileCopyFailure {
  if (status === 401 || status === 403) return 'forbidden';
  if (status === 408 || status === 425 || status === 429 || status >= 500) return 'transient';
  return 'permanent';
}

export interface FileCopierOptions {
  s3: S3Client;
  bucket: string;
  policy: UrlPolicy;
  /** Sent as X-Api-Key, and only ever to URLs the policy allows. */
  apiKey: string;
  /** Abort a download that receives no byte for this long. */
  idleTimeoutMs: number;
  fetch?: typeof globalThis.fetch;
  /** Multipart part size in bytes (default 8 MiB) and parts in flight (default 2): memory ≈ their product. */
  partSize?: number;
  queueSize?: number;
  maxRedirects?: number;
}

const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

export class FileCopier {
  private readonly fetch: typeof globalThis.fetch;

  constructor(private readonly options: FileCopierOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  /** Copies one file to S3 byte for byte and returns its size, SHA-256 and content type. */
  async copy(request: CopyRequest): Promise<CopyResult> {
    const existing = await this.describeExisting(request.s3Key);
    if (existing) return existing;
    const controller = new AbortController();
    const response = await this.download(request.sourceUrl, controller);
    const expectedLength = expectedBodyLength(response);
    const contentType =
      response.headers.get('content-type')?.split(';')[0]?.trim() || 'application/octet-stream';
    const hash = createHash('sha256');
    let size = 0;
    let idleTimer: NodeJS.Timeout | undefined;
    const armIdleTimer = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(
        () => controller.abort(new Error(`no data received for ${this.options.idleTimeoutMs} ms`)),
        this.options.idleTimeoutMs,
      );
    };
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        armIdleTimer();
        hash.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
      flush(callback) {
        clearTimeout(idleTimer);
        // A connection that closes early must never become a complete S3 object.
        if (expectedLength !== undefined && size !== expectedLength) {
          callback(new Error(`download truncated: received ${size} of ${expectedLength} bytes`));
        } else {
          callback();
        }
      },
    });
    const body = response.body
      ? Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>)
      : Readable.from([]);
    body.on('error', (error) => meter.destroy(error));
    meter.on('error', () => body.destroy());
    armIdleTimer();
    body.pipe(meter);
    const upload = new Upload({
      client: this.options.s3,
      params: {
        Bucket: this.options.bucket,
        Key: request.s3Key,
        Body: meter,
        ContentType: contentType,
        Metadata: request.metadata,
      },
      partSize: this.options.partSize ?? DEFAULT_PART_SIZE,
      queueSize: this.options.queueSize ?? 2,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (error) {
      controller.abort();
      throw new FileCopyError(
        `copy of ${describe(request.sourceUrl)} failed: ${describeError(error)}`,
        'transient',
        {
          cause: error,
        },
      );
    } finally {
      clearTimeout(idleTimer);
    }
    return { size, sha256: hash.digest('hex'), contentType, reusedExisting: false };
  }

  /** GETs the URL, following redirects only to URLs the policy allows. */
  private async download(sourceUrl: string, controller: AbortController): Promise<Response> {
    let url = sourceUrl;
    for (let redirects = 0; ; redirects++) {
      let target: URL;
      try {
        target = assertAllowedUrl(url, this.options.policy);
      } catch (error) {
        throw new FileCopyError((error as Error).message, 'permanent', { cause: error });
      }
      const connectTimer = setTimeout(
        () => controller.abort(new Error(`no response within ${this.options.idleTimeoutMs} ms`)),
        this.options.idleTimeoutMs,
      );
      let response: Response;
      try {
        response = await this.fetch(target, {
          redirect: 'manual',
          signal: controller.signal,
          headers: { 'x-api-key': this.options.apiKey, 'accept-encoding': 'identity', accept: '*/*' },
        });
      } catch (error) {
        throw new FileCopyError(`download of ${describe(url)} failed: ${describeError(error)}`, 'transient', {
          cause: error,
        });
      } finally {
        clearTimeout(connectTimer);
      }
      if (response.status >= 300 && response.status < 400 && response.headers.has('location')) {
        await response.body?.cancel();
        if (redirects >= (this.options.maxRedirects ?? 5)) {
          throw new FileCopyError(`too many redirects from ${describe(sourceUrl)}`, 'permanent');
        }
        url = new URL(response.headers.get('location') ?? '', target).toString();
        continue;
      }
      if (!response.ok) {
        await response.body?.cancel();
        const failure = failureOfStatus(response.status);
        const gone = response.status === 404 || response.status === 410;
        throw new FileCopyError(
          `download of ${describe(url)} answered HTTP ${response.status}${gone ? ' (the file is gone: Product-Live deletes files after 90 days)' : ''}`,
          failure,
        );
      }
      return response;
    }
  }

  /**
   * An object already at the key is a complete copy (uploads are all-or-nothing): hash it from S3 instead
   * of downloading again, so that a re-run never writes a second version.
   */
  private async describeExisting(key: string): Promise<CopyResult | undefined> {
    try {
      await this.options.s3.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: key }));
    } catch (error) {
      if (error instanceof NotFound || (error as { name?: string }).name === 'NotFound') return undefined;
      throw new FileCopyError(`S3 HeadObject ${key} failed: ${describeError(error)}`, 'transient', {
        cause: error,
      });
    }
    const object = await this.options.s3.send(
      new GetObjectCommand({ Bucket: this.options.bucket, Key: key }),
    );
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of object.Body as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      size += chunk.length;
    }
    return {
      size,
      sha256: hash.digest('hex'),
      contentType: object.ContentType ?? 'application/octet-stream',
      reusedExisting: true,
    };
  }
}

function expectedBodyLength(response: Response): number | undefined {
  if (response.headers.has('content-encoding') && response.headers.get('content-encoding') !== 'identity') {
    return undefined;
  }
  const header = response.headers.get('content-length');
  if (header === null || !/^\d+$/.test(header)) return undefined;
  return Number(header);
}

/** A URL for messages: origin and path only (query strings may hold signatures). */
function describe(rawUrl: string): string {
  try {
    const url = new URL(rawUrl);
    return `${url.origin}${url.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}
