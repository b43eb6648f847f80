// Layer flow: `npm run history -- sql --engine athena` -> this module -> Amazon Athena (the deployed workgroup
// and Glue database). Starts the query, waits for it, and streams its result pages in the shape DuckDB gives.
// The workgroup enforces its own settings (results bucket, encryption, bytes-scanned cutoff, read-only grants).
import {
  type AthenaClient,
  GetQueryExecutionCommand,
  type GetQueryResultsCommandOutput,
  paginateGetQueryResults,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import {
  collectRows,
  type SqlColumn,
  SqlInterruptedError,
  SqlQueryError,
  type SqlResult,
  type SqlRow,
  type SqlRows,
  SqlTimeoutError,
  type SqlValue,
} from './sql-result';

export interface AthenaQueryOptions {
  workgroup: string;
  database: string;
  /** Between two looks at the query's state (default 500 ms). */
  pollMs?: number;
  /** Stop the query (StopQueryExecution) when it has not succeeded after this long; 0 or undefined: no limit. */
  timeoutMs?: number;
  /** Aborting it stops the query (StopQueryExecution) and the wait (SqlInterruptedError). */
  signal?: AbortSignal;
  sleep?: (ms: number) => Promise<void>;
}

/** Runs one read-only query on Athena and returns its rows. */
export async function runAthenaQuery(
  client: AthenaClient,
  sql: string,
  options: AthenaQueryOptions,
): Promise<SqlResult> {
  return collectRows(await streamAthenaQuery(client, sql, options));
}

/** Runs one read-only query on Athena; its rows are read page by page as the caller iterates. */
export async function streamAthenaQuery(
  client: AthenaClient,
  sql: string,
  options: AthenaQueryOptions,
): Promise<SqlRows> {
  assertReadOnly(sql);
  const statement = sql.trim().replace(/;\s*$/, '');
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
  const started = await client.send(
    new StartQueryExecutionCommand({
      QueryString: statement,
      WorkGroup: options.workgroup,
      QueryExecutionContext: { Database: options.database, Catalog: 'AwsDataCatalog' },
    }),
  );
  const id = started.QueryExecutionId;
  if (!id) throw new Error('Athena returned no QueryExecutionId');
  const stop = async (error: Error): Promise<never> => {
    await client.send(new StopQueryExecutionCommand({ QueryExecutionId: id })).catch(() => undefined);
    throw error;
  };
  const limited = options.timeoutMs !== undefined && options.timeoutMs > 0;
  const deadline = limited ? Date.now() + (options.timeoutMs ?? 0) : Number.POSITIVE_INFINITY;
  for (;;) {
    if (options.signal?.aborted) await stop(new SqlInterruptedError());
    const { QueryExecution: execution } = await client.send(
      new GetQueryExecutionCommand({ QueryExecutionId: id }),
    );
    const state = execution?.Status?.State;
    if (state === 'SUCCEEDED') break;
    if (state === 'FAILED' || state === 'CANCELLED') {
      const reason =
        execution?.Status?.AthenaError?.ErrorMessage ?? execution?.Status?.StateChangeReason ?? state;
      throw new SqlQueryError(`Athena: ${reason}`);
    }
    if (Date.now() >= deadline) await stop(new SqlTimeoutError(options.timeoutMs ?? 0));
    await sleep(options.pollMs ?? 500);
  }
  return readResults(client, id, options.signal);
}

/** The first page gives the columns; the rows follow page by page (1,000 a page). */
async function readResults(client: AthenaClient, id: string, signal?: AbortSignal): Promise<SqlRows> {
  const pages = paginateGetQueryResults({ client }, { QueryExecutionId: id });
  const first = await pages.next();
  const columns = first.done ? [] : columnsOf(first.value);
  async function* batches(): AsyncGenerator<SqlRow[]> {
    if (first.done) return;
    // The first row of a SELECT's first page repeats the column names.
    yield rowsOf(first.value, columns).slice(1);
    for await (const page of pages) {
      if (signal?.aborted) throw new SqlInterruptedError();
      yield rowsOf(page, columns);
    }
  }
  return { columns, batches: batches() };
}

function rowsOf(page: GetQueryResultsCommandOutput, columns: readonly SqlColumn[]): SqlRow[] {
  return (page.ResultSet?.Rows ?? []).map((row) => {
    const record: SqlRow = {};
    columns.forEach((column, index) => {
      record[column.name] = toValue(row.Data?.[index]?.VarCharValue, column.type);
    });
    return record;
  });
}

function columnsOf(page: GetQueryResultsCommandOutput): SqlColumn[] {
  return (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((info) => ({
    name: info.Name ?? '',
    type: (info.Type ?? 'varchar').toLowerCase(),
  }));
}

/** Athena returns every value as text: numbers, booleans and instants are turned back into values. */
function toValue(text: string | undefined, type: string): SqlValue {
  if (text === undefined) return null;
  if (/^(tinyint|smallint|integer|int|bigint|double|real|float|decimal)/.test(type)) return Number(text);
  if (type === 'boolean') return text === 'true';
  if (type.startsWith('timestamp')) {
    // `2024-06-01 12:00:00.123` (UTC: the lake's timestamps are UTC instants).
    const instant = new Date(
      `${text.replace(' ', 'T').replace(/ UTC$/, '')}${/[zZ+]/.test(text) ? '' : 'Z'}`,
    );
    return Number.isNaN(instant.getTime()) ? text : instant.toISOString();
  }
  return text;
}

/** Statements that only read, by their first keyword (the DuckDB shorthands too: Athena answers those itself). */
const READ_ONLY_START =
  /^\(*\s*(select|with|from|values|explain|describe|show|summarize|table|pivot|unpivot)\b/i;

/**
 * Refuses, with the read-only message, a statement that does not start like a query, before Athena is called.
 * A courtesy, not the guard: the workgroup's grants are what keep Athena read-only (DuckDB's check is by its
 * own parser: read-only-sql.ts).
 */
function assertReadOnly(sql: string): void {
  const statement = sql
    .replace(/--[^\n]*/g, '')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .trim();
  if (statement === '') throw new SqlQueryError('no SQL statement given');
  if (!READ_ONLY_START.test(statement)) {
    const keyword = statement.split(/[\s(;]+/)[0]?.toUpperCase() ?? '';
    throw new SqlQueryError(`read-only: only SELECT queries are run here (got ${keyword})`);
  }
}
