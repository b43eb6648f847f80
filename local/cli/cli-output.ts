// Output helpers shared by the local CLIs: aligned text tables for people, human-friendly numbers and
// instants, and writes that respect a stream's backpressure (exports of any size stream through).
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import stringWidth from 'string-width';

export interface TableColumn {
  header: string;
  /** Numbers read best right-aligned (default left). */
  align?: 'left' | 'right';
}

/**
 * Width of a string as a terminal shows it: East Asian wide characters and emoji take two columns, combining
 * marks and zero-width joiners none (string-width's rules).
 */
function displayWidth(text: string): number {
  return stringWidth(text);
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Cuts `text` to at most `width` columns, whole characters only, marking the cut with an ellipsis. */
export function truncate(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  const room = width <= 1 ? width : width - 1;
  let kept = '';
  let used = 0;
  for (const { segment } of graphemes.segment(text)) {
    const columns = stringWidth(segment);
    if (used + columns > room) break;
    kept += segment;
    used += columns;
  }
  return width <= 1 ? kept : `${kept}…`;
}

function pad(text: string, width: number, align: 'left' | 'right'): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(text)));
  return align === 'right' ? `${fill}${text}` : `${text}${fill}`;
}

/** A table row: its cells, or a horizontal rule across every column. */
export type TableRow = readonly string[] | typeof RULE;
export const RULE = 'rule';

/**
 * An aligned table: a header line, then one line per row; columns two spaces apart, each as wide as its
 * widest cell, without trailing spaces. Rows shorter than the columns are padded with empty cells.
 */
export function formatTable(columns: readonly TableColumn[], rows: readonly TableRow[]): string {
  const cells = rows.filter((row): row is readonly string[] => row !== RULE);
  const widths = columnWidths(columns, cells);
  const rule = widths.map((width) => '─'.repeat(width)).join('  ');
  return [
    formatTableLine(
      columns,
      widths,
      columns.map((column) => column.header),
    ),
    ...rows.map((row) => (row === RULE ? rule : formatTableLine(columns, widths, row))),
  ].join('\n');
}

/** The widths of formatTable's columns for these rows: each column as wide as its header and widest cell. */
export function columnWidths(
  columns: readonly TableColumn[],
  rows: readonly (readonly string[])[],
): number[] {
  return columns.map((column, index) =>
    Math.max(displayWidth(column.header), ...rows.map((row) => displayWidth(row[index] ?? ''))),
  );
}

/** One line of a table with the given widths (a wider cell pushes the rest of its line right). */
export function formatTableLine(
  columns: readonly TableColumn[],
  widths: readonly number[],
  row: readonly string[],
): string {
  return columns
    .map((column, index) => pad(row[index] ?? '', widths[index] ?? 0, column.align ?? 'left'))
    .join('  ')
    .trimEnd();
}

/** A duration for people: 850ms, 42s, 3m 07s, 1h 02m, 2d 03h. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  const seconds = Math.round(ms / 1_000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, '0')}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d ${String(hours % 24).padStart(2, '0')}h`;
}

/** A byte size for people: 512 B, 12.3 KB, 4.0 MB (powers of 1024). */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '-';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** An instant for people, in UTC to the minute: 2024-05-31 14:02. */
export function formatInstant(iso: string | null | undefined): string {
  if (!iso) return '-';
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

/** A ratio as a percentage with one decimal: 83.3%. */
export function formatPercent(ratio: number | null | undefined): string {
  return ratio === null || ratio === undefined ? '-' : `${(ratio * 100).toFixed(1)}%`;
}

/** Writes a chunk, waiting for 'drain' when the stream's buffer is full. */
export async function writeChunk(stream: Writable, chunk: string): Promise<void> {
  if (!stream.write(chunk)) await once(stream, 'drain');
}
