// `npm run doctor` over the local stack, check by check, with what each reads given by fakes (Java, ports, the
// disk, stack.json, the store, Product-Live through a fake responder): ok, warn and fail of each local check; how
// the API and key to try are chosen; the runner, the report's JSON shape and text; the command line's usage errors;
// the code version. The same checks against a real local stack: test/integration/doctor-cli.test.ts.
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobHealthEvaluation } from '#core/health/evaluate-job-health';
import type { HealthState } from '#core/health/health-states';
import { type JobHealthRecord, JobHealthRepository } from '#core/store/job-health-repository';
import { type SyncRunRecord, SyncRunRepository } from '#core/store/sync-run-repository';
import { codeVersion, comparePackageVersions } from '#infra/code-version';
import { JavaMissingError } from '#local/aws/dynamodb-local';
import { UsageError } from '#local/cli/cli-runner';
import { parseDoctorArgs } from '#local/cli/doctor-args';
import { apiKeyCheck } from '#local/doctor/checks/api-key';
import { jobsHealthCheck, syncRunErrorsCheck } from '#local/doctor/checks/health-checks';
import { launchQueuesCheck } from '#local/doctor/checks/launch-queues';
import { localDataDirCheck } from '#local/doctor/checks/local-data-dir';
import { localJavaCheck } from '#local/doctor/checks/local-java';
import { localPortsCheck } from '#local/doctor/checks/local-ports';
import { localStackCheck } from '#local/doctor/checks/local-stack';
import { syncLastRunCheck, syncLeaseCheck } from '#local/doctor/checks/sync-runs';
import { runChecks } from '#local/doctor/doctor';
import { type DoctorCheck, type DoctorReport, NotCheckedError, ok } from '#local/doctor/doctor-check';
import type { DoctorContext } from '#local/doctor/doctor-context';
import { storeJobHealth, storeSyncRuns } from '#local/doctor/health-sources';
import {
  type LocalApiTarget,
  type LocalTarget,
  localCadence,
  readStackFile,
  resolveLocalApi,
  type StackFile,
} from '#local/doctor/local-target';
import { renderJson, renderResult, renderTotals } from '#local/doctor/render-report';
import type { StateSnapshot } from '#local/doctor/state-snapshot';
import type { LocalStackState } from '#local/stack/local-stack-settings';
import type { Store } from '#local/store/open-store';
import { StoreError } from '#local/store/store-error';
import { fakeFetch, jsonReply } from '../../../builders/fetch-responder';
import { aJobExecution, aJobExecutionList } from '../../../builders/job-execution.builder';

const NOW = Date.parse('2026-12-07T12:00:00.000Z');
const MINUTE = 60_000;

const stackState = (overrides: Partial<LocalStackState> = {}): LocalStackState => ({
  pid: process.pid,
  startedAt: '2026-12-07T11:00:00.000Z',
  region: 'us-east-1',
  endpoints: {
    dynamodb: 'http://127.0.0.1:18000',
    s3: 'http://127.0.0.1:14569',
    sqs: 'http://127.0.0.1:19324',
    productLive: 'http://127.0.0.1:14010',
  },
  credentials: { accessKeyId: 'LOCALTEST', secretAccessKey: 'secret' },
  tables: {
    executions: 'product-live-executions',
    state: 'product-live-sync-state',
    idempotency: 'product-live-launch-idempotency',
  },
  bucket: 'product-live-files',
  queues: { launchUrl: 'http://127.0.0.1:19324/q', dlqUrl: 'http://127.0.0.1:19324/dlq' },
  emulator: true,
  sync: { everyMs: 60_000, auditIntervalMs: 86_400_000, leaseMs: 960_000 },
  ...overrides,
});

const emptyState = (): StateSnapshot => ({
  checkpoint: undefined,
  lastRun: undefined,
  lease: undefined,
  audit: undefined,
  lakeMarks: { marks: {} },
});

/** A context over a fake local target: what each check reads is given here. */
function localContext(
  overrides: {
    stackFile?: StackFile;
    api?: LocalApiTarget;
    openStore?: () => Promise<Store>;
    state?: StateSnapshot;
    fetch?: DoctorContext['fetch'];
    noApi?: boolean;
  } = {},
): DoctorContext {
  const stackFile = overrides.stackFile ?? { status: 'absent' };
  const target: LocalTarget = {
    kind: 'local',
    dataDir: '/data',
    stackFile,
    api:
      overrides.api ??
      resolveLocalApi({
        apiUrl: undefined,
        key: undefined,
        stack: stackFile.status === 'running' ? stackFile.state : undefined,
      }),
    openStore: overrides.openStore ?? (async () => ({}) as Store),
  };
  return {
    target,
    options: { api: !overrides.noApi, athena: false },
    fixes: {
      storeFlags: '--data-dir /data',
      syncNow: () => 'npm start -- --once --data-dir /data',
      syncLogs: 'npm start prints each run',
    },
    now: () => NOW,
    store: target.openStore,
    state: async () => overrides.state ?? emptyState(),
    cadence: async () => localCadence(stackFile.status === 'running' ? stackFile.state : undefined),
    syncRuns: storeSyncRuns(target.openStore),
    jobHealth: storeJobHealth(target.openStore),
    ...(overrides.fetch ? { fetch: overrides.fetch } : {}),
  };
}

const running: StackFile = { status: 'running', state: stackState() };

describe('local.java', () => {
  const missing = () => Promise.reject(new JavaMissingError('`java` was not found'));

  it('ok: a JDK 17 or newer, with its version', async () => {
    const check = localJavaCheck({
      checkJava: async () => ({ version: 'openjdk version "21.0.5" 2024-10-15' }),
    });
    expect(await check.run(localContext())).toEqual(
      ok('openjdk version "21.0.5" 2024-10-15 (a JDK: DynamoDB Local can run)'),
    );
  });

  it('warn: no Java on this PATH while a stack runs (the next npm start will not)', async () => {
    expect(
      await localJavaCheck({ checkJava: missing }).run(localContext({ stackFile: running })),
    ).toMatchObject({
      status: 'warn',
      summary: expect.stringContaining('`java` was not found'),
    });
  });

  it('fail: no usable Java, with what to install', async () => {
    expect(await localJavaCheck({ checkJava: missing }).run(localContext())).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('openjdk-17-jdk-headless'),
    });
  });
});

describe('local.ports', () => {
  const probes = (answering: boolean, free: (port: number) => boolean) => ({
    answers: async () => answering,
    isFree: async (port: number) => free(port),
  });

  it("ok: the running stack answers on its ports; without one, npm start's ports are free", async () => {
    expect(
      await localPortsCheck(probes(true, () => false)).run(localContext({ stackFile: running })),
    ).toMatchObject({
      status: 'ok',
      summary: 'the running stack answers on DynamoDB 18000, S3 14569, SQS 19324, Product-Live 14010',
    });
    expect(await localPortsCheck(probes(false, () => true)).run(localContext())).toMatchObject({
      status: 'ok',
    });
  });

  it('warn: a default port taken by another program, with the flag that moves it', async () => {
    expect(await localPortsCheck(probes(false, (port) => port !== 8000)).run(localContext())).toMatchObject({
      status: 'warn',
      summary: expect.stringContaining('8000 (DynamoDB Local)'),
      fix: expect.stringContaining('npm start -- --dynamodb-port PORT'),
    });
  });

  it('fail: the running stack does not answer', async () => {
    expect(
      await localPortsCheck(probes(false, () => true)).run(localContext({ stackFile: running })),
    ).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('restart it'),
    });
  });
});

describe('local.stack', () => {
  it('ok: running (with how it syncs), or not running at all', async () => {
    expect(await localStackCheck().run(localContext({ stackFile: running }))).toMatchObject({
      status: 'ok',
      summary: expect.stringContaining('syncing every 60s; API: the built-in emulator'),
    });
    expect(await localStackCheck().run(localContext())).toMatchObject({
      status: 'ok',
      summary: expect.stringMatching(/^not running/),
    });
  });

  it('warn: a stack.json left by a stack that is gone', async () => {
    expect(
      await localStackCheck().run(
        localContext({ stackFile: { status: 'stale', pid: 4242, startedAt: null } }),
      ),
    ).toMatchObject({ status: 'warn', fix: expect.stringContaining('rm /data/stack.json') });
  });

  it('fail: a stack of an older version, which this one cannot reach', async () => {
    expect(
      await localStackCheck().run(localContext({ stackFile: { status: 'unusable', pid: 4242 } })),
    ).toMatchObject({
      status: 'fail',
    });
  });
});

describe('local.data-dir', () => {
  const disk = (bytes: number | undefined) => ({ available: async () => bytes });
  const store = { stack: undefined } as unknown as Store;

  it('ok: a store that opens, on a disk with room', async () => {
    expect(
      await localDataDirCheck(disk(50 * 1024 ** 3)).run(localContext({ openStore: async () => store })),
    ).toMatchObject({
      status: 'ok',
      summary: '/data holds a store (read through DynamoDB Local started for this check)',
    });
  });

  it('warn: the disk is nearly full', async () => {
    expect(
      await localDataDirCheck(disk(200 * 1024 ** 2)).run(localContext({ openStore: async () => store })),
    ).toMatchObject({ status: 'warn', summary: expect.stringContaining('200 MB free') });
  });

  it('fail: no store in the directory, with the command that makes one', async () => {
    const noStore = async (): Promise<Store> => {
      throw new StoreError('no local store in /data: run `npm start -- --once` first');
    };
    expect(await localDataDirCheck(disk(undefined)).run(localContext({ openStore: noStore }))).toEqual({
      status: 'fail',
      summary: 'no local store in /data',
      fix: 'sync into it first: npm start -- --once --data-dir /data',
    });
  });
});

describe('api.key (local)', () => {
  const emulatorKey = {
    url: 'http://127.0.0.1:14010',
    key: 'local-dev-key',
    keySource: "the emulator's own key",
    keyKind: 'emulator',
  } as const;

  it('ok: the running emulator accepts its own key, in one list request', async () => {
    const responder = fakeFetch(() => jsonReply(aJobExecutionList([aJobExecution()], 400)));
    const finding = await apiKeyCheck().run(localContext({ stackFile: running, fetch: responder.fetch }));
    expect(finding).toMatchObject({
      status: 'ok',
      summary: expect.stringContaining("accepted the emulator's own key"),
    });
    expect(responder.requests).toHaveLength(1);
    expect(responder.requests[0]?.url.href).toBe(
      'http://127.0.0.1:14010/v1/data_factory/job_executions?page=0&size=1',
    );
    expect(responder.requests[0]?.headers['x-api-key']).toBe('local-dev-key');
  });

  it('ok without a request: nothing to check (no stack, no --api-url), or --no-api', async () => {
    const responder = fakeFetch([]);
    expect(await apiKeyCheck().run(localContext({ fetch: responder.fetch }))).toMatchObject({
      status: 'ok',
      summary: 'not checked: no local stack runs and no --api-url was given',
    });
    expect(
      await apiKeyCheck().run(localContext({ api: emulatorKey, noApi: true, fetch: responder.fetch })),
    ).toMatchObject({ status: 'ok', summary: expect.stringContaining('--no-api') });
    expect(responder.requests).toEqual([]);
  });

  it('warn: a stack that syncs a real account, whose key doctor was not given', async () => {
    const external = {
      status: 'running',
      state: stackState({
        emulator: false,
        endpoints: { ...stackState().endpoints, productLive: 'https://api.product-live.com' },
      }),
    } as const;
    expect(await apiKeyCheck().run(localContext({ stackFile: external }))).toMatchObject({
      status: 'warn',
      summary: 'not checked: the key for https://api.product-live.com was not given',
      fix: expect.stringContaining('--api-key-file PATH'),
    });
  });

  it('fail: a 401 for the given key, saying where the key came from', async () => {
    const responder = fakeFetch(() => jsonReply({ message: 'Unauthorized' }, 401));
    const api = {
      url: 'http://127.0.0.1:14010',
      key: 'wrong',
      keySource: 'the key of PRODUCT_LIVE_API_KEY',
      keyKind: 'env',
    } as const;
    const finding = await apiKeyCheck().run(localContext({ api, fetch: responder.fetch }));
    expect(finding).toMatchObject({
      status: 'fail',
      summary: 'Product-Live at http://127.0.0.1:14010 refused the key of PRODUCT_LIVE_API_KEY (HTTP 401)',
      fix: expect.stringContaining('PRODUCT_LIVE_API_KEY'),
    });
    expect(JSON.stringify(finding)).not.toContain('wrong');
    expect(responder.requests).toHaveLength(1);
  });

  it('fail: the fix follows where the refused key came from (a file, the environment, the emulator)', async () => {
    const refused = () => fakeFetch(() => jsonReply({ message: 'Unauthorized' }, 401)).fetch;
    const url = 'http://127.0.0.1:14010';
    const fixFor = async (api: LocalApiTarget) =>
      (await apiKeyCheck().run(localContext({ api, fetch: refused() }))).fix;
    expect(
      await fixFor({ url, key: 'wrong', keySource: 'the key of --api-key-file /keys/pl', keyKind: 'file' }),
    ).toBe(
      `put the account's current key in that file (one line), and give npm start the same: npm start -- --api-url ${url} --api-key-file PATH`,
    );
    expect(
      await fixFor({ url, key: 'wrong', keySource: 'the key of PRODUCT_LIVE_API_KEY', keyKind: 'env' }),
    ).toBe(
      "set PRODUCT_LIVE_API_KEY to the account's current key (or use --api-key-file PATH), for npm start too",
    );
    expect(await fixFor(emulatorKey)).toBe('the emulator refused its own key: restart npm start');
  });
});

describe('resolveLocalApi: which API and key the key check tries', () => {
  const given = { key: 'k', kind: 'env', source: 'the key of PRODUCT_LIVE_API_KEY' } as const;

  it('--api-url with the given key wins over the running stack', () => {
    expect(resolveLocalApi({ apiUrl: 'https://api.example.com', key: given, stack: stackState() })).toEqual({
      url: 'https://api.example.com',
      key: 'k',
      keySource: 'the key of PRODUCT_LIVE_API_KEY',
      keyKind: 'env',
    });
  });

  it("a key given without --api-url is tried on the running stack's API", () => {
    expect(resolveLocalApi({ apiUrl: undefined, key: given, stack: stackState() })).toMatchObject({
      url: 'http://127.0.0.1:14010',
      key: 'k',
    });
  });

  it("without a key: the emulator's own key, but never for a real account or an older stack.json", () => {
    expect(resolveLocalApi({ apiUrl: undefined, key: undefined, stack: stackState() })).toMatchObject({
      key: 'local-dev-key',
    });
    expect(
      resolveLocalApi({ apiUrl: undefined, key: undefined, stack: stackState({ emulator: false }) }),
    ).toMatchObject({
      key: undefined,
    });
    const { emulator: _emulator, ...older } = stackState();
    expect(resolveLocalApi({ apiUrl: undefined, key: undefined, stack: older })).toMatchObject({
      key: undefined,
    });
  });
});

describe('sync.lease and launch.queues over a stopped local stack', () => {
  it('warn: a lease left held by a stack stopped during a run', async () => {
    const state = {
      ...emptyState(),
      lease: { owner: 'local:1', acquiredAt: NOW - MINUTE, expiresAt: NOW + 14 * MINUTE },
    };
    expect(await syncLeaseCheck().run(localContext({ state }))).toMatchObject({
      status: 'warn',
      summary: expect.stringContaining('left by a stack that stopped during a run'),
    });
    expect(await syncLeaseCheck().run(localContext({ state, stackFile: running }))).toMatchObject({
      status: 'ok',
    });
  });

  it('ok: the queues are not read when no stack runs (they live in its memory)', async () => {
    const openStore = async (): Promise<Store> => {
      throw new Error('the store must not be opened');
    };
    expect(await launchQueuesCheck().run(localContext({ openStore }))).toMatchObject({
      status: 'ok',
      summary: expect.stringContaining('none runs'),
    });
  });

  it('the last run of a stopped stack is not judged by its age', async () => {
    const state = {
      ...emptyState(),
      lastRun: { finishedAt: new Date(NOW - 30 * 24 * 60 * MINUTE).toISOString(), summary: { error: null } },
    };
    expect(await syncLastRunCheck().run(localContext({ state }))).toMatchObject({ status: 'ok' });
    expect(await syncLastRunCheck().run(localContext({ state, stackFile: running }))).toMatchObject({
      status: 'fail',
    });
  });
});

/**
 * The local store's state table in memory, behind a real document client (the repositories page with it): PutItem,
 * GetItem, and Query of the index byKind (its kind, sorted by sortKey, within a BETWEEN). Any other command throws:
 * no Scan.
 */
function memoryStateTable() {
  const items = new Map<string, Record<string, unknown>>();
  const commands: string[] = [];
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  doc.send = (async (command: object) => {
    commands.push(command.constructor.name);
    if (command instanceof PutCommand) {
      const item = command.input.Item as Record<string, unknown>;
      items.set(String(item.name), item);
      return {};
    }
    if (command instanceof GetCommand) return { Item: items.get(String(command.input.Key?.name)) };
    if (command instanceof QueryCommand && command.input.IndexName === 'byKind') {
      const values = command.input.ExpressionAttributeValues ?? {};
      const found = [...items.values()]
        .filter((item) => item.kind === values[':kind'])
        .filter((item) => values[':from'] === undefined || String(item.sortKey) >= String(values[':from']))
        .filter((item) => values[':to'] === undefined || String(item.sortKey) <= String(values[':to']))
        .sort((a, b) => String(a.sortKey).localeCompare(String(b.sortKey)));
      if (command.input.ScanIndexForward === false) found.reverse();
      return { Items: found };
    }
    throw new Error(`unexpected ${command.constructor.name}`);
  }) as typeof doc.send;
  const store = { kind: 'local', names: { stateTable: 'product-live-sync-state' }, doc } as unknown as Store;
  const runs = new SyncRunRepository(doc, 'product-live-sync-state');
  const health = new JobHealthRepository(doc, 'product-live-sync-state');
  return {
    store,
    commands,
    /** Keeps a run as the sync does, started `minutesAgo`. */
    run: (minutesAgo: number, result: SyncRunRecord['result'] = 'ok', error: string | null = null) =>
      runs.save({
        runId: `run-${minutesAgo}`,
        startedAt: new Date(NOW - minutesAgo * MINUTE).toISOString(),
        finishedAt: new Date(NOW - minutesAgo * MINUTE + 2_000).toISOString(),
        durationMs: 2_000,
        result,
        error,
      } as SyncRunRecord),
    /** Keeps a job's health as the sync's health pass does. */
    job: (title: string, state: HealthState, reasons: string[] = [], consecutiveFailures = 0) =>
      health.put({
        jobId: `job-${title}`,
        facts: { title },
        evaluation: {
          state,
          reasons,
          consecutiveFailures,
          maxConsecutiveFailures: 2,
        } as Partial<JobHealthEvaluation>,
        previousState: null,
        stateSince: new Date(NOW - 60 * MINUTE).toISOString(),
        evaluatedAt: new Date(NOW - MINUTE).toISOString(),
        asOf: new Date(NOW - MINUTE).toISOString(),
        refreshedAt: new Date(NOW - MINUTE).toISOString(),
        pendingEvent: null,
      } as unknown as JobHealthRecord),
    evaluated: () =>
      health.saveEvaluated({
        evaluatedAt: new Date(NOW - MINUTE).toISOString(),
        asOf: new Date(NOW - MINUTE).toISOString(),
        jobs: 1,
      }),
  };
}

describe('sync.run-errors over the local store (its sync run records)', () => {
  const judge = async (table: ReturnType<typeof memoryStateTable>) =>
    syncRunErrorsCheck().run(localContext({ openStore: async () => table.store }));

  it('ok: the runs of the last 24 h ended ok; a skipped run and a run of yesterday are left out', async () => {
    const table = memoryStateTable();
    await table.run(25 * 60, 'failed', 'HTTP 500');
    await table.run(3);
    await table.run(2, 'skipped');
    await table.run(1);
    expect(await judge(table)).toEqual(ok('2 runs in the last 24 h, none stopped on an error'));
    expect(table.commands.filter((name) => name !== 'PutCommand')).toEqual(['QueryCommand']);
  });

  it('warn: a run stopped on an error, the latest named, with where the runs print', async () => {
    const table = memoryStateTable();
    await table.run(3, 'failed', 'HTTP 503 from Product-Live');
    await table.run(2);
    await table.run(1);
    expect(await judge(table)).toMatchObject({
      status: 'warn',
      summary:
        '1 of 3 runs in the last 24 h stopped on an error (the latest at 2026-12-07 11:57:00Z: HTTP 503 from Product-Live)',
      fix: expect.stringContaining('npm start prints each run'),
    });
  });

  it('fail: the three newest runs stopped on an error', async () => {
    const table = memoryStateTable();
    await table.run(4);
    for (const minutesAgo of [3, 2, 1]) await table.run(minutesAgo, 'failed', 'HTTP 401');
    expect(await judge(table)).toMatchObject({
      status: 'fail',
      summary: expect.stringContaining('3 of 4 runs in the last 24 h stopped on an error'),
    });
  });
});

describe('jobs.health over the local store (its job health records)', () => {
  const judge = async (table: ReturnType<typeof memoryStateTable>) =>
    jobsHealthCheck().run(localContext({ openStore: async () => table.store }));

  it('ok: every job healthy, or none evaluated yet', async () => {
    const empty = memoryStateTable();
    expect(await judge(empty)).toEqual(
      ok('no job evaluated yet (the sync evaluates every job after its runs)'),
    );
    const table = memoryStateTable();
    await table.job('Nightly export', 'healthy');
    await table.job('Images', 'unknown', ['2 runs: too few to learn']);
    await table.evaluated();
    expect(await judge(table)).toEqual(ok('2 jobs, none late or failing (1 unknown)'));
    expect(table.commands.filter((name) => name !== 'PutCommand').sort()).toEqual([
      'GetCommand',
      'QueryCommand',
    ]);
  });

  it('warn: a late job, with the command that shows its reasons', async () => {
    const table = memoryStateTable();
    await table.job('Nightly export', 'healthy');
    await table.job('Supplier feed', 'late', ['no run since 2026-12-05 02:00; usually every 24h']);
    expect(await judge(table)).toEqual({
      status: 'warn',
      summary: 'late: Supplier feed (no run since 2026-12-05 02:00; usually every 24h)',
      fix: "see each job's reasons and last runs: npm run history -- health --data-dir /data",
    });
  });

  it('fail: a failing job', async () => {
    const table = memoryStateTable();
    await table.job('Nightly export', 'failing', ['the last 2 ended runs did not complete'], 2);
    await table.job('Supplier feed', 'late', ['no run since 2026-12-05 02:00; usually every 24h']);
    expect(await judge(table)).toMatchObject({
      status: 'fail',
      summary:
        'failing: Nightly export (the last 2 ended runs did not complete) | late: Supplier feed (no run since 2026-12-05 02:00; usually every 24h)',
    });
  });
});

describe('readStackFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'doctor-stack-file-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const write = async (name: string, state: unknown) => {
    await mkdir(join(dir, name), { recursive: true });
    await writeFile(join(dir, name, 'stack.json'), JSON.stringify(state));
    return join(dir, name);
  };

  it('tells a running stack, a stale file, an older version and no file apart', async () => {
    expect(await readStackFile(join(dir, 'none'))).toEqual({ status: 'absent' });
    expect(await readStackFile(await write('running', stackState()))).toMatchObject({ status: 'running' });
    // A pid that cannot be alive (beyond the kernel's pid_max).
    expect(await readStackFile(await write('stale', stackState({ pid: 2 ** 30 })))).toMatchObject({
      status: 'stale',
      pid: 2 ** 30,
    });
    const { credentials: _credentials, ...older } = stackState();
    expect(await readStackFile(await write('older', older))).toEqual({
      status: 'unusable',
      pid: process.pid,
    });
  });
});

describe('runChecks', () => {
  const check = (
    id: string,
    run: DoctorCheck['run'],
    targets: DoctorCheck['targets'] = ['local'],
  ): DoctorCheck => ({
    id,
    targets,
    run,
  });

  it('runs the checks of the target in order; a throwing check is a fail, a missing input a warn', async () => {
    const report = await runChecks(localContext(), [
      check('a.ok', async () => ok('fine')),
      check('b.deployed', async () => ok('never run'), ['aws']),
      check('c.throws', async () => {
        throw new Error('boom');
      }),
      check('d.missing', async () => {
        throw new NotCheckedError('needs a thing', 'give the thing');
      }),
    ]);
    expect(report).toEqual({
      ok: false,
      checks: [
        { id: 'a.ok', status: 'ok', summary: 'fine', fix: null },
        {
          id: 'c.throws',
          status: 'fail',
          summary: 'could not check: Error: boom',
          fix: 'run doctor again; if it repeats, restart npm start',
        },
        { id: 'd.missing', status: 'warn', summary: 'not checked: needs a thing', fix: 'give the thing' },
      ],
    });
  });
});

describe('the report', () => {
  const report: DoctorReport = {
    ok: false,
    checks: [
      { id: 'local.java', status: 'ok', summary: 'Java 21', fix: null },
      {
        id: 'files.copies',
        status: 'fail',
        summary: '2 file copies failed for good',
        fix: 'npm start -- --once --retry-failed-files',
      },
      { id: 'sync.lag', status: 'warn', summary: 'behind', fix: 'wait' },
    ],
  };

  it('prints --json as exactly {"ok", "checks": [{"id", "status", "summary", "fix"}]}', () => {
    const parsed = JSON.parse(renderJson(report)) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['ok', 'checks']);
    expect((parsed.checks as object[]).map((entry) => Object.keys(entry))).toEqual([
      ['id', 'status', 'summary', 'fix'],
      ['id', 'status', 'summary', 'fix'],
      ['id', 'status', 'summary', 'fix'],
    ]);
    expect(parsed).toEqual(report);
  });

  it('prints one line a check, the fix beneath each warn and fail, and the totals', () => {
    expect(renderResult(report.checks[0] as DoctorReport['checks'][number])).toBe(
      'ok    local.java        Java 21',
    );
    expect(renderResult(report.checks[1] as DoctorReport['checks'][number])).toBe(
      'FAIL  files.copies      2 file copies failed for good\n                        fix: npm start -- --once --retry-failed-files',
    );
    expect(renderTotals(report)).toBe('1 ok, 1 warning, 1 failed: something is broken');
  });
});

describe('parseDoctorArgs', () => {
  const parse = (argv: string[], env: Record<string, string> = {}) => parseDoctorArgs(argv, env);

  it('takes the store flags of npm run history', () => {
    expect(parse([]).store).toEqual({ kind: 'local', dataDir: '.local' });
    expect(parse(['--data-dir', '/tmp/x', '--json'])).toMatchObject({
      json: true,
      store: { dataDir: '/tmp/x' },
    });
    expect(parse(['--stack', 'ProductLiveSync', '--athena', '--no-api'])).toMatchObject({
      store: { kind: 'aws', stackName: 'ProductLiveSync' },
      options: { api: false, athena: true },
    });
  });

  it('reads the key from a file or the environment, never from the command line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'doctor-key-'));
    const file = join(dir, 'key');
    await writeFile(file, 'file-key\n');
    await chmod(file, 0o600);
    expect(parse(['--api-url', 'http://127.0.0.1:4010', '--api-key-file', file])).toMatchObject({
      apiUrl: 'http://127.0.0.1:4010',
      key: { key: 'file-key', kind: 'file', source: `the key of --api-key-file ${file}` },
    });
    expect(parse([], { PRODUCT_LIVE_API_KEY: 'env-key' }).key).toEqual({
      key: 'env-key',
      kind: 'env',
      source: 'the key of PRODUCT_LIVE_API_KEY',
    });
    expect(() => parse(['--api-key', 'secret'])).toThrow(/--api-key is not taken/);
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    [['--bogus'], 'unknown flag --bogus'],
    [['--athena'], '--athena runs a query in a deployed Athena workgroup: it goes with --stack NAME'],
    [['--api-url', 'ftp://x'], '--api-url: not an http(s) URL: ftp://x'],
    [['--api-url', 'http://127.0.0.1:4010'], '--api-url needs its key'],
    [
      ['--stack', 'X', '--api-url', 'http://127.0.0.1:4010'],
      "a deployed stack's key is read from its secret",
    ],
    [['--data-dir', '/tmp/x', '--stack', 'X'], 'choose one of --data-dir'],
    [['--json', 'extra'], "Unexpected argument 'extra'"],
  ])('refuses %j: %s', (argv, message) => {
    expect(() => parse(argv)).toThrow(UsageError);
    expect(() => parse(argv)).toThrow(message);
  });
});

describe('codeVersion', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'doctor-version-'));
    await mkdir(join(root, 'functions/core'), { recursive: true });
    await mkdir(join(root, 'infra'), { recursive: true });
    await writeFile(join(root, 'package.json'), '{"version": "1.2.3"}');
    await writeFile(join(root, 'package-lock.json'), '{}');
    await writeFile(join(root, 'functions/core/a.ts'), 'export const a = 1;\n');
    await writeFile(join(root, 'infra/app.ts'), 'export {};\n');
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("is package.json's version and a digest that changes with the deployed code only", async () => {
    const first = codeVersion(root);
    expect(first).toMatch(/^1\.2\.3\+[0-9a-f]{12}$/);
    await writeFile(join(root, 'functions/core/notes.md'), 'not code');
    await writeFile(join(root, 'functions/core/a.ts'), 'export const a = 1;\r\n');
    expect(codeVersion(root)).toBe(first);
    await writeFile(join(root, 'functions/core/a.ts'), 'export const a = 2;\n');
    expect(codeVersion(root)).not.toBe(first);
  });

  it('orders package versions numerically', () => {
    expect(comparePackageVersions('0.9.0', '0.10.0')).toBeLessThan(0);
    expect(comparePackageVersions('1.0.0', '1.0.0')).toBe(0);
    expect(comparePackageVersions('2.0.0', '1.9.9')).toBeGreaterThan(0);
  });
});
