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
