// S3Objects: what HeadObject's answers become before anything is uploaded (S3 mocked; the same cases run on
// s3rver in test/integration/launch-files.test.ts).
import { HeadObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3Objects } from '../../functions/launch/s3-objects';

const s3Mock = mockClient(S3Client);
const objects = new S3Objects(new S3Client({ region: 'eu-west-1' }));

function s3Error(status: number, name: string): S3ServiceException {
  return new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status } });
}

beforeEach(() => s3Mock.reset());

describe('S3Objects.head', () => {
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
