import { describe, expect, it } from 'vitest';
import {
  type FileCopy,
  fileS3Key,
  fingerprint,
  mergeFileCopies,
  pendingFilesMarker,
  statusRank,
  toExecutionFields,
} from '#core/executions/execution-record';
import { JobExecution } from '#core/product-live/product-live.schema';
import { aJobExecution } from '../../../../builders/job-execution.builder';
import getResponse from '../../../../fixtures/product-live/get-job-execution.response.json';

describe('toExecutionFields', () => {
  it('keeps the API object verbatim and derives the indexed fields', () => {
    const execution = JobExecution.parse({ ...getResponse, priority: 3 });
    const fields = toExecutionFields(execution);
    expect(JSON.parse(fields.raw)).toEqual({ ...getResponse, priority: 3 });
    expect(fields).toMatchObject({
      id: '658445e23ad5b929948ab731',
      jobId: '65819ba43ad5b963658ab35d',
      status: 'COMPLETED',
      createdAt: '2023-12-21T14:04:18.511Z',
      title: 'Import Schema',
      day: '2023-12-21',
      month: '2023-12',
      statusRank: 2,
      durationMs: Date.parse('2023-12-21T14:04:34.359Z') - Date.parse('2023-12-21T14:04:18.469Z'),
    });
    expect(fields.openFlag).toBeUndefined();
  });

  it('normalises dates for sort keys but keeps the text as returned in raw', () => {
    const fields = toExecutionFields(
      aJobExecution({ createdAt: '2024-03-01T10:00:00+02:00', status: 'RUNNING' }),
    );
    expect(fields.createdAt).toBe('2024-03-01T08:00:00.000Z');
    expect(JSON.parse(fields.raw).createdAt).toBe('2024-03-01T10:00:00+02:00');
    expect(fields.openFlag).toBe('OPEN');
    expect(fields.durationMs).toBeUndefined();
  });

  it('ranks views so that a terminal state is never replaced by an open one', () => {
    expect(statusRank('PENDING')).toBeLessThan(statusRank('RUNNING'));
    for (const status of ['COMPLETED', 'USER_ERROR', 'FAILED', 'TERMINATED', 'TIMEDOUT']) {
      expect(statusRank(status)).toBeGreaterThan(statusRank('RUNNING'));
    }
    expect(statusRank('SOMETHING_NEW')).toBe(statusRank('RUNNING'));
  });

  it('fingerprints content, not key order', () => {
    expect(fingerprint({ a: 1, b: { c: [1, 2] } })).toBe(fingerprint({ b: { c: [1, 2] }, a: 1 }));
    expect(fingerprint({ a: 1 })).not.toBe(fingerprint({ a: 2 }));
  });
});

describe('file copies', () => {
  const execution = JobExecution.parse(getResponse);
  const now = '2024-01-01T00:00:00.000Z';

  it('adds a pending copy for each new file, under the documented key layout', () => {
    const [copy] = mergeFileCopies(execution, [], now);
    expect(copy).toEqual({
      path: 'output.report',
      sourceUrl: getResponse.output.report.url,
      fileName: 'report.xml',
      s3Key: 'executions/65819ba43ad5b963658ab35d/658445e23ad5b929948ab731/output.report/report.xml',
      status: 'pending',
      attempts: 0,
      nextAttemptAt: now,
    });
    expect(pendingFilesMarker([copy as FileCopy])).toEqual({ filesDueAt: now });
  });

  it('keeps copied files as they are, and files that disappeared from the output', () => {
    const copied: FileCopy = {
      path: 'output.report',
      sourceUrl: 'https://app.product-live.com/old',
      fileName: 'report.xml',
      s3Key: 'k',
      status: 'copied',
      attempts: 1,
      sha256: 'abc',
    };
    const gone: FileCopy = { ...copied, path: 'output.old', s3Key: 'k2' };
    expect(mergeFileCopies(execution, [copied, gone], now)).toEqual([copied, gone]);
    expect(pendingFilesMarker([copied, gone])).toBeUndefined();
  });

  it('retries a not-yet-copied file from its new URL when the API gives a fresh one', () => {
    const failed: FileCopy = {
      path: 'output.report',
      sourceUrl: 'https://app.product-live.com/expired',
      fileName: 'report.xml',
      s3Key: 'k',
      status: 'failed',
      attempts: 8,
    };
    const [copy] = mergeFileCopies(execution, [failed], now);
    expect(copy).toMatchObject({
      status: 'pending',
      sourceUrl: getResponse.output.report.url,
      nextAttemptAt: now,
    });
  });

  it('builds keys that cannot escape the execution prefix', () => {
    const key = fileS3Key(
      { jobId: '../x', id: 'a/b' },
      { path: 'output.a', url: 'https://x', fileName: 'f.xml', kind: 'named_link' },
    );
    expect(key).toBe('executions/__x/a_b/output.a/f.xml');
  });
});
