// Generated file content: exact sizes, determinism per id, type-specific headers, paths and content types.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  contentTypeFor,
  createFileContentStream,
  downloadPathOf,
  FileStore,
  parseDownloadPath,
} from '#local/emulator/file-store';

async function bytesOf(file: { id: string; size: number; filename: string }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of createFileContentStream(file)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const ID = 'a'.repeat(64);

describe('file content', () => {
  it.each([0, 1, 2, 63, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 300_001])(
    'is exactly %i bytes long',
    async (size) => {
      expect((await bytesOf({ id: ID, size, filename: 'x.csv' })).length).toBe(size);
      expect((await bytesOf({ id: ID, size, filename: 'x.bin' })).length).toBe(size);
    },
  );

  it('is the same for the same id and differs for another id', async () => {
    const first = await bytesOf({ id: ID, size: 100_000, filename: 'report.xml' });
    const again = await bytesOf({ id: ID, size: 100_000, filename: 'report.xml' });
    const other = await bytesOf({ id: 'b'.repeat(64), size: 100_000, filename: 'report.xml' });

    expect(again.equals(first)).toBe(true);
    expect(other.equals(first)).toBe(false);
  });

  it('is a prefix of the same file at a larger size (content depends on id and offset only)', async () => {
    const small = await bytesOf({ id: ID, size: 70_000, filename: 'a.bin' });
    const large = await bytesOf({ id: ID, size: 200_000, filename: 'a.bin' });
    expect(large.subarray(0, 70_000).equals(small)).toBe(true);
  });

  it('starts text files with a header fitting their type and stays printable', async () => {
    const xml = (await bytesOf({ id: ID, size: 500, filename: 'report.xml' })).toString('latin1');
    const csv = (await bytesOf({ id: ID, size: 500, filename: 'export.csv' })).toString('latin1');

    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
    expect(csv.startsWith('sku;ean;title;price;stock\n')).toBe(true);
    expect(/^[\x20-\x7e\n]*$/.test(csv)).toBe(true);
  });

  it('hashes through FileStore to the SHA-256 of the bytes, an empty file to the empty digest', async () => {
    const store = new FileStore();
    const base = { accountId: '2629', contentType: 'text/csv', availableAtMs: 0 };
    const file = store.add({ ...base, id: ID, filename: 'e.csv', size: 12_345 });
    const empty = store.add({ ...base, id: 'c'.repeat(64), filename: 'empty.csv', size: 0 });

    expect(await store.sha256(file)).toBe(
      createHash('sha256')
        .update(await bytesOf(file))
        .digest('hex'),
    );
    expect(await store.sha256(empty)).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('resolves download paths and URLs of any host, checking account and file name', () => {
    const store = new FileStore();
    const file = store.add({
      id: ID,
      accountId: '2629',
      filename: 'my report.xml',
      size: 1,
      contentType: 'x',
      availableAtMs: 0,
    });
    const path = downloadPathOf(file);

    expect(path).toBe(`/data-factory/2629/download/${ID}/my%20report.xml`);
    expect(parseDownloadPath(`https://app.product-live.com${path}`)).toEqual({
      accountId: '2629',
      fileId: ID,
      filename: 'my report.xml',
    });
    expect(store.resolve(`http://127.0.0.1:1${path}`)).toBe(file);
    expect(store.resolve(path.replace('2629', '1'))).toBeUndefined();
    expect(store.resolve(path.replace('my%20report', 'other'))).toBeUndefined();
    expect(parseDownloadPath('/v1/data_factory/job_executions')).toBeUndefined();
  });

  it.each([
    ['report.xml', 'application/xml'],
    ['EXPORT.CSV', 'text/csv'],
    ['a.json', 'application/json'],
    ['archive.zip', 'application/octet-stream'],
    ['noextension', 'application/octet-stream'],
  ])('maps %s to %s', (filename, type) => {
    expect(contentTypeFor(filename)).toBe(type);
  });
});
