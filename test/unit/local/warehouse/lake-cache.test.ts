// The lake's local copy against a bucket mocked with aws-sdk-client-mock: what it records of each file (size,
// SHA-256), a copy changed, cut, emptied of a file or given an extra one (each found and fetched again or removed,
// and said), files and directories read-only between refreshes, an older manifest, refreshes taking turns.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { refreshLakeCache } from '#local/warehouse/lake-cache';

const s3Mock = mockClient(S3Client);
const s3 = new S3Client({ region: 'eu-west-1' });
const BUCKET = 'product-live-lake';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The bucket: key -> bytes; the ETag is the bytes' MD5, as S3 gives it for a simple upload. */
let objects: Map<string, Buffer>;
let directory: string;
let downloads: string[];

const KEYS = [
  'lake/executions/day=2024-06-01/executions.parquet',
  'lake/executions/day=2024-06-02/executions.parquet',
  'lake/files/day=2024-06-01/files.parquet',
  'lake/files/day=2024-06-02/files.parquet',
];

beforeEach(async () => {
  s3Mock.reset();
  objects = new Map(
    KEYS.map((key, index) => [key, Buffer.from(`PAR1 ${key} ${'x'.repeat(100 * (index + 1))}`)]),
  );
  downloads = [];
  s3Mock.on(ListObjectsCommand).callsFake(() => ({
    Contents: [...objects].map(([Key, body]) => ({
      Key,
      Size: body.length,
      ETag: `"${createHash('md5').update(body).digest('hex')}"`,
    })),
    IsTruncated: false,
  }));
  s3Mock.on(GetObjectCommand).callsFake((input: { Key: string }) => {
    const body = objects.get(input.Key) as Buffer;
    downloads.push(input.Key);
    return { Body: Readable.from([body]), ContentLength: body.length };
  });
  directory = await mkdtemp(join(tmpdir(), 'plsync-lake-cache-unit-'));
});

afterEach(async () => {
  await chmodTree(directory, 0o755);
  await rm(directory, { recursive: true, force: true });
});

/** Makes every directory of the copy writable again (a user, or an attacker of the same uid, can). */
async function chmodTree(path: string, mode: number): Promise<void> {
  const entries = await readdir(path, { withFileTypes: true }).catch(() => undefined);
  if (!entries) return;
  await chmod(path, mode);
  for (const entry of entries) if (entry.isDirectory()) await chmodTree(join(path, entry.name), mode);
}

/** Writes into the copy as a user of the same account could (the modes changed first, as they can be). */
async function tamper(key: string, change: (path: string) => Promise<void>): Promise<void> {
  const path = join(directory, key);
  await chmodTree(join(directory, 'lake'), 0o755);
  await chmod(path, 0o644).catch(() => undefined);
  await change(path);
}

describe('the lake copy', () => {
  it('records the size and SHA-256 of every file it writes; files 0444 and directories 0555 once refreshed', async () => {
    const refreshed = await refreshLakeCache(s3, BUCKET, directory);
    expect(refreshed).toMatchObject({ objects: 4, downloaded: 4, removed: 0, repaired: [] });
    const manifest = JSON.parse(await readFile(join(directory, 'manifest.json'), 'utf8'));
    expect(manifest.version).toBe(2);
    for (const [key, body] of objects) {
      expect(manifest.objects[key]).toMatchObject({ size: body.length, sha256: sha256(body) });
      expect(await readFile(join(directory, key))).toEqual(body);
      expect((await stat(join(directory, key))).mode & 0o777).toBe(0o444);
      expect((await stat(dirname(join(directory, key)))).mode & 0o777).toBe(0o555);
    }
    expect((await stat(join(directory, 'lake'))).mode & 0o777).toBe(0o555);
    // The copy's root (manifest, lock) stays writable; DuckDB is not allowed there anyway.
    expect((await stat(directory)).mode & 0o200).toBe(0o200);
  });

  it('checks every file again and downloads nothing when nothing changed', async () => {
    await refreshLakeCache(s3, BUCKET, directory);
    downloads = [];
    const notes: string[] = [];
    const again = await refreshLakeCache(s3, BUCKET, directory, { note: (line) => notes.push(line) });
    expect(again).toMatchObject({ downloaded: 0, removed: 0, repaired: [] });
    expect(downloads).toEqual([]);
    expect(notes).toEqual([]);
  });

  it('fetches again a file changed, truncated or removed on disk, removes one the lake does not hold, and says so', async () => {
    await refreshLakeCache(s3, BUCKET, directory);
    const [changed, cut, removed, untouched] = KEYS as [string, string, string, string];
    await tamper(changed, async (path) => {
      const bytes = await readFile(path);
      bytes[bytes.length - 1] = 0x21; // same size, one byte different
      await writeFile(path, bytes);
    });
    await tamper(cut, (path) => truncate(path, 10));
    await tamper(removed, (path) => rm(path));
    const planted = 'lake/executions/day=2099-01-01/executions.parquet';
    await mkdir(dirname(join(directory, planted)), { recursive: true });
    await writeFile(join(directory, planted), 'PAR1 forged');
    downloads = [];
    const notes: string[] = [];
    const refreshed = await refreshLakeCache(s3, BUCKET, directory, { note: (line) => notes.push(line) });

    expect(downloads.sort()).toEqual([changed, cut, removed].sort());
    expect(refreshed.downloaded).toBe(3);
    expect(refreshed.repaired.map((entry) => entry.key).sort()).toEqual(
      [changed, cut, removed, planted].sort(),
    );
    expect(notes).toEqual(
      expect.arrayContaining([
        `Lake copy: ${changed} was changed on disk (its SHA-256 differs): fetched again.`,
        `Lake copy: ${cut} has 10 bytes on disk instead of ${objects.get(cut)?.length}: fetched again.`,
        `Lake copy: ${removed} was removed from the copy: fetched again.`,
        `Lake copy: ${planted} is not an object of the lake: removed.`,
      ]),
    );
    for (const key of [changed, cut, removed, untouched]) {
      expect(await readFile(join(directory, key)), key).toEqual(objects.get(key));
      expect((await stat(join(directory, key))).mode & 0o777).toBe(0o444);
    }
    await expect(stat(join(directory, planted))).rejects.toThrow(/ENOENT/);
    expect((await stat(join(directory, 'lake', 'executions'))).mode & 0o777).toBe(0o555);
  });

  it('downloads an object again when its ETag changes, and removes a file whose object left the bucket', async () => {
    await refreshLakeCache(s3, BUCKET, directory);
    const [first, second] = KEYS as [string, string];
    objects.set(first, Buffer.from('PAR1 rewritten'));
    objects.delete(second);
    downloads = [];
    const refreshed = await refreshLakeCache(s3, BUCKET, directory);
    expect(refreshed).toMatchObject({ objects: 3, downloaded: 1, removed: 1, repaired: [] });
    expect(downloads).toEqual([first]);
    expect(await readFile(join(directory, first), 'utf8')).toBe('PAR1 rewritten');
    await expect(stat(join(directory, second))).rejects.toThrow(/ENOENT/);
  });

  it('fetches everything again over a manifest of an older version (ETags only, nothing to check against)', async () => {
    await refreshLakeCache(s3, BUCKET, directory);
    const manifest = JSON.parse(await readFile(join(directory, 'manifest.json'), 'utf8'));
    const etags = Object.fromEntries(
      Object.entries(manifest.objects as Record<string, { etag: string }>).map(([key, entry]) => [
        key,
        entry.etag,
      ]),
    );
    await writeFile(join(directory, 'manifest.json'), JSON.stringify(etags));
    downloads = [];
    expect(await refreshLakeCache(s3, BUCKET, directory)).toMatchObject({ downloaded: 4, repaired: [] });
  });

  it('lets two refreshes of one copy take turns, and takes over the lock of a process that is gone', async () => {
    const [a, b] = await Promise.all([
      refreshLakeCache(s3, BUCKET, directory),
      refreshLakeCache(s3, BUCKET, directory),
    ]);
    expect(a.downloaded + b.downloaded).toBe(4);
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    await mkdir(join(directory, '.refresh.lock'));
    await writeFile(join(directory, '.refresh.lock', 'pid'), `${gone}\n`);
    await expect(refreshLakeCache(s3, BUCKET, directory)).resolves.toMatchObject({ downloaded: 0 });
    await expect(stat(join(directory, '.refresh.lock'))).rejects.toThrow(/ENOENT/);
  });

  it('stops when its signal aborts mid-download: the old file kept, the copy locked, the lock released', async () => {
    await refreshLakeCache(s3, BUCKET, directory);
    objects.set(KEYS[0] as string, Buffer.from('PAR1 new'));
    const interrupt = new AbortController();
    s3Mock.on(GetObjectCommand).callsFake(() => {
      interrupt.abort(); // Ctrl-C while the download runs
      return { Body: Readable.from([Buffer.from('PAR1 new')]), ContentLength: 8 };
    });
    await expect(refreshLakeCache(s3, BUCKET, directory, { signal: interrupt.signal })).rejects.toThrow(
      /abort/i,
    );
    await expect(stat(join(directory, '.refresh.lock'))).rejects.toThrow(/ENOENT/);
    expect((await stat(join(directory, 'lake'))).mode & 0o777).toBe(0o555);
    expect(await readFile(join(directory, KEYS[0] as string), 'utf8')).not.toBe('PAR1 new');
    expect(await readdir(dirname(join(directory, KEYS[0] as string)))).toEqual(['executions.parquet']);
  });
});
