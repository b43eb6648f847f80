// Layer flow: `npm run history -- sql --engine athena` -> this module -> Amazon Athena (the deployed workgroup
// and Glue database). Starts the query, waits for it, and pages its results into the same shape DuckDB gives.
// The workgroup enforces its own settings (results bucket, encryption, bytes-scanned cutoff).
import {
  type AthenaClient,
  GetQueryExecutionCommand,
  type GetQueryResultsCommandOutput,
  paginateGetQueryResults,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { assertReadOnly, SqlQueryError, type SqlResult, type SqlValue } from './sql-result';

export interface AthenaQueryOptions {
  workgroup: string;
  database: string;
  /** Between two looks at the query's state (default 500 ms). */
  pollMs?: number;
  /** Give up waiting after this long (default 5 minutes); the query is left to Athena. */
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Runs one read-only query on Athena and returns its rows. */
export async function runAthenaQuery(
  client: AthenaClient,
  sql: string,
  options: AthenaQueryOptions,
): Promise<SqlResult> {
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
  const deadline = Date.now() + (options.timeoutMs ?? 5 * 60_000);
  for (;;) {
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
    if (Date.now() > deadline) {
      throw new Error(
        `Athena query ${id} still ${state ?? 'running'} after the timeout; see the Athena console`,
      );
    }
    await sleep(options.pollMs ?? 500);
  }
  return readResults(client, id);
}

async function readResults(client: AthenaClient, id: string): Promise<SqlResult> {
  let columns: SqlResult['columns'] | undefined;
  const rows: SqlResult['rows'] = [];
  let first = true;
  for await (const page of paginateGetQueryResults({ client }, { QueryExecutionId: id })) {
    columns ??= columnsOf(page);
    const pageRows = page.ResultSet?.Rows ?? [];
    // The first row of a SELECT's first page repeats the column names.
    const data = first ? pageRows.slice(1) : pageRows;
    first = false;
    for (const row of data) {
      const record: Record<string, SqlValue> = {};
      (columns ?? []).forEach((column, index) => {
        record[column.name] = toValue(row.Data?.[index]?.VarCharValue, column.type);
      });
      rows.push(record);
    }
  }
  return { columns: columns ?? [], rows };
}

function columnsOf(page: GetQueryResultsCommandOutput): SqlResult['columns'] {
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
