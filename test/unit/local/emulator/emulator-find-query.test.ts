// The find query compiler of the emulator, without HTTP: semantics of each operator, dotted paths through
// arrays, validation errors with their location, and algebraic properties checked with fast-check.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FindQueryError } from '#local/emulator/emulator-errors';
import { candidatesOf, compileFindQuery, type FindQueryFields } from '#local/emulator/find-query';

interface Item {
  id: string;
  status: string;
  count?: number;
  createdAt: number;
  endedAt?: number;
  tags?: string[];
  output?: unknown;
}

const FIELDS: FindQueryFields<Item> = {
  isKnownField: (name) => ['id', 'status', 'count', 'createdAt', 'endedAt', 'tags', 'output'].includes(name),
  isDateField: (name) => name === 'createdAt' || name === 'endedAt',
  read: (item, field) => (item as unknown as Record<string, unknown>)[field],
};

const ITEMS: Item[] = [
  {
    id: 'a1',
    status: 'COMPLETED',
    count: 3,
    createdAt: Date.parse('2024-01-01T00:00:00.000Z'),
    endedAt: 1,
    tags: ['nightly'],
  },
  { id: 'b2', status: 'Running', count: 10, createdAt: Date.parse('2024-01-02T00:00:00.000Z') },
  {
    id: 'c3',
    status: 'FAILED',
    createdAt: Date.parse('2024-01-03T00:00:00.000Z'),
    output: { files: [{ name: 'x.csv' }, { name: 'Y.XML' }], report: { filename: 'report.xml' } },
  },
];

function matching(query: unknown): string[] {
  const predicate = compileFindQuery(query, FIELDS);
  return ITEMS.filter(predicate).map((item) => item.id);
}

function problem(query: unknown): FindQueryError {
  try {
    compileFindQuery(query, FIELDS);
  } catch (error) {
    if (error instanceof FindQueryError) return error;
    throw error;
  }
  throw new Error('expected a FindQueryError');
}

describe('find query semantics', () => {
  it('eq: strings ignore case unless caseSensitive, numbers compare exactly, null matches an absent field', () => {
    expect(matching({ type: 'eq', field: 'status', value: 'running' })).toEqual(['b2']);
    expect(matching({ type: 'eq', field: 'status', value: 'running', caseSensitive: true })).toEqual([]);
    expect(matching({ type: 'eq', field: 'count', value: 3 })).toEqual(['a1']);
    expect(matching({ type: 'eq', field: 'count', value: '3' })).toEqual([]);
    expect(matching({ type: 'eq', field: 'count', value: null })).toEqual(['c3']);
  });

  it('compares date fields as instants and refuses values that are not dates', () => {
    expect(matching({ type: 'greater', field: 'createdAt', value: '2024-01-01T23:00:00.000-02:00' })).toEqual(
      ['c3'],
    );
    expect(matching({ type: 'lowerOrEqual', field: 'createdAt', value: '2024-01-02' })).toEqual(['a1', 'b2']);
    expect(matching({ type: 'eq', field: 'endedAt', value: null })).toEqual(['b2', 'c3']);
    expect(problem({ type: 'greater', field: 'createdAt', value: 1_700_000_000_000 }).message).toContain(
      'is a date',
    );
  });

  it('in: any listed value, an empty list matches nothing', () => {
    expect(matching({ type: 'in', field: 'id', value: ['c3', 'A1', 'zz'] })).toEqual(['a1', 'c3']);
    expect(matching({ type: 'in', field: 'id', value: ['A1'], caseSensitive: true })).toEqual([]);
    expect(matching({ type: 'in', field: 'id', value: [] })).toEqual([]);
  });

  it('search: substring of strings only', () => {
    expect(matching({ type: 'search', field: 'status', value: 'ED' })).toEqual(['a1', 'c3']);
    expect(matching({ type: 'search', field: 'status', value: 'ed', caseSensitive: true })).toEqual([]);
    expect(matching({ type: 'search', field: 'count', value: '3' })).toEqual([]);
    expect(matching({ type: 'search', field: 'createdAt', value: '2024-01-02' })).toEqual(['b2']);
  });

  it('array fields match when any element does', () => {
    expect(matching({ type: 'eq', field: 'tags', value: 'NIGHTLY' })).toEqual(['a1']);
  });

  it('dotted paths reach nested values, through arrays and by index', () => {
    expect(matching({ type: 'search', field: 'output.files.name', value: '.xml' })).toEqual(['c3']);
    expect(matching({ type: 'eq', field: 'output.files.1.name', value: 'y.xml' })).toEqual(['c3']);
    expect(matching({ type: 'eq', field: 'output.files.0.name', value: 'y.xml' })).toEqual([]);
    expect(matching({ type: 'eq', field: 'output.report.filename', value: 'report.xml' })).toEqual(['c3']);
    expect(candidatesOf({ a: [{ b: [1, 2] }, { b: 3 }] }, ['a', 'b'])).toEqual([1, 2, 3]);
  });

  it('and/or nest to any depth', () => {
    const query = {
      type: 'or',
      queries: [
        {
          type: 'and',
          queries: [
            { type: 'eq', field: 'id', value: 'a1' },
            { type: 'eq', field: 'count', value: 3 },
          ],
        },
        { type: 'and', queries: [{ type: 'or', queries: [{ type: 'eq', field: 'id', value: 'c3' }] }] },
      ],
    };
    expect(matching(query)).toEqual(['a1', 'c3']);
  });
});

describe('find query validation', () => {
  it.each([
    [{ type: 'eq', field: 'nope', value: 1 }, 'field', 'unknown field "nope"'],
    [{ type: 'eq', field: 'status..x', value: 1 }, 'field', 'not a valid field path'],
    [
      {
        type: 'and',
        queries: [
          { type: 'eq', field: 'id', value: 1 },
          { type: 'in', field: 'id', value: 1 },
        ],
      },
      'queries[1].value',
      '"in" needs an array',
    ],
    [
      { type: 'in', field: 'id', value: [1, { a: 1 }] },
      'value[1]',
      'expected a string, number, boolean or null',
    ],
    [{ type: 'greater', field: 'id', value: true }, 'value', 'needs a string or number'],
    [{ type: 7 }, 'type', 'expected a string'],
    [{ type: 'or', queries: {} }, 'queries', 'expected an array'],
    [{ type: 'eq', field: '', value: 1 }, 'field', 'non-empty string'],
  ])('refuses %j at %s', (query, path, message) => {
    const error = problem(query);
    expect(error.path).toBe(path);
    expect(error.statusCode).toBe(400);
    expect(error.message).toContain(message);
  });

  it('refuses nesting deeper than the limit', () => {
    let query: unknown = { type: 'eq', field: 'id', value: 'a1' };
    for (let i = 0; i < 40; i++) query = { type: 'and', queries: [query] };
    expect(problem(query).message).toContain('nesting deeper');
  });
});

describe('find query properties', () => {
  const arbitraryItem = fc.record({
    id: fc.string({ maxLength: 4 }),
    status: fc.constantFrom('COMPLETED', 'completed', 'FAILED', 'Running'),
    count: fc.option(fc.integer({ min: -5, max: 5 }), { nil: undefined }),
    createdAt: fc
      .integer({ min: 0, max: 10_000 })
      .map((seconds) => Date.parse('2024-01-01T00:00:00.000Z') + seconds * 1000),
  });
  const arbitraryCriterion = fc.oneof(
    fc.record({
      type: fc.constant('eq'),
      field: fc.constant('status'),
      value: fc.constantFrom('COMPLETED', 'failed', 'x'),
    }),
    fc.record({
      type: fc.constantFrom('greater', 'greaterOrEqual', 'lower', 'lowerOrEqual'),
      field: fc.constant('count'),
      value: fc.integer({ min: -5, max: 5 }),
    }),
    fc.record({
      type: fc.constantFrom('greater', 'lower'),
      field: fc.constant('createdAt'),
      value: fc
        .integer({ min: 0, max: 10_000 })
        .map((s) => new Date(Date.parse('2024-01-01T00:00:00.000Z') + s * 1000).toISOString()),
    }),
    fc.record({ type: fc.constant('search'), field: fc.constant('id'), value: fc.string({ maxLength: 2 }) }),
  );

  it('and/or behave as boolean conjunction/disjunction of their parts', () => {
    fc.assert(
      fc.property(
        fc.array(arbitraryItem, { maxLength: 20 }),
        arbitraryCriterion,
        arbitraryCriterion,
        (items, a, b) => {
          const [pa, pb] = [compileFindQuery(a, FIELDS), compileFindQuery(b, FIELDS)];
          const and = compileFindQuery({ type: 'and', queries: [a, b] }, FIELDS);
          const or = compileFindQuery({ type: 'or', queries: [a, b] }, FIELDS);
          for (const item of items) {
            expect(and(item)).toBe(pa(item) && pb(item));
            expect(or(item)).toBe(pa(item) || pb(item));
          }
        },
      ),
    );
  });

  it('greaterOrEqual is greater or eq, and lower is the complement of greaterOrEqual on present values', () => {
    fc.assert(
      fc.property(arbitraryItem, fc.integer({ min: -5, max: 5 }), (item, value) => {
        const test = (type: string) => compileFindQuery({ type, field: 'count', value }, FIELDS)(item);
        expect(test('greaterOrEqual')).toBe(test('greater') || test('eq'));
        if (item.count !== undefined) expect(test('lower')).toBe(!test('greaterOrEqual'));
        else expect([test('lower'), test('greaterOrEqual')]).toEqual([false, false]);
      }),
    );
  });

  it('in [v] is eq v, and case does not matter unless caseSensitive', () => {
    fc.assert(
      fc.property(
        arbitraryItem,
        fc.constantFrom('completed', 'COMPLETED', 'Failed', 'RUNNING'),
        (item, value) => {
          const eq = compileFindQuery({ type: 'eq', field: 'status', value }, FIELDS)(item);
          expect(compileFindQuery({ type: 'in', field: 'status', value: [value] }, FIELDS)(item)).toBe(eq);
          expect(
            compileFindQuery({ type: 'eq', field: 'status', value: value.toLowerCase() }, FIELDS)(item),
          ).toBe(eq);
          const exact = compileFindQuery(
            { type: 'eq', field: 'status', value, caseSensitive: true },
            FIELDS,
          )(item);
          expect(exact).toBe(item.status === value);
        },
      ),
    );
  });
});
