import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SyncStateRepository } from '#core/store/sync-state-repository';
import { createEmulator, type Emulator, ManualClock } from '#local/emulator/index';
import { lambdaContext } from '#local/stack/local-stack';
import { createTestStore, localAwsClients, type TestStore } from '../support/local-aws';

const API_KEY = 'handler-test-secret-key-4f1c';
let emulator: Emulator;
let store: TestStore;
const savedEnv = { ...process.env };

beforeAll(async () => {
  emulator = createEmulator({
    apiKey: API_KEY,
    rateLimit: false,
    clock: new ManualClock(Date.now()),
    demo: { seed: 31, executions: 30 },
  });
  await emulator.start();
  const clients = localAwsClients();
  store = await createTestStore(clients, 'handler');
  Object.assign(process.env, clients.env, {
    PRODUCT_LIVE_API_URL: emulator.url,
    PRODUCT_LIVE_API_KEY: API_KEY,
    EXECUTIONS_TABLE_NAME: store.executionsTable,
    STATE_TABLE_NAME: store.stateTable,
    FILES_BUCKET_NAME: store.filesBucket,
    POWERTOOLS_METRICS_NAMESPACE: 'ProductLiveSync',
  });
});

afterAll(async () => {
  process.env = savedEnv;
  await emulator.stop();
});

describe('sync handler', () => {
  it('runs a sync for a scheduler event, returns the summary and logs it, never the API key', async () => {
    const output: string[] = [];
    const capture = (chunk: unknown) => {
      output.push(String(chunk));
      return true;
    };
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    const consoleSpies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        output.push(args.map(String).join(' '));
      }),
    );
    try {
      vi.resetModules();
      const { handler } = await import('#functions/sync/handler');
      const summary = await handler({}, lambdaContext('sync', 600_000));
      expect(summary.error).toBeNull();
      expect(summary.executions.new).toBe(30);
      expect(summary.apiRequests).toBeGreaterThan(0);
      // The summary is kept for the dashboard's sync health.
      const clients = localAwsClients();
      const lastRun = await new SyncStateRepository(clients.doc, store.stateTable).getLastRun();
      expect(lastRun?.summary).toEqual(summary);
      expect(Date.parse(lastRun?.finishedAt ?? '')).toBeGreaterThan(0);
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
      for (const spy of consoleSpies) spy.mockRestore();
    }
    const logged = output.join('\n');
    expect(logged).toContain('sync summary');
    expect(logged).toContain('"ExecutionsNew"');
    expect(logged).not.toContain(API_KEY);
  });

  it('fails at cold start with a message naming a bad variable', async () => {
    process.env.SYNC_PAGE_SIZE = 'many';
    vi.resetModules();
    await expect(import('#functions/sync/handler')).rejects.toThrow(
      'Invalid configuration: SYNC_PAGE_SIZE: expected an integer from 1 to 10000, got "many"',
    );
    delete process.env.SYNC_PAGE_SIZE;
  });
});
