// Layer flow: HTTP client -> this front end (listen, route, request log + onRequest hooks, latency, auth, rate
// limit, faults, downloads, uploads) -> the emulator's API answers (create, get, list, find, upload) and its
// file store. Faulted requests change no state, except 'commit-then-500' and 'store-then-500', whose point is to.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  EmulatorAlreadyStartedError,
  EmulatorConfigError,
  EmulatorError,
  UnknownFileError,
} from './emulator-errors';
import {
  FIND_PATH_ALIAS,
  type RateLimitOptions,
  type RateLimitSettings,
  resolveRateLimit,
} from './emulator-options';
import { type Endpoint, FaultInjector, type FaultKind, type FaultOptions } from './fault-injector';
import { createFileContentStream, type EmulatorFile } from './file-store';
import { type Paging, parseJsonBody, parsePaging, readBody, sendError, sendText } from './http-io';
import { SlidingWindowRateLimiter } from './rate-limiter';
import type { SeededRandom } from './seeded-random';
import { type ReceivedUpload, receiveUpload } from './upload-receiver';

const REQUEST_LOG_LIMIT = 100_000;
const EXECUTIONS_PATH = '/v1/data_factory/job_executions';
const FILES_PATH = '/v1/data_factory/files';
/**
 * What a multipart body may hold beyond the file (boundaries, part headers, a long file name, small fields): a
 * declared Content-Length above maxUploadBytes + this is refused before any byte is read.
 */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

/** What becomes of a received upload: kept and answered, kept and answered 500, or answered but not kept. */
export type UploadMode = 'store' | 'store-then-500' | 'dry-run';

/**
 * One request as the emulator saw it. `status` is set when an answer completes: it stays 0 while the
 * request is pending and for exchanges that never complete (reset, hung, truncated download).
 */
export interface RequestLogEntry {
  /** Clock time of arrival, epoch ms. */
  at: number;
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  endpoint: Endpoint | 'unknown';
  fault?: FaultKind;
}

/** What an `onRequest` listener is told, before the request is handled. */
export interface RequestInfo {
  method: string;
  path: string;
  query: Record<string, string>;
  endpoint: Endpoint | 'unknown';
}

/** A successful API answer, already serialized (pages are concatenations of cached execution texts). */
export interface JsonAnswer {
  statusCode: number;
  text: string;
}

/** What the front end asks of the emulator behind it. */
export interface EmulatorApi {
  readonly apiKey: string;
  now(): number;
  create(body: unknown, dryRun: boolean): JsonAnswer;
  get(executionId: string): JsonAnswer;
  list(paging: Paging): JsonAnswer;
  find(body: unknown, paging: Paging): JsonAnswer;
  /** Registers a received upload (or, for a dry run, discards it) and answers its `data_factory_file`. */
  upload(received: ReceivedUpload, mode: UploadMode): Promise<JsonAnswer>;
  /** The directory uploads are written to (created on first use). */
  uploadDirectory(): Promise<string>;
  /** The file served at a download path (undefined: none, or not available yet). */
  file(path: string): EmulatorFile | undefined;
}

export interface HttpFrontEndOptions {
  findPath: string;
  maxPageSize: number;
  pageSizeOverflow: 'reject' | 'clamp';
  fileAuth: 'none' | 'api-key';
  rateLimitDownloads: boolean;
  rateLimit: RateLimitOptions | false;
  faults: FaultOptions | undefined;
  latencyMs: readonly [number, number] | undefined;
  latencyRandom: SeededRandom;
  /** Largest accepted upload, in bytes. */
  maxUploadBytes: number;
}

interface Route {
  endpoint: Endpoint;
  executionId?: string;
}

export class HttpFrontEnd {
  /** Requests received, oldest first (the same array across calls; cleared in place). */
  readonly log: RequestLogEntry[] = [];
  readonly faults: FaultInjector;
  private readonly redirects = new Map<string, string>();
  private readonly listeners = new Set<(request: RequestInfo) => void>();
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private rateLimit: RateLimitSettings | undefined;
  private limiter: SlidingWindowRateLimiter | undefined;
  private server: Server | undefined;
  private baseUrl: string | undefined;

  constructor(
    private readonly api: EmulatorApi,
    private readonly options: HttpFrontEndOptions,
  ) {
    this.faults = new FaultInjector(options.faults);
    this.setRateLimit(options.rateLimit);
  }

  /** The base URL once listening. */
  get url(): string | undefined {
    return this.baseUrl;
  }

  async start(port: number, host: string): Promise<void> {
    if (this.server) throw new EmulatorAlreadyStartedError();
    const server = createServer((request, response) => {
      void this.handle(request, response);
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    server.listen(port, host);
    await once(server, 'listening');
    this.server = server;
    const address = server.address() as AddressInfo;
    const urlHost =
      address.family === 'IPv6'
        ? `[${hostForUrl(address.address, '::1')}]`
        : hostForUrl(address.address, '127.0.0.1');
    this.baseUrl = `http://${urlHost}:${address.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
  }

  /** Replaces the rate limit (`false`: none); the new window starts empty. */
  setRateLimit(rateLimit: RateLimitOptions | false): void {
    this.rateLimit = resolveRateLimit(rateLimit);
    this.limiter = this.rateLimit
      ? new SlidingWindowRateLimiter(this.rateLimit.requestsPerMinute, this.rateLimit.windowMs)
      : undefined;
  }

  /** Makes GET `path` (any path) answer 302 with `location`. */
  addRedirect(path: string, location: string): void {
    if (!path.startsWith('/'))
      throw new EmulatorConfigError(`addRedirect needs a path starting with '/', got ${path}`);
    this.redirects.set(path, location);
  }

  onRequest(listener: (request: RequestInfo) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    // Only this machine's own clients: a browser page sends an Origin, and DNS rebinding a foreign Host.
    const refusal = this.unexpected(request);
    if (refusal) {
      sendError(response, 403, refusal);
      return;
    }
    const parsed = parseRequestUrl(request.url);
    if (!parsed) {
      sendError(response, 400, 'Malformed request target');
      return;
    }
    const path = parsed.pathname.length > 1 ? parsed.pathname.replace(/\/+$/, '') : parsed.pathname;
    const query = Object.fromEntries(parsed.searchParams);
    const route = this.route(method, path);
    const entry: RequestLogEntry = {
      at: this.api.now(),
      method,
      path,
      query,
      status: 0,
      endpoint: route?.endpoint ?? 'unknown',
    };
    this.log.push(entry);
    if (this.log.length > REQUEST_LOG_LIMIT) this.log.splice(0, this.log.length - REQUEST_LOG_LIMIT);
    response.once('finish', () => {
      entry.status = response.statusCode;
    });

    try {
      for (const listener of this.listeners) {
        listener({ method, path, query: { ...query }, endpoint: entry.endpoint });
      }
      const latency = this.options.latencyMs;
      await this.delay(latency ? this.options.latencyRandom.int(latency[0], latency[1]) : 0);
      if (!this.server) return;
      if (!route) {
        sendError(response, 404, `Cannot ${method} ${path}`);
        return;
      }
      if (!this.admit(request, response, route.endpoint)) return;
      const fault = this.faults.decide(route.endpoint);
      if (fault) entry.fault = fault;
      if (fault && this.answerWithFault(fault, request, response)) return;
      if (route.endpoint === 'download') {
        await this.download(path, method, response, fault === 'truncated-download');
        return;
      }
      if (route.endpoint === 'upload' && this.declaresTooLarge(request)) {
        // Refused before reading: the connection closes rather than draining a body that large.
        sendError(response, 413, `File larger than ${this.options.maxUploadBytes} bytes`, {
          Connection: 'close',
        });
        return;
      }
      const answer = await this.answerApi(route, request, parsed.searchParams, fault);
      if (fault === 'malformed-json') {
        // Any strict prefix of a JSON object is invalid JSON.
        sendText(
          response,
          answer.statusCode,
          answer.text.slice(0, Math.max(1, Math.floor(answer.text.length / 2))),
        );
      } else if (fault === 'commit-then-500' || fault === 'store-then-500') {
        sendError(response, 500, 'Internal server error');
      } else {
        sendText(response, answer.statusCode, answer.text);
      }
    } catch (error) {
      this.answerError(error, response);
    }
  }

  /** Why a request is not one of this machine's own clients', or undefined when it is. */
  private unexpected(request: IncomingMessage): string | undefined {
    if (request.headers.origin !== undefined) return 'Cross-origin requests are refused';
    const port = (this.server?.address() as AddressInfo | null)?.port;
    const host = String(request.headers.host ?? '').toLowerCase();
    const allowed = ['127.0.0.1', 'localhost', '[::1]'].map((name) => `${name}:${port}`);
    return allowed.includes(host) ? undefined : `Unexpected Host ${JSON.stringify(host)}`;
  }

  /** True when the request declares a body no upload within the limit can have. */
  private declaresTooLarge(request: IncomingMessage): boolean {
    const declared = Number(request.headers['content-length']);
    return Number.isFinite(declared) && declared > this.options.maxUploadBytes + MULTIPART_OVERHEAD_BYTES;
  }

  private route(method: string, path: string): Route | undefined {
    if (method === 'POST' && path === EXECUTIONS_PATH) return { endpoint: 'create' };
    if (method === 'POST' && path === FILES_PATH) return { endpoint: 'upload' };
    if (method === 'GET' && path === EXECUTIONS_PATH) return { endpoint: 'list' };
    if (method === 'POST' && (path === this.options.findPath || path === FIND_PATH_ALIAS))
      return { endpoint: 'find' };
    if (method === 'GET' && path.startsWith(`${EXECUTIONS_PATH}/`)) {
      const executionId = decodeSegment(path.slice(EXECUTIONS_PATH.length + 1));
      if (executionId && !executionId.includes('/')) return { endpoint: 'get', executionId };
    }
    if (
      (method === 'GET' || method === 'HEAD') &&
      (path.startsWith('/data-factory/') || this.redirects.has(path))
    ) {
      return { endpoint: 'download' };
    }
    return undefined;
  }

  /** Authentication, then the rate limit. Answers 401/429 itself and returns false when refused. */
  private admit(request: IncomingMessage, response: ServerResponse, endpoint: Endpoint): boolean {
    const isDownload = endpoint === 'download';
    const key = request.headers['x-api-key'];
    if (!isDownload || this.options.fileAuth === 'api-key') {
      if (key !== this.api.apiKey) {
        sendError(response, 401, key === undefined ? 'Missing X-Api-Key header' : 'Invalid API key');
        return false;
      }
    }
    if (!this.limiter || !this.rateLimit || (isDownload && !this.options.rateLimitDownloads)) return true;
    const now = this.api.now();
    // Counted per account: the emulator has one, and downloads without a key belong to it too.
    const decision = this.limiter.tryAcquire(this.api.apiKey, now);
    if (decision.allowed) return true;
    sendError(
      response,
      429,
      `Rate limit exceeded: ${this.rateLimit.requestsPerMinute} requests per ${this.rateLimit.windowMs / 1000} seconds`,
      retryAfterHeader(this.rateLimit.retryAfter, decision.retryAfterMs, now),
    );
    return false;
  }

  /** Answers the faults that replace the whole exchange; returns false for those applied later. */
  private answerWithFault(fault: FaultKind, request: IncomingMessage, response: ServerResponse): boolean {
    switch (fault) {
      case '429': {
        const style = this.rateLimit?.retryAfter === 'http-date' ? 'http-date' : 'seconds';
        sendError(
          response,
          429,
          'Too many requests',
          retryAfterHeader(style, this.faults.retryAfterSeconds * 1000, this.api.now()),
        );
        return true;
      }
      case '429-no-retry-after':
        sendError(response, 429, 'Too many requests');
        return true;
      case '500':
      case '502':
      case '503':
        sendError(response, Number(fault), `Injected fault ${fault}`);
        return true;
      case 'reset':
        request.socket.resetAndDestroy();
        return true;
      case 'timeout': {
        const timeoutMs = this.faults.timeoutMs;
        if (timeoutMs !== undefined) {
          const timer = setTimeout(() => {
            this.timers.delete(timer);
            if (!response.destroyed) sendError(response, 504, 'Upstream timed out');
          }, timeoutMs);
          this.timers.add(timer);
          response.once('close', () => {
            clearTimeout(timer);
            this.timers.delete(timer);
          });
        }
        return true;
      }
      default:
        return false;
    }
  }

  private async answerApi(
    route: Route,
    request: IncomingMessage,
    search: URLSearchParams,
    fault: FaultKind | undefined,
  ): Promise<JsonAnswer> {
    const { maxPageSize, pageSizeOverflow } = this.options;
    switch (route.endpoint) {
      case 'create':
        return this.api.create(parseJsonBody(await readBody(request)), fault === 'malformed-json');
      case 'get':
        return this.api.get(route.executionId ?? '');
      case 'list':
        return this.api.list(parsePaging(search, 20, maxPageSize, pageSizeOverflow));
      case 'find': {
        const paging = parsePaging(search, 10, maxPageSize, pageSizeOverflow);
        return this.api.find(parseJsonBody(await readBody(request)), paging);
      }
      case 'upload': {
        const received = await receiveUpload(request, {
          directory: await this.api.uploadDirectory(),
          maxFileBytes: this.options.maxUploadBytes,
        });
        // A broken answer must not hide a stored upload: only 'store-then-500' stores and fails.
        const mode =
          fault === 'malformed-json' ? 'dry-run' : fault === 'store-then-500' ? 'store-then-500' : 'store';
        return this.api.upload(received, mode);
      }
      default:
        throw new EmulatorError(500, `no handler for ${route.endpoint}`);
    }
  }

  private async download(
    path: string,
    method: string,
    response: ServerResponse,
    truncate: boolean,
  ): Promise<void> {
    const redirect = this.redirects.get(path);
    if (redirect !== undefined) {
      response.writeHead(302, { Location: redirect, 'Content-Length': '0' });
      response.end();
      return;
    }
    const file = this.api.file(path);
    if (!file) throw new UnknownFileError(path);
    if (file.redirectTo !== undefined) {
      response.writeHead(302, { Location: file.redirectTo, 'Content-Length': '0' });
      response.end();
      return;
    }
    response.writeHead(200, {
      'Content-Type': file.contentType,
      'Content-Length': String(file.size),
      'Content-Disposition': contentDisposition(file.filename),
    });
    if (method === 'HEAD') {
      response.end();
      return;
    }
    const content = createFileContentStream(file);
    if (truncate) {
      await sendTruncated(content, response, file);
      return;
    }
    try {
      await pipeline(content, response);
    } catch {
      // The client went away mid-download: nothing to answer.
    }
  }

  private answerError(error: unknown, response: ServerResponse): void {
    if (response.headersSent || response.destroyed) {
      response.destroy();
      return;
    }
    if (error instanceof EmulatorError) {
      sendError(response, error.statusCode, error.message);
      return;
    }
    if (error instanceof EmulatorConfigError) {
      sendError(response, 500, error.message);
      return;
    }
    // A client that aborts while its body is read lands here too; the socket is gone then.
    sendError(response, 500, `Emulator error: ${error instanceof Error ? error.message : String(error)}`);
  }

  private delay(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}

/**
 * Sends the headers of the whole file (full Content-Length) but only about half of its bytes, then
 * destroys the socket: what a dropped connection looks like to a client.
 */
async function sendTruncated(content: Readable, response: ServerResponse, file: EmulatorFile): Promise<void> {
  const limit = Math.min(Math.max(0, file.size - 1), Math.floor(file.size / 2));
  response.flushHeaders();
  let sent = 0;
  try {
    for await (const chunk of content) {
      if (response.destroyed) break;
      const buffer = chunk as Buffer;
      const piece = buffer.subarray(0, limit - sent);
      sent += piece.length;
      if (piece.length > 0 && !response.write(piece)) await once(response, 'drain');
      if (sent >= limit) break;
    }
  } catch {
    // Client gone.
  }
  content.destroy();
  if (response.destroyed) return;
  response.write('', () => response.socket?.destroy());
}

/** The Retry-After header for a wait of `waitMs` from `now`, in the configured style. */
function retryAfterHeader(
  style: RateLimitSettings['retryAfter'],
  waitMs: number,
  now: number,
): Record<string, string> {
  if (style === 'none') return {};
  if (style === 'http-date')
    return { 'Retry-After': new Date(Math.ceil((now + waitMs) / 1000) * 1000).toUTCString() };
  return { 'Retry-After': String(Math.max(1, Math.ceil(waitMs / 1000))) };
}

/**
 * `attachment` with the file's name: quotes, backslashes and (for uploaded names) anything beyond printable
 * ASCII replaced in `filename`, and the exact name in `filename*` when they differ (RFC 6266).
 */
function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  if (!/[^\x20-\x7e]/.test(filename)) return `attachment; filename="${ascii}"`;
  const exact = encodeURIComponent(filename).replace(
    /['()*]/g,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${exact}`;
}

function hostForUrl(address: string, loopback: string): string {
  return address === '0.0.0.0' || address === '::' ? loopback : address;
}

// Prefixed rather than resolved, so that a path like `//x` stays a path and is not read as a host.
function parseRequestUrl(target: string | undefined): URL | undefined {
  const url = `http://emulator.invalid${target?.startsWith('/') ? target : '/'}`;
  return URL.canParse(url) ? new URL(url) : undefined;
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
