// Files the emulator serves at `/data-factory/{accountId}/download/{fileId}/{filename}`. Most files are only
// metadata (id, name, size); their bytes are generated on demand from their id, deterministically and as a
// stream, so a 1 GiB file costs no memory and its SHA-256 is a ground truth that tests can compare with.
// Uploaded files are kept on disk, and reports that describe their inputs in memory (`content`).
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UnknownFileError } from './emulator-errors';

/** A downloadable file of the emulator. */
export interface EmulatorFile {
  /** 64 lowercase hex characters, like Product-Live's data factory file ids. */
  id: string;
  accountId: string;
  filename: string;
  size: number;
  contentType: string;
  /** Downloads answer 404 before this instant (an output file exists once its execution ended). */
  availableAtMs: number;
  /** When set, the download answers 302 with this Location instead of the bytes. */
  redirectTo?: string;
  /** Bytes kept rather than generated: an upload's file on disk, or a small text in memory. */
  content?: StoredContent;
  /** SHA-256 (hex) of the bytes, when known without reading them (stored content). */
  sha256?: string;
}

/** Where the bytes of a file that is not generated are. */
export type StoredContent = { kind: 'disk'; path: string } | { kind: 'memory'; bytes: Buffer };

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  xml: 'application/xml',
  csv: 'text/csv',
  json: 'application/json',
};

/** The Content-Type the emulator sends for a file name, from its extension. */
export function contentTypeFor(filename: string): string {
  const extension = filename.includes('.') ? filename.slice(filename.lastIndexOf('.') + 1).toLowerCase() : '';
  return CONTENT_TYPES[extension] ?? 'application/octet-stream';
}

/** The path (without host) a file is downloaded from. */
export function downloadPathOf(file: Pick<EmulatorFile, 'accountId' | 'id' | 'filename'>): string {
  return `/data-factory/${file.accountId}/download/${file.id}/${encodeURIComponent(file.filename)}`;
}

const DOWNLOAD_PATH = /^\/data-factory\/([^/]+)\/download\/([^/]+)\/([^/]+)$/;

/** Splits a download path (or URL) into its parts, or returns undefined when it is not one. */
export function parseDownloadPath(
  pathOrUrl: string,
): { accountId: string; fileId: string; filename: string } | undefined {
  let pathname = pathOrUrl;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(pathOrUrl)) {
    try {
      pathname = new URL(pathOrUrl).pathname;
    } catch {
      return undefined;
    }
  }
  const match = DOWNLOAD_PATH.exec(pathname);
  if (!match?.[1] || !match[2] || !match[3]) return undefined;
  let filename: string;
  try {
    filename = decodeURIComponent(match[3]);
  } catch {
    return undefined;
  }
  return { accountId: match[1], fileId: match[2], filename };
}

/** The registry of files; looked up by id, by download path or by full URL (any host). */
export class FileStore {
  private readonly files = new Map<string, EmulatorFile>();
  private readonly sha256Cache = new Map<string, Promise<string>>();

  add(file: EmulatorFile): EmulatorFile {
    if (!Number.isSafeInteger(file.size) || file.size < 0) {
      throw new RangeError(`file size must be a non-negative integer, got ${file.size}`);
    }
    this.files.set(file.id, file);
    return file;
  }

  has(id: string): boolean {
    return this.files.has(id);
  }

  get(id: string): EmulatorFile | undefined {
    return this.files.get(id);
  }

  /** The file a download path or URL designates (account and file name must match too). */
  resolve(pathOrUrl: string): EmulatorFile | undefined {
    const parts = parseDownloadPath(pathOrUrl);
    if (!parts) return undefined;
    const file = this.files.get(parts.fileId);
    if (!file || file.accountId !== parts.accountId || file.filename !== parts.filename) return undefined;
    return file;
  }

  /** Like `resolve`, but throws UnknownFileError. */
  require(pathOrUrl: string): EmulatorFile {
    const file = this.resolve(pathOrUrl);
    if (!file) throw new UnknownFileError(pathOrUrl);
    return file;
  }

  /** The SHA-256 (hex) of a file's bytes, computed by streaming them once and then cached. */
  sha256(file: EmulatorFile): Promise<string> {
    if (file.sha256 !== undefined) return Promise.resolve(file.sha256);
    const key = `${file.id}:${file.size}:${file.filename}`;
    let digest = this.sha256Cache.get(key);
    if (!digest) {
      digest = computeSha256(file);
      this.sha256Cache.set(key, digest);
    }
    return digest;
  }

  get size(): number {
    return this.files.size;
  }

  /** Every file, in registration order. */
  all(): EmulatorFile[] {
    return [...this.files.values()];
  }
}

async function computeSha256(file: EmulatorFile): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createFileContentStream(file), hash);
  return hash.digest('hex');
}

const CHUNK_BYTES = 64 * 1024;
const ZEROES = Buffer.alloc(CHUNK_BYTES);

/**
 * A stream of a file's bytes. Stored content is read as it is; otherwise a short header fitting the file
 * type, then filler from an AES-256-CTR keystream keyed by the file id (hex-encoded for text types, raw
 * otherwise), cut at exactly `size` bytes. Never repeats, so a copier that drops or duplicates a chunk
 * changes the SHA-256.
 */
export function createFileContentStream(
  file: Pick<EmulatorFile, 'id' | 'size' | 'filename' | 'content'>,
): Readable {
  if (file.content?.kind === 'disk')
    return createReadStream(file.content.path, { highWaterMark: CHUNK_BYTES });
  if (file.content?.kind === 'memory') {
    const { bytes } = file.content;
    return Readable.from(bytes.length > 0 ? [bytes] : [], { objectMode: false });
  }
  const key = createHash('sha256').update(`product-live-emulator:${file.id}`).digest();
  const keystream = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const textual = contentTypeFor(file.filename) !== 'application/octet-stream';
  let pending: Buffer | undefined = headerOf(file);
  let remaining = file.size;

  const nextChunk = (): Buffer | undefined => {
    if (remaining <= 0) return undefined;
    let chunk: Buffer;
    if (pending && pending.length > 0) {
      chunk = pending.subarray(0, Math.min(pending.length, remaining));
      pending = undefined;
    } else {
      const length = Math.min(CHUNK_BYTES, remaining);
      chunk = textual
        ? Buffer.from(keystream.update(ZEROES.subarray(0, Math.ceil(length / 2))).toString('hex'), 'latin1')
        : keystream.update(ZEROES.subarray(0, length));
      if (chunk.length > length) chunk = chunk.subarray(0, length);
    }
    remaining -= chunk.length;
    return chunk;
  };

  return new Readable({
    highWaterMark: CHUNK_BYTES,
    read() {
      for (;;) {
        const chunk = nextChunk();
        if (!chunk) {
          this.push(null);
          return;
        }
        if (!this.push(chunk)) return;
      }
    },
  });
}

function headerOf(file: Pick<EmulatorFile, 'id' | 'filename'>): Buffer | undefined {
  switch (contentTypeFor(file.filename)) {
    case 'application/xml':
      return Buffer.from(
        `<?xml version="1.0" encoding="UTF-8"?>\n<!-- product-live emulator file ${file.id} -->\n`,
      );
    case 'text/csv':
      return Buffer.from('sku;ean;title;price;stock\n');
    case 'application/json':
      return Buffer.from(`{"file":"${file.id}","data":"`);
    default:
      return undefined;
  }
}
