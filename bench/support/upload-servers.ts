// Child process of the launch benchmark's upload part: s3rver (holding one generated object) and the Product-Live
// emulator (receiving the upload) run here, so that the benchmark process's RSS is the uploading client's alone,
// as in a Lambda where S3 and the API are remote. Protocol (IPC): the child sends `ready` with the endpoints and
// the object's SHA-256; the parent sends `uploads` (the child answers with what the emulator received) and
// `stop` (the child stops both servers, their temporary directories removed, and exits). It also exits if the
// parent goes away.
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LOCAL_S3_SETTINGS, startLocalAwsServers } from '#local/aws/local-aws-servers';
import { createFileContentStream } from '#local/emulator/file-store';
import { createEmulator, type EmulatorUpload, systemClock } from '#local/emulator/index';

/** What the child reports once the object is in S3 and the emulator listens. */
export interface UploadServersReady {
  type: 'ready';
  apiUrl: string;
  apiKey: string;
  s3Endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  bucket: string;
  key: string;
  size: number;
  sha256: string;
}

/** The child's answer to `uploads`. */
export interface UploadServersUploads {
  type: 'uploads';
  uploads: Omit<EmulatorUpload, 'url'>[];
}

const UPLOAD_BUCKET = 'bench-launch-inbox';
const UPLOAD_KEY = 'imports/supplier a/catalogue complet été.csv';

async function main(): Promise<void> {
  const size = Number(process.argv[2]);
  if (!Number.isSafeInteger(size) || size < 0)
    throw new Error(`object size expected, got ${process.argv[2]}`);
  const servers = await startLocalAwsServers({ services: ['s3'] });
  const emulator = createEmulator({ clock: systemClock, rateLimit: false, seed: 'bench-launch-upload' });
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await emulator.stop().catch(() => undefined);
      await servers.stop().catch(() => undefined);
    })();
    return stopping;
  };
  process.on('disconnect', () => void stop().finally(() => process.exit(0)));
  // Ctrl-C reaches the whole process group: stop cleanly (temporary directories removed) rather than die.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => void stop().finally(() => process.exit(130)));
  }
  process.on('message', (message) => {
    if (message === 'stop') void stop().finally(() => process.send?.('stopped', () => process.exit(0)));
    if (message === 'uploads') {
      const answer: UploadServersUploads = {
        type: 'uploads',
        uploads: emulator.uploads().map(({ url: _url, ...upload }) => upload),
      };
      process.send?.(answer);
    }
  });
  try {
    await emulator.start();
    const s3 = new S3Client({
      region: servers.region,
      credentials: servers.credentials,
      endpoint: servers.endpoints.s3 ?? '',
      ...LOCAL_S3_SETTINGS,
    });
    await s3.send(new CreateBucketCommand({ Bucket: UPLOAD_BUCKET }));
    // The object's bytes: the emulator's generator (a CSV header, then an AES-CTR keystream as hex), hashed
    // on their way to S3.
    const hash = createHash('sha256');
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    const content = createFileContentStream({ id: 'bench-launch-upload', size, filename: 'catalogue.csv' });
    await s3.send(
      new PutObjectCommand({
        Bucket: UPLOAD_BUCKET,
        Key: UPLOAD_KEY,
        Body: content.pipe(hashing),
        ContentLength: size,
        ContentType: 'text/csv',
      }),
    );
    s3.destroy();
    const ready: UploadServersReady = {
      type: 'ready',
      apiUrl: emulator.url,
      apiKey: emulator.apiKey,
      s3Endpoint: servers.endpoints.s3 ?? '',
      region: servers.region,
      credentials: { ...servers.credentials },
      bucket: UPLOAD_BUCKET,
      key: UPLOAD_KEY,
      size,
      sha256: hash.digest('hex'),
    };
    process.send?.(ready);
  } catch (error) {
    await stop();
    throw error;
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
