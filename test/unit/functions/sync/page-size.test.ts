import { describe, expect, it } from 'vitest';
import { MIN_PAGE_SIZE, smallerPageSize, windowPageSize } from '#functions/sync/page-size';

describe('windowPageSize', () => {
  it('takes the configured size when nothing was learned and no pass is under way', () => {
    expect(windowPageSize({ configured: 500 })).toBe(500);
    expect(windowPageSize({ configured: 500, learned: undefined, resumed: undefined })).toBe(500);
  });

  it('lowers the configured size to the learned one, never raises it', () => {
    expect(windowPageSize({ configured: 500, learned: 250 })).toBe(250);
    expect(windowPageSize({ configured: 100, learned: 250 })).toBe(100);
  });

  it('keeps the size of a pass under way, whatever the configuration and the learning say', () => {
    // Its page numbers are offsets in that size: another size would skip or repeat executions.
    expect(windowPageSize({ configured: 100, learned: 50, resumed: 400 })).toBe(400);
    expect(windowPageSize({ configured: 1000, resumed: 20 })).toBe(20);
  });
});

describe('smallerPageSize', () => {
  it('halves a refused size down to the minimum, then gives up', () => {
    expect(smallerPageSize(1000)).toBe(500);
    expect(smallerPageSize(25)).toBe(12);
    expect(smallerPageSize(15)).toBe(MIN_PAGE_SIZE);
    expect(smallerPageSize(MIN_PAGE_SIZE)).toBeUndefined();
    const tried: number[] = [];
    for (let size: number | undefined = 1000; size !== undefined; size = smallerPageSize(size))
      tried.push(size);
    expect(tried).toEqual([1000, 500, 250, 125, 62, 31, 15, 10]);
  });
});
