// File references in a launch request's input: found at any depth, checked before anything is read, replaced
// by the uploaded files; and the inbox's S3 events turned into launch requests by their rules.
import { describe, expect, it } from 'vitest';
import { MAX_UPLOAD_BYTES } from '#core/product-live/product-live-client';
import { parseS3Location } from '#core/s3-locations';
import {
  FileReferenceError,
  findFileReferences,
  pathKey,
  pathText,
  replaceFileReferences,
} from '#functions/launch/file-references';
import { decodeEventKey, encodeEventKey, inboxRequest } from '#functions/launch/inbox';

const readable = [
  { bucket: 'acme-exports', prefix: 'erp/' },
  { bucket: 'acme-inbox', prefix: '' },
];
const ref = (uri: string, extra: Record<string, unknown> = {}) => ({ object: 's3_object', uri, ...extra });

describe('file references', () => {
  it('are found at any depth, in objects and arrays, with the key’s last segment as the file name', () => {
    const input = {
      file: ref('s3://acme-exports/erp/prices 2026-12 é.csv'),
      options: {
        sheet: 'EU',
        attachments: [ref('s3://acme-inbox/a/b/notes.pdf', { fileName: 'Notes décembre.pdf' })],
      },
      other: { object: 'data_factory_file', id: 'x', url: 'https://example.com' },
    };
    expect(findFileReferences(input, readable)).toEqual([
      {
        path: ['file'],
        bucket: 'acme-exports',
        key: 'erp/prices 2026-12 é.csv',
        fileName: 'prices 2026-12 é.csv',
      },
      {
        path: ['options', 'attachments', 0],
        bucket: 'acme-inbox',
        key: 'a/b/notes.pdf',
        fileName: 'Notes décembre.pdf',
      },
    ]);
    expect(findFileReferences({ nothing: [1, 'two', null] }, readable)).toEqual([]);
    expect(findFileReferences(undefined, readable)).toEqual([]);
  });

  it.each([
    [{ file: ref('https://acme-exports/erp/x.csv') }, 'input.file: uri must be s3://bucket/key'],
    [{ file: ref('s3://acme-exports/') }, 'input.file: uri has an empty key'],
    [{ file: ref('s3://Acme_Exports/erp/x.csv') }, 'input.file: uri names no valid bucket'],
    [
      { file: { object: 's3_object', url: 's3://acme-exports/erp/x.csv' } },
      'unknown field "url" in an s3_object reference',
    ],
    [
      { file: ref('s3://acme-exports/erp/x.csv', { fileName: 'a/b.csv' }) },
      'fileName must not contain a slash',
    ],
    [
      { file: ref('s3://acme-exports/other/x.csv') },
      's3://acme-exports/other/x.csv is not in a place the launch function may read',
    ],
    [{ list: [ref('s3://elsewhere/x.csv')] }, 'input.list[0]: s3://elsewhere/x.csv is not in a place'],
    [{ file: ref('s3://acme-exports/erp/folder/') }, 'ends with "/": give its fileName'],
  ])('refuses %j, naming the reference and the problem', (input, message) => {
    expect(() => findFileReferences(input, readable)).toThrow(FileReferenceError);
    expect(() => findFileReferences(input, readable)).toThrow(message);
  });

  it('replaces each reference by its file, leaving the rest and the request itself unchanged', () => {
    const input = {
      file: ref('s3://acme-exports/erp/a.csv'),
      list: [1, ref('s3://acme-inbox/b.csv')],
      keep: 'x',
    };
    const before = JSON.stringify(input);
    const replaced = replaceFileReferences(
      input,
      new Map([
        [pathKey(['file']), { object: 'data_factory_file', id: 'A' }],
        [pathKey(['list', 1]), { object: 'data_factory_file', id: 'B' }],
      ]),
    );
    expect(replaced).toEqual({
      file: { object: 'data_factory_file', id: 'A' },
      list: [1, { object: 'data_factory_file', id: 'B' }],
      keep: 'x',
    });
    expect(JSON.stringify(input)).toBe(before);
    expect(pathText(['list', 1, 'a b'])).toBe('input.list[1]["a b"]');
  });

  it('counts 100 MB as 104,857,600 bytes, and reads locations as `bucket` or `bucket/prefix/`', () => {
    expect(MAX_UPLOAD_BYTES).toBe(104_857_600);
    expect(parseS3Location('s3://acme-exports/erp/')).toEqual({ bucket: 'acme-exports', prefix: 'erp/' });
    expect(parseS3Location('acme-exports')).toEqual({ bucket: 'acme-exports', prefix: '' });
    expect(parseS3Location('Not_A_Bucket')).toBeUndefined();
  });
});

describe('inbox events', () => {
  const rules = [
    { prefix: 'imports/', jobId: '65819ba43ad5b963658ab35d' },
    {
      prefix: 'imports/supplier a/',
      jobId: '65819ba43ad5b963658ab35e',
      inputKey: 'source',
      input: { mode: 'full' },
    },
  ];
  const event = (key: string, object: Record<string, unknown> = {}, bucket = 'acme-inbox') => ({
    version: '0',
    source: 'aws.s3',
    'detail-type': 'Object Created',
    detail: { bucket: { name: bucket }, object: { key, size: 3, etag: 'e1', sequencer: '0A', ...object } },
  });

  it('decode keys as S3 encodes them in its events: + for a space, %C3%A9 for é', () => {
    expect(decodeEventKey('imports/supplier+a/prix+d%C3%A9cembre+%2B+1.csv')).toBe(
      'imports/supplier a/prix décembre + 1.csv',
    );
    for (const key of ['a b+c/é è.csv', 'x%20y', '100% sure?.csv'])
      expect(decodeEventKey(encodeEventKey(key))).toBe(key);
    expect(decodeEventKey('%E0%A4%A')).toBeUndefined();
  });

  it('launch the job of the longest prefix, keyed by bucket, key and version', () => {
    const outcome = inboxRequest(
      event('imports/supplier+a/prix+d%C3%A9cembre.csv', { 'version-id': 'v2' }),
      'acme-inbox',
      rules,
    );
    expect(outcome).toEqual({
      kind: 'launch',
      idempotencyKey: 'inbox:acme-inbox/imports/supplier a/prix décembre.csv#v2',
      jobId: '65819ba43ad5b963658ab35e',
      input: {
        mode: 'full',
        source: {
          object: 's3_object',
          uri: 's3://acme-inbox/imports/supplier a/prix décembre.csv',
          versionId: 'v2',
        },
      },
      object: 's3://acme-inbox/imports/supplier a/prix décembre.csv',
    });
    // Without a version (an unversioned bucket): the ETag and the sequencer tell two writes apart.
    const unversioned = inboxRequest(event('imports/x.csv'), 'acme-inbox', rules);
    expect(unversioned).toMatchObject({
      kind: 'launch',
      idempotencyKey: 'inbox:acme-inbox/imports/x.csv#e1:0A',
    });
    expect(unversioned).toMatchObject({ input: { file: { uri: 's3://acme-inbox/imports/x.csv' } } });
  });

  it.each([
    [event('other/x.csv'), 'no inbox rule claims s3://acme-inbox/other/x.csv'],
    [event('uploads/1/x.csv'), 'is under uploads/'],
    [event('imports/folder/'), 'is a folder marker'],
    [
      event('imports/x.csv', {}, 'another-bucket'),
      'an object of bucket another-bucket, which is not the inbox',
    ],
    [{ source: 'aws.s3', 'detail-type': 'Object Deleted', detail: {} }, 'not "Object Created"'],
  ])('ignore %j with the reason', (json, reason) => {
    expect(inboxRequest(json, 'acme-inbox', rules)).toEqual({
      kind: 'ignore',
      reason: expect.stringContaining(reason),
    });
  });
});
