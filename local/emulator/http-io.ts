// Small HTTP helpers of the emulator: reading a bounded body, paging parameters, JSON answers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BadRequestError, EmulatorError, toErrorBody } from './emulator-errors';

/** Request bodies above this are refused with 413: find queries and launch inputs are small. */
const MAX_BODY_BYTES = 1024 * 1024;

/** Reads the whole request body as UTF-8, refusing more than MAX_BODY_BYTES. */
export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_BODY_BYTES)
      throw new EmulatorError(413, `Request body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses a JSON body; an empty or invalid one is a 400 that says so. */
export function parseJsonBody(text: string): unknown {
  if (text.trim().length === 0) throw new BadRequestError('Request body is empty: a JSON body is required');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BadRequestError(
      `Malformed JSON body: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

export interface Paging {
  page: number;
  size: number;
}

/**
 * Reads `page` (default 0) and `size` (default `defaultSize`) from the query string. Both must be
 * non-negative integers and size at least 1; a size above `maxPageSize` is a 400, or is served as
 * `maxPageSize` when `overflow` is 'clamp' (a server that silently caps pages).
 */
export function parsePaging(
  query: URLSearchParams,
  defaultSize: number,
  maxPageSize: number,
  overflow: 'reject' | 'clamp',
): Paging {
  const page = parseNonNegativeInteger(query, 'page', 0);
  let size = parseNonNegativeInteger(query, 'size', defaultSize);
  if (size < 1) throw new BadRequestError('size must be at least 1');
  if (size > maxPageSize) {
    if (overflow === 'reject') throw new BadRequestError(`size must not be greater than ${maxPageSize}`);
    size = maxPageSize;
  }
  return { page, size };
}

function parseNonNegativeInteger(query: URLSearchParams, name: string, fallback: number): number {
  const raw = query.get(name);
  if (raw === null) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value)) {
    throw new BadRequestError(`${name} must be a non-negative integer, got "${raw}"`);
  }
  return value;
}

/** Sends a JSON body with its Content-Length. */
function sendJson(
  response: ServerResponse,
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  sendText(response, statusCode, JSON.stringify(body), headers);
}

/** Sends text as `application/json` (also used for deliberately broken JSON). */
export function sendText(
  response: ServerResponse,
  statusCode: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  const payload = Buffer.from(text, 'utf8');
  response.writeHead(statusCode, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(payload.length),
    ...headers,
  });
  response.end(payload);
}

/** Sends the standard error body `{statusCode, error, message}`. */
export function sendError(
  response: ServerResponse,
  statusCode: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  sendJson(response, statusCode, toErrorBody(statusCode, message), headers);
}
