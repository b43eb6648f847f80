// The bad-input catalogue rows that need real servers: file downloads through the sync (emulator, s3rver,
// DynamoDB Local) and the command lines (as subprocesses). See test/support/bad-input-catalogue.ts.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FileCopy } from '#core/executions/execution-record';
import { createEmulator } from '#local/emulator/index';
import { badInput } from '../support/bad-input-catalogue';
import { closed } from '../support/child-output';
import { createSyncHarness, listKeys, type SyncHarness } from '../support/sync-harness';

let harness: SyncHarness | undefined;
/** A second local server, on another port of the loopback host. */
let server: Server | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  server?.closeAllConnections();
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  server = undefined;
});

const DAY = 24 * 3_600_000;

/** A harness with one ended execution whose output references `output`. */
async function executionWithOutput(output: (h: SyncHarness) => Record<string, unknown>) {
  const h = await createSyncHarness();
  harness = h;
  const job = h.emulator.addJob({ title: 'Export', kind: 'no-files' });
  const execution = h.emulator.createExecution(job.id, {}, { runTimeMs: 1_000, outcome: 'COMPLETED' });
  h.emulator.setExecutionOutput(execution.id, output(h));
  h.clock.advance(5_000);
  return { h, id: execution.id };
}

async function copyOf(h: SyncHarness, id: string, path: string): Promise<FileCopy | undefined> {
  return (await h.executions.get(id))?.files.find((file) => file.path === path);
}

describe('bad input: file downloads', () => {
  it(badInput('file.http'), async () => {
    const { h, id } = await executionWithOutput(() => ({
      report: {
        url: 'http://app.product-live.com/data-factory/1/download/a/report.xml',
        filename: 'report.xml',
      },
    }));
    const summary = await h.sync();
    expect(summary.error).toBeNull();
    expect(summary.executions.new).toBe(1);
    expect(await copyOf(h, id, 'output.report')).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: expect.stringMatching(/^plain http refused/),
    });
  });

  it(badInput('file.redirect'), async () => {
    const { h, id } = await executionWithOutput((harness) => ({
      report: {
        url: harness.emulator.addFile({
          size: 10,
          filename: 'r.xml',
          redirectTo: 'https://evil.example.com/steal',
        }).url,
        filename: 'r.xml',
      },
    }));
    await h.sync();
    expect(await copyOf(h, id, 'output.report')).toMatchObject({
      status: 'failed',
      lastError: expect.stringMatching(/host not in the allowed file hosts \(https:\/\/evil\.example\.com\)/),
    });
    expect(await listKeys(h)).toEqual([]);
  });

  it(badInput('file.zero-byte'), async () => {
    const { h, id } = await executionWithOutput((harness) => ({
      files: [
        {
          object: 'data_factory_file',
          id: 'e'.repeat(64),
          url: harness.emulator.addFile({ size: 0, filename: 'empty.csv' }).url,
        },
      ],
    }));
    await h.sync();
    expect(await copyOf(h, id, 'output.files[0]')).toMatchObject({
      status: 'copied',
      size: 0,
      sha256: createHash('sha256').digest('hex'),
    });
  });

  it(badInput('file.large'), async () => {
    const size = 40 * 1024 * 1024;
    let multipart = 0;
    const { h, id } = await executionWithOutput((harness) => ({
      export: { url: harness.emulator.addFile({ size, filename: 'big.csv' }).url, filename: 'big.csv' },
    }));
    h.clients.s3.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UploadPartCommand') multipart += 1;
        return next(args);
      },
      { step: 'initialize', name: 'countParts' },
    );
    await h.sync();
    const copy = await copyOf(h, id, 'output.export');
    expect(copy).toMatchObject({ status: 'copied', size });
    expect(copy?.sha256).toBe(await h.emulator.fileSha256(copy?.sourceUrl ?? ''));
    expect(multipart).toBe(5);
  });

  it(badInput('file.truncated'), async () => {
    const { h, id } = await executionWithOutput((harness) => ({
      report: {
        url: harness.emulator.addFile({ size: 50_000, filename: 'report.xml' }).url,
        filename: 'report.xml',
      },
    }));
    // Once: the second try in the same run copies it.
    h.emulator.failNext('truncated-download', { endpoint: 'download' });
    await h.sync();
    expect(await copyOf(h, id, 'output.report')).toMatchObject({ status: 'copied', attempts: 2 });
    // Three times in a row: deferred to a later run, and no S3 object is ever completed meanwhile.
    const { h: h2, id: id2 } = await executionWithOutput((harness) => ({
      report: {
        url: harness.emulator.addFile({ size: 50_000, filename: 'report.xml' }).url,
        filename: 'report.xml',
      },
    }));
    h2.emulator.failNext('truncated-download', { endpoint: 'download', count: 3 });
    const summary = await h2.sync();
    expect(summary.files).toMatchObject({ copied: 0, pending: 1, failed: 0 });
    expect(await copyOf(h2, id2, 'output.report')).toMatchObject({
      status: 'pending',
      attempts: 3,
      lastError: expect.stringMatching(/truncated|terminated|closed/i),
    });
    expect(await listKeys(h2)).toEqual([]);
    h2.clock.advance(6 * 60_000);
    await h2.sync();
    const copy = await copyOf(h2, id2, 'output.report');
    expect(copy).toMatchObject({ status: 'copied', size: 50_000 });
    expect(copy?.sha256).toBe(await h2.emulator.fileSha256(copy?.sourceUrl ?? ''));
  });

  it(badInput('file.404'), async () => {
    const { h, id } = await executionWithOutput((harness) => ({
      report: {
        url: `${harness.emulator.url}/data-factory/2629/download/${'0'.repeat(64)}/gone.xml`,
        filename: 'gone.xml',
      },
    }));
    const summary = await h.sync();
    expect(summary.files).toMatchObject({ failed: 1, pending: 0 });
    expect(await copyOf(h, id, 'output.report')).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: expect.stringMatching(/answered HTTP 404 \(the file is gone/),
    });
    const item = await h.executions.get(id);
    expect(item?.filesPending).toBeUndefined();
    expect(item?.filesFailed).toBe('FAILED');
    // Once only: a later run does not ask again.
    h.emulator.clearRequests();
    h.clock.advance(3_600_000);
    await h.sync();
    expect(h.emulator.requests.filter((request) => request.endpoint === 'download')).toEqual([]);
  });

  it(badInput('file.loopback-other-port'), async () => {
    const requests: string[] = [];
    server = createServer((request, response) => {
      requests.push(`${request.method} ${request.url} key=${String(request.headers['x-api-key'])}`);
      response.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' }).end('stolen');
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const otherPort = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    harness = await createSyncHarness();
    const h = harness;
    const job = h.emulator.addJob({ title: 'Export', kind: 'no-files' });
    const execution = h.emulator.createExecution(job.id, {}, { runTimeMs: 1_000, outcome: 'COMPLETED' });
    h.emulator.addRedirect('/data-factory/redirected.csv', `${otherPort}/redirected.csv`);
    h.emulator.setExecutionOutput(execution.id, {
      direct: { url: `${otherPort}/direct.csv`, filename: 'direct.csv' },
      redirected: { url: `${h.emulator.url}/data-factory/redirected.csv`, filename: 'redirected.csv' },
    });
    h.clock.advance(5_000);
    const summary = await h.sync();
    expect(summary.files).toMatchObject({ failed: 2, copied: 0, pending: 0 });
    expect(requests).toEqual([]);
    expect(await copyOf(h, execution.id, 'output.direct')).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: expect.stringContaining("only the local API's own origin"),
    });
    expect(await copyOf(h, execution.id, 'output.redirected')).toMatchObject({
      status: 'failed',
      lastError: expect.stringContaining("only the local API's own origin"),
    });
    expect(await listKeys(h)).toEqual([]);
    // Once: a later run does not try again.
    h.clock.advance(DAY);
    h.emulator.clearRequests();
    await h.sync();
    expect(requests).toEqual([]);
    expect(h.emulator.requests.filter((request) => request.endpoint === 'download')).toEqual([]);
  });
});

const root = resolve(import.meta.dirname, '../..');

function cli(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = withoutKey(process.env),
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(resolve(root, 'node_modules/.bin/tsx'), [script, ...args], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return closed(child);
}

function withoutKey(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { PRODUCT_LIVE_API_KEY: _key, ...rest } = env;
  return rest;
}

describe('bad input: command lines', () => {
  it(badInput('cli.unknown-flag'), async () => {
    const result = await cli('local/cli/start.ts', ['--bogus']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error: Unknown option '--bogus'");
    expect(result.stderr).toContain('usage: npm start -- [options]');
  });

  it(badInput('cli.every'), async () => {
    const result = await cli('local/cli/start.ts', ['--every', 'soon']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--every: expected a duration such as 30s, 1m or 1h, got "soon"');
  });

  it(badInput('cli.api-url-no-key'), async () => {
    const result = await cli('local/cli/start.ts', ['--api-url', 'https://api.product-live.com']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      '--api-url needs its key: --api-key-file PATH (or the environment variable PRODUCT_LIVE_API_KEY)',
    );
  });

  it(badInput('cli.json-quiet'), async () => {
    const result = await cli('local/cli/start.ts', ['--json', '--quiet']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--json and --quiet cannot be combined');
  });

  it(badInput('cli.launch-input'), async () => {
    const result = await cli('local/cli/launch.ts', ['--job', '65819ba43ad5b963658ab35d', '--input', '{bad']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--input: not valid JSON: {bad');
  });

  it(badInput('cli.launch-job'), async () => {
    const result = await cli('local/cli/launch.ts', ['--job', '123']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('jobId: expected 24 hexadecimal characters');
  });

  it(badInput('cli.launch-file-missing'), async () => {
    // No stack runs on the data directory either: the file is checked first, so nothing could have been sent.
    const dir = await mkdtemp(join(tmpdir(), 'launch-file-'));
    const missing = join(dir, 'prices.csv');
    const result = await cli('local/cli/launch.ts', [
      '--job',
      '65819ba43ad5b963658ab35d',
      '--file',
      `file=${missing}`,
      '--data-dir',
      dir,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(`error: --file file: ${missing} does not exist`);
    expect(await readdir(dir)).toEqual([]);
  });

  it(badInput('cli.inbox-reserved'), async () => {
    const result = await cli('local/cli/start.ts', ['--inbox', 'uploads/=65819ba43ad5b963658ab35d']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'error: --inbox uploads/=65819ba43ad5b963658ab35d: prefix must not start with uploads/ (reserved for npm run launch -- --file)',
    );
  });

  it(badInput('cli.history-command'), async () => {
    const result = await cli('local/cli/history.ts', ['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'unknown command "frobnicate" (expected stats, list, show, export, timeline, sql, files, health)',
    );
  });

  it(badInput('cli.history-sql-bucket'), async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bad-bucket-'));
    const result = await cli('local/cli/history.ts', [
      'sql',
      'SELECT 1',
      '--bucket',
      '../../etc',
      '--data-dir',
      dir,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'error: --bucket: "../../etc" is not a valid S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens,',
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it(badInput('cli.job-expectations-file'), async () => {
    const directory = await mkdtemp(join(tmpdir(), 'expectations-'));
    try {
      const missing = await cli('local/cli/start.ts', [
        '--once',
        '--job-expectations',
        join(directory, 'nope.json'),
      ]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain(`--job-expectations ${join(directory, 'nope.json')}: no such file`);
      const notJson = join(directory, 'not.json');
      await writeFile(notJson, '{"*": {every: "24h"}}');
      const bad = await cli('local/cli/start.ts', ['--once', '--job-expectations', notJson]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(`--job-expectations ${notJson}: not valid JSON (`);
      const duration = join(directory, 'duration.json');
      await writeFile(duration, '{"*": {"maxDuration": "30 minutes"}}');
      const wrong = await cli('local/cli/start.ts', ['--once', '--job-expectations', duration]);
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toContain(
        `--job-expectations ${duration}: *.maxDuration: expected a duration such as 30m, 24h or 7d, got "30 minutes"`,
      );
      // Nothing was started: no local stack state was written.
      expect(wrong.stdout).not.toContain('Local stack running');
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it(badInput('cli.history-since'), async () => {
    const result = await cli('local/cli/history.ts', ['stats', '--since', 'soon']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--since');
  });

  it(badInput('cli.events-status'), async () => {
    const result = await cli('local/cli/events.ts', ['tail', '--status', 'BROKEN']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('error: --status: "BROKEN" is not a status (PENDING, RUNNING,');
    expect(result.stderr).toContain('usage: npm run events -- tail');
  });

  it(badInput('cli.events-no-file'), async () => {
    const dir = await mkdtemp(join(tmpdir(), 'no-events-'));
    const result = await cli('local/cli/events.ts', ['tail', '--no-follow', '--data-dir', dir]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      `error: no events at ${join(dir, 'events.ndjson')}: run \`npm start\` first (or pass --data-dir)`,
    );
  });

  it(badInput('cli.api-key-argv'), async () => {
    const emulator = createEmulator({ apiKey: 'argv-key-5d1f0a', demo: false });
    await emulator.start();
    try {
      // The key is right; the run goes on until it needs DynamoDB Local (a port taken here stops it early).
      const blocker = createServer();
      const port = await new Promise<number>((listening) =>
        blocker.listen(0, '127.0.0.1', () => listening((blocker.address() as AddressInfo).port)),
      );
      const result = await cli('local/cli/start.ts', [
        '--once',
        '--api-url',
        emulator.url,
        '--api-key',
        'argv-key-5d1f0a',
        '--dynamodb-port',
        String(port),
      ]);
      blocker.close();
      expect(result.stderr).toMatch(
        /^warning: --api-key puts the key in the process list, where other users of this machine can read it: use --api-key-file PATH/,
      );
      expect(`${result.stdout}${result.stderr}`).not.toContain('argv-key-5d1f0a');
    } finally {
      await emulator.stop();
    }
  });

  it(badInput('cli.api-key-file'), async () => {
    const dir = await mkdtemp(join(tmpdir(), 'key-file-'));
    const empty = join(dir, 'empty');
    await writeFile(empty, '\n', { mode: 0o600 });
    for (const script of ['local/cli/start.ts', 'local/cli/emulator.ts']) {
      const missing = await cli(script, ['--api-key-file', join(dir, 'missing')]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain(`error: --api-key-file: ${join(dir, 'missing')} does not exist`);
      const blank = await cli(script, ['--api-key-file', empty]);
      expect(blank.code).toBe(2);
      expect(blank.stderr).toContain(`error: --api-key-file: ${empty} is empty`);
    }
  });

  it(badInput('cli.data-dir-file'), async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'data-dir-file-')), 'not-a-dir');
    await writeFile(file, 'x');
    const job = '65819ba43ad5b963658ab35d';
    for (const [script, args] of [
      ['local/cli/start.ts', ['--once']],
      ['local/cli/history.ts', ['stats']],
      ['local/cli/history.ts', ['sql', 'SELECT 1']],
      ['local/cli/dashboard.ts', []],
      ['local/cli/events.ts', ['tail', '--no-follow']],
      ['local/cli/launch.ts', ['--job', job]],
      ['local/cli/doctor.ts', []],
    ] as const) {
      const result = await cli(script, [...args, '--data-dir', file]);
      expect([script, result.code]).toEqual([script, 2]);
      expect(result.stderr).toContain(`error: --data-dir: ${file} is a file, not a directory`);
    }
  });

  it(badInput('cli.launch-no-stack'), async () => {
    const dir = await mkdtemp(join(tmpdir(), 'no-stack-'));
    const result = await cli('local/cli/launch.ts', ['--job', '65819ba43ad5b963658ab35d', '--data-dir', dir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `error: no local stack is running in ${dir}: start it with \`npm start\``,
    );
  });

  it(badInput('cli.export-out-dir'), async () => {
    const result = await cli('local/cli/history.ts', ['export', '--out', '/nonexistent/dir/x.csv']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('error: --out: the directory /nonexistent/dir does not exist');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it(badInput('cli.show-empty-id'), async () => {
    const result = await cli('local/cli/history.ts', ['show', '']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('error: show takes exactly one execution id: npm run history -- show ID');
    expect(result.stderr).toContain('Usage: npm run history -- show ID');
  });

  it(badInput('cli.ui-port-taken'), async () => {
    const blocker = createServer();
    const port = await new Promise<number>((listening) =>
      blocker.listen(0, '127.0.0.1', () => listening((blocker.address() as AddressInfo).port)),
    );
    try {
      const dir = await mkdtemp(join(tmpdir(), 'ui-port-'));
      const result = await cli('local/cli/start.ts', ['--ui-port', String(port), '--data-dir', dir]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`error: port ${port} for the dashboard is already in use`);
      expect(result.stdout).not.toContain('Local stack running');
      // Nothing was started in the data directory.
      expect(await readdir(dir)).toEqual([]);
    } finally {
      blocker.close();
    }
  });
  it(badInput('cli.doctor-flag'), async () => {
    const result = await cli('local/cli/doctor.ts', ['--bogus']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('error: unknown flag --bogus');
    expect(result.stderr).toContain('usage: npm run doctor --');
  });

  it(badInput('cli.doctor-api-key-argv'), async () => {
    const result = await cli('local/cli/doctor.ts', ['--api-key', 'argv-key-77e1']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'error: --api-key is not taken: a key on the command line is in the process list',
    );
    expect(result.stderr).toContain(
      'use --api-key-file PATH or the environment variable PRODUCT_LIVE_API_KEY',
    );
    expect(`${result.stdout}${result.stderr}`).not.toContain('argv-key-77e1');
  });

  it(badInput('cli.doctor-api-url'), async () => {
    const result = await cli('local/cli/doctor.ts', ['--api-url', 'https://api.product-live.com']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'error: --api-url needs its key: --api-key-file PATH (or the environment variable PRODUCT_LIVE_API_KEY)',
    );
  });

  it(badInput('cli.doctor-athena-local'), async () => {
    const result = await cli('local/cli/doctor.ts', ['--athena']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'error: --athena runs a query in a deployed Athena workgroup: it goes with --stack NAME',
    );
  });

  it(badInput('cli.doctor-key-deployed'), async () => {
    const dir = await mkdtemp(join(tmpdir(), 'doctor-key-'));
    const file = join(dir, 'key');
    await writeFile(file, 'k\n', { mode: 0o600 });
    const result = await cli('local/cli/doctor.ts', ['--stack', 'ProductLiveSync', '--api-key-file', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "error: --api-url and --api-key-file check a local key: a deployed stack's key is read from its secret",
    );
  });
});
