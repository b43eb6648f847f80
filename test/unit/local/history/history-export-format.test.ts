import { describe, expect, it } from 'vitest';
import type { FileCopy } from '#core/executions/execution-record';
import { csvField, csvLine } from '#local/history/csv';
import { EXPORT_CSV_COLUMNS, toExportCsvValues, toExportRecord } from '#local/history/export-record';
import { aJobExecution } from '../../../builders/job-execution.builder';

describe('csvField', () => {
  it.each<[string | number | boolean | null | undefined, string]>([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['"', '""""'],
    ['two\nlines', '"two\nlines"'],
    ['carriage\rreturn', '"carriage\rreturn"'],
    [' padded', '" padded"'],
    ['padded ', '"padded "'],
    ['', ''],
    [null, ''],
    [undefined, ''],
    [0, '0'],
    [0.8333333333333334, '0.8333333333333334'],
    [false, 'false'],
    ['émoji ✓ ünïcode', 'émoji ✓ ünïcode'],
  ])('writes %j as %j', (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });

  it('joins a line with commas and ends it with a newline', () => {
    expect(csvLine(['id', 'a,b', null, 3])).toBe('id,"a,b",,3\n');
  });

  it.each<[string | number, string]>([
    ['=HYPERLINK("http://evil.example","click")', '"\'=HYPERLINK(""http://evil.example"",""click"")"'],
    ['+1+2', "'+1+2"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1:A2)', "'@SUM(A1:A2)"],
    ['\tcmd', "'\tcmd"],
    ['\rcmd', '"\'\rcmd"'],
    ['a=b', 'a=b'],
    [-5, '-5'],
  ])('keeps a spreadsheet from running %j as a formula: %j', (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });
});

const copied: FileCopy = {
  path: 'output.report',
  sourceUrl: 'https://api.product-live.com/files/report.xml',
  fileName: 'report.xml',
  s3Key: 'executions/j/e/output.report/report.xml',
  status: 'copied',
  attempts: 1,
  size: 3281,
  sha256: 'ab'.repeat(32),
  contentType: 'application/xml',
  copiedAt: '2024-05-01T00:00:00.000Z',
};
const failed: FileCopy = {
  path: 'output.files[0]',
  sourceUrl: 'https://api.product-live.com/files/a.csv',
  fileName: 'a,b.csv',
  s3Key: 'executions/j/e/output.files.0/a,b.csv',
  status: 'failed',
  attempts: 8,
  lastError: 'HTTP 404',
  size: 12,
};

describe('export records', () => {
  it('are the API object, key order and unknown fields kept, followed by the files in DESIGN shape and the launch', () => {
    const api = { ...aJobExecution({ status: 'COMPLETED' }), priority: 'HIGH' } as Record<string, unknown>;
    const record = toExportRecord(api, [copied, failed]);
    expect(Object.keys(record)).toEqual([...Object.keys(api), 'files', 'launch']);
    expect(record.launch).toBeNull();
    const launch = {
      idempotencyKey: null,
      messageId: 'm-1',
      requestedAt: '2024-06-01T00:00:00.000Z',
      awaited: false,
    };
    const launched = toExportRecord(api, [], launch);
    expect(launched.launch).toEqual(launch);
    expect(toExportCsvValues(launched).at(-1)).toBe('m-1');
    expect(record.priority).toBe('HIGH');
    expect(record.files).toEqual([
      {
        path: 'output.report',
        s3Key: copied.s3Key,
        size: 3281,
        sha256: copied.sha256,
        contentType: 'application/xml',
      },
      // A copy not made yet has no size, hash or type to report.
      { path: 'output.files[0]', s3Key: failed.s3Key, size: null, sha256: null, contentType: null },
    ]);
  });

  it('flatten to one CSV row: API text, JSON for nested fields, one file per line of the file cells', () => {
    const api = { ...aJobExecution({ status: 'FAILED' }), tags: ['nightly'] } as Record<string, unknown>;
    const values = toExportCsvValues(toExportRecord(api, [copied, failed]), 15_890);
    const row = Object.fromEntries(EXPORT_CSV_COLUMNS.map((column, index) => [column, values[index]]));
    expect(row).toMatchObject({
      id: api.id,
      status: 'FAILED',
      createdAt: api.createdAt,
      title: (api.info as { title: string }).title,
      durationMs: 15_890,
      input: JSON.stringify(api.input),
      output: JSON.stringify(api.output),
      otherFields: '{"tags":["nightly"]}',
      fileCount: 2,
      filePaths: 'output.report\noutput.files[0]',
      fileS3Keys: `${copied.s3Key}\n${failed.s3Key}`,
      fileSizes: '3281\n',
      fileSha256s: `${copied.sha256}\n`,
    });
    expect(csvLine(values).split('\n')[0]).toContain(`,"output.report`);
  });

  it('leave absent values empty', () => {
    const api = aJobExecution({ status: 'PENDING', pipelineId: null }) as Record<string, unknown>;
    const values = toExportCsvValues(toExportRecord(api, []));
    const row = Object.fromEntries(EXPORT_CSV_COLUMNS.map((column, index) => [column, values[index]]));
    expect(row).toMatchObject({ pipelineId: '', endedAt: '', durationMs: '', fileCount: 0, filePaths: '' });
  });
});
