import { describe, expect, it } from 'vitest';
import { JobExecution } from '../../functions/core/product-live/product-live.schema';

describe('smoke', () => {
  it('parses', () => {
    expect(
      JobExecution.parse({
        id: 'a',
        jobId: 'b',
        createdAt: '2023-12-21T14:04:18.511Z',
        status: 'RUNNING',
        extra: 1,
      }).extra,
    ).toBe(1);
  });
});
