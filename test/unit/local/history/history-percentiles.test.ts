import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nearestRank } from '#local/history/percentiles';

describe('nearestRank', () => {
  it('follows the textbook example (15, 20, 35, 40, 50)', () => {
    const values = [15, 20, 35, 40, 50];
    expect(nearestRank(values, 5)).toBe(15);
    expect(nearestRank(values, 30)).toBe(20);
    expect(nearestRank(values, 40)).toBe(20);
    expect(nearestRank(values, 50)).toBe(35);
    expect(nearestRank(values, 100)).toBe(50);
  });

  it('has no percentile of no values', () => {
    expect(nearestRank([], 50)).toBeUndefined();
  });

  it('gives the only value of one', () => {
    expect(nearestRank([7], 0)).toBe(7);
    expect(nearestRank([7], 50)).toBe(7);
    expect(nearestRank([7], 95)).toBe(7);
  });

  it('takes the lower middle value for p50 of an even count, never an average', () => {
    expect(nearestRank([1, 2, 3, 4], 50)).toBe(2);
    expect(nearestRank([10, 20], 50)).toBe(10);
  });

  it('takes rank ceil(0.95 N) for p95 exactly at and just past a whole rank', () => {
    const twenty = Array.from({ length: 20 }, (_, index) => index + 1);
    expect(nearestRank(twenty, 95)).toBe(19);
    const twentyOne = Array.from({ length: 21 }, (_, index) => index + 1);
    expect(nearestRank(twentyOne, 95)).toBe(20);
    const hundred = Array.from({ length: 100 }, (_, index) => index + 1);
    expect(nearestRank(hundred, 95)).toBe(95);
    expect(nearestRank(hundred, 50)).toBe(50);
  });

  it('gives the minimum at p0 and the maximum at p100, ties included', () => {
    expect(nearestRank([3, 3, 3, 9], 0)).toBe(3);
    expect(nearestRank([3, 3, 3, 9], 75)).toBe(3);
    expect(nearestRank([3, 3, 3, 9], 76)).toBe(9);
    expect(nearestRank([3, 3, 3, 9], 100)).toBe(9);
  });

  it('rejects a percent outside 0..100', () => {
    expect(() => nearestRank([1], -1)).toThrow(RangeError);
    expect(() => nearestRank([1], 101)).toThrow(RangeError);
    expect(() => nearestRank([1], Number.NaN)).toThrow(RangeError);
  });

  it('is the smallest observed value with at least p% of the values at or below it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1_000 }), { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 1, max: 100 }),
        (values, percent) => {
          const sorted = [...values].sort((a, b) => a - b);
          const result = nearestRank(sorted, percent) as number;
          const atOrBelow = (value: number) => sorted.filter((other) => other <= value).length;
          expect(sorted).toContain(result);
          expect(atOrBelow(result) * 100).toBeGreaterThanOrEqual(percent * sorted.length);
          for (const smaller of sorted.filter((value) => value < result)) {
            expect(atOrBelow(smaller) * 100).toBeLessThan(percent * sorted.length);
          }
        },
      ),
    );
  });
});
