import { describe, expect, it } from 'vitest';
import { and, chunk, eq, greater, greaterOrEqual, inList, or, search } from '#core/product-live/find-query';
import { FindQuery } from '#core/product-live/product-live.schema';
import findRequestFixture from '../../../../fixtures/product-live/find-job-executions.request.json';

describe('find query builders', () => {
  it('build the documented example query exactly', () => {
    const query = and(eq('status', 'COMPLETED'), greater('createdAt', '2023-12-21T00:00:00.000Z'));
    expect(query).toEqual(findRequestFixture);
  });

  it('send a Date as its ISO 8601 string', () => {
    expect(greaterOrEqual('createdAt', new Date('2024-01-02T03:04:05.006Z'))).toEqual({
      type: 'greaterOrEqual',
      caseSensitive: true,
      field: 'createdAt',
      value: '2024-01-02T03:04:05.006Z',
    });
  });

  it('build `in` in the documented shape, with caseSensitive only when asked', () => {
    expect(inList('id', ['a', 'b'])).toEqual({ type: 'in', field: 'id', value: ['a', 'b'] });
    expect(inList('status', ['RUNNING'], { caseSensitive: false })).toEqual({
      type: 'in',
      field: 'status',
      value: ['RUNNING'],
      caseSensitive: false,
    });
    expect(() => inList('id', [])).toThrow(RangeError);
  });

  it('build groups the find query schema accepts', () => {
    const query = or(
      and(eq('jobId', '65819ba43ad5b963658ab35d', { caseSensitive: false }), search('status', 'ERR')),
      inList('id', ['658445e23ad5b929948ab731']),
    );
    expect(FindQuery.parse(query)).toEqual(query);
    expect(() => and()).toThrow(RangeError);
    expect(() => or()).toThrow(RangeError);
  });

  it('chunk ids into lists of at most the given size', () => {
    expect(chunk(['a', 'b', 'c', 'd', 'e'], 2)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(chunk([], 3)).toEqual([]);
    expect(() => chunk(['a'], 0)).toThrow(RangeError);
  });
});
