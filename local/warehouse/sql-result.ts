// Layer flow: the SQL engines (DuckDB over the lake, Athena) -> this shape -> the history CLI's renderers. One
// result shape whatever the engine: columns with the engine's type names, then the rows in batches as the engine
// produces them (streamed: nothing holds the whole result), each a JSON-friendly value.

/** A cell: instants as ISO 8601 strings, whole numbers as numbers, nested values as arrays and objects. */
export type SqlValue = string | number | boolean | null | SqlValue[] | { [key: string]: SqlValue };

export type SqlRow = Record<string, SqlValue>;

export interface SqlColumn {
  name: string;
  /** The engine's own type name (DuckDB `BIGINT`, Athena `bigint`). */
  type: string;
}

/** A whole result in memory (the dashboard and the tests; the CLI streams `SqlRows` instead). */
export interface SqlResult {
  columns: SqlColumn[];
  rows: SqlRow[];
}

/**
 * A result being read: its columns at once, then its rows in batches. Leaving the loop early (`break`, an error)
 * stops the engine; an interrupted or timed-out query makes the iteration throw.
 */
export interface SqlRows {
  columns: SqlColumn[];
  batches: AsyncIterable<SqlRow[]>;
}

/** Reads every batch into memory. */
export async function collectRows(rows: SqlRows): Promise<SqlResult> {
  const all: SqlRow[] = [];
  for await (const batch of rows.batches) all.push(...batch);
  return { columns: rows.columns, rows: all };
}

/** The query itself is wrong (syntax, unknown column, not read-only): the engine's message, one line. */
export class SqlQueryError extends Error {
  override readonly name = 'SqlQueryError';
}

/** The query ran longer than its time limit and was stopped (DuckDB's interrupt, Athena's StopQueryExecution). */
export class SqlTimeoutError extends Error {
  override readonly name = 'SqlTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`the query ran longer than ${timeoutMs} ms and was stopped`);
  }
}

/** The query was stopped on request (Ctrl-C: the caller's AbortSignal). */
export class SqlInterruptedError extends Error {
  override readonly name = 'SqlInterruptedError';
  constructor() {
    super('the query was interrupted');
  }
}

/** Limits of one query run. */
export interface SqlRunOptions {
  /** Stop the query after this long (ms; undefined or 0: no limit). DuckDB counts only the time it computes. */
  timeoutMs?: number;
  /** Aborting it stops the query at once (SqlInterruptedError). */
  signal?: AbortSignal;
}
