// The launch benchmark's upload part: one object streamed from S3 (s3rver) to the emulator's Files API by
// ProductLiveClient.uploadFile, as the launch function does, against a plain stream copy of the same S3 bytes to
// a file on disk in the same run; throughput, and how much the process's memory grows (it must not depend on
// the object's size). S3 and the emulator run in a child process (upload-servers.ts).
import { type ChildProcess, fork } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ProductLiveClient } from '#core/product-live/product-live-client';
import { LOCAL_S3_SETTINGS } from '#local/aws/local-aws-servers';
import type { BenchReport, Check, Figure } from './bench-report';
import { formatDuration, formatNumber } from './bench-report';
import type { BenchResources } from './bench-resources';
import { RssSampler } from './measures';
import type { UploadServersReady, UploadServersUploads } from './upload-servers';

const MIB = 1024 * 1024;
const RSS_GOAL_MIB = 64;
const SAMPLE_INTERVAL_MS = 5;
const here = dirname(fileURLToPath(import.meta.url));

/** What the upload part adds to the benchmark's report. */
export type UploadPart = Pick<BenchReport, 'parameters' | 'figures' | 'checks' | 'details' | 'notes'>;

/** Uploads a `size`-byte object from S3 to the emulator and copies it to disk; returns figures and checks. */
export async function measureUpload(resources: BenchResources, size: number): Promise<UploadPart> {
  const { servers, child } = await startUploadServers(resources, size);
  const s3 = new S3Client({
    region: servers.region,
    credentials: servers.credentials,
    endpoint: servers.s3Endpoint,
    ...LOCAL_S3_SETTINGS,
  });
  resources.defer('upload S3 client', async () => s3.destroy());
  const sampler = new RssSampler(SAMPLE_INTERVAL_MS);
  resources.defer('upload RSS sampler', () => sampler.stop());
  const workDir = await mkdtemp(join(tmpdir(), 'plsync-bench-upload-'));
  resources.defer('upload temporary directory', () => rm(workDir, { recursive: true, force: true }));
  const openObject = async () =>
    (await s3.send(new GetObjectCommand({ Bucket: servers.bucket, Key: servers.key }))).Body as Readable;
  const fileName = servers.key.split('/').at(-1) ?? servers.key;
  const client = new ProductLiveClient({ baseUrl: servers.apiUrl, apiKey: servers.apiKey });

  // 1. The client, as the launch function calls it: the S3 object's body as the source.
  await settle();
  const uploadBaseline = await sampler.reset();
  let opened = 0;
  const uploadStarted = performance.now();
  const uploaded = await client.uploadFile({
    fileName,
    size: servers.size,
    contentType: 'text/csv',
    open: () => {
      opened += 1;
      return openObject();
    },
  });
  const uploadMs = performance.now() - uploadStarted;
  const uploadPeak = await sampler.peak();

  // 2. The reference: the same S3 bytes piped to a file.
  await settle();
  const plainBaseline = await sampler.reset();
  const plainFile = join(workDir, 'object.csv');
  const plainStarted = performance.now();
  await pipeline(await openObject(), createWriteStream(plainFile));
  const plainMs = performance.now() - plainStarted;
  const plainPeak = await sampler.peak();
  const plainSize = (await stat(plainFile)).size;
  await rm(plainFile, { force: true });

  const received = await askUploads(child);
  await stopChild(child);

  const uploadRate = size / 1e6 / (uploadMs / 1000);
  const plainRate = size / 1e6 / (plainMs / 1000);
  const growthMib = (uploadPeak.peak - uploadBaseline) / MIB;
  const stored = received.find((upload) => upload.id === uploaded.id);
  const checks: Check[] = [
    {
      label: "the emulator stored the S3 object's bytes, once",
      ok:
        received.length === 1 &&
        stored?.sha256 === servers.sha256 &&
        stored.size === size &&
        stored.fileName === fileName &&
        opened === 1,
      detail: `${received.length} upload(s), SHA-256 ${stored?.sha256.slice(0, 16)}… (S3 ${servers.sha256.slice(0, 16)}…), ${stored?.size} bytes, "${stored?.fileName}", source opened ${opened}×`,
    },
    { label: 'the plain copy is complete', ok: plainSize === size, detail: `${plainSize} bytes on disk` },
    {
      label: 'memory sampled throughout the upload',
      ok: uploadPeak.samples >= 10,
      detail: `${uploadPeak.samples} samples, one every ${SAMPLE_INTERVAL_MS} ms (own thread)`,
    },
  ];
  const figures: Figure[] = [
    {
      key: 'uploadRate',
      label: 'upload S3 → emulator (uploadFile)',
      value: uploadRate,
      unit: 'MB/s',
      digits: 1,
    },
    {
      key: 'uploadRssGrowth',
      label: 'peak RSS growth during the upload',
      value: growthMib,
      unit: 'MiB',
      digits: 1,
      goal: { comparison: '<', target: RSS_GOAL_MIB },
    },
    {
      key: 'plainS3CopyRate',
      label: 'plain stream copy S3 → disk',
      value: plainRate,
      unit: 'MB/s',
      digits: 1,
    },
    {
      key: 'uploadRateRatio',
      label: 'upload ÷ plain copy',
      value: uploadRate / plainRate,
      unit: '',
      digits: 2,
    },
  ];
  const notes = [
    'Upload: ProductLiveClient.uploadFile with the S3 GetObject body as its source, as the launch function ' +
      'uploads an s3_object reference: multipart/form-data framed around the stream, pulled a chunk at a time ' +
      'and sent with an exact Content-Length over node:http (Node 22’s fetch keeps a streamed request body in ' +
      'memory, nodejs/undici#4058), into the emulator, which parses it with @fastify/busboy and writes it to ' +
      'disk through a SHA-256. S3 (s3rver) and the emulator run in a child process, so the RSS measured ' +
      'is the uploading process alone; RSS growth is the peak during the upload minus the RSS just before it, ' +
      `sampled every ${SAMPLE_INTERVAL_MS} ms on a worker thread. The plain copy pipes the same GetObject ` +
      'body to a file on local disk: the ceiling of reading this object here. MB = 10^6 bytes.',
  ];
  if (growthMib >= RSS_GOAL_MIB) {
    notes.push(
      `Goal missed: RSS grew by ${formatNumber(growthMib, 1)} MiB during the upload: the body should hold ` +
        'one chunk at a time (highWaterMark 0); look for a buffer between the S3 stream and fetch.',
    );
  }
  return {
    parameters: {
      'upload: object size': `${formatNumber(size / MIB, 0)} MiB (${size} bytes)`,
      'upload: source': `s3://${servers.bucket}/${servers.key} (s3rver, generated CSV)`,
      'upload: servers': 's3rver and the emulator in a child process, on free ports',
    },
    figures,
    checks,
    details: {
      'upload time': formatDuration(uploadMs),
      'plain copy time': formatDuration(plainMs),
      'RSS before the upload': `${formatNumber(uploadBaseline / MIB, 1)} MiB`,
      'peak RSS during the upload': `${formatNumber(uploadPeak.peak / MIB, 1)} MiB (${uploadPeak.samples} samples)`,
      'peak RSS growth during the plain copy': `${formatNumber((plainPeak.peak - plainBaseline) / MIB, 1)} MiB`,
    },
    notes,
  };
}

/** Lets the previous step's garbage and sockets settle before a baseline is taken. */
async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1_000));
}

async function startUploadServers(
  resources: BenchResources,
  size: number,
): Promise<{ servers: UploadServersReady; child: ChildProcess }> {
  const child: ChildProcess = fork(join(here, 'upload-servers.ts'), [String(size)], {
    cwd: join(here, '..', '..'),
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  resources.defer('upload servers (child process)', () => stopChild(child));
  const servers = await new Promise<UploadServersReady>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('the upload servers did not start within 5 minutes')),
      300_000,
    );
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the upload servers exited with code ${code} before they were ready`));
    });
    child.once('message', (message) => {
      clearTimeout(timer);
      if ((message as UploadServersReady).type === 'ready') resolve(message as UploadServersReady);
      else reject(new Error(`unexpected message from the upload servers: ${JSON.stringify(message)}`));
    });
  });
  return { servers, child };
}

function askUploads(child: ChildProcess): Promise<UploadServersUploads['uploads']> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if ((message as UploadServersUploads).type !== 'uploads') return;
      child.off('message', onMessage);
      resolve((message as UploadServersUploads).uploads);
    };
    child.on('message', onMessage);
    child.send('uploads');
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.send('stop');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}
