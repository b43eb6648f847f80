import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NotFound,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { FileCopier, FileCopyError } from '#core/files/file-copier';

const s3Client = new S3Client({ region: 'eu-west-1' });
const s3 = mockClient(s3Client);
const policy = { apiUrl: 'https://api.product-live.com', allowedHosts: ['*.product-live.com'] };
const source = 'https://app.product-live.com/data-factory/2629/download/abc/report.xml';
const body = Buffer.from('<report>ok</report>');

function copier(fetch: typeof globalThis.fetch) {
  return new FileCopier({
    s3: s3Client,
    bucket: 'files',
    policy,
    apiKey: 'the-key',
    idleTimeoutMs: 1_000,
    fetch,
  });
}

beforeEach(() => {
  s3.reset();
  s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'not found', $metadata: {} }));
});

describe('FileCopier', () => {
  it('streams the download to S3 and reports size, SHA-256 and content type', async () => {
    s3.on(PutObjectCommand).resolves({});
    const result = await copier(
      async () =>
        new Response(body, {
          headers: { 'content-type': 'application/xml; charset=utf-8', 'content-length': '19' },
        }),
    ).copy({ sourceUrl: source, s3Key: 'k/report.xml', metadata: { 'execution-id': 'e' } });
    expect(result).toEqual({
      size: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
      contentType: 'application/xml',
      reusedExisting: false,
    });
    const put = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(put).toMatchObject({ Bucket: 'files', Key: 'k/report.xml', ContentType: 'application/xml' });
    expect(put?.Metadata).toEqual({ 'execution-id': 'e' });
  });

  it('never completes an upload from a truncated download', async () => {
    s3.on(PutObjectCommand).resolves({});
    const truncated = copier(
      async () => new Response(body.subarray(0, 5), { headers: { 'content-length': String(body.length) } }),
    );
    await expect(truncated.copy({ sourceUrl: source, s3Key: 'k', metadata: {} })).rejects.toThrow(
      /truncated/,
    );
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('hashes an object already in S3 instead of downloading it again', async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: body.length });
    s3.on(GetObjectCommand).resolves({
      Body: Readable.from([body]) as never,
      ContentType: 'application/xml',
    });
    let downloads = 0;
    const result = await copier(async () => {
      downloads += 1;
      return new Response(body);
    }).copy({ sourceUrl: source, s3Key: 'k', metadata: {} });
    expect(downloads).toBe(0);
    expect(result.reusedExisting).toBe(true);
    expect(result.sha256).toBe(createHash('sha256').update(body).digest('hex'));
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('turns an S3 failure into a retryable FileCopyError', async () => {
    s3.on(PutObjectCommand).rejects(
      new S3ServiceException({
        name: 'SlowDown',
        $fault: 'server',
        message: 'Please reduce your request rate',
        $metadata: {},
      }),
    );
    const attempt = copier(async () => new Response(body)).copy({
      sourceUrl: source,
      s3Key: 'k',
      metadata: {},
    });
    await expect(attempt).rejects.toThrow(FileCopyError);
    await expect(attempt).rejects.toMatchObject({ permanent: false });
  });

  it('refuses a redirect to another host, without sending the key there', async () => {
    const seen: string[] = [];
    const attempt = copier(async (url) => {
      seen.push(String(url));
      return new Response(null, { status: 302, headers: { location: 'https://evil.example.com/steal' } });
    }).copy({ sourceUrl: source, s3Key: 'k', metadata: {} });
    await expect(attempt).rejects.toMatchObject({
      permanent: true,
      message: expect.stringMatching(/not in the allowed/),
    });
    expect(seen).toEqual([source]);
    expect(s3).not.toHaveReceivedCommand(CreateMultipartUploadCommand);
  });

  it('follows a redirect to an allowed host and sends the key only to allowed hosts', async () => {
    s3.on(PutObjectCommand).resolves({});
    const keys: Array<string | null> = [];
    await copier(async (url, init) => {
      keys.push(new Headers(init?.headers).get('x-api-key'));
      return String(url) === source
        ? new Response(null, { status: 302, headers: { location: 'https://cdn.product-live.com/f' } })
        : new Response(body);
    }).copy({ sourceUrl: source, s3Key: 'k', metadata: {} });
    expect(keys).toEqual(['the-key', 'the-key']);
  });

  it('reports an HTTP error status of the download', async () => {
    const attempt = copier(async () => new Response('gone', { status: 404 })).copy({
      sourceUrl: source,
      s3Key: 'k',
      metadata: {},
    });
    await expect(attempt).rejects.toThrow(/answered HTTP 404/);
  });
});
