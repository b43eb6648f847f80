// Layer flow: launchJob -> this adapter -> S3 HeadObject / GetObject of the objects a launch request references.
// HeadObject answers before anything is uploaded (missing, refused, too large: a refusal for good); GetObject
// streams the body, pinned to the version (or ETag) that was checked, for each upload attempt.
import {
  GetObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { isUploadContentType, MAX_UPLOAD_BYTES } from '#core/product-live/product-live-client';

/** What HeadObject says of a referenced object. */
export interface ObjectInfo {
  size: number;
  etag?: string;
  versionId?: string;
  contentType?: string;
}

/** The S3 calls of a launch that carries files (S3Objects in production, fakes in tests). */
export interface ObjectSource {
  /** The object's size and identity (of `versionId` when given); ObjectRefusedError when it can never be launched with. */
  head(bucket: string, key: string, versionId?: string, signal?: AbortSignal): Promise<ObjectInfo>;
  /** The object's bytes, exactly the version `info` describes. */
  open(
    bucket: string,
    key: string,
    info: ObjectInfo,
    signal?: AbortSignal,
  ): Promise<AsyncIterable<Uint8Array>>;
}

/** The referenced object can never be uploaded as it is (missing, not readable, too large): refused for good. */
export class ObjectRefusedError extends Error {
  override readonly name = 'ObjectRefusedError';
}

export class S3Objects implements ObjectSource {
  constructor(private readonly s3: S3Client) {}

  async head(bucket: string, key: string, versionId?: string, signal?: AbortSignal): Promise<ObjectInfo> {
    const where = `s3://${bucket}/${key}${versionId ? ` (version ${versionId})` : ''}`;
    let answer: HeadObjectCommandOutput;
    try {
      answer = await this.s3.send(
        new HeadObjectCommand({ Bucket: bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) }),
        { abortSignal: signal },
      );
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404) throw new ObjectRefusedError(`${where} does not exist`, { cause: error });
      // Without s3:ListBucket, S3 answers 403 for a key that does not exist too.
      if (status === 403) {
        throw new ObjectRefusedError(
          `${where} does not exist, or the launch function may not read it (launchInputBuckets)`,
          { cause: error },
        );
      }
      // A malformed versionId (S3's InvalidArgument), or an object encrypted with a customer key (SSE-C).
      if (status === 400) {
        throw new ObjectRefusedError(
          `${where} cannot be read: S3 answered HTTP 400 (an invalid versionId, or an object encrypted with a customer-provided key)`,
          { cause: error },
        );
      }
      throw error;
    }
    // A store that keeps no versions (an unversioned bucket, s3rver) answers the current object whatever the
    // version asked: that is not the version the request names.
    if (versionId && (answer.VersionId ?? 'null') !== versionId) {
      throw new ObjectRefusedError(`${where} does not exist`);
    }
    const size = answer.ContentLength ?? 0;
    if (size > MAX_UPLOAD_BYTES) {
      throw new ObjectRefusedError(
        `${where} is ${size.toLocaleString('en-US')} bytes, over Product-Live's 100 MB (${MAX_UPLOAD_BYTES.toLocaleString('en-US')} bytes)`,
      );
    }
    return {
      size,
      ...(answer.ETag ? { etag: answer.ETag } : {}),
      ...(answer.VersionId && answer.VersionId !== 'null' ? { versionId: answer.VersionId } : {}),
      // S3 keeps any Content-Type it is given (`csv`); one that is not a MIME type is not sent (octet-stream).
      ...(answer.ContentType && isUploadContentType(answer.ContentType)
        ? { contentType: answer.ContentType }
        : {}),
    };
  }

  async open(
    bucket: string,
    key: string,
    info: ObjectInfo,
    signal?: AbortSignal,
  ): Promise<AsyncIterable<Uint8Array>> {
    const object = await this.s3.send(
      new GetObjectCommand({
        Bucket: bucket,
        Key: key,
        // The bytes that were checked: an object replaced since is not uploaded in their place.
        ...(info.versionId ? { VersionId: info.versionId } : info.etag ? { IfMatch: info.etag } : {}),
      }),
      { abortSignal: signal },
    );
    const body = object.Body as AsyncIterable<Uint8Array> | undefined;
    if (!body) throw new Error(`s3://${bucket}/${key} answered without a body`);
    return body;
  }
}
