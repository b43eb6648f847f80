// Layer flow: the SQL engines (DuckDB over the lake, Athena) -> this shape -> the history CLI's renderers. One
// result shape whatever the engine: columns with the engine's type names, rows of JSON-friendly values.

/** A cell: instants as ISO 8601 strings, whole numbers as numbers, nested values as arrays and objects. */
export type SqlValue = string | number | boolean | null | SqlValue[] | { [key: string]: SqlValue };

export interface SqlResult {
  columns: Array<{ name: string; type: string }>;
  rows: Array<Record<string, SqlValue>>;
}

/** The query itself is wrong (syntax, unknown column, not read-only): the engine's message, one line. */
export class SqlQueryError extends Error {
  override readonly name = 'SqlQueryError';
}

/** Statements that only read, by their first keyword (DuckDB's `FROM t` shorthand included). */
const READ_ONLY_START =
  /^\(*\s*(select|with|from|values|explain|describe|show|summarize|table|pivot|unpivot)\b/i;

/**
 * Refuses, with the read-only message, a statement that does not start like a query: the engines check again
 * on their side (DuckDB by the prepared statement's type, Athena by the workgroup's permissions).
 */
export function assertReadOnly(sql: string): void {
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
