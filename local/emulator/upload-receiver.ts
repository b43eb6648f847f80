// Layer flow: HTTP front end (POST /v1/data_factory/files) -> this receiver -> @fastify/busboy (multipart parsing)
// -> one file on disk. The `file` part is streamed through a SHA-256 to its file as it arrives (never held in
// memory), and refused with 413 the moment it passes the limit; the rest of the body is drained, not kept.
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Busboy from '@fastify/busboy';
import { BadRequestError, EmulatorError, PayloadTooLargeError } from './emulator-errors';

/** The form field the Files API reads the file from. */
const UPLOAD_FIELD = 'file';

/** A received `file` part, stored on disk. */
export interface ReceivedUpload {
  /** The part's filename, as sent (UTF-8, quotes and backslashes unescaped, any path kept). */
  fileName: string;
  /** The part's Content-Type (lower case; `text/plain` when the part had none, as RFC 7578 says). */
  contentType: string;
  size: number;
  sha256: string;
  /** Where the bytes are. */
  path: string;
}

export interface ReceiveUploadOptions {
  /** Directory the file is written to (it must exist). */
  directory: string;
  /** Largest accepted file, in bytes: one byte more is a 413. */
  maxFileBytes: number;
}

/** Headers, parts and fields of the form other than the file are small: these bound what the parser keeps. */
const PARSER_LIMITS = { fieldSize: 64 * 1024, parts: 100, headerPairs: 100, headerSize: 16 * 1024 };

/**
 * Receives a `multipart/form-data` upload. Resolves once the body is read and the file written; rejects with
 * a 400 (not multipart, malformed, no `file` part), a 413 (the file passed `maxFileBytes`: rejected as soon as
 * the excess byte arrives, while the rest of the body is still drained), or the client's disconnection. Only
 * the first `file` part is kept; other parts are drained. A partial file is always removed.
 */
export function receiveUpload(
  request: IncomingMessage,
  options: ReceiveUploadOptions,
): Promise<ReceivedUpload> {
  return new Promise<ReceivedUpload>((resolve, reject) => {
    let settled = false;
    const settle = (error: unknown, upload?: ReceivedUpload) => {
      if (settled) return;
      settled = true;
      if (upload && error === undefined) resolve(upload);
      else reject(error);
    };
    const contentType = request.headers['content-type'] ?? '';
    if (!/^multipart\/form-data\s*(;|$)/i.test(contentType)) {
      request.resume();
      settle(
        new BadRequestError(
          `Expected a multipart/form-data body with a "${UPLOAD_FIELD}" field, got Content-Type ${JSON.stringify(contentType)}`,
        ),
      );
      return;
    }
    let parser: ReturnType<typeof Busboy>;
    try {
      parser = Busboy({
        headers: { ...request.headers, 'content-type': contentType },
        preservePath: true,
        limits: { ...PARSER_LIMITS, fileSize: options.maxFileBytes },
      });
    } catch (error) {
      request.resume();
      settle(new BadRequestError(`Malformed multipart/form-data request: ${messageOf(error)}`));
      return;
    }

    let file: Readable | undefined;
    let stored: Promise<ReceivedUpload | undefined> | undefined;
    parser.on('file', (field, stream, fileName, _encoding, mimeType) => {
      if (field !== UPLOAD_FIELD || stored !== undefined) {
        stream.resume();
        return;
      }
      file = stream;
      let tooLarge = false;
      stream.once('limit', () => {
        tooLarge = true;
        settle(new PayloadTooLargeError(`File larger than ${options.maxFileBytes} bytes`));
      });
      stored = storeFile(stream, options.directory).then(
        async (written) => {
          if (!tooLarge) return { fileName, contentType: mimeType, ...written };
          await rm(written.path, { force: true });
          return undefined;
        },
        (error: unknown) => {
          settle(error);
          return undefined;
        },
      );
    });
    parser.on('error', (error: unknown) => {
      file?.destroy(error instanceof Error ? error : new Error(String(error)));
      settle(new BadRequestError(`Malformed multipart/form-data body: ${messageOf(error)}`));
    });
    parser.on('finish', () => {
      if (!stored) {
        settle(new BadRequestError(`The multipart body has no "${UPLOAD_FIELD}" field`));
        return;
      }
      void stored.then((upload) => {
        if (upload) settle(undefined, upload);
      });
    });
    // A client that goes away mid-body leaves the file part unfinished: end it, so that its file is removed.
    request.once('close', () => {
      if (request.complete) return;
      file?.destroy(new Error('the client closed the connection before the end of the body'));
      settle(new EmulatorError(400, 'The client closed the connection before the end of the body'));
    });
    request.pipe(parser);
  });
}

/** Writes a stream to a fresh file in `directory`, hashing and counting it on the way; removes it on failure. */
async function storeFile(
  stream: Readable,
  directory: string,
): Promise<{ size: number; sha256: string; path: string }> {
  const path = join(directory, `${randomUUID()}.upload`);
  const hash = createHash('sha256');
  let size = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  try {
    await pipeline(stream, measure, createWriteStream(path));
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  }
  return { size, sha256: hash.digest('hex'), path };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
