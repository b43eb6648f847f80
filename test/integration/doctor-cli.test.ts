// `npm run doctor` against the local stack for real, as a user runs it (subprocesses; `npm start` on free ports): a
// synced data directory passes with no stack running; a running stack passes, with the emulator's key tried; then
// each failure the local stack can produce shows as its check's fail with its fix: a wrong API key (api.key), a
// message in the DLQ (launch.queues), a failed file copy (files.copies). Stopping the stack is not a failure.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SQSClient, StartMessageMoveTaskCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmulator, type Emulator } from '#local/emulator/index';
import {
  freeStackPorts,
  type ProcessResult,
  type StartedStack,
  startNpmStart,
  startProcess,
  waitFor,
} from '../support/local-stack-process';

interface Check {
  id: string;
  status: 'ok' | 'warn' | 'fail';
  summary: string;
  fix: string | null;
}
interface Report {
  ok: boolean;
  checks: Check[];
}

/** The environment of a user without a key in it. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { PRODUCT_LIVE_API_KEY: _key, PRODUCT_LIVE_API_URL: _url, ...rest } = process.env;
  return { ...rest, ...extra };
}

const npm = (args: string[], env: NodeJS.ProcessEnv = userEnv()): Promise<ProcessResult> =>
  startProcess('npm', ['-s', ...args], env).done;

/** `npm run doctor -- … --json`: its exit code and its report. */
async function doctorJson(
  args: string[],
  env?: NodeJS.ProcessEnv,
): Promise<{ code: number | null; report: Report; raw: ProcessResult }> {
  const result = await npm(['run', 'doctor', '--', ...args, '--json'], env);
  let report: Report;
  try {
    report = JSON.parse(result.stdout) as Report;
  } catch {
    throw new Error(`doctor printed no JSON (exit ${result.code}): ${result.stdout}\n${result.stderr}`);
  }
  return { code: result.code, report, raw: result };
}

const byId = (report: Report, id: string): Check => {
  const found = report.checks.find((check) => check.id === id);
  if (!found) throw new Error(`no check ${id}: ${report.checks.map((check) => check.id).join(', ')}`);
  return found;
};

/**
 * Every check but the warns of local.ports (another program on this machine may hold a default port) and of
 * jobs.health (the demo's generated history may hold a job that is really late by its learned schedule).
 */
const notOk = (report: Report) =>
  report.checks.filter(
    (check) =>
      check.status !== 'ok' &&
      !(['local.ports', 'jobs.health'].includes(check.id) && check.status === 'warn'),
  );

const LOCAL_CHECKS = [
  'local.java',
  'local.ports',
  'local.data-dir',
  'local.stack',
  'api.key',
  'sync.last-run',
  'sync.lag',
  'sync.lease',
  'sync.run-errors',
  'files.copies',
  'audit.recent',
  'lake.days',
  'launch.queues',
  'jobs.health',
];

describe('npm run doctor on the local stack of npm start', () => {
  let dataDir: string;
  let stack: StartedStack | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'doctor-local-'));
    const once = await npm([
      'start',
      '--',
      '--once',
      '--executions',
      '40',
      '--data-dir',
      dataDir,
      ...(await freeStackPorts()),
    ]);
    expect(once.code, once.stderr).toBe(0);
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('passes on a synced data directory whose stack is not running (exit 0, the JSON shape)', async () => {
    const { code, report, raw } = await doctorJson(['--data-dir', dataDir]);
    expect(code, raw.stderr).toBe(0);
    expect(Object.keys(report)).toEqual(['ok', 'checks']);
    expect(report.ok).toBe(true);
    expect(report.checks.map((check) => check.id)).toEqual(LOCAL_CHECKS);
    for (const check of report.checks) {
      expect(Object.keys(check)).toEqual(['id', 'status', 'summary', 'fix']);
      expect(['ok', 'warn', 'fail']).toContain(check.status);
      expect(check.fix === null).toBe(check.status === 'ok');
    }
    expect(notOk(report)).toEqual([]);
    expect(byId(report, 'local.stack').summary).toMatch(/^not running/);
    expect(byId(report, 'files.copies').summary).toBe('no file copy pending or failed');
    expect(byId(report, 'sync.last-run').summary).toMatch(/^the last run \(.*\) ended ok/);
    // The sync's run and the jobs' health, as the state table keeps them.
    expect(byId(report, 'sync.run-errors').summary).toBe('1 run in the last 24 h, none stopped on an error');
    expect(byId(report, 'jobs.health').summary).toMatch(
      /^(\d+ jobs?, none late or failing|late: .+ \(no run since )/,
    );
  }, 180_000);

  it('passes on the running stack, trying the emulator with its own key', async () => {
    stack = await startNpmStart(dataDir, ['--no-ui', '--executions', '40'], userEnv(), 180_000);
    const running = stack;
    // The first sync of this run and the lake run after it are done.
    await waitFor(() => running.process.output().stdout.includes('  lake  '), 240_000);
    const { code, report, raw } = await doctorJson(['--data-dir', dataDir]);
    expect(code, raw.stderr).toBe(0);
    expect(notOk(report)).toEqual([]);
    expect(byId(report, 'local.stack').summary).toContain(`pid ${running.state.pid}`);
    expect(byId(report, 'local.ports').status).toBe('ok');
    expect(byId(report, 'api.key').summary).toBe(
      `Product-Live at ${running.state.endpoints.productLive} accepted the emulator's own key (1 request; ${
        /(\d+) executions visible/.exec(byId(report, 'api.key').summary)?.[1]
      } executions visible)`,
    );
    expect(byId(report, 'launch.queues').summary).toBe(
      'launch queue: 0 waiting, 0 in flight; dead-letter queue empty',
    );
  }, 480_000);

  it('fails api.key for a wrong key, naming where the key came from, without printing it', async () => {
    const running = stack as StartedStack;
    const { code, report } = await doctorJson(
      ['--data-dir', dataDir],
      userEnv({ PRODUCT_LIVE_API_KEY: 'wrong-key-8c1e' }),
    );
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(byId(report, 'api.key')).toEqual({
      id: 'api.key',
      status: 'fail',
      summary: `Product-Live at ${running.state.endpoints.productLive} refused the key of PRODUCT_LIVE_API_KEY (HTTP 401)`,
      fix: expect.stringContaining('set PRODUCT_LIVE_API_KEY to the account'),
    });
    expect(notOk(report).map((check) => check.id)).toEqual(['api.key']);
    expect(JSON.stringify(report)).not.toContain('wrong-key-8c1e');
  }, 120_000);

  it('fails launch.queues for a request in the DLQ, with the redrive command that works', async () => {
    const running = stack as StartedStack;
    const sent = await npm([
      'run',
      'launch',
      '--',
      '--job',
      'ffffffffffffffffffffffff',
      '--data-dir',
      dataDir,
    ]);
    expect(sent.code, sent.stderr).toBe(0);
    let report: Report | undefined;
    await waitFor(async () => {
      report = (await doctorJson(['--data-dir', dataDir])).report;
      return byId(report, 'launch.queues').status === 'fail';
    }, 120_000);
    const queues = byId(report as Report, 'launch.queues');
    expect(queues.summary).toMatch(/^1 launch request waits in the dead-letter queue/);
    const move = /aws --endpoint-url (\S+) sqs start-message-move-task --source-arn (\S+)$/.exec(
      queues.fix ?? '',
    );
    expect(move?.[1]).toBe(running.state.endpoints.sqs);
    // The fix's command, as the AWS CLI would send it with the credentials npm start printed.
    const sqs = new SQSClient({
      region: running.state.region,
      endpoint: move?.[1],
      credentials: running.state.credentials,
    });
    try {
      const task = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: move?.[2] }));
      expect(task.TaskHandle).toBeTruthy();
    } finally {
      sqs.destroy();
    }
  }, 240_000);

  it('is not failed by stopping the stack: the checks read the data directory', async () => {
    await (stack as StartedStack).stop();
    stack = undefined;
    const { code, report, raw } = await doctorJson(['--data-dir', dataDir]);
    expect(code, raw.stderr).toBe(0);
    expect(report.checks.filter((check) => check.status === 'fail')).toEqual([]);
    expect(byId(report, 'local.stack').summary).toMatch(/^not running/);
    expect(byId(report, 'launch.queues').summary).toContain('none runs');
  }, 180_000);
});

describe('npm run doctor on a store with a failed file copy, and a key checked with --api-url', () => {
  let dataDir: string;
  let emulator: Emulator;
  const KEY = 'doctor-key-3b9d';

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'doctor-files-'));
    emulator = createEmulator({ apiKey: KEY, demo: false });
    await emulator.start();
    const job = emulator.addJob({ title: 'Nightly export', kind: 'no-files' });
    emulator.createExecution(job.id, {}, { runTimeMs: 500, outcome: 'COMPLETED' });
    const broken = emulator.createExecution(job.id, {}, { runTimeMs: 500, outcome: 'COMPLETED' });
    // A host the sync may not download from: the copy fails for good at once.
    emulator.setExecutionOutput(broken.id, {
      report: { url: 'https://files.example.com/exports/report.xml', filename: 'report.xml' },
    });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const once = await npm(
      [
        'start',
        '--',
        '--once',
        '--api-url',
        emulator.url,
        '--data-dir',
        dataDir,
        ...(await freeStackPorts()),
      ],
      userEnv({ PRODUCT_LIVE_API_KEY: KEY }),
    );
    expect(once.code, once.stderr).toBe(0);
  }, 300_000);

  afterAll(async () => {
    await emulator?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('fails files.copies, with the commands that show and retry the copy', async () => {
    const { code, report } = await doctorJson(
      ['--data-dir', dataDir, '--api-url', emulator.url],
      userEnv({ PRODUCT_LIVE_API_KEY: KEY }),
    );
    expect(code).toBe(1);
    const files = byId(report, 'files.copies');
    expect(files).toMatchObject({
      status: 'fail',
      summary: expect.stringMatching(/^1 file copy failed for good; the latest: .*files\.example\.com/),
    });
    expect(files.fix).toContain(`npm run history -- files --status failed --data-dir ${dataDir}`);
    expect(files.fix).toContain(`npm start -- --once --retry-failed-files --data-dir ${dataDir}`);
    expect(byId(report, 'api.key')).toMatchObject({
      status: 'ok',
      summary: `Product-Live at ${emulator.url} accepted the key of PRODUCT_LIVE_API_KEY (1 request; 2 executions visible)`,
    });
    expect(notOk(report).map((check) => check.id)).toEqual(['files.copies']);
    // A run whose file copy failed still ended ok; a job of two runs is too new to judge.
    expect(byId(report, 'sync.run-errors').summary).toBe('1 run in the last 24 h, none stopped on an error');
    expect(byId(report, 'jobs.health').summary).toBe('1 job, none late or failing (1 unknown)');
    // The command of the fix lists it.
    const listed = await npm([
      'run',
      'history',
      '--',
      'files',
      '--status',
      'failed',
      '--json',
      '--data-dir',
      dataDir,
    ]);
    expect(JSON.parse(listed.stdout).copies).toHaveLength(1);
  }, 180_000);

  it('fails api.key for the wrong key of --api-key-file, in the text report with the fix beneath', async () => {
    const file = join(dataDir, 'wrong-key');
    await writeFile(file, 'not-the-key\n', { mode: 0o600 });
    const result = await npm([
      'run',
      'doctor',
      '--',
      '--data-dir',
      dataDir,
      '--api-url',
      emulator.url,
      '--api-key-file',
      file,
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`Checking the local stack in ${dataDir} (not running)`);
    expect(result.stdout).toMatch(
      new RegExp(
        `FAIL  api\\.key {11}Product-Live at ${emulator.url.replace(/[.]/g, '\\.')} refused the key of --api-key-file ${file.replace(/[.]/g, '\\.')} \\(HTTP 401\\)\\n {24}fix: put the account's current key in that file`,
      ),
    );
    expect(result.stdout).toMatch(/\d+ ok, \d+ warnings?, 2 failed: something is broken\n$/);
    expect(result.stdout).not.toContain('not-the-key');
  }, 180_000);
});
