// `npm run doctor` over the local stack, check by check, with what each reads given by fakes (Java, ports, the
// disk, stack.json, the store, Product-Live through a fake responder): ok, warn and fail of each local check; how
// the API and key to try are chosen; the runner, the report's JSON shape and text; the command line's usage errors;
// the code version. The same checks against a real local stack: test/integration/doctor-cli.test.ts.
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeVersion, comparePackageVersions } from '../../infra/code-version';
import { JavaMissingError } from '../../local/aws/dynamodb-local';
import { UsageError } from '../../local/cli/cli-runner';
import { parseDoctorArgs } from '../../local/cli/doctor-args';
import { apiKeyCheck } from '../../local/doctor/checks/api-key';
import { launchQueuesCheck } from '../../local/doctor/checks/launch-queues';
import { localDataDirCheck } from '../../local/doctor/checks/local-data-dir';
import { localJavaCheck } from '../../local/doctor/checks/local-java';
import { localPortsCheck } from '../../local/doctor/checks/local-ports';
import { localStackCheck } from '../../local/doctor/checks/local-stack';
import { syncLastRunCheck, syncLeaseCheck } from '../../local/doctor/checks/sync-runs';
import { runChecks } from '../../local/doctor/doctor';
import { type DoctorCheck, type DoctorReport, NotCheckedError, ok } from '../../local/doctor/doctor-check';
import type { DoctorContext } from '../../local/doctor/doctor-context';
import { UNAVAILABLE_JOB_HEALTH, UNAVAILABLE_SYNC_RUNS } from '../../local/doctor/health-sources';
import {
  type LocalApiTarget,
  type LocalTarget,
  localCadence,
  readStackFile,
  resolveLocalApi,
  type StackFile,
} from '../../local/doctor/local-target';
import { renderJson, renderResult, renderTotals } from '../../local/doctor/render-report';
import type { StateSnapshot } from '../../local/doctor/state-snapshot';
import type { LocalStackState } from '../../local/stack/local-stack-settings';
import type { Store } from '../../local/store/open-store';
import { StoreError } from '../../local/store/store-error';
import { fakeFetch, jsonReply } from '../builders/fetch-responder';
import { aJobExecution, aJobExecutionList } from '../builders/job-execution.builder';

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
    syncRuns: UNAVAILABLE_SYNC_RUNS,
    jobHealth: UNAVAILABLE_JOB_HEALTH,
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
