// `npm run history -- sql`: SQL over the warehouse. Wiring only: find the lake (the running local stack's bucket,
// s3rver started on the data directory, or a deployed bucket), refresh and check its local copy, run the query with
// DuckDB (or send it to Athena) within its limits, and stream the rows out as a table, JSON or CSV (sql-output.ts).
import { join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { NAMED_QUERIES } from '#core/warehouse/named-queries';
import type { LocalAwsServers } from '../aws/local-aws-servers';
import { LOCAL_S3_SETTINGS } from '../aws/provision';
import { LOCAL_LAKE_BUCKET_NAME, readRunningStack } from '../stack/local-stack-settings';
import { StoreError } from '../store/store-error';
import type { SqlRows } from '../warehouse/sql-result';
import { writeChunk } from './cli-output';
import { DEFAULT_MAX_ROWS, type HistoryCommand } from './history-args';
import { writeSqlRows } from './sql-output';

type SqlCommand = Extract<HistoryCommand, { name: 'sql' }>;

export interface SqlIo {
  /** Where the rows go (stdout). */
  out: Writable;
  /** `out` is a terminal: the default --max-rows then applies to every format. */
  isTTY: boolean;
  /** The process environment (AWS_ENDPOINT_URL_S3 selects path-style S3 URLs for a deployed bucket). */
  env: Record<string, string | undefined>;
  /** Progress notes for people (starting s3rver, downloading the lake): only on a terminal. */
  note?: (message: string) => void;
  /** What the user must know, always said (stderr): a lake copy that failed its check, a result cut short. */
  warn: (message: string) => void;
  /** Ctrl-C: stops the refresh, the query and the writing. */
  signal?: AbortSignal;
}

/**
 * Runs the sql command. The caller maps SqlQueryError (bad SQL) and StoreError to exit code 2,
 * SqlTimeoutError to 1, and an aborted signal (SqlInterruptedError) to 130.
 */
export async function runSqlCommand(command: SqlCommand, dataDir: string, io: SqlIo): Promise<void> {
  if (command.sql === undefined) return writeChunk(io.out, renderNamedQueries());
  const maxRows = command.maxRows ?? (command.output === 'table' || io.isTTY ? DEFAULT_MAX_ROWS : 0);
  const print = async (rows: SqlRows) => {
    const written = await writeSqlRows(rows, io.out, {
      format: command.output,
      maxRows,
      ...(io.signal ? { signal: io.signal } : {}),
    });
    if (written.cut) {
      io.warn(`stopped after ${maxRows.toLocaleString('en')} rows (--max-rows); pass --max-rows 0 for all`);
    }
  };
  return command.engine === 'athena'
    ? queryAthena(command, io, print)
    : queryLake(command, dataDir, io, print);
}

async function queryAthena(
  command: SqlCommand,
  io: SqlIo,
  print: (rows: SqlRows) => Promise<void>,
): Promise<void> {
  const [{ AthenaClient }, { streamAthenaQuery }] = await Promise.all([
    import('@aws-sdk/client-athena'),
    import('../warehouse/athena-engine'),
  ]);
  const client = new AthenaClient({});
  try {
    await print(
      await streamAthenaQuery(client, command.sql ?? '', {
        workgroup: command.workgroup ?? '',
        database: command.database,
        timeoutMs: command.timeoutMs,
        ...(io.signal ? { signal: io.signal } : {}),
      }),
    );
  } finally {
    client.destroy();
  }
}

/** DuckDB over a fresh, checked local copy of the lake. */
async function queryLake(
  command: SqlCommand,
  dataDir: string,
  io: SqlIo,
  print: (rows: SqlRows) => Promise<void>,
): Promise<void> {
  const source = await openLakeSource(command.bucket, dataDir, io);
  let cacheDir: string;
  try {
    cacheDir = join(resolve(dataDir), 'lake-cache', source.bucket);
    const { refreshLakeCache } = await import('../warehouse/lake-cache');
    const refreshed = await refreshLakeCache(source.s3, source.bucket, cacheDir, {
      note: io.warn,
      ...(io.signal ? { signal: io.signal } : {}),
    });
    if (refreshed.downloaded > 0) {
      io.note?.(`Lake copy refreshed: ${refreshed.downloaded} of ${refreshed.objects} objects downloaded.`);
    }
  } finally {
    await source.close();
  }
  const { DuckDbLake } = await import('../warehouse/duckdb-lake');
  const lake = await DuckDbLake.open(cacheDir);
  try {
    await print(
      await lake.stream(command.sql ?? '', {
        timeoutMs: command.timeoutMs,
        ...(io.signal ? { signal: io.signal } : {}),
      }),
    );
  } finally {
    lake.close();
  }
}

interface LakeSource {
  s3: S3Client;
  bucket: string;
  close(): Promise<void>;
}

async function openLakeSource(bucket: string | undefined, dataDir: string, io: SqlIo): Promise<LakeSource> {
  if (bucket !== undefined) {
    // The standard credential chain and region; an S3-compatible endpoint (AWS_ENDPOINT_URL_S3) needs paths.
    const s3 = new S3Client({ forcePathStyle: Boolean(io.env.AWS_ENDPOINT_URL_S3) });
    return { s3, bucket, close: async () => s3.destroy() };
  }
  const { startLocalAwsServers } = await import('../aws/local-aws-servers');
  const stack = await readRunningStack(dataDir);
  if (stack) {
    const s3 = new S3Client(localS3(stack.region, stack.endpoints.s3, { ...stack.credentials }));
    return { s3, bucket: stack.lakeBucket ?? LOCAL_LAKE_BUCKET_NAME, close: async () => s3.destroy() };
  }
  const directory = resolve(dataDir);
  const { stat } = await import('node:fs/promises');
  const hasLake = await stat(join(directory, 's3', LOCAL_LAKE_BUCKET_NAME)).then(
    () => true,
    () => false,
  );
  if (!hasLake) {
    throw new StoreError(
      `no local lake in ${dataDir}: run \`npm start -- --once\` first to sync into it, or pass --bucket NAME to read a deployed lake`,
    );
  }
  io.note?.(`No local stack is running: starting the S3 server on ${join(dataDir, 's3')}...`);
  const server: LocalAwsServers = await startLocalAwsServers({ services: ['s3'], dataDir: directory });
  const s3 = new S3Client(localS3(server.region, server.endpoints.s3 ?? '', { ...server.credentials }));
  return {
    s3,
    bucket: LOCAL_LAKE_BUCKET_NAME,
    close: async () => {
      s3.destroy();
      await server.stop();
    },
  };
}

function localS3(
  region: string,
  endpoint: string,
  credentials: S3ClientConfig['credentials'],
): S3ClientConfig {
  return { region, credentials, endpoint, ...LOCAL_S3_SETTINGS };
}

function renderNamedQueries(): string {
  return `${NAMED_QUERIES.map((query) => `${query.name}: ${query.description}\n\n${query.sql}\n`).join(
    '\n',
  )}\nRun one with: npm run history -- sql --query NAME\n`;
}
