// Child process of the file-copy benchmark: the Product-Live emulator (serving one generated file) and
// s3rver run here, so that the benchmark process's RSS is the copier's alone, as in a Lambda where the API
// and S3 are remote. Protocol (IPC): the child sends `ready` with the endpoints and the file's SHA-256;
// the parent sends `stop`; the child stops both servers (s3rver's temporary directory is removed) and exits.
// It also exits if the parent goes away.
import { startLocalAwsServers } from '#local/aws/local-aws-servers';
import { createEmulator, systemClock } from '#local/emulator/index';

/** What the child reports once it serves the file. */
export interface FileServersReady {
  type: 'ready';
  apiUrl: string;
  apiKey: string;
  fileUrl: string;
  size: number;
  sha256: string;
  s3Endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

const FILE_NAME = 'catalog-export.zip';

async function main(): Promise<void> {
  const size = Number(process.argv[2]);
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`file size expected, got ${process.argv[2]}`);
  const servers = await startLocalAwsServers({ services: ['s3'] });
  const emulator = createEmulator({ clock: systemClock, rateLimit: false, seed: 'bench-file-copy' });
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await emulator.stop().catch(() => undefined);
      await servers.stop().catch(() => undefined);
    })();
    return stopping;
  };
  process.on('disconnect', () => void stop().finally(() => process.exit(0)));
  // Ctrl-C reaches the whole process group: stop cleanly (s3rver's directory removed) rather than die.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => void stop().finally(() => process.exit(130)));
  }
  process.on('message', (message) => {
    if (message === 'stop') void stop().finally(() => process.send?.('stopped', () => process.exit(0)));
  });
  try {
    await emulator.start();
    const file = emulator.addFile({ size, filename: FILE_NAME });
    // The ground truth, computed here from the generator (the emulator caches it).
    const sha256 = await emulator.fileSha256(file.url);
    const ready: FileServersReady = {
      type: 'ready',
      apiUrl: emulator.url,
      apiKey: emulator.apiKey,
      fileUrl: file.url,
      size,
      sha256,
      s3Endpoint: servers.endpoints.s3 ?? '',
      region: servers.region,
      credentials: { ...servers.credentials },
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
