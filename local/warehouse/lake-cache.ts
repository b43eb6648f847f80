// Layer flow: `npm run history -- sql` -> this module -> S3 (the local s3rver, or a deployed lake bucket) ->
// a local copy of the lake's objects that DuckDB reads. Objects are downloaded when their ETag changed since
// the last copy, and local files whose object is gone are removed: the copy equals the bucket after a refresh.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type _Object, GetObjectCommand, ListObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { forEachConcurrently } from '../../functions/core/concurrency';
import { LAKE_KEY_PREFIX } from '../../functions/core/warehouse/lake-tables';

const MANIFEST = 'manifest.json';

export interface LakeCacheRefresh {
  /** Objects in the bucket. */
  objects: number;
  downloaded: number;
  removed: number;
  bytesDownloaded: number;
}

/**
 * Brings `directory` (which then holds `lake/...`) up to date with the lake objects of `bucket`. A key that is
 * not a plain relative path (`..`, absolute) is refused rather than written outside the directory.
 */
export async function refreshLakeCache(
  s3: S3Client,
  bucket: string,
  directory: string,
): Promise<LakeCacheRefresh> {
  const root = resolve(directory);
  await mkdir(root, { recursive: true });
  const manifestPath = join(root, MANIFEST);
  const previous = await readManifest(manifestPath);
  const current: Record<string, string> = {};
  const toDownload: Array<{ key: string; etag: string }> = [];
  for await (const object of listLakeObjects(s3, bucket)) {
    const key = object.Key ?? '';
    if (!key.endsWith('.parquet')) continue;
    localPath(root, key); // refuses a key that would escape the directory
    const etag = object.ETag ?? `${object.Size}-${object.LastModified?.toISOString()}`;
    current[key] = etag;
    if (previous[key] !== etag) toDownload.push({ key, etag });
  }
  let bytesDownloaded = 0;
  await forEachConcurrently(toDownload, 8, async ({ key }) => {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = await object.Body?.transformToByteArray();
    if (!bytes) throw new Error(`s3://${bucket}/${key} has no body`);
    const target = localPath(root, key);
    await mkdir(dirname(target), { recursive: true });
    const partial = `${target}.${process.pid}.partial`;
    await writeFile(partial, bytes);
    await rename(partial, target);
    bytesDownloaded += bytes.byteLength;
  });
  const gone = Object.keys(previous).filter((key) => !(key in current));
  for (const key of gone) await rm(localPath(root, key), { force: true });
  await writeFile(manifestPath, `${JSON.stringify(current)}\n`);
  return {
    objects: Object.keys(current).length,
    downloaded: toDownload.length,
    removed: gone.length,
    bytesDownloaded,
  };
}

/**
 * Every object under the lake prefix. ListObjects (v1, paged by Marker) rather than V2: s3rver, the local S3,
 * answers ListObjectsV2 with InternalError once a bucket holds more than 1,000 objects; S3 serves both.
 */
async function* listLakeObjects(s3: S3Client, bucket: string): AsyncGenerator<_Object> {
  let marker: string | undefined;
  for (;;) {
    const page = await s3.send(
      new ListObjectsCommand({
        Bucket: bucket,
        Prefix: LAKE_KEY_PREFIX,
        ...(marker ? { Marker: marker } : {}),
      }),
    );
    const objects = page.Contents ?? [];
    yield* objects;
    if (!page.IsTruncated || objects.length === 0) return;
    marker = page.NextMarker ?? objects.at(-1)?.Key;
  }
}

async function readManifest(path: string): Promise<Record<string, string>> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, string>) : {};
  } catch {
    return {};
  }
}

function localPath(root: string, key: string): string {
  const target = resolve(root, key);
  if (!key.startsWith(LAKE_KEY_PREFIX) || !target.startsWith(`${root}/`) || key.includes('..')) {
    throw new Error(`refusing lake object key ${JSON.stringify(key)}: not a path under ${LAKE_KEY_PREFIX}`);
  }
  return target;
}
