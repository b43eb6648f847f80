// Layer flow: the lake writer -> this adapter -> hyparquet-writer. Encodes the rows of a lake table as one
// Parquet object (Snappy, column statistics): timestamps as INT64 TIMESTAMP_MILLIS (UTC), bigint columns as
// INT64, int columns as INT32, booleans as BOOLEAN, text as UTF-8. DuckDB and Athena read the types back as typed.
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { LakeColumnType, LakeRow, LakeTable } from './lake-tables';

const PARQUET_TYPES = {
  string: 'STRING',
  timestamp: 'TIMESTAMP',
  bigint: 'INT64',
  int: 'INT32',
  boolean: 'BOOLEAN',
} as const satisfies Record<LakeColumnType, string>;

/** The rows of `table` as one Parquet file. */
export function toParquet(table: LakeTable, rows: readonly LakeRow[]): Uint8Array {
  const buffer = parquetWriteBuffer({
    columnData: table.columns.map((column) => ({
      name: column.name,
      type: PARQUET_TYPES[column.type],
      data: rows.map((row) => row[column.name] ?? null),
    })),
    // One row group for the day's object (they are small: a day of executions), read in one piece.
    rowGroupSize: Math.max(1, rows.length),
    createdBy: 'product-live-job-execution-sync',
  });
  return new Uint8Array(buffer);
}
