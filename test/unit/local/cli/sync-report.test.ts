import { describe, expect, it } from 'vitest';
import type { SyncSummary } from '#functions/sync/sync-summary';
import { formatSummary } from '#local/cli/sync-report';

const summary = (overrides: Partial<SyncSummary> = {}): SyncSummary => ({
  executions: { new: 3, updated: 1, unchanged: 20, openRefreshed: 2 },
  files: { copied: 4, skipped: 1, failed: 0, pending: 0 },
  apiRequests: 5,
  throttled: 0,
  moreRemaining: false,
  watermark: '2026-12-07T21:00:00.000Z',
  durationMs: 3_200,
  skipped: false,
  error: null,
  audit: null,
  health: null,
  ...overrides,
});

describe('the sync summary npm start prints', () => {
  it('says what the run did, one aligned line a part', () => {
    const text = formatSummary(summary());
    expect(text).toMatch(/^ {2}result {10}ok$/m);
    expect(text).toContain('3 new, 1 updated, 20 unchanged, 2 open re-read');
    expect(text).toMatch(/^ {2}job health {6}not evaluated$/m);
  });

  it('gives the jobs per state and the health changes with their events', () => {
    const text = formatSummary(
      summary({
        health: {
          jobs: 12,
          byState: { healthy: 9, late: 1, failing: 1, slow: 0, unknown: 1 },
          refreshed: 4,
          changed: 2,
          eventsPublished: 1,
          eventsPending: 1,
          discoveryComplete: true,
          asOf: '2026-12-07T21:00:00.000Z',
          durationMs: 40,
          error: null,
        },
      }),
    );
    expect(text).toMatch(
      /^ {2}job health {6}12 jobs: 9 healthy, 1 late, 1 failing, 1 unknown; 2 changed \(1 event published, 1 pending\)$/m,
    );
  });

  it('says why the health pass did not evaluate', () => {
    const health = {
      jobs: 0,
      byState: { healthy: 0, late: 0, failing: 0, slow: 0, unknown: 0 },
      refreshed: 0,
      changed: 0,
      eventsPublished: 0,
      eventsPending: 0,
      discoveryComplete: false,
      asOf: '2026-12-07T21:00:00.000Z',
      durationMs: 5,
      error: 'DynamoDB unavailable',
    };
    expect(formatSummary(summary({ health }))).toMatch(
      /^ {2}job health {6}not evaluated: DynamoDB unavailable$/m,
    );
  });
});
