// Layer flow: the local AWS servers -> serveGuarded -> an HTTP server on 127.0.0.1 whose every request is checked
// by checkLocalRequest (request-guard.ts) before the service's own handler sees it; a refused request gets 403
// and never reaches the service. The body is read first only where the signature covers it (DynamoDB, SQS).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { checkLocalRequest, type GuardedService, type LocalCredentials } from './request-guard';

/** Largest body read before the signature check (DynamoDB's own request limit is 16 MB). */
const MAX_GUARDED_BODY_BYTES = 32 * 1024 * 1024;

export interface GuardedServerOptions {
  service: GuardedService;
  credentials: LocalCredentials;
  port: number;
  /**
   * Handles a request the guard let through. `body` is the request's whole body for the services whose
   * signature covers it (the request stream is then consumed); absent for S3, whose handler reads the stream.
   */
  handle(request: IncomingMessage, response: ServerResponse, body: Buffer | undefined): void | Promise<void>;
  /** Told each refusal (tests, verbose logs). */
  onRefused?: (reason: string, request: IncomingMessage) => void;
}

export interface GuardedServer {
  readonly server: Server;
  readonly endpoint: string;
  close(): Promise<void>;
}

/** Starts the guarded server on 127.0.0.1:port. */
export async function serveGuarded(options: GuardedServerOptions): Promise<GuardedServer> {
  const server = createServer((request, response) => {
    void guard(options, request, response).catch((error: unknown) => {
      if (!response.headersSent) refuse(options.service, response, 500, String(error));
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    endpoint: `http://127.0.0.1:${options.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function guard(options: GuardedServerOptions, request: IncomingMessage, response: ServerResponse) {
  let body: Buffer | undefined;
  if (options.service !== 's3') {
    body = await readBounded(request);
    if (body === undefined) {
      options.onRefused?.('request body too large', request);
      return refuse(options.service, response, 413, 'request body too large');
    }
  }
  const verdict = await checkLocalRequest(
    {
      method: request.method ?? 'GET',
      url: request.url ?? '/',
      headers: request.headers,
      ...(body ? { body } : {}),
    },
    { service: options.service, credentials: options.credentials, port: options.port },
  );
  if (!verdict.ok) {
    options.onRefused?.(verdict.reason, request);
    // The rest of a refused S3 upload is not read: the connection closes after the answer.
    if (options.service === 's3') response.shouldKeepAlive = false;
    return refuse(options.service, response, 403, verdict.reason);
  }
  await options.handle(request, response, body);
}

async function readBounded(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_GUARDED_BODY_BYTES) {
      request.resume();
      return undefined;
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** A refusal in the service's own error format, so that SDK clients report it as AccessDenied. */
function refuse(service: GuardedService, response: ServerResponse, status: number, reason: string): void {
  const message = `refused by the local stack's guard: ${reason} (docs/local.md)`;
  if (service === 's3') {
    response.writeHead(status, { 'Content-Type': 'application/xml' });
    response.end(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>${escapeXml(message)}</Message></Error>`,
    );
    return;
  }
  response.writeHead(status, {
    'Content-Type': 'application/x-amz-json-1.0',
    'x-amzn-query-error': 'AccessDenied;Sender',
  });
  response.end(JSON.stringify({ __type: 'AccessDeniedException', message }));
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (character) => `&#${character.charCodeAt(0)};`);
}
