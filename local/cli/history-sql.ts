// `npm run history -- sql`: SQL over the warehouse. Wiring only: find the lake (the running local stack's
// bucket, s3rver started on the data directory, or a deployed bucket), refresh its local copy, run the query
// with DuckDB, or send it to Athena, and print the rows as a table, JSON or CSV.
import { join, resolve } from 'node:path';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { NAMED_QUERIES } from '../../functions/core/warehouse/named-queries';
import type { LocalAwsServers } from '../aws/local-aws-servers';
import { LOCAL_S3_SETTINGS } from '../aws/provision';
import { csvLine } from '../history/csv';
import { LOCAL_LAKE_BUCKET_NAME, readRunningStack } from '../stack/local-stack-settings';
import { StoreError } from '../store/store-error';
import type { SqlResult, SqlValue } from '../warehouse/sql-result';
import { formatTable, truncate } from './cli-output';
import type { HistoryCommand } from './history-args';

type SqlCommand = Extract<HistoryCommand, { name: 'sql' }>;

export interface SqlIo {
  print(text: string): Promise<void>;
  /** The process environment (AWS_ENDPOINT_URL_S3 selects path-style S3 URLs for a deployed bucket). */
  env: Record<string, string | undefined>;
  /** Progress notes for people (starting s3rver, downloading the lake). */
  note?: (message: string) => void;
}

/** Runs the sql command; the caller maps SqlQueryError (bad SQL) and StoreError to exit code 2. */
export async function runSqlCommand(command: SqlCommand, dataDir: string, io: SqlIo): Promise<void> {
  if (command.sql === undefined) return io.print(renderNamedQueries());
  const result =
    command.engine === 'athena' ? await queryAthena(command) : await queryLake(command, dataDir, io);
  if (command.output === 'json') return io.print(`${JSON.stringify(result.rows, null, 2)}\n`);
  if (command.output === 'csv') return io.print(renderCsv(result));
  return io.print(renderTable(result));
}

async function queryAthena(command: SqlCommand): Promise<SqlResult> {
  const [{ AthenaClient }, { runAthenaQuery }] = await Promise.all([
    import('@aws-sdk/client-athena'),
    import('../warehouse/athena-engine'),
  ]);
  const client = new AthenaClient({});
  try {
    return await runAthenaQuery(client, command.sql ?? '', {
      workgroup: command.workgroup ?? '',
      database: command.database,
    });
  } finally {
    client.destroy();
  }
}

/** DuckDB over a fresh local copy of the lake. */
async function queryLake(command: SqlCommand, dataDir: string, io: SqlIo): Promise<SqlResult> {
  const source = await openLakeSource(command.bucket, dataDir, io);
  let cacheDir: string;
  try {
    cacheDir = join(resolve(dataDir), 'lake-cache', source.bucket);
    const { refreshLakeCache } = await import('../warehouse/lake-cache');
    const refreshed = await refreshLakeCache(source.s3, source.bucket, cacheDir);
    if (refreshed.downloaded > 0) {
      io.note?.(`Lake copy refreshed: ${refreshed.downloaded} of ${refreshed.objects} objects downloaded.`);
    }
  } finally {
    await source.close();
  }
  const { DuckDbLake } = await import('../warehouse/duckdb-lake');
  const lake = await DuckDbLake.open(cacheDir);
  try {
    return await lake.query(command.sql ?? '');
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

/** A cell as text: JSON for nested values, nothing for null. */
function cellText(value: SqlValue): string {
  if (value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

const CELL_WIDTH = 60;

function renderTable(result: SqlResult): string {
  if (result.columns.length === 0) return 'The query returned no columns.\n';
  const numeric = (type: string) =>
    /^(tinyint|smallint|integer|int|bigint|hugeint|double|real|float|decimal|ubigint|uinteger)/i.test(type);
  const table = formatTable(
    result.columns.map((column) => ({
      header: column.name,
      ...(numeric(column.type) ? { align: 'right' as const } : {}),
    })),
    result.rows.map((row) =>
      result.columns.map((column) =>
        truncate(cellText(row[column.name] ?? null).replace(/\s+/g, ' '), CELL_WIDTH),
      ),
    ),
  );
  const count = `${result.rows.length} row${result.rows.length === 1 ? '' : 's'}`;
  return `${table}\n\n${count}\n`;
}

function renderCsv(result: SqlResult): string {
  return [
    csvLine(result.columns.map((column) => column.name)),
    ...result.rows.map((row) =>
      csvLine(
        result.columns.map((column) => {
          const value = row[column.name] ?? null;
          return typeof value === 'object' && value !== null ? JSON.stringify(value) : value;
        }),
      ),
    ),
  ].join('');
}

function renderNamedQueries(): string {
  return `${NAMED_QUERIES.map((query) => `${query.name}: ${query.description}\n\n${query.sql}\n`).join(
    '\n',
  )}\nRun one with: npm run history -- sql --query NAME\n`;
}
