// `npm run emulator`: starts, prints its URL, serves demo data and uploads, and stops cleanly on SIGINT; bad
// flags exit 2 with the usage text.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { JobExecutionList, UploadedFile } from '#core/product-live/product-live.schema';
import { captureOutput } from '../support/child-output';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function runCli(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/cli/emulator.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const output = captureOutput(child);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, exited, output };
}

/** A GET with a Host header of our choosing (fetch always sends the URL's). */
function rawGet(url: string, path: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL(path, url);
    request(
      { hostname: target.hostname, port: target.port, path: target.pathname, headers: { Host: host } },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    )
      .on('error', reject)
      .end();
  });
}

describe('emulator CLI', () => {
  it('serves demo data on the printed URL until SIGINT, then exits 0', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'emulator-cli-'));
    await writeFile(join(directory, 'key'), 'cli-key-from-file\n', { mode: 0o600 });
    const cli = runCli([
      '--port',
      '0',
      '--api-key-file',
      join(directory, 'key'),
      '--seed',
      '5',
      '--executions',
      '30',
      '--no-rate-limit',
    ]);
    let url: string | undefined;
    while (!url) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      url = /listening on (http:\/\/\S+) /.exec(cli.output().stdout)?.[1];
      if (cli.child.exitCode !== null) throw new Error(`CLI exited early: ${cli.output().stderr}`);
    }

    const response = await fetch(`${url}/v1/data_factory/job_executions?size=5`, {
      headers: { 'X-Api-Key': 'cli-key-from-file' },
    });
    // A browser page (an Origin) and a foreign Host (DNS rebinding) are refused, whatever the key.
    const fromPage = await fetch(`${url}/v1/data_factory/job_executions?size=5`, {
      headers: { 'X-Api-Key': 'cli-key-from-file', Origin: 'http://evil.example' },
    });
    const rebound = await rawGet(url, '/v1/data_factory/job_executions', 'evil.example');
    const list = JobExecutionList.parse(await response.json());
    cli.child.kill('SIGINT');

    expect(list.totalElements).toBe(30);
    expect([fromPage.status, rebound]).toEqual([403, 403]);
    expect(await cli.exited).toBe(0);
    expect(cli.output().stdout).toContain('stopped');
    // The key it was given is never printed.
    expect(cli.output().stdout).toContain('X-Api-Key: the key from --api-key-file');
    expect(`${cli.output().stdout}${cli.output().stderr}`).not.toContain('cli-key-from-file');
  });

  it('accepts uploads, serves them back, and removes their temporary directory when stopped', async () => {
    const uploadDirs = async () =>
      new Set((await readdir(tmpdir())).filter((name) => name.startsWith('product-live-emulator-uploads-')));
    const before = await uploadDirs();
    const cli = runCli(['--port', '0', '--executions', '5', '--no-rate-limit']);
    let url: string | undefined;
    while (!url) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      url = /listening on (http:\/\/\S+) /.exec(cli.output().stdout)?.[1];
      if (cli.child.exitCode !== null) throw new Error(`CLI exited early: ${cli.output().stderr}`);
    }
    const form = new FormData();
    form.append('file', new Blob(['sku;price\n']), 'prix été.csv');

    const response = await fetch(`${url}/v1/data_factory/files`, {
      method: 'POST',
      headers: { 'X-Api-Key': 'local-dev-key' },
      body: form,
    });
    const file = UploadedFile.parse(await response.json());
    const served = await (await fetch(file.url)).text();
    const during = await uploadDirs();
    cli.child.kill('SIGINT');

    expect(response.status).toBe(201);
    expect(served).toBe('sku;price\n');
    expect([...during].filter((name) => !before.has(name))).toHaveLength(1);
    expect(await cli.exited).toBe(0);
    expect([...(await uploadDirs())].filter((name) => !before.has(name))).toEqual([]);
  });

  it.each([
    [['--bogus']],
    [['--port', 'eighty']],
    [['--order', 'random']],
    [['--fault-rate', '2']],
    [['--fault-kinds', 'teapot', '--fault-rate', '0.1']],
  ])('exits 2 with the usage for %j', async (args) => {
    const cli = runCli(args);

    expect(await cli.exited).toBe(2);
    expect(cli.output().stderr).toContain('Usage: npm run emulator');
  });
});
