// The find query language of `POST /v1/job_executions/find`, as a pure module: a JSON body is validated
// and compiled once per request into a predicate, which then runs over every execution. Validation names
// the offending part (`queries[1].value`) because a client needs to know what to fix.
import { FindQueryError } from './emulator-errors';

export const CRITERION_TYPES = [
  'eq',
  'greater',
  'greaterOrEqual',
  'lower',
  'lowerOrEqual',
  'in',
  'search',
] as const;
export const GROUP_TYPES = ['and', 'or'] as const;
export type CriterionType = (typeof CRITERION_TYPES)[number];
export type QueryType = CriterionType | (typeof GROUP_TYPES)[number];

/** Nesting deeper than this is refused: a guard against pathological bodies, not a documented limit. */
const MAX_QUERY_DEPTH = 32;

/** What the compiler needs to know about the items it filters. */
export interface FindQueryFields<T> {
  /** True when `name` is a top-level field of the items (the first segment of a dotted path). */
  isKnownField(name: string): boolean;
  /** True when the top-level field holds an instant; `read` then returns epoch ms (or undefined). */
  isDateField(name: string): boolean;
  /** The value of a top-level field of an item; nested segments are resolved by the compiler. */
  read(item: T, field: string): unknown;
  /** Whether the server accepts a query type (default: all); others are refused as unknown types. */
  supportsType?(type: QueryType): boolean;
}

export type FindPredicate<T> = (item: T) => boolean;

type Scalar = string | number | boolean | null;

/**
 * Validates a find query body and compiles it into a predicate.
 * Throws FindQueryError (HTTP 400) with the location and nature of the first problem found.
 */
export function compileFindQuery<T>(query: unknown, fields: FindQueryFields<T>): FindPredicate<T> {
  return compileNode(query, fields, '', 0);
}

function compileNode<T>(
  node: unknown,
  fields: FindQueryFields<T>,
  path: string,
  depth: number,
): FindPredicate<T> {
  if (depth > MAX_QUERY_DEPTH) {
    throw new FindQueryError(path, `nesting deeper than ${MAX_QUERY_DEPTH} levels`);
  }
  if (!isPlainObject(node)) {
    throw new FindQueryError(path, `expected a query object, got ${describe(node)}`);
  }
  const type = node.type;
  if (type === undefined) throw new FindQueryError(path, 'missing "type"');
  if (typeof type !== 'string') {
    throw new FindQueryError(join(path, 'type'), `expected a string, got ${describe(type)}`);
  }
  const supported = [...CRITERION_TYPES, ...GROUP_TYPES].filter(
    (known) => fields.supportsType?.(known) ?? true,
  );
  if (!supported.includes(type as QueryType)) {
    throw new FindQueryError(
      join(path, 'type'),
      `unknown type "${type}" (expected one of ${supported.join(', ')})`,
    );
  }
  if (type === 'and' || type === 'or') return compileGroup(type, node, fields, path, depth);
  return compileCriterion(type as CriterionType, node, fields, path);
}

function compileGroup<T>(
  type: 'and' | 'or',
  node: Record<string, unknown>,
  fields: FindQueryFields<T>,
  path: string,
  depth: number,
): FindPredicate<T> {
  const queries = node.queries;
  const queriesPath = join(path, 'queries');
  if (queries === undefined) throw new FindQueryError(path, `"${type}" needs a "queries" array`);
  if (!Array.isArray(queries))
    throw new FindQueryError(queriesPath, `expected an array, got ${describe(queries)}`);
  if (queries.length === 0) throw new FindQueryError(queriesPath, `"${type}" needs at least one query`);
  const parts = queries.map((child, index) =>
    compileNode(child, fields, `${queriesPath}[${index}]`, depth + 1),
  );
  if (type === 'and') return (item) => parts.every((part) => part(item));
  return (item) => parts.some((part) => part(item));
}

function compileCriterion<T>(
  type: CriterionType,
  node: Record<string, unknown>,
  fields: FindQueryFields<T>,
  path: string,
): FindPredicate<T> {
  const field = node.field;
  if (field === undefined) throw new FindQueryError(path, `"${type}" needs a "field"`);
  if (typeof field !== 'string' || field.length === 0) {
    throw new FindQueryError(join(path, 'field'), `expected a non-empty string, got ${describe(field)}`);
  }
  const segments = field.split('.');
  const [top, ...rest] = segments;
  if (top === undefined || segments.some((segment) => segment.length === 0)) {
    throw new FindQueryError(join(path, 'field'), `"${field}" is not a valid field path`);
  }
  if (!fields.isKnownField(top)) throw new FindQueryError(join(path, 'field'), `unknown field "${top}"`);

  const caseSensitive = node.caseSensitive ?? false;
  if (typeof caseSensitive !== 'boolean') {
    throw new FindQueryError(
      join(path, 'caseSensitive'),
      `expected a boolean, got ${describe(caseSensitive)}`,
    );
  }
  if (!('value' in node)) throw new FindQueryError(path, `"${type}" needs a "value"`);

  const isDate = rest.length === 0 && fields.isDateField(top);
  const valuePath = join(path, 'value');
  const test = compileTest(type, node.value, { isDate, caseSensitive, valuePath, field });
  if (rest.length === 0) {
    return (item) => {
      const value = fields.read(item, top);
      return Array.isArray(value) ? value.some(test) : test(value);
    };
  }
  return (item) => candidatesOf(fields.read(item, top), rest).some(test);
}

interface TestContext {
  isDate: boolean;
  caseSensitive: boolean;
  valuePath: string;
  field: string;
}

type CandidateTest = (candidate: unknown) => boolean;

function compileTest(type: CriterionType, value: unknown, context: TestContext): CandidateTest {
  switch (type) {
    case 'eq':
      return compileEquality([parseScalar(value, context, context.valuePath)], context);
    case 'in': {
      if (!Array.isArray(value)) {
        throw new FindQueryError(context.valuePath, `"in" needs an array value, got ${describe(value)}`);
      }
      return compileEquality(
        value.map((element, index) => parseScalar(element, context, `${context.valuePath}[${index}]`)),
        context,
      );
    }
    case 'search':
      return compileSearch(value, context);
    default:
      return compileComparison(type, value, context);
  }
}

/** eq and in: a candidate matches when it equals one of the values (null matches an absent field). */
function compileEquality(values: Scalar[], context: TestContext): CandidateTest {
  const strings = new Set<string>();
  const others = new Set<number | boolean>();
  let matchesAbsent = false;
  for (const value of values) {
    if (value === null) matchesAbsent = true;
    else if (typeof value === 'string') strings.add(context.caseSensitive ? value : value.toLowerCase());
    else others.add(value);
  }
  return (candidate) => {
    if (candidate === null || candidate === undefined) return matchesAbsent;
    if (typeof candidate === 'string')
      return strings.has(context.caseSensitive ? candidate : candidate.toLowerCase());
    if (typeof candidate === 'number' || typeof candidate === 'boolean') return others.has(candidate);
    return false;
  };
}

function compileSearch(value: unknown, context: TestContext): CandidateTest {
  if (typeof value !== 'string') {
    throw new FindQueryError(context.valuePath, `"search" needs a string value, got ${describe(value)}`);
  }
  const needle = context.caseSensitive ? value : value.toLowerCase();
  return (candidate) => {
    const text =
      context.isDate && typeof candidate === 'number'
        ? new Date(candidate).toISOString()
        : typeof candidate === 'string'
          ? candidate
          : undefined;
    if (text === undefined) return false;
    return (context.caseSensitive ? text : text.toLowerCase()).includes(needle);
  };
}

function compileComparison(
  type: Exclude<CriterionType, 'eq' | 'in' | 'search'>,
  value: unknown,
  context: TestContext,
): CandidateTest {
  const holds = ORDER_TESTS[type];
  if (context.isDate) {
    const bound = parseDate(value, context);
    return (candidate) => typeof candidate === 'number' && holds(candidate, bound);
  }
  if (typeof value === 'number' && Number.isFinite(value)) {
    return (candidate) => typeof candidate === 'number' && holds(candidate, value);
  }
  if (typeof value === 'string') {
    const bound = context.caseSensitive ? value : value.toLowerCase();
    return (candidate) =>
      typeof candidate === 'string' &&
      holds(context.caseSensitive ? candidate : candidate.toLowerCase(), bound);
  }
  throw new FindQueryError(
    context.valuePath,
    `"${type}" needs a string or number value, got ${describe(value)}`,
  );
}

const ORDER_TESTS: Record<
  'greater' | 'greaterOrEqual' | 'lower' | 'lowerOrEqual',
  <V>(a: V, b: V) => boolean
> = {
  greater: (a, b) => a > b,
  greaterOrEqual: (a, b) => a >= b,
  lower: (a, b) => a < b,
  lowerOrEqual: (a, b) => a <= b,
};

/** A scalar value for eq/in. On a date field, strings are parsed into instants (epoch ms). */
function parseScalar(value: unknown, context: TestContext, path: string): Scalar {
  if (value === null) return null;
  if (context.isDate) return parseDate(value, { ...context, valuePath: path });
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw new FindQueryError(path, `expected a string, number, boolean or null, got ${describe(value)}`);
}

function parseDate(value: unknown, context: TestContext): number {
  const ms = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new FindQueryError(
      context.valuePath,
      `"${context.field}" is a date: expected an ISO 8601 date string, got ${describe(value)}`,
    );
  }
  return ms;
}

/**
 * The values a dotted path designates inside a field: arrays met on the way (and at the end) are
 * expanded, so `output.files.id` designates the id of every file. A numeric segment indexes an array.
 */
export function candidatesOf(value: unknown, segments: readonly string[]): unknown[] {
  let current: unknown[] = [value];
  for (const segment of segments) {
    const next: unknown[] = [];
    for (const item of current) {
      if (Array.isArray(item)) {
        if (/^\d+$/.test(segment)) next.push(item[Number(segment)]);
        else for (const element of item) if (isPlainObject(element)) next.push(element[segment]);
      } else if (isPlainObject(item)) {
        next.push(item[segment]);
      }
    }
    current = next;
  }
  return current.flatMap((item) => (Array.isArray(item) ? item : [item]));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${String(value)}`;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}
