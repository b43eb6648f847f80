// Drives `npm start` and `npm run launch` as a user would, as subprocesses on free ports.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#core/aws-clients';
import { EVENT_DETAIL_TYPE, RESULT_DETAIL_TYPE } from '#core/events/execution-event';
import { JOB_HEALTH_DETAIL_TYPE } from '#core/events/job-health-event';
import type { SyncSummary } from '#functions/sync/sync-summary';
import { findFreePort } from '#local/aws/local-aws-servers';
import { createEmulator } from '#local/emulator/index';
import type { EventLine } from '#local/stack/file-event-sink';
import type { LocalStackState } from '#local/stack/local-stack-settings';
import { freeStackPorts, startProcess, waitFor } from '../support/local-stack-process';

const root = resolve(import.meta.dirname, '../..');
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'plsync-cli-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const npm = (args: string[], env?: NodeJS.ProcessEnv) => startProcess('npm', ['-s', ...args], env).done;

/** The events `npm start` published to the data directory's events file. */
async function eventLines(): Promise<EventLine[]> {
  const text = await readFile(join(dataDir, 'events.ndjson'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as EventLine);
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const probe = createServer();
    probe.once('error', () => resolvePort(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolvePort(true)));
  });
}

describe('npm start -- --once', () => {
  it('syncs the demo data, prints the JSON summary, and the next run on the same data dir is incremental', async () => {
    const ports = await freeStackPorts();
    const first = await npm(['start', '--', '--once', '--json', '--data-dir', dataDir, ...ports]);
    expect(first.code, first.stderr).toBe(0);
    const summary = JSON.parse(first.stdout) as SyncSummary;
    expect(summary.executions.new).toBeGreaterThan(100);
    expect(summary.files.copied).toBeGreaterThan(50);
    expect(summary.error).toBeNull();
    // The lake ran after the sync: SQL over the data directory sees every execution and file (s3rver is
    // started on the directory for the query, as no stack runs).
    const counted = await npm([
      'run',
      'history',
      '--',
      'sql',
      'SELECT (SELECT count(*) FROM executions) AS executions, (SELECT count(*) FROM files) AS files',
      '--json',
      '--data-dir',
      dataDir,
    ]);
    expect(counted.code, counted.stderr).toBe(0);
    expect(JSON.parse(counted.stdout)).toEqual([
      { executions: summary.executions.new, files: summary.files.copied },
    ]);
    // Every stored execution's status was published before the process exited: one event each; the
    // results of the ended ones whose files are settled, once each; the jobs' first health states.
    const firstLines = await eventLines();
    const ofType = (lines: EventLine[], type: string) => lines.filter((line) => line['detail-type'] === type);
    const firstEvents = ofType(firstLines, EVENT_DETAIL_TYPE);
    const firstResults = ofType(firstLines, RESULT_DETAIL_TYPE);
    expect(firstResults.length).toBeGreaterThan(0);
    expect(new Set(firstResults.map((event) => event.detail.executionId)).size).toBe(firstResults.length);
    expect(ofType(firstLines, JOB_HEALTH_DETAIL_TYPE).length).toBeGreaterThan(0);
    expect(firstLines).toHaveLength(
      firstEvents.length + firstResults.length + ofType(firstLines, JOB_HEALTH_DETAIL_TYPE).length,
    );
    expect(firstEvents).toHaveLength(summary.executions.new);
    expect(new Set(firstEvents.map((event) => event.detail.executionId)).size).toBe(summary.executions.new);
    expect(
      firstEvents.every((event) => event.detail.previousStatus === null && event.detail.origin === 'sync'),
    ).toBe(true);
    const tailed = await npm([
      'run',
      'events',
      '--',
      'tail',
      '--no-follow',
      '--json',
      '--lines',
      '5',
      '--data-dir',
      dataDir,
    ]);
    expect(tailed.code, tailed.stderr).toBe(0);
    expect(
      tailed.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual(firstLines.slice(-5));

    const second = await npm([
      'start',
      '--',
      '--once',
      '--json',
      '--data-dir',
      dataDir,
      ...(await freeStackPorts()),
    ]);
    expect(second.code, second.stderr).toBe(0);
    const again = JSON.parse(second.stdout) as SyncSummary;
    expect(again.executions.new).toBe(0);
    expect(again.files.copied).toBe(0);
    // Only status changes since the first run are added (open executions that moved on), never a repeat,
    // and each execution's last event names its stored status.
    const allLines = await eventLines();
    const allEvents = ofType(allLines, EVENT_DETAIL_TYPE);
    expect(allEvents.length - firstEvents.length).toBeLessThanOrEqual(again.executions.updated);
    expect(new Set(allLines.map((event) => event.detail.eventId)).size).toBe(allLines.length);
    const stored = await npm([
      'run',
      'history',
      '--',
      'sql',
      'SELECT id, status FROM executions',
      '--json',
      '--data-dir',
      dataDir,
    ]);
    expect(stored.code, stored.stderr).toBe(0);
    const lastEvent = new Map(allEvents.map((event) => [event.detail.executionId, event.detail.status]));
    expect(lastEvent).toEqual(
      new Map(
        (JSON.parse(stored.stdout) as Array<{ id: string; status: string }>).map((row) => [
          row.id,
          row.status,
        ]),
      ),
    );
    await expect(stat(join(dataDir, 'stack.json'))).rejects.toThrow();
  });

  it('prints a readable summary table without --json', async () => {
    const result = await npm(['start', '--', '--once', '--data-dir', dataDir, ...(await freeStackPorts())]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Local stack running:');
    expect(result.stdout).toMatch(/executions\s+0 new/);
    expect(result.stdout).toMatch(/more remaining\s+no/);
    expect(result.stdout).toMatch(/^events \d+ published$/m);
  });
});

describe('npm run dashboard', () => {
  it('serves the data directory of a stopped stack read-only on the loopback interface, and stops on Ctrl-C', async () => {
    // The --once tests above left a synced data directory behind and no stack running.
    const uiPort = await findFreePort('dashboard');
    const { child, output, done } = startProcess('npm', [
      '-s',
      'run',
      'dashboard',
      '--',
      '--data-dir',
      dataDir,
      '--ui-port',
      String(uiPort),
    ]);
    const base = `http://127.0.0.1:${uiPort}`;
    try {
      await waitFor(() => output().stdout.includes('Press Ctrl-C to stop.'), 60_000);
      expect(output().stdout).toContain(`Dashboard: ${base}`);
      const health = await fetch(`${base}/api/health`);
      expect(health.status).toBe(200);
      // The last run's summary the sync saved in the state table, read without npm start running.
      const body = (await health.json()) as { sync: { lastRun: { executions: { new: number } } | null } };
      // Every run is kept now: the last of the --once runs above stored nothing new.
      expect(body.sync.lastRun?.executions.new).toBe(0);
      const overview = await fetch(`${base}/api/overview?since=all`);
      expect(overview.status).toBe(200);
      // Read-only: no method but GET and HEAD.
      expect((await fetch(`${base}/api/version`, { method: 'POST', body: '{}' })).status).toBe(405);
      expect((await fetch(`${base}/api/version`, { method: 'DELETE' })).status).toBe(405);
    } finally {
      process.kill(-(child.pid ?? 0), 'SIGINT');
    }
    const result = await done;
    expect(result.code === 0 || result.signal === 'SIGINT', result.stderr).toBe(true);
    expect(await portIsFree(uiPort)).toBe(true);
  });
});

describe('npm start (long-running) with npm run launch', () => {
  it('launches a demo job from the queue, stores the execution within one interval, and stops cleanly on Ctrl-C', async () => {
    const ports = await freeStackPorts();
    const { child, output, done } = startProcess('npm', [
      '-s',
      'start',
      '--',
      '--every',
      '5s',
      '--data-dir',
      dataDir,
      ...ports,
      '--ui-port',
      '0',
    ]);
    try {
      await waitFor(() => output().stdout.includes('Press Ctrl-C to stop.'), 60_000);
      const state = JSON.parse(await readFile(join(dataDir, 'stack.json'), 'utf8')) as LocalStackState;
      // The dashboard (--ui-port 0: a free port) answers over the stack's store.
      const dashboardUrl = /Dashboard\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output().stdout)?.[1];
      expect(dashboardUrl, output().stdout).toBeDefined();
      expect((await fetch(`${dashboardUrl}/api/version`)).status).toBe(200);
      const jobs = (await (
        await fetch(`${state.endpoints.productLive}/v1/data_factory/job_executions?size=50`, {
          headers: { 'X-Api-Key': 'local-dev-key' },
        })
      ).json()) as { data: Array<{ jobId: string; pipelineId?: string }> };
      const jobId = jobs.data.find((execution) => execution.pipelineId)?.jobId ?? '';
      const launched = await npm([
        'run',
        'launch',
        '--',
        '--job',
        jobId,
        '--data-dir',
        dataDir,
        '--idempotency-key',
        'cli-test',
      ]);
      expect(launched.code, launched.stderr).toBe(0);
      expect(launched.stdout).toMatch(/sent launch request/);

      const doc = createDocumentClient(
        new DynamoDBClient({
          region: state.region,
          credentials: { ...state.credentials },
          endpoint: state.endpoints.dynamodb,
        }),
      );
      let executionId: string | undefined;
      await waitFor(async () => {
        const result = (await (
          await fetch(`${state.endpoints.productLive}/v1/job_executions/find?size=1000`, {
            method: 'POST',
            headers: { 'X-Api-Key': 'local-dev-key', 'content-type': 'application/json' },
            body: JSON.stringify({ type: 'eq', field: 'jobId', value: jobId }),
          })
        ).json()) as { data: Array<{ id: string; createdAt: string }> };
        const fresh = result.data.filter(
          (execution) => Date.parse(execution.createdAt) > Date.parse(state.startedAt),
        );
        executionId = fresh[0]?.id;
        return executionId !== undefined;
      }, 15_000);
      await waitFor(async () => {
        const stored = await doc.send(
          new GetCommand({
            TableName: state.tables.executions,
            Key: { id: executionId },
            ConsistentRead: true,
          }),
        );
        return stored.Item !== undefined;
      }, 10_000);
      // The launch's stored status is published with origin launch.
      await waitFor(
        async () =>
          (await eventLines()).some(
            (event) => event.detail.executionId === executionId && event.detail.origin === 'launch',
          ),
        10_000,
      );
    } finally {
      process.kill(-(child.pid ?? 0), 'SIGINT');
    }
    const result = await done;
    // npm itself re-raises the Ctrl-C it forwarded; the stack below it exits 0 after stopping everything.
    expect(result.code === 0 || result.signal === 'SIGINT', result.stderr).toBe(true);
    expect(result.stdout).toContain('Stopped.');
    for (const port of ports.filter((_, index) => index % 2 === 1))
      expect(await portIsFree(Number(port))).toBe(true);
    await expect(stat(join(dataDir, 'stack.json'))).rejects.toThrow();
  });
});

describe('npm start: clear errors with exit code 2', () => {
  it('rejects unknown flags with the usage text', async () => {
    const result = await npm(['start', '--', '--bogus']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error: Unknown option '--bogus'");
    expect(result.stderr).toContain('usage: npm start -- [options]');
  });

  it('rejects a bad --every', async () => {
    const result = await npm(['start', '--', '--once', '--every', 'soon']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--every: expected a duration such as 30s, 1m or 1h, got "soon"');
  });

  it('says what to install when Java is missing', async () => {
    const binDir = join(root, 'node_modules', '.bin');
    const { done } = startProcess(
      join(binDir, 'tsx'),
      ['local/cli/start.ts', '--once', '--data-dir', dataDir, ...(await freeStackPorts())],
      {
        ...process.env,
        PATH: binDir,
      },
    );
    const result = await done;
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/JDK 17 or newer is required to run DynamoDB Local .*install one/);
  });

  it('names the taken port and the flag that changes it', async () => {
    const ports = await freeStackPorts();
    const dynamodbPort = Number(ports[3]);
    const blocker = createServer();
    await new Promise<void>((resolveListen) => blocker.listen(dynamodbPort, '127.0.0.1', resolveListen));
    try {
      const result = await npm(['start', '--', '--once', '--data-dir', dataDir, ...ports]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`Port ${dynamodbPort} for DynamoDB Local is already in use`);
      expect(result.stderr).toContain('--dynamodb-port');
    } finally {
      blocker.close();
    }
  });

  it('reports a rejected API key without printing it, and warns when the key is on the command line', async () => {
    const emulator = createEmulator({ apiKey: 'the-right-key' });
    await emulator.start();
    try {
      const rejected = await npm(['start', '--', '--once', '--api-url', emulator.url], {
        ...process.env,
        PRODUCT_LIVE_API_KEY: 'wrong-key-123',
      });
      expect(rejected.code).toBe(2);
      expect(rejected.stderr.trim()).toBe(
        'error: Product-Live rejected the API key (HTTP 401): check --api-key-file or PRODUCT_LIVE_API_KEY',
      );
      const onArgv = await npm([
        'start',
        '--',
        '--once',
        '--api-url',
        emulator.url,
        '--api-key',
        'wrong-key-456',
      ]);
      expect(onArgv.code).toBe(2);
      expect(onArgv.stderr).toMatch(/^warning: --api-key puts the key in the process list/);
      expect(`${onArgv.stdout}${onArgv.stderr}`).not.toContain('wrong-key-456');
    } finally {
      await emulator.stop();
    }
  });

  it('reports an unreachable API', async () => {
    const port = await findFreePort('nothing');
    const keyFile = join(dataDir, 'unreachable-key');
    await writeFile(keyFile, 'k-123\n', { mode: 0o600 });
    const unreachable = await npm([
      'start',
      '--',
      '--once',
      '--api-url',
      `http://127.0.0.1:${port}`,
      '--api-key-file',
      keyFile,
    ]);
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toContain(`cannot reach Product-Live at http://127.0.0.1:${port}`);
    expect(unreachable.stderr).not.toContain('k-123');
  });
});
