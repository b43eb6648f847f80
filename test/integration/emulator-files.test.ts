// File downloads: both kinds of file references, byte-exact content against the emulator's ground truth,
// content types, empty and large files, a 1 GiB stream, download auth, redirects, truncation.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Emulator, ManualClock } from '#local/emulator/index';
import { startEmulator as startTestEmulator, type TestEmulatorOptions } from '../support/emulator';

const startEmulator = async (options: TestEmulatorOptions = {}): Promise<Emulator> =>
  (await startTestEmulator(options)).emulator;

/** Downloads `url` while hashing it, never holding the body in memory. */
async function download(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers, redirect: 'manual' });
  const hash = createHash('sha256');
  let size = 0;
  if (response.body) {
    for await (const chunk of response.body) {
      hash.update(chunk);
      size += chunk.length;
    }
  }
  return { response, size, sha256: hash.digest('hex') };
}

interface FileReference {
  url: string;
  path: string;
  kind: 'data_factory_file' | 'named';
}

function fileReferences(value: unknown, path = ''): FileReference[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => fileReferences(item, `${path}[${index}]`));
  if (typeof value !== 'object' || value === null) return [];
  const record = value as Record<string, unknown>;
  const found: FileReference[] = [];
  if (typeof record.url === 'string') {
    if (record.object === 'data_factory_file')
      found.push({ url: record.url, path, kind: 'data_factory_file' });
    else if (typeof record.filename === 'string') found.push({ url: record.url, path, kind: 'named' });
  }
  for (const [key, item] of Object.entries(record))
    found.push(...fileReferences(item, path ? `${path}.${key}` : key));
  return found;
}

describe('file downloads', () => {
  it('serves every file of the demo executions byte for byte, with size and content type', async () => {
    const emulator = await startEmulator({ demo: { seed: 31, executions: 60 } });
    const references = emulator
      .executions()
      .flatMap((execution) => [
        ...fileReferences(execution.input, 'input'),
        ...fileReferences(execution.output, 'output'),
      ]);
    const kinds = new Set(references.map((reference) => reference.kind));
    const paths = new Set(references.map((reference) => reference.path.replace(/\[\d+\]/g, '[]')));

    expect(kinds).toEqual(new Set(['data_factory_file', 'named']));
    expect(paths).toContain('output.report');
    expect(paths).toContain('output.files[]');
    expect(paths).toContain('output.result.export.file');
    expect(paths).toContain('input.file');
    for (const reference of references) {
      const { response, size, sha256 } = await download(reference.url);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBe(String(emulator.fileSize(reference.url)));
      expect(size).toBe(emulator.fileSize(reference.url));
      expect(sha256).toBe(await emulator.fileSha256(reference.url));
    }
  });

  it('includes empty files and files of a few MB in the demo data', async () => {
    const emulator = await startEmulator({ demo: { seed: 32, executions: 100 } });
    const sizes = emulator
      .executions()
      .flatMap((execution) => [...fileReferences(execution.input), ...fileReferences(execution.output)])
      .map((reference) => ({ url: reference.url, size: emulator.fileSize(reference.url) }));
    const empty = sizes.find((file) => file.size === 0);
    const large = sizes.find((file) => file.size >= 2 * 1024 * 1024);

    expect(empty).toBeDefined();
    expect(large).toBeDefined();
    const emptyDownload = await download(empty?.url ?? '');
    const largeDownload = await download(large?.url ?? '');
    expect(emptyDownload.size).toBe(0);
    expect(emptyDownload.sha256).toBe(await emulator.fileSha256(empty?.url ?? ''));
    expect(largeDownload.size).toBe(large?.size);
    expect(largeDownload.sha256).toBe(await emulator.fileSha256(large?.url ?? ''));
  });

  it.each([
    ['report.xml', 'application/xml'],
    ['export.csv', 'text/csv'],
    ['data.json', 'application/json'],
    ['catalog.pdf', 'application/octet-stream'],
    ['README', 'application/octet-stream'],
  ])('sends %s as %s, with a HEAD that answers the same headers', async (filename, contentType) => {
    const emulator = await startEmulator();
    const file = emulator.addFile({ filename, size: 1234 });

    const get = await download(file.url);
    const head = await fetch(file.url, { method: 'HEAD' });

    expect(get.response.headers.get('content-type')).toBe(contentType);
    expect(get.size).toBe(1234);
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe(contentType);
    expect(head.headers.get('content-length')).toBe('1234');
    expect(file.url).toBe(`${emulator.url}/data-factory/2629/download/${file.id}/${filename}`);
  });

  it('streams a 1 GiB file whose SHA-256 matches the ground truth', async () => {
    const emulator = await startEmulator();
    const file = emulator.addFile({ filename: 'huge-export.bin', size: 1024 ** 3 });
    const [job] = [emulator.addJob({ title: 'Export Everything' })];
    const execution = emulator.createExecution(job?.id ?? '', {}, { runTimeMs: 1 });
    emulator.setExecutionOutput(execution.id, {
      export: { file: { object: 'data_factory_file', id: file.id, url: file.url } },
    });

    const [{ size, sha256 }, expected] = await Promise.all([
      download(file.url),
      emulator.fileSha256(file.url),
    ]);

    expect(size).toBe(1024 ** 3);
    expect(sha256).toBe(expected);
    expect(emulator.fileSize(file.url)).toBe(1024 ** 3);
  }, 60_000);

  it('places added files in an execution input and output', async () => {
    const emulator = await startEmulator({ lifecycle: { runTimeMs: 1_000 } });
    const clock = emulator.clock as ManualClock;
    const job = emulator.addJob({ title: 'Import Products' });
    const input = emulator.addFile({ filename: 'products.csv', size: 10 });
    const output = emulator.addFile({ filename: 'report.xml', size: 20 });
    const execution = emulator.createExecution(job.id);

    emulator.setExecutionInput(execution.id, {
      file: { object: 'data_factory_file', id: input.id, url: input.url },
    });
    emulator.setExecutionOutput(execution.id, {
      nested: [{ report: { url: output.url, filename: 'report.xml' } }],
    });
    const running = emulator.execution(execution.id);
    clock.advance(5_000);
    const ended = emulator.execution(execution.id);

    expect(running?.input).toMatchObject({ file: { url: input.url }, context: { jobId: job.id } });
    expect(running?.output).toEqual({});
    expect(ended?.output).toEqual({ nested: [{ report: { url: output.url, filename: 'report.xml' } }] });
  });

  it('answers 404 for unknown files, a wrong file name or a wrong account', async () => {
    const emulator = await startEmulator();
    const file = emulator.addFile({ filename: 'report.xml', size: 10 });

    const responses = await Promise.all([
      fetch(file.url.replace(file.id, 'f'.repeat(64))),
      fetch(file.url.replace('report.xml', 'other.xml')),
      fetch(file.url.replace('/2629/', '/9999/')),
    ]);

    expect(responses.map((response) => response.status)).toEqual([404, 404, 404]);
    expect(() => emulator.fileSize(file.url.replace(file.id, 'f'.repeat(64)))).toThrow(/not found/);
  });

  it('requires the API key for downloads only with fileAuth: api-key', async () => {
    const open = await startEmulator();
    const guarded = await startEmulator({ fileAuth: 'api-key', apiKey: 'k' });
    const openFile = open.addFile({ filename: 'a.csv', size: 5 });
    const guardedFile = guarded.addFile({ filename: 'a.csv', size: 5 });

    expect((await download(openFile.url)).response.status).toBe(200);
    expect((await download(guardedFile.url)).response.status).toBe(401);
    expect((await download(guardedFile.url, { 'X-Api-Key': 'wrong' })).response.status).toBe(401);
    expect((await download(guardedFile.url, { 'X-Api-Key': 'k' })).response.status).toBe(200);
  });

  it('answers 302 to any Location for redirect knobs', async () => {
    const emulator = await startEmulator();
    const redirected = emulator.addFile({
      filename: 'r.xml',
      size: 5,
      redirectTo: 'http://169.254.169.254/latest/meta-data/',
    });
    emulator.addRedirect(
      '/data-factory/2629/download/evil/report.xml',
      'https://evil.example.com/report.xml',
    );

    const first = await download(redirected.url);
    const second = await download(`${emulator.url}/data-factory/2629/download/evil/report.xml`);

    expect(first.response.status).toBe(302);
    expect(first.response.headers.get('location')).toBe('http://169.254.169.254/latest/meta-data/');
    expect(second.response.status).toBe(302);
    expect(second.response.headers.get('location')).toBe('https://evil.example.com/report.xml');
  });

  it('truncates a download on demand: full Content-Length, fewer bytes, then a closed connection', async () => {
    const emulator = await startEmulator();
    const file = emulator.addFile({ filename: 'export.csv', size: 300_000 });
    emulator.failNext('truncated-download');

    const response = await fetch(file.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe('300000');
    let received = 0;
    const reading = (async () => {
      for await (const chunk of response.body ?? []) received += chunk.length;
    })();

    await expect(reading).rejects.toThrow();
    expect(received).toBeLessThan(300_000);
    expect(emulator.requests.at(-1)).toMatchObject({ endpoint: 'download', fault: 'truncated-download' });
    expect((await download(file.url)).size).toBe(300_000);
  });
});
