// Layer flow: ProductLiveClient.uploadFile -> this multipart/form-data framing -> fetch's streamed request body.
// The body is preamble + the source's bytes + epilogue, pulled one chunk at a time (memory does not grow with
// the file), and its exact length is known before the first byte: size + the framing (RFC 7578).
import { randomBytes } from 'node:crypto';
import { ProductLiveUploadSourceError, type UploadSourceProblem } from './product-live.errors';

/** The multipart framing around one file part named `file`. */
export interface MultipartFraming {
  boundary: string;
  /** `--boundary`, the part's headers and the blank line before the bytes. */
  preamble: Uint8Array;
  /** The CRLF ending the bytes and the closing delimiter. */
  epilogue: Uint8Array;
}

/** A fresh boundary: 32 random hex digits, so that it cannot occur in any file by chance. */
function newMultipartBoundary(): string {
  return `----product-live-upload-${randomBytes(16).toString('hex')}`;
}

/**
 * Why a file name cannot be sent in a multipart `filename="…"` parameter (it is empty or holds CR or LF), or
 * undefined when it can. Every other character is sent as UTF-8, quotes and backslashes escaped.
 */
export function fileNameProblem(fileName: string): string | undefined {
  if (fileName.length === 0) return 'the file name is empty';
  if (/[\r\n]/.test(fileName)) return 'the file name contains a line break (CR or LF)';
  return undefined;
}

/** The `filename` parameter's quoted-string content: backslashes and double quotes escaped (RFC 7578, 4.2). */
function quoteFileName(fileName: string): string {
  return fileName.replace(/[\\"]/g, (character) => `\\${character}`);
}

/** The framing of one `file` part; `fileName` and `contentType` must be free of CR and LF (checked by the caller). */
export function multipartFraming(
  fileName: string,
  contentType: string,
  boundary: string = newMultipartBoundary(),
): MultipartFraming {
  const encoder = new TextEncoder();
  return {
    boundary,
    preamble: encoder.encode(
      `--${boundary}\r\n` +
        `Content-Disposition: form-data; name="file"; filename="${quoteFileName(fileName)}"\r\n` +
        `Content-Type: ${contentType}\r\n\r\n`,
    ),
    epilogue: encoder.encode(`\r\n--${boundary}--\r\n`),
  };
}

/** What the body of one attempt needs: the framing, the opened source and its announced size. */
export interface UploadBodySpec {
  framing: MultipartFraming;
  fileName: string;
  size: number;
  source: AsyncIterable<Uint8Array>;
  /** Called each time bytes are handed to fetch, and once when the body is complete (the idle timer). */
  onProgress: () => void;
}

/** One attempt's request body, and what became of it. */
export interface UploadBody {
  stream: ReadableStream<Uint8Array>;
  /** preamble + size + epilogue. */
  contentLength: number;
  /** True once the epilogue was handed over (the whole body is out). */
  readonly complete: boolean;
  /** Set when the source failed the attempt (wrong byte count, or a read that threw). */
  readonly failure: ProductLiveUploadSourceError | undefined;
  /** Releases the source (e.g. the S3 stream) if the body was not read to its end; never throws. */
  close(): Promise<void>;
}

/**
 * A pull-based body (highWaterMark 0: nothing is read from the source before fetch asks for it). A source that
 * yields more bytes than `size` fails before the excess is sent, one that ends early fails instead of the
 * epilogue: either way the server never receives a complete multipart body.
 */
export function createUploadBody(spec: UploadBodySpec): UploadBody {
  const { framing, fileName, size, onProgress } = spec;
  const iterator = spec.source[Symbol.asyncIterator]();
  let phase: 'preamble' | 'file' | 'done' = 'preamble';
  let sent = 0;
  let complete = false;
  let failure: ProductLiveUploadSourceError | undefined;
  let released = false;

  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    try {
      await iterator.return?.();
    } catch {
      // Releasing a source that already failed may throw again: nothing more to do.
    }
  };
  const sourceError = (problem: UploadSourceProblem, actualBytes: number, cause?: unknown) =>
    new ProductLiveUploadSourceError({ problem, fileName, expectedBytes: size, actualBytes, cause });
  const fail = (
    controller: ReadableStreamDefaultController<Uint8Array>,
    error: ProductLiveUploadSourceError,
  ) => {
    failure = error;
    phase = 'done';
    controller.error(error);
    void release();
  };

  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (phase === 'preamble') {
          phase = 'file';
          controller.enqueue(framing.preamble);
          onProgress();
          return;
        }
        // Empty chunks are skipped here: a pull that enqueues nothing would not be called again.
        while (phase === 'file') {
          let next: IteratorResult<Uint8Array>;
          try {
            next = await iterator.next();
          } catch (cause) {
            fail(controller, sourceError('read-failed', sent, cause));
            return;
          }
          if (next.done) {
            if (sent !== size) {
              fail(controller, sourceError('size-mismatch', sent));
              return;
            }
            phase = 'done';
            complete = true;
            released = true;
            controller.enqueue(framing.epilogue);
            controller.close();
            onProgress();
            return;
          }
          const chunk: unknown = next.value;
          if (!(chunk instanceof Uint8Array)) {
            const cause = new TypeError(`the source yielded a ${typeof chunk}, not bytes (Uint8Array)`);
            fail(controller, sourceError('read-failed', sent, cause));
            return;
          }
          if (sent + chunk.byteLength > size) {
            fail(controller, sourceError('size-mismatch', sent + chunk.byteLength));
            return;
          }
          if (chunk.byteLength === 0) continue;
          sent += chunk.byteLength;
          controller.enqueue(chunk);
          onProgress();
          return;
        }
      },
      async cancel() {
        phase = 'done';
        await release();
      },
    },
    { highWaterMark: 0 },
  );

  return {
    stream,
    contentLength: framing.preamble.byteLength + size + framing.epilogue.byteLength,
    get complete() {
      return complete;
    },
    get failure() {
      return failure;
    },
    close: release,
  };
}
