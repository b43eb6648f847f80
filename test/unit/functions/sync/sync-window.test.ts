import { describe, expect, it } from 'vitest';
import type { AppLogger } from '#core/observability';
import { ApiProfileTracker } from '#functions/sync/api-profile';
import { SyncWindow } from '#functions/sync/sync-window';
import { InMemoryExecutionStore, InMemoryStateStore, PagingApi } from '../../../support/in-memory-sync';

const NOW = Date.parse('2024-06-01T12:00:00.000Z');
const silent: AppLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

function aWindow(learnedPageSize?: number) {
  const profile = new ApiProfileTracker(undefined, NOW);
  if (learnedPageSize !== undefined) profile.learn({ pageSize: learnedPageSize });
  const state = new InMemoryStateStore();
  const window = new SyncWindow(
    {
      api: new PagingApi({ order: (list) => [...list] }),
      executions: new InMemoryExecutionStore(),
      state,
      write: async () => 0,
      now: () => NOW,
      logger: silent,
      outOfTime: () => false,
      leaveForLater: () => {},
      profile: () => profile,
    },
    { startDate: '2024-01-01T00:00:00.000Z', lookbackMs: 600_000, pageSize: 500, startedAt: NOW },
  );
  return { window, state };
}

describe('SyncWindow', () => {
  it('opens a pass from the watermark minus the lookback (never before the start date) up to the run start', () => {
    const { window } = aWindow(200);
    expect(window.open('2024-06-01T11:00:00.000Z')).toEqual({
      lower: '2024-06-01T10:50:00.000Z',
      upper: '2024-06-01T12:00:00.000Z',
      nextPage: 0,
      pageSize: 200,
      round: 1,
    });
    expect(window.open('2024-01-01T00:05:00.000Z').lower).toBe('2024-01-01T00:00:00.000Z');
    expect(window.open(null).lower).toBe('2024-01-01T00:00:00.000Z');
  });

  it('moves the watermark to the upper bound of a complete window, never back', async () => {
    const { window, state } = aWindow();
    window.resumeFrom('2024-06-01T13:00:00.000Z');
    await window.complete(window.open(window.watermark));
    expect(window.watermark).toBe('2024-06-01T13:00:00.000Z');
    expect((await state.getCheckpoint())?.pass).toBeUndefined();

    const first = aWindow();
    await first.window.complete(first.window.open(undefined));
    expect(first.window.watermark).toBe('2024-06-01T12:00:00.000Z');
    expect(await first.state.getCheckpoint()).toMatchObject({ watermark: '2024-06-01T12:00:00.000Z' });
  });
});
