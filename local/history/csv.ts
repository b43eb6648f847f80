// Layer flow: domain (pure). CSV text as RFC 4180 writes it: a field is quoted when it holds a comma, a
// quote, a line break or leading/trailing spaces, and quotes inside are doubled. Lines end with "\n".
// Text that a spreadsheet would run as a formula (it starts with =, +, -, @, a tab or a carriage return) is
// prefixed with a single quote, as csv-stringify's `escape_formulas` does: job titles and outputs are user
// data, and a CSV export is opened in spreadsheets.

export type CsvValue = string | number | boolean | null | undefined;

const FORMULA_START = /^[=+\-@\t\r]/;

/** One field, quoted only when it must be. null and undefined are empty; numbers are written as numbers. */
export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  const raw = String(value);
  const text = typeof value === 'string' && FORMULA_START.test(raw) ? `'${raw}` : raw;
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV line, with its line end. */
export function csvLine(values: readonly CsvValue[]): string {
  return `${values.map(csvField).join(',')}\n`;
}
