// S3Objects: what HeadObject's answers become before anything is uploaded (S3 mocked; the same cases run on
// s3rver in test/integration/launch-files.test.ts, except those s3rver cannot answer: a 400, a real version).
import { HeadObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ObjectRefusedError, S3Objects } from '#functions/launch/s3-objects';

const s3Mock = mockClient(S3Client);
const objects = new S3Objects(new S3Client({ region: 'eu-west-1' }));

function s3Error(status: number, name: string): S3ServiceException {
  return new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status } });
}

beforeEach(() => s3Mock.reset());

describe('S3Objects.head', () => {
  it('refuses a versionId S3 calls malformed (HTTP 400), instead of retrying it until the last delivery', async () => {
    s3Mock.on(HeadObjectCommand).rejects(s3Error(400, 'BadRequest'));
    const refusal = objects.head('acme', 'a.csv', 'not-a-version');
    await expect(refusal).rejects.toBeInstanceOf(ObjectRefusedError);
    await expect(refusal).rejects.toThrow(
      's3://acme/a.csv (version not-a-version) cannot be read: S3 answered HTTP 400 (an invalid versionId, or an object encrypted with a customer-provided key)',
    );
  });

  it('refuses a version the store does not answer with (a store without versions answers the current object)', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 3, ETag: '"e"' });
    await expect(objects.head('acme', 'a.csv', 'v1')).rejects.toThrow(
      new ObjectRefusedError('s3://acme/a.csv (version v1) does not exist'),
    );
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 3, ETag: '"e"', VersionId: 'v2' });
    await expect(objects.head('acme', 'a.csv', 'v1')).rejects.toThrow('(version v1) does not exist');
  });

  it('pins the version asked for, and accepts "null" (the version of an object written while unversioned)', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 3, ETag: '"e"', VersionId: 'v1' });
    expect(await objects.head('acme', 'a.csv', 'v1')).toEqual({ size: 3, etag: '"e"', versionId: 'v1' });
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 3, ETag: '"e"' });
    expect(await objects.head('acme', 'a.csv', 'null')).toEqual({ size: 3, etag: '"e"' });
    expect(s3Mock).toHaveReceivedCommandWith(HeadObjectCommand, { VersionId: 'null' });
  });

  it('keeps a MIME Content-Type, and drops one that is not (S3 keeps whatever it was given)', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 1, ContentType: 'text/csv; charset=utf-8' });
    expect((await objects.head('acme', 'a.csv')).contentType).toBe('text/csv; charset=utf-8');
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 1, ContentType: 'csv' });
    expect(await objects.head('acme', 'a.csv')).toEqual({ size: 1 });
  });

  it('leaves other failures (throttling, 5xx) to be retried', async () => {
    const throttled = s3Error(503, 'SlowDown');
    s3Mock.on(HeadObjectCommand).rejects(throttled);
    await expect(objects.head('acme', 'a.csv')).rejects.toBe(throttled);
  });
});
