// Layer flow: `npm run history -- sql` and the dashboard -> this module -> S3 (s3rver, or a deployed lake bucket) ->
// the local copy DuckDB reads: objects whose ETag changed are downloaded, every file is checked against its recorded
// size and SHA-256 before each query (refetched or removed); files 0444 and directories 0555 between refreshes.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type _Object, GetObjectCommand, ListObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { forEachConcurrently } from '#core/concurrency';
import { LAKE_KEY_PREFIX } from '#core/warehouse/lake-tables';

const MANIFEST = 'manifest.json';
const LOCK = '.refresh.lock';
const FILE_MODE = 0o444;
const LOCKED_DIRECTORY_MODE = 0o555;
const OPEN_DIRECTORY_MODE = 0o755;
/** How long a refresh waits for another process refreshing the same copy. */
const LOCK_WAIT_MS = 10 * 60_000;

export interface LakeCacheRefresh {
  /** Objects in the bucket. */
  objects: number;
  downloaded: number;
  /** Local files removed because their object left the bucket. */
  removed: number;
  bytesDownloaded: number;
  /** Local files that failed their check (changed, cut, removed, or unknown to the lake), and what was done. */
  repaired: Array<{ key: string; problem: string }>;
}

export interface LakeCacheOptions {
  /** Told, one line each, about every local file that failed its check. */
  note?: (message: string) => void;
  /** Aborting it stops the refresh (between objects, and the download in flight). */
  signal?: AbortSignal;
}

/** What the manifest records of each local file, when it is written. */
interface CachedObject {
  etag: string;
  size: number;
  sha256: string;
}

/**
 * Brings `directory` (which then holds `lake/...`) up to date with the lake objects of `bucket`, and proves every
 * local file is the one recorded. A key that is not a plain relative path (`..`, absolute) is refused rather than
 * written outside the directory. Refreshes of one directory by several processes take turns (a lock directory).
 */
export async function refreshLakeCache(
  s3: S3Client,
  bucket: string,
  directory: string,
  options: LakeCacheOptions = {},
): Promise<LakeCacheRefresh> {
  const root = resolve(directory);
  await mkdir(root, { recursive: true });
  const release = await lockCache(root, options.signal);
  const lakeDir = join(root, LAKE_KEY_PREFIX.replace(/\/$/, ''));
  try {
    await setDirectoriesMode(lakeDir, OPEN_DIRECTORY_MODE);
    return await refreshLocked(s3, bucket, root, options);
  } finally {
    await setDirectoriesMode(lakeDir, LOCKED_DIRECTORY_MODE);
    await release();
  }
}

async function refreshLocked(
  s3: S3Client,
  bucket: string,
  root: string,
  { note, signal }: LakeCacheOptions,
): Promise<LakeCacheRefresh> {
  const manifestPath = join(root, MANIFEST);
  const previous = await readManifest(manifestPath);
  const listed = new Map<string, string>();
  for await (const object of listLakeObjects(s3, bucket, signal)) {
    const key = object.Key ?? '';
    if (!key.endsWith('.parquet')) continue;
    localPath(root, key); // refuses a key that would escape the directory
    listed.set(key, object.ETag ?? `${object.Size}-${object.LastModified?.toISOString()}`);
  }
  const repaired: LakeCacheRefresh['repaired'] = [];
  const repair = (key: string, problem: string) => {
    repaired.push({ key, problem });
    note?.(`Lake copy: ${key} ${problem}.`);
  };

  // Files on disk that the lake does not hold (planted, or left by an interrupted refresh) go first.
  const onDisk = new Set<string>();
  let removed = 0;
  for (const path of await listFiles(join(root, LAKE_KEY_PREFIX))) {
    const key = relative(root, path).split(sep).join('/');
    if (listed.has(key)) {
      onDisk.add(key);
    } else if (previous[key] !== undefined) {
      await rm(path, { force: true });
      removed += 1;
    } else {
      await rm(path, { force: true });
      repair(key, 'is not an object of the lake: removed');
    }
  }

  // Every listed object: kept when its ETag is the recorded one and the file still matches its record.
  const toDownload: string[] = [];
  const kept: Record<string, CachedObject> = {};
  await forEachConcurrently([...listed], 4, async ([key, etag]) => {
    signal?.throwIfAborted();
    const recorded = previous[key];
    if (recorded?.etag !== etag) {
      toDownload.push(key);
      return;
    }
    const problem = onDisk.has(key)
      ? await checkFile(localPath(root, key), recorded)
      : 'was removed from the copy';
    if (problem === undefined) {
      kept[key] = recorded;
      return;
    }
    repair(key, `${problem}: fetched again`);
    toDownload.push(key);
  });

  let bytesDownloaded = 0;
  const current: Record<string, CachedObject> = { ...kept };
  await forEachConcurrently(toDownload, 8, async (key) => {
    signal?.throwIfAborted();
    const written = await download(s3, bucket, key, localPath(root, key), signal);
    current[key] = { etag: listed.get(key) ?? '', ...written };
    bytesDownloaded += written.size;
  });
  await writeFile(manifestPath, `${JSON.stringify({ version: 2, objects: sortedByKey(current) })}\n`);
  return { objects: listed.size, downloaded: toDownload.length, removed, bytesDownloaded, repaired };
}

/** Streams one object to `target` (through a temporary file), hashing it on the way; the file is made read-only. */
async function download(
  s3: S3Client,
  bucket: string,
  key: string,
  target: string,
  signal: AbortSignal | undefined,
): Promise<{ size: number; sha256: string }> {
  const object = await s3.send(
    new GetObjectCommand({ Bucket: bucket, Key: key }),
    signal ? { abortSignal: signal } : {},
  );
  if (!object.Body) throw new Error(`s3://${bucket}/${key} has no body`);
  await mkdir(dirname(target), { recursive: true });
  const partial = `${target}.${process.pid}.partial`;
  const hash = createHash('sha256');
  let size = 0;
  try {
    await pipeline(
      object.Body as Readable,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk);
          size += chunk.length;
          yield chunk;
        }
      },
      createWriteStream(partial, { mode: FILE_MODE }),
      signal ? { signal } : {},
    );
    if (object.ContentLength !== undefined && object.ContentLength !== size) {
      throw new Error(`s3://${bucket}/${key}: got ${size} of ${object.ContentLength} bytes`);
    }
    await chmod(partial, FILE_MODE);
    await rename(partial, target);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return { size, sha256: hash.digest('hex') };
}

/** What is wrong with a local file against its record, or undefined when it is the file recorded. */
async function checkFile(path: string, recorded: CachedObject): Promise<string | undefined> {
  const size = await stat(path).then(
    (stats) => stats.size,
    () => undefined,
  );
  if (size === undefined) return 'was removed from the copy';
  if (size !== recorded.size) return `has ${size} bytes on disk instead of ${recorded.size}`;
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex') === recorded.sha256 ? undefined : 'was changed on disk (its SHA-256 differs)';
}

/**
 * Removes `directory` with the lake copies it holds, anywhere below it: their directories are read-only, which
 * stops a plain `rm -r` of a user who is not root (`chmod -R u+w DIR` first does the same by hand).
 */
export async function removeLakeCopies(directory: string): Promise<void> {
  await setDirectoriesMode(resolve(directory), OPEN_DIRECTORY_MODE).catch(() => undefined);
  await rm(directory, { recursive: true, force: true });
}

/**
 * Every object under the lake prefix. ListObjects (v1, paged by Marker) rather than V2: s3rver, the local S3,
 * answers ListObjectsV2 with InternalError once a bucket holds more than 1,000 objects; S3 serves both.
 */
async function* listLakeObjects(
  s3: S3Client,
  bucket: string,
  signal: AbortSignal | undefined,
): AsyncGenerator<_Object> {
  let marker: string | undefined;
  for (;;) {
    const page = await s3.send(
      new ListObjectsCommand({
        Bucket: bucket,
        Prefix: LAKE_KEY_PREFIX,
        ...(marker ? { Marker: marker } : {}),
      }),
      signal ? { abortSignal: signal } : {},
    );
    const objects = page.Contents ?? [];
    yield* objects;
    if (!page.IsTruncated || objects.length === 0) return;
    marker = page.NextMarker ?? objects.at(-1)?.Key;
  }
}

/** The manifest's records; an older manifest (ETags only, no checksums) counts as none: everything is fetched. */
async function readManifest(path: string): Promise<Record<string, CachedObject>> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as {
      version?: unknown;
      objects?: Record<string, Partial<CachedObject>>;
    };
    if (parsed?.version !== 2 || typeof parsed.objects !== 'object' || parsed.objects === null) return {};
    const records: Record<string, CachedObject> = {};
    for (const [key, entry] of Object.entries(parsed.objects)) {
      if (
        typeof entry?.etag === 'string' &&
        typeof entry.size === 'number' &&
        typeof entry.sha256 === 'string'
      ) {
        records[key] = { etag: entry.etag, size: entry.size, sha256: entry.sha256 };
      }
    }
    return records;
  } catch {
    return {};
  }
}

function sortedByKey(records: Record<string, CachedObject>): Record<string, CachedObject> {
  return Object.fromEntries(Object.entries(records).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function localPath(root: string, key: string): string {
  const target = resolve(root, key);
  if (!key.startsWith(LAKE_KEY_PREFIX) || !target.startsWith(`${root}/`) || key.includes('..')) {
    throw new Error(`refusing lake object key ${JSON.stringify(key)}: not a path under ${LAKE_KEY_PREFIX}`);
  }
  return target;
}

/** Every regular file under `directory` (none when it does not exist); anything else is removed. */
async function listFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true }).catch(() => []);
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(path)));
    else if (entry.isFile()) files.push(path);
    else await rm(path, { force: true });
  }
  return files;
}

/**
 * Sets the mode of `directory` and of every directory under it (nothing when it does not exist). A file system
 * without modes, or a directory of another owner, keeps its mode: the modes are a second line, the checksums the
 * first.
 */
async function setDirectoriesMode(directory: string, mode: number): Promise<void> {
  const entries = await readdir(directory, { withFileTypes: true }).catch(() => undefined);
  if (entries === undefined) return;
  await chmod(directory, mode).catch((error: NodeJS.ErrnoException) => {
    if (!['EPERM', 'ENOTSUP', 'EROFS'].includes(error.code ?? '')) throw error;
  });
  for (const entry of entries) {
    if (entry.isDirectory()) await setDirectoriesMode(join(directory, entry.name), mode);
  }
}

/**
 * Takes the copy's lock: a directory created atomically, holding the owner's process id. A lock whose owner is
 * no longer running is taken over; a live one is waited for.
 */
async function lockCache(root: string, signal: AbortSignal | undefined): Promise<() => Promise<void>> {
  const lock = join(root, LOCK);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    signal?.throwIfAborted();
    try {
      await mkdir(lock);
      await writeFile(join(lock, 'pid'), `${process.pid}\n`);
      return () => rm(lock, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number.parseInt(await readFile(join(lock, 'pid'), 'utf8').catch(() => ''), 10);
    // No id yet: being taken this instant, or by a process that died before writing it (then old).
    const abandoned = Number.isInteger(owner)
      ? !isRunning(owner)
      : await stat(lock).then(
          (stats) => Date.now() - stats.mtimeMs > 10_000,
          () => false,
        );
    if (abandoned) {
      await rm(lock, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `the lake copy in ${root} is being refreshed by process ${Number.isInteger(owner) ? owner : '?'}; if no such process runs, remove ${lock}`,
      );
    }
    await new Promise((done) => setTimeout(done, 100));
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
