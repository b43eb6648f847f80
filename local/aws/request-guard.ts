// Layer flow: the local AWS servers (local-aws-servers.ts) -> checkLocalRequest, before any request reaches
// DynamoDB Local, s3rver or local SQS. A request passes only if it is what this stack's own clients send: a
// `Host` of this port on loopback, no `Origin` (no browser page sends a request without one, bar simple GETs,
// which carry no signature), and a SigV4 `Authorization` made with this run's generated credentials, verified.
// Why: docs/local.md "What listens, and who may talk to it".
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';

/** Credentials generated for one run of the local servers: no AWS account knows them. */
export interface LocalCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** Fresh credentials for one run: an access key id `LOCAL…` and a random secret. */
export function generateLocalCredentials(): LocalCredentials {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const id = [...randomBytes(16)].map((byte) => alphabet[byte % alphabet.length]).join('');
  return { accessKeyId: `LOCAL${id}`, secretAccessKey: randomBytes(30).toString('base64url') };
}

/** The SigV4 signing name of each guarded service (the credential scope's service). */
export const SIGNING_NAMES = { dynamodb: 'dynamodb', s3: 's3', sqs: 'sqs' } as const;
export type GuardedService = keyof typeof SIGNING_NAMES;

export interface GuardedRequest {
  method: string;
  /** The request target as received: path and query, still percent-encoded. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The whole body, when the service's requests are signed over it (DynamoDB, SQS); S3 signs a header. */
  body?: Uint8Array;
}

export interface GuardOptions {
  service: GuardedService;
  credentials: LocalCredentials;
  /** The port the request was received on: `Host` must be `127.0.0.1:<port>` or `localhost:<port>`. */
  port: number;
  now?: () => number;
}

export type GuardVerdict = { ok: true } | { ok: false; reason: string };

/** How far a request's `X-Amz-Date` may be from now (AWS's own rule). */
const MAX_CLOCK_SKEW_MS = 15 * 60_000;

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;

/** Decides whether a request may reach the service; the reason says why not (it is answered with 403). */
export async function checkLocalRequest(
  request: GuardedRequest,
  options: GuardOptions,
): Promise<GuardVerdict> {
  const host = single(request.headers.host);
  if (host !== `127.0.0.1:${options.port}` && host !== `localhost:${options.port}`) {
    return { ok: false, reason: `unexpected Host ${JSON.stringify(host ?? '')}` };
  }
  if (request.headers.origin !== undefined) return { ok: false, reason: 'cross-origin request' };
  const authorization = single(request.headers.authorization);
  if (!authorization) return { ok: false, reason: 'unsigned request' };
  const match = AUTHORIZATION.exec(authorization);
  if (!match) return { ok: false, reason: 'not a SigV4 Authorization header' };
  const [, accessKeyId, scopeDate, region, service, signedHeaderList, signature] =
    match as unknown as string[];
  if (accessKeyId !== options.credentials.accessKeyId) return { ok: false, reason: 'unknown access key id' };
  if (service !== SIGNING_NAMES[options.service]) return { ok: false, reason: `signed for ${service}` };
  const amzDate = single(request.headers['x-amz-date']);
  const signedAt = amzDate ? parseAmzDate(amzDate) : undefined;
  if (!amzDate || signedAt === undefined || amzDate.slice(0, 8) !== scopeDate) {
    return { ok: false, reason: 'missing or malformed X-Amz-Date' };
  }
  if (Math.abs((options.now ?? Date.now)() - signedAt) > MAX_CLOCK_SKEW_MS) {
    return { ok: false, reason: 'request signed too long ago' };
  }
  const signedHeaders = (signedHeaderList ?? '').split(';');
  if (!signedHeaders.includes('host') || !signedHeaders.includes('x-amz-date')) {
    return { ok: false, reason: 'Host and X-Amz-Date must be signed' };
  }
  if (options.service === 's3' && request.headers['x-amz-content-sha256'] === undefined) {
    return { ok: false, reason: 'S3 requests must carry X-Amz-Content-Sha256' };
  }
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = request.headers[name];
    if (value === undefined) return { ok: false, reason: `signed header ${name} is missing` };
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const { path, query } = splitTarget(request.url);
  const signer = new SignatureV4({
    credentials: options.credentials,
    region: region ?? '',
    service: service ?? '',
    sha256: NodeSha256,
    // S3 signs the path as sent; the other services sign it normalised and encoded once more.
    uriEscapePath: options.service !== 's3',
    applyChecksum: false,
  });
  const expected = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: host.split(':')[0] ?? '',
      path,
      query,
      headers,
      ...(request.body ? { body: request.body } : {}),
    },
    { signingDate: new Date(signedAt), signableHeaders: new Set(signedHeaders) },
  );
  const computed = /Signature=([0-9a-f]{64})/.exec(String(expected.headers.authorization ?? ''))?.[1] ?? '';
  const given = Buffer.from(signature ?? '', 'hex');
  if (computed.length !== 64 || !timingSafeEqual(Buffer.from(computed, 'hex'), given)) {
    return { ok: false, reason: 'signature does not match' };
  }
  return { ok: true };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** `20261207T173102Z` as epoch milliseconds. */
function parseAmzDate(text: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number) as number[];
  const ms = Date.UTC(year ?? 0, (month ?? 1) - 1, day, hour, minute, second);
  return Number.isFinite(ms) ? ms : undefined;
}

/** The path as received and the query decoded (a `+` stays a `+`: SigV4 encodes the query itself). */
function splitTarget(url: string): { path: string; query: Record<string, string | string[]> } {
  const mark = url.indexOf('?');
  const path = mark === -1 ? url : url.slice(0, mark);
  const query: Record<string, string | string[]> = {};
  if (mark !== -1) {
    for (const part of url.slice(mark + 1).split('&')) {
      if (part === '') continue;
      const equals = part.indexOf('=');
      const key = decode(equals === -1 ? part : part.slice(0, equals));
      const value = equals === -1 ? '' : decode(part.slice(equals + 1));
      const previous = query[key];
      query[key] =
        previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
    }
  }
  return { path: path || '/', query };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** SHA-256 and HMAC-SHA256 from node:crypto, in the shape the SigV4 signer takes. */
class NodeSha256 {
  private hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;

  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.create();
  }

  update(data: Uint8Array): void {
    this.hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.create();
  }

  private create() {
    if (this.secret === undefined) return createHash('sha256');
    const key =
      typeof this.secret === 'string'
        ? this.secret
        : ArrayBuffer.isView(this.secret)
          ? new Uint8Array(this.secret.buffer, this.secret.byteOffset, this.secret.byteLength)
          : new Uint8Array(this.secret);
    return createHmac('sha256', key);
  }
}
