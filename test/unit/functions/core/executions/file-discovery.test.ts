import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { discoverFiles, pathSegment, safeFileName } from '#core/executions/file-discovery';
import getResponse from '../../../../fixtures/product-live/get-job-execution.response.json';

const dataFactoryFile = (id: string, name = 'export.csv') => ({
  object: 'data_factory_file',
  id,
  createdAt: '2023-12-21T14:04:18.511Z',
  updatedAt: '2023-12-21T14:04:18.511Z',
  url: `https://app.product-live.com/data-factory/2629/download/${id}/${name}`,
});

describe('discoverFiles', () => {
  it('finds the report of the documented GET example', () => {
    expect(discoverFiles(getResponse)).toEqual([
      {
        path: 'output.report',
        url: getResponse.output.report.url,
        fileName: 'report.xml',
        kind: 'named_link',
      },
    ]);
  });

  it('finds data_factory_file objects at any depth of input and output, arrays included', () => {
    const files = discoverFiles({
      input: { context: { jobId: 'x' }, source: dataFactoryFile('a'.repeat(64), 'in.xlsx') },
      output: {
        files: [
          dataFactoryFile('b'.repeat(64)),
          { nested: { deeper: [dataFactoryFile('c'.repeat(64), 'd.xml')] } },
        ],
        'odd key': { report: { url: 'https://app.product-live.com/r.xml', filename: 'r.xml' } },
      },
    });
    expect(files.map((file) => file.path)).toEqual([
      'input.source',
      'output.files[0]',
      'output.files[1].nested.deeper[0]',
      'output["odd key"].report',
    ]);
    expect(files.map((file) => file.fileName)).toEqual(['in.xlsx', 'export.csv', 'd.xml', 'r.xml']);
  });

  it('ignores objects that only look like files', () => {
    expect(
      discoverFiles({
        output: { url: 'https://x', other: { filename: 'a.txt' }, link: { url: '', filename: 'a' }, n: null },
      }),
    ).toEqual([]);
  });

  it('finds every file planted anywhere in arbitrary JSON', () => {
    const leaf = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null));
    const json = fc.letrec<{ node: unknown }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), tie('node'), { maxKeys: 4 }),
      ),
    }));
    fc.assert(
      fc.property(json.node, fc.array(fc.nat(), { minLength: 1, maxLength: 5 }), (tree, seeds) => {
        // Plant files under fresh keys of a wrapper so they never overwrite each other.
        const planted: Record<string, unknown> = { tree };
        seeds.forEach((seed, index) => {
          planted[`f${index}`] =
            seed % 2 === 0
              ? { deep: [dataFactoryFile(seed.toString(16).padStart(64, '0'))] }
              : { url: `https://app.product-live.com/${seed}.xml`, filename: `${seed}.xml` };
        });
        const found = discoverFiles({ output: planted });
        for (const index of seeds.keys()) {
          expect(found.some((file) => file.path.startsWith(`output.f${index}`))).toBe(true);
        }
        expect(new Set(found.map((file) => file.path)).size).toBe(found.length);
      }),
    );
  });
});

describe('safe names', () => {
  it('never yields an empty, dot or path-traversing file name', () => {
    for (const name of ['', '.', '..', '../../etc/passwd', 'a b/c?.xml', 'ré sumé.pdf']) {
      const safe = safeFileName(name);
      expect(safe).not.toMatch(/^\.|\//);
      expect(safe.length).toBeGreaterThan(0);
    }
    expect(safeFileName('report.xml')).toBe('report.xml');
  });

  it('turns a JSON path into one key segment', () => {
    expect(pathSegment('output.files[0].x')).toBe('output.files.0.x');
    expect(pathSegment('output["odd key"].report')).toBe('output.odd_key.report');
  });
});
