// Layer flow: browser -> this HTTP adapter (node:http, 127.0.0.1 only) -> DashboardData (use cases) and the
// bundled assets. Read-only by construction: GET and HEAD only, the routes of site-map.ts (dashboard-routes.ts),
// each view answered by its data function of the same name, no file system lookups, downloads only of keys recorded on an execution. Requests whose Host is not this
// loopback address are refused, so a web page on another origin cannot reach it through DNS rebinding.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { ExecutionNotFoundError, HistoryInputError } from '#core/history/history.errors';
import { PortInUseError } from '../aws/local-aws-servers';
import type { Asset, DashboardAssets } from './dashboard-assets';
import type { DashboardViews } from './dashboard-data';
import {
  DashboardRequestError,
  matchRoute,
  parseFilters,
  type Route,
  type ViewRoute,
} from './dashboard-routes';
import { VIEWS } from './site-map';

export type { DashboardViews } from './dashboard-data';

/** The only interface the dashboard listens on. */
const DASHBOARD_HOST = '127.0.0.1';

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
};

/** A download is never rendered by the browser as a page of this origin. */
const DOWNLOAD_POLICY = "sandbox; default-src 'none'";

export interface DashboardHandlerOptions {
  data: DashboardViews;
  assets: DashboardAssets;
  /** Host header values accepted (`127.0.0.1:PORT`, `localhost:PORT`); all when absent (unit tests). */
  allowedHosts?: () => ReadonlySet<string>;
  now?: () => number;
  /** Unexpected failures (the client only sees a 500). */
  onError?: (error: unknown) => void;
}

export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

/** The request handler of the dashboard (the server's, and the unit tests'). */
export function createDashboardHandler(options: DashboardHandlerOptions): RequestHandler {
  const assetNames = new Set(options.assets.files.keys());
  const now = options.now ?? Date.now;
  return async (request, response) => {
    try {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.setHeader('Allow', 'GET, HEAD');
        throw new DashboardRequestError(405, `${request.method} is not allowed: the dashboard is read-only`);
      }
      const allowed = options.allowedHosts?.();
      if (allowed && !allowed.has(String(request.headers.host ?? '').toLowerCase())) {
        return send(request, response, 403, 'text/plain; charset=utf-8', Buffer.from('unknown host\n'));
      }
      const url = new URL(request.url ?? '/', 'http://dashboard.invalid');
      const route = matchRoute(url.pathname, assetNames);
      await serve(route, url.searchParams, request, response, options, now);
    } catch (error) {
      failed(error, request, response, options.onError);
    }
  };
}

async function serve(
  route: Route,
  query: URLSearchParams,
  request: IncomingMessage,
  response: ServerResponse,
  options: DashboardHandlerOptions,
  now: () => number,
): Promise<void> {
  const { data, assets } = options;
  if (route.kind === 'page') return sendAsset(request, response, assets.page);
  if (route.kind === 'asset') {
    const asset = assets.files.get(route.name);
    if (!asset) throw new DashboardRequestError(404, 'no such asset');
    return sendAsset(request, response, asset);
  }
  // A view reads the filters it names (site-map.ts), from the query string.
  const { filters, period } = parseFilters(query, now(), VIEWS[route.kind].filters);
  if (route.kind === 'file') {
    const file = await data.file({ id: route.id, index: route.index, filters, period });
    response.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Security-Policy': DOWNLOAD_POLICY,
      'Content-Type': safeContentType(file.contentType),
      'Content-Disposition': attachment(file.fileName),
      'Cache-Control': 'no-store',
      ...(file.size !== null ? { 'Content-Length': String(file.size) } : {}),
      ...(file.sha256 !== null ? { 'X-Content-SHA256': file.sha256 } : {}),
    });
    if (request.method === 'HEAD') {
      file.body.destroy();
      response.end();
      return;
    }
    await pipeline(file.body, response);
    return;
  }
  const { kind, ...params } = route;
  sendJson(request, response, 200, await answer(data, kind, { ...params, filters, period }));
}

/** The answer of a view's data function (the method of the view's name). */
function answer<View extends ViewRoute['kind']>(
  data: DashboardViews,
  view: View,
  request: Parameters<DashboardViews[View]>[0],
): ReturnType<DashboardViews[View]> {
  return data[view](request);
}

/** JSON that is safe even if something sniffs it as HTML: `<`, `>` and `&` are \u escapes. */
export function toSafeJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function sendJson(request: IncomingMessage, response: ServerResponse, status: number, value: unknown): void {
  send(request, response, status, 'application/json; charset=utf-8', Buffer.from(toSafeJson(value)), {
    'Cache-Control': 'no-store',
  });
}

function sendAsset(request: IncomingMessage, response: ServerResponse, asset: Asset): void {
  const headers = { 'Cache-Control': 'no-cache', ETag: asset.etag, Vary: 'Accept-Encoding' };
  if (request.headers['if-none-match'] === asset.etag) {
    response.writeHead(304, { ...SECURITY_HEADERS, ...headers });
    response.end();
    return;
  }
  const gzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
  send(request, response, 200, asset.contentType, gzip ? asset.gzip : asset.body, {
    ...headers,
    ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
  });
}

function send(
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  contentType: string,
  body: Buffer,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    ...headers,
    'Content-Type': contentType,
    'Content-Length': String(body.byteLength),
  });
  response.end(request.method === 'HEAD' ? undefined : body);
}

function failed(
  error: unknown,
  request: IncomingMessage,
  response: ServerResponse,
  onError: ((error: unknown) => void) | undefined,
): void {
  if (response.headersSent) {
    response.destroy(error instanceof Error ? error : undefined);
    return;
  }
  let status = 500;
  let message = 'the dashboard could not answer this request (see the terminal running it)';
  if (error instanceof DashboardRequestError) ({ status, message } = error);
  else if (error instanceof ExecutionNotFoundError) [status, message] = [404, error.message];
  else if (error instanceof HistoryInputError) [status, message] = [400, error.message];
  else if (error instanceof Error && (error.name === 'NoSuchKey' || error.name === 'NotFound')) {
    [status, message] = [404, 'the file copy is not in the files bucket'];
  } else onError?.(error);
  sendJson(request, response, status, { error: message });
}

/** The recorded content type, unless it could make a browser treat the download as something else. */
function safeContentType(contentType: string): string {
  return /^[\w.+-]+\/[\w.+-]+(\s*;\s*charset=[\w-]+)?$/i.test(contentType)
    ? contentType
    : 'application/octet-stream';
}

/** Content-Disposition of a download: an ASCII fallback name and the UTF-8 name (RFC 6266). */
export function attachment(fileName: string): string {
  const base = fileName.split(/[\\/]/).pop() ?? 'download';
  const ascii = base.replace(/[^\x20-\x7e]|["\\%;]/g, '_').trim() || 'download';
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(base)}`;
}

export interface DashboardServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface StartDashboardOptions extends Omit<DashboardHandlerOptions, 'allowedHosts'> {
  /** 0: a free port chosen by the system. */
  port: number;
}

/** Serves the dashboard on 127.0.0.1:port; PortInUseError when the port is taken. */
export async function startDashboardServer(options: StartDashboardOptions): Promise<DashboardServer> {
  let hosts: ReadonlySet<string> = new Set();
  const server: Server = createServer(createDashboardHandler({ ...options, allowedHosts: () => hosts }));
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? new PortInUseError('the dashboard', options.port) : error);
    });
    server.listen(options.port, DASHBOARD_HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  hosts = new Set([`${DASHBOARD_HOST}:${port}`, `localhost:${port}`]);
  return {
    url: `http://${DASHBOARD_HOST}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
