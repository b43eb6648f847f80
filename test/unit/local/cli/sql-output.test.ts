// The streamed output of `history sql`: JSON, CSV and the table give the bytes the whole-result renderers gave
// (one JSON array, as JSON.stringify(rows, null, 2)); --max-rows stops reading the result; a slow reader holds the
// rows back ('drain'); Ctrl-C ends a wait for it.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatTable, truncate } from '#local/cli/cli-output';
import { TABLE_SIZING_ROWS, writeSqlRows } from '#local/cli/sql-output';
import { csvLine } from '#local/history/csv';
import type { SqlColumn, SqlRow, SqlRows } from '#local/warehouse/sql-result';

const COLUMNS: SqlColumn[] = [
  { name: 'title', type: 'VARCHAR' },
  { name: 'runs', type: 'BIGINT' },
  { name: 'last', type: 'TIMESTAMP' },
  { name: 'output', type: 'JSON' },
];

function aRow(index: number): SqlRow {
  return {
    title: index === 0 ? '=SUM(1) Export price' : `Job ${index}`,
    runs: index * 3,
    last: index % 4 === 0 ? null : new Date(Date.UTC(2024, 5, 1, index % 24)).toISOString(),
    output: index % 2 === 0 ? { report: { rows: index, tags: ['a', 'b'] } } : [],
  };
}

/** The rows in batches of `size`, counting how many batches were asked for. */
function source(rows: SqlRow[], size = 2048, columns = COLUMNS) {
  const seen = { batches: 0, finished: false };
  async function* batches() {
    try {
      for (let start = 0; start < rows.length; start += size) {
        seen.batches += 1;
        yield rows.slice(start, start + size);
      }
    } finally {
      seen.finished = true;
    }
  }
  const result: SqlRows = { columns, batches: batches() };
  return { result, seen };
}

/** A stream that keeps what is written. */
function sink() {
  const chunks: string[] = [];
  const out = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { out, text: () => chunks.join('') };
}

/** What `history sql` printed before it streamed: the whole result rendered at once. */
function tableOfAll(rows: SqlRow[]): string {
  const cell = (value: SqlRow[string]) =>
    value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  const table = formatTable(
    COLUMNS.map((column) => ({
      header: column.name,
      ...(column.type === 'BIGINT' ? { align: 'right' as const } : {}),
    })),
    rows.map((row) =>
      COLUMNS.map((column) => truncate(cell(row[column.name] ?? null).replace(/\s+/g, ' '), 60)),
    ),
  );
  return `${table}\n\n${rows.length} row${rows.length === 1 ? '' : 's'}\n`;
}

describe('history sql output', () => {
  const rows = Array.from({ length: 5000 }, (_, index) => aRow(index));

  it('--json writes one JSON array, byte for byte what JSON.stringify(rows, null, 2) gives', async () => {
    for (const some of [rows, rows.slice(0, 1), []]) {
      const { out, text } = sink();
      await writeSqlRows(source(some).result, out, { format: 'json', maxRows: 0 });
      expect(text()).toBe(`${JSON.stringify(some, null, 2)}\n`);
      expect(JSON.parse(text())).toEqual(some);
    }
  });

  it('--csv writes a header and a line per row, nested values as JSON, formulas escaped', async () => {
    const { out, text } = sink();
    await writeSqlRows(source(rows).result, out, { format: 'csv', maxRows: 0 });
    const expected = [
      csvLine(COLUMNS.map((column) => column.name)),
      ...rows.map((row) =>
        csvLine(
          COLUMNS.map((column) => {
            const value = row[column.name] ?? null;
            return typeof value === 'object' && value !== null ? JSON.stringify(value) : value;
          }),
        ),
      ),
    ].join('');
    expect(text()).toBe(expected);
    expect(text().split('\n')[1]).toBe(
      '\'=SUM(1) Export price,0,,"{""report"":{""rows"":0,""tags"":[""a"",""b""]}}"',
    );
  });

  it('prints the table the whole-result renderer printed, with its row count', async () => {
    for (const some of [rows, rows.slice(0, 1), []]) {
      const { out, text } = sink();
      await writeSqlRows(source(some).result, out, { format: 'table', maxRows: 0 });
      expect(text()).toBe(tableOfAll(some));
    }
  });

  it('prints a table longer than its sizing rows whole: later rows at the widths of the first ones', async () => {
    const many = Array.from({ length: TABLE_SIZING_ROWS + 2500 }, (_, index) => aRow(index));
    const { out, text } = sink();
    expect(await writeSqlRows(source(many).result, out, { format: 'table', maxRows: 0 })).toEqual({
      rows: many.length,
      cut: false,
    });
    const lines = text().trimEnd().split('\n');
    expect(lines).toHaveLength(1 + many.length + 2);
    expect(lines.at(-1)).toBe(`${many.length} rows`);
    expect(text().startsWith(tableOfAll(many.slice(0, TABLE_SIZING_ROWS)).split('\n\n')[0] ?? '')).toBe(true);
  });

  it('--max-rows stops after N rows and stops reading the result there', async () => {
    const { result, seen } = source(rows, 100);
    const { out, text } = sink();
    expect(await writeSqlRows(result, out, { format: 'json', maxRows: 250 })).toEqual({
      rows: 250,
      cut: true,
    });
    expect(JSON.parse(text())).toEqual(rows.slice(0, 250));
    expect(seen).toEqual({ batches: 3, finished: true });
    // Exactly N rows is not a cut.
    const exact = source(rows.slice(0, 250), 100);
    expect(await writeSqlRows(exact.result, sink().out, { format: 'csv', maxRows: 250 })).toEqual({
      rows: 250,
      cut: false,
    });
  });

  it('waits for a slow reader: no batch is read while the output is over its high-water mark', async () => {
    const pending: Array<() => void> = [];
    const out = new Writable({
      highWaterMark: 1024,
      write(_chunk, _encoding, done) {
        pending.push(done);
        setImmediate(() => pending.shift()?.());
      },
    });
    const buffered: number[] = [];
    async function* batches() {
      for (let index = 0; index < 50; index++) {
        buffered.push(out.writableLength);
        yield rows.slice(index * 10, index * 10 + 10);
      }
    }
    await writeSqlRows({ columns: COLUMNS, batches: batches() }, out, { format: 'csv', maxRows: 0 });
    expect(buffered).toHaveLength(50);
    expect(Math.max(...buffered)).toBeLessThanOrEqual(1024);
  });

  it('gives up waiting for a reader that never reads when the signal aborts (Ctrl-C)', async () => {
    const out = new Writable({ highWaterMark: 16, write: () => {} });
    const interrupt = new AbortController();
    setTimeout(() => interrupt.abort(), 50);
    await expect(
      writeSqlRows(source(rows).result, out, { format: 'csv', maxRows: 0, signal: interrupt.signal }),
    ).rejects.toThrow(/abort/i);
  });
});
