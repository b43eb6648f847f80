// Layer flow: `npm run history -- sql` (history-sql.ts) -> this module -> stdout. Writes a streamed SQL result as a
// table, one JSON array or CSV while its rows arrive: a batch at a time, waiting for 'drain' when the reader is
// slower, so memory does not grow with the result; the table holds only the rows that size its columns.
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { csvLine } from '../history/csv';
import type { SqlColumn, SqlRow, SqlRows, SqlValue } from '../warehouse/sql-result';
import { columnWidths, formatTableLine, type TableColumn, truncate } from './cli-output';

export type SqlOutputFormat = 'table' | 'json' | 'csv';

export interface SqlOutputOptions {
  format: SqlOutputFormat;
  /** Stop after this many rows (0: all of them). */
  maxRows: number;
  /** Aborting it stops the writing, a wait for 'drain' included. */
  signal?: AbortSignal;
}

export interface SqlOutputSummary {
  /** Rows written. */
  rows: number;
  /** The result had more rows than maxRows: the rest were not read. */
  cut: boolean;
}

/** The table's column widths come from its first rows, at most this many (the later ones are aligned to them). */
export const TABLE_SIZING_ROWS = 10_000;

/** A long cell in the table view is cut at this many columns. */
const CELL_WIDTH = 60;

/** Writes `result` to `out` as it is read; resolves once the last row is handed to `out`. */
export async function writeSqlRows(
  result: SqlRows,
  out: Writable,
  options: SqlOutputOptions,
): Promise<SqlOutputSummary> {
  const writer = new ChunkWriter(out, options.signal);
  const renderer = renderers[options.format](result.columns, writer);
  let rows = 0;
  let cut = false;
  await renderer.start();
  reading: for await (const batch of result.batches) {
    for (const row of batch) {
      if (options.maxRows > 0 && rows === options.maxRows) {
        cut = true;
        break reading; // ends the engine's iteration: the rest of the result is never computed
      }
      renderer.row(row);
      rows += 1;
    }
    await writer.flush();
  }
  await renderer.end(rows);
  await writer.flush();
  return { rows, cut };
}

interface Renderer {
  start(): Promise<void>;
  row(row: SqlRow): void;
  end(rows: number): Promise<void>;
}

const renderers: Record<SqlOutputFormat, (columns: SqlColumn[], writer: ChunkWriter) => Renderer> = {
  json: (_columns, writer) => ({
    // The bytes JSON.stringify(rows, null, 2) gives, one row at a time.
    start: async () => writer.add('['),
    row: (row) => {
      writer.add(writer.written ? ',\n  ' : '\n  ');
      writer.add(JSON.stringify(row, null, 2).replaceAll('\n', '\n  '));
      writer.written = true;
    },
    end: async () => writer.add(writer.written ? '\n]\n' : ']\n'),
  }),
  csv: (columns, writer) => ({
    start: async () => writer.add(csvLine(columns.map((column) => column.name))),
    row: (row) =>
      writer.add(
        csvLine(
          columns.map((column) => {
            const value = row[column.name] ?? null;
            return typeof value === 'object' && value !== null ? JSON.stringify(value) : value;
          }),
        ),
      ),
    end: async () => {
      // CSV: nothing closes the output.
    },
  }),
  table: (columns, writer) => tableRenderer(columns, writer),
};

/**
 * The aligned table: the first TABLE_SIZING_ROWS rows are held to size the columns, then printed; later rows
 * follow at those widths. A row count closes it.
 */
function tableRenderer(columns: SqlColumn[], writer: ChunkWriter): Renderer {
  const headers: TableColumn[] = columns.map((column) => ({
    header: column.name,
    ...(NUMERIC.test(column.type) ? { align: 'right' as const } : {}),
  }));
  let held: string[][] | undefined = [];
  let widths: number[] = [];
  const cells = (row: SqlRow) =>
    columns.map((column) => truncate(cellText(row[column.name] ?? null).replace(/\s+/g, ' '), CELL_WIDTH));
  const release = (rows: string[][]) => {
    widths = columnWidths(headers, rows);
    writer.add(
      formatTableLine(
        headers,
        widths,
        headers.map((header) => header.header),
      ),
    );
    for (const row of rows) writer.add(`\n${formatTableLine(headers, widths, row)}`);
    held = undefined;
  };
  return {
    start: async () => {
      // The header waits for the first rows: they size the columns.
    },
    row: (row) => {
      if (columns.length === 0) return;
      if (held === undefined) {
        writer.add(`\n${formatTableLine(headers, widths, cells(row))}`);
        return;
      }
      held.push(cells(row));
      if (held.length === TABLE_SIZING_ROWS) release(held);
    },
    end: async (rows) => {
      if (columns.length === 0) return writer.add('The query returned no columns.\n');
      if (held !== undefined) release(held);
      writer.add(`\n\n${rows} row${rows === 1 ? '' : 's'}\n`);
    },
  };
}

const NUMERIC = /^(tinyint|smallint|integer|int|bigint|hugeint|double|real|float|decimal|ubigint|uinteger)/i;

/** A cell as text: JSON for nested values, nothing for null. */
function cellText(value: SqlValue): string {
  if (value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Gathers text and writes it in one chunk per batch, waiting for 'drain' when the stream's buffer is full. */
class ChunkWriter {
  /** Set by a renderer once it wrote its first row. */
  written = false;
  private pending: string[] = [];

  constructor(
    private readonly out: Writable,
    private readonly signal: AbortSignal | undefined,
  ) {}

  add(text: string): void {
    this.pending.push(text);
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const chunk = this.pending.join('');
    this.pending = [];
    this.signal?.throwIfAborted();
    if (!this.out.write(chunk)) await once(this.out, 'drain', this.signal ? { signal: this.signal } : {});
  }
}
