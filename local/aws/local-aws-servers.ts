// Layer flow: test global setup / local stack runner / CLIs -> this module -> DynamoDB Local (Java, behind its
// guarded front: dynamodb-local.ts) and in-process servers (s3rver, local-aws-sqs) behind the same guard
// (guarded-server.ts): 127.0.0.1 only, and only requests signed with this run's generated credentials. Free ports
// unless a port is given; stop() leaves no process or port behind.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createRequestHandler } from 'local-aws-sqs';
import S3rver from 's3rver';
import { startDynamoDbLocal } from './dynamodb-local';
import { serveGuarded } from './guarded-server';
import { generateLocalCredentials, type LocalCredentials } from './request-guard';

export { checkJava, JavaMissingError } from './dynamodb-local';
export type { LocalCredentials } from './request-guard';

export const LOCAL_REGION = 'us-east-1';

/** s3rver predates S3's flexible checksums (aws-chunked uploads): send them only when required. */
export const LOCAL_S3_SETTINGS = {
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
} as const;

export type LocalService = 'dynamodb' | 's3' | 'sqs';

export interface LocalAwsServersOptions {
  /** Which servers to start (default: all three). */
  services?: readonly LocalService[];
  /** Persist DynamoDB and S3 data under this directory; in memory / a temporary directory when absent. */
  dataDir?: string;
  /** Fixed ports (default: free ports chosen by the OS). */
  ports?: Partial<Record<LocalService, number>>;
  /** Milliseconds to wait for DynamoDB Local to accept requests (default 60 s). */
  startTimeoutMs?: number;
  /** The credentials clients must sign with (default: generated for this run). */
  credentials?: LocalCredentials;
}

export interface LocalAwsServers {
  readonly region: string;
  /** This run's credentials: the servers answer only requests signed with them. */
  readonly credentials: LocalCredentials;
  readonly endpoints: Partial<Record<LocalService, string>>;
  /** The SDK's standard variables that point every AWS client of a process at these servers. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

/** Raised when a fixed port is already taken by another process. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  constructor(
    readonly service: string,
    readonly port: number,
  ) {
    super(`Port ${port} for ${service} is already in use: stop the process using it or choose another port.`);
  }
}

/** Starts the requested local AWS servers; on any failure, stops what was started and rethrows. */
export async function startLocalAwsServers(options: LocalAwsServersOptions = {}): Promise<LocalAwsServers> {
  const services = new Set(options.services ?? ['dynamodb', 's3', 'sqs']);
  const credentials = options.credentials ?? generateLocalCredentials();
  const stops: Array<() => Promise<void>> = [];
  const endpoints: Partial<Record<LocalService, string>> = {};
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    stops.length = 0;
  };
  try {
    if (services.has('dynamodb')) {
      const dynamo = await startDynamoDbLocal({
        port: await findFreePort('DynamoDB Local', options.ports?.dynamodb),
        credentials,
        dbPath: options.dataDir ? join(options.dataDir, 'dynamodb') : undefined,
        timeoutMs: options.startTimeoutMs ?? 60_000,
      });
      stops.push(dynamo.stop);
      endpoints.dynamodb = dynamo.endpoint;
    }
    if (services.has('s3')) {
      const s3 = await startS3rver({
        port: await findFreePort('s3rver', options.ports?.s3),
        credentials,
        directory: options.dataDir ? join(options.dataDir, 's3') : undefined,
      });
      stops.push(s3.stop);
      endpoints.s3 = s3.endpoint;
    }
    if (services.has('sqs')) {
      const sqs = await startSqs({ port: await findFreePort('local SQS', options.ports?.sqs), credentials });
      stops.push(sqs.stop);
      endpoints.sqs = sqs.endpoint;
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  return {
    region: LOCAL_REGION,
    credentials,
    endpoints,
    env: localAwsEnv(endpoints, credentials),
    stop: stopAll,
  };
}

/** Environment variables that point the AWS SDK (and so our functions) at the given local endpoints. */
export function localAwsEnv(
  endpoints: Partial<Record<LocalService, string>>,
  credentials: LocalCredentials,
): Record<string, string> {
  const env: Record<string, string> = {
    AWS_REGION: LOCAL_REGION,
    // The AWS CLI v1 reads only this one.
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    // s3rver predates S3's flexible checksums (aws-chunked uploads); only send them when required.
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
  };
  if (endpoints.dynamodb) env.AWS_ENDPOINT_URL_DYNAMODB = endpoints.dynamodb;
  if (endpoints.s3) env.AWS_ENDPOINT_URL_S3 = endpoints.s3;
  if (endpoints.sqs) env.AWS_ENDPOINT_URL_SQS = endpoints.sqs;
  return env;
}

/**
 * The `LAUNCH_MAX_RECEIVE_COUNT` that marks the last delivery of a local-aws-sqs queue with the given redrive
 * `maxReceiveCount`. That server also counts each ChangeMessageVisibility (a retry's backoff) as a receive:
 * the nth delivery of a retried message shows ApproximateReceiveCount 2n − 1, and the redrive fires once the
 * count reaches `maxReceiveCount`, so the last delivery shows one less.
 */
export function localLastDeliveryReceiveCount(queueMaxReceiveCount: number): number {
  return queueMaxReceiveCount - 1;
}

/** A port the OS reports free right now (a fixed port is checked instead, and must be free). */
export async function findFreePort(service: string, fixed?: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' && fixed !== undefined ? new PortInUseError(service, fixed) : error),
    );
    probe.listen(fixed ?? 0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * s3rver behind the guard. s3rver knows one fixed account and does not verify SigV4 itself: the guard verifies
 * each request with this run's credentials, then presents it to s3rver under that account's key id.
 */
async function startS3rver(options: {
  port: number;
  credentials: LocalCredentials;
  directory: string | undefined;
}): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'plsync-s3-')));
  const s3rver = new S3rver({ silent: true, directory, allowMismatchedSignatures: true });
  const handle = s3rver.callback();
  const front = await serveGuarded({
    service: 's3',
    credentials: options.credentials,
    port: options.port,
    handle: (request, response) => {
      const { authorization } = request.headers;
      if (authorization !== undefined) {
        request.headers.authorization = authorization.replace(
          `Credential=${options.credentials.accessKeyId}/`,
          `Credential=${S3RVER_ACCESS_KEY_ID}/`,
        );
      }
      return handle(request, response);
    },
  });
  return {
    endpoint: front.endpoint,
    stop: async () => {
      await front.close();
      if (!options.directory) await rm(directory, { recursive: true, force: true });
    },
  };
}

/** The key id of s3rver's one built-in account. */
const S3RVER_ACCESS_KEY_ID = 'S3RVER';

/** local-aws-sqs's request handler behind the guard, given the body the guard read and verified. */
async function startSqs(options: {
  port: number;
  credentials: LocalCredentials;
}): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const { requestHandler } = createRequestHandler({
    port: options.port,
    hostname: '127.0.0.1',
    emulateQueueCreationLifecycle: false,
  });
  const front = await serveGuarded({
    service: 'sqs',
    credentials: options.credentials,
    port: options.port,
    handle: (request, response, body) => {
      const replay = Object.assign(Readable.from(body && body.length > 0 ? [body] : []), {
        headers: request.headers,
        method: request.method,
        url: request.url,
      });
      return requestHandler(replay as unknown as typeof request, response);
    },
  });
  return { endpoint: front.endpoint, stop: front.close };
}
