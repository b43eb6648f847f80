// Layer flow: domain (pure). CSV text as RFC 4180 writes it: a field is quoted when it holds a comma, a
// quote, a line break or leading/trailing spaces, and quotes inside are doubled. Lines end with "\n".

export type CsvValue = string | number | boolean | null | undefined;

/** One field, quoted only when it must be. null and undefined are empty. */
export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV line, with its line end. */
export function csvLine(values: readonly CsvValue[]): string {
  return `${values.map(csvField).join(',')}\n`;
}
