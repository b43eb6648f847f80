// Builders for the Product-Live find query language. They emit only the operators the public
// documentation confirms (eq, greater, greaterOrEqual, in, search, and, or), in the documented shape:
// comparisons carry `caseSensitive: true` as every documented example does, `in` carries it only when
// asked (the documented `in` example has none). A `Date` value is sent as its ISO 8601 string.
import type { FindQuery } from './product-live.schema';

/** Options of a single-field criterion. */
export interface CriterionOptions {
  caseSensitive?: boolean;
}

type Scalar = string | number | boolean | null;

/** `field` equals `value`. */
export function eq(field: string, value: Scalar | Date, options: CriterionOptions = {}): FindQuery {
  return { type: 'eq', caseSensitive: options.caseSensitive ?? true, field, value: toWire(value) };
}

/** `field` is strictly greater than `value` (dates compare chronologically). */
export function greater(field: string, value: Scalar | Date, options: CriterionOptions = {}): FindQuery {
  return { type: 'greater', caseSensitive: options.caseSensitive ?? true, field, value: toWire(value) };
}

/** `field` is greater than or equal to `value`: the inclusive cursor of an incremental sync. */
export function greaterOrEqual(
  field: string,
  value: Scalar | Date,
  options: CriterionOptions = {},
): FindQuery {
  return {
    type: 'greaterOrEqual',
    caseSensitive: options.caseSensitive ?? true,
    field,
    value: toWire(value),
  };
}

/** `field` is one of `values` (at least one). Split long lists with `chunk` to keep request bodies small. */
export function inList(
  field: string,
  values: ReadonlyArray<Scalar | Date>,
  options: CriterionOptions = {},
): FindQuery {
  if (values.length === 0) throw new RangeError(`inList(${field}) needs at least one value`);
  const query: FindQuery = { type: 'in', field, value: values.map(toWire) };
  return options.caseSensitive === undefined ? query : { ...query, caseSensitive: options.caseSensitive };
}

/** `field` matches the text `value` (server-side text search). */
export function search(field: string, value: string, options: CriterionOptions = {}): FindQuery {
  const query: FindQuery = { type: 'search', field, value };
  return options.caseSensitive === undefined ? query : { ...query, caseSensitive: options.caseSensitive };
}

/** Every query matches (at least one query). */
export function and(...queries: FindQuery[]): FindQuery {
  if (queries.length === 0) throw new RangeError('and() needs at least one query');
  return { type: 'and', queries };
}

/** At least one query matches (at least one query). */
export function or(...queries: FindQuery[]): FindQuery {
  if (queries.length === 0) throw new RangeError('or() needs at least one query');
  return { type: 'or', queries };
}

/** Splits `items` into consecutive chunks of at most `size` (e.g. ids for several `inList` queries). */
export function chunk<T>(items: ReadonlyArray<T>, size: number): T[][] {
  if (!Number.isInteger(size) || size <= 0)
    throw new RangeError(`chunk size must be a positive integer, got ${size}`);
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

function toWire(value: Scalar | Date): Scalar {
  return value instanceof Date ? value.toISOString() : value;
}
