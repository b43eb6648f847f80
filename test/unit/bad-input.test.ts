// One test per row of the bad-input catalogue (configuration, API responses, SQS messages, URL policy);
// the file-download and command-line rows run against real servers in test/integration/bad-input.test.ts.
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type access, chmod, mkdir, mkdtemp, readFile, rm, type stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { IdempotencyValidationError } from '@aws-lambda-powertools/idempotency';
import { GetObjectCommand, ListObjectsCommand, S3Client } from '@aws-sdk/client-s3';
import { marshall } from '@aws-sdk/util-dynamodb';
import { SignatureV4 } from '@smithy/signature-v4';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { parseSecretValue } from '#core/api-key';
import { loadSyncConfig } from '#core/config';
import { toExecutionFields } from '#core/executions/execution-record';
import { assertAllowedUrl } from '#core/files/url-policy';
import { HistoryInputError } from '#core/history/history.errors';
import { resolvePeriod } from '#core/history/period';
import type { AppLogger } from '#core/observability';
import {
  ProductLiveApiError,
  ProductLiveAuthError,
  ProductLiveNotFoundError,
  ProductLiveResponseError,
} from '#core/product-live/product-live.errors';
import type { JobExecution } from '#core/product-live/product-live.schema';
import { ProductLiveClient } from '#core/product-live/product-live-client';
import { EXECUTIONS_TABLE, executionRow, lakeObjectKey } from '#core/warehouse/lake-tables';
import { toParquet } from '#core/warehouse/parquet';
import { publishStatusChanges } from '#functions/events/publish-status-changes';
import { runLake } from '#functions/lake/run-lake';
import { parseLaunchMessage } from '#functions/launch/launch-message.schema';
import { classifyLaunchFailure } from '#functions/launch/process-launch-batch';
import { loadInfraConfig } from '#infra/config';
import { checkLocalRequest } from '#local/aws/request-guard';
import { UsageError } from '#local/cli/cli-runner';
import { checkDataDir } from '#local/cli/cli-values';
import { DuckDbLake } from '#local/warehouse/duckdb-lake';
import { refreshLakeCache, removeLakeCopies } from '#local/warehouse/lake-cache';
import { SqlInterruptedError, SqlTimeoutError } from '#local/warehouse/sql-result';
import { fakeFetch, jsonReply, textReply } from '../builders/fetch-responder';
import { aJobExecution, aJobExecutionList } from '../builders/job-execution.builder';
import { BAD_INPUTS, type BadInputId, badInput, readmeRow } from '../support/bad-input-catalogue';
import {
  InMemoryExecutionStore,
  InMemoryStateStore,
  PagingApi,
  syncInMemory,
} from '../support/in-memory-sync';

const syncEnv = {
  EXECUTIONS_TABLE_NAME: 'executions',
  STATE_TABLE_NAME: 'state',
  FILES_BUCKET_NAME: 'files',
  PRODUCT_LIVE_API_KEY_SECRET_ID: 'product-live/api-key',
};
const KEY = 'catalogue-secret-key-7f3a';
const noWait = async () => undefined;

/** SHA-256 and HMAC from node:crypto for the SDK's signer (the signature the local servers verify). */
class Sha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash =
      secret === undefined
        ? createHash('sha256')
        : createHmac('sha256', typeof secret === 'string' ? secret : Buffer.from(secret as ArrayBuffer));
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {}
}

function client(script: Parameters<typeof fakeFetch>[0], options: { maxAttempts?: number } = {}) {
  const fake = fakeFetch(script);
  const api = new ProductLiveClient({
    baseUrl: 'https://api.product-live.com',
    apiKey: KEY,
    fetch: fake.fetch,
    sleep: noWait,
    random: () => 0.5,
    maxAttempts: options.maxAttempts ?? 3,
  });
  return { api, requests: fake.requests };
}

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

function captureLogger() {
  const lines: string[] = [];
  const log =
    (level: string) =>
    (message: string, ...extra: unknown[]) =>
      lines.push(`${level} ${message} ${JSON.stringify(extra)}`);
  const logger: AppLogger = {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
  };
  return { logger, lines };
}

const T0 = Date.parse('2024-06-01T12:00:00.000Z');
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

function syncWith(
  api: PagingApi | ProductLiveClient,
  logger: AppLogger,
  executions = new InMemoryExecutionStore(),
  state = new InMemoryStateStore(),
) {
  return syncInMemory(api, { executions, state, logger, now: T0 }, { runId: 'catalogue' });
}

const withoutFiles = (overrides: Partial<JobExecution> = {}) => aJobExecution({ output: {}, ...overrides });

describe('bad input catalogue: docs/reliability.md lists every row', () => {
  it('has one docs/reliability.md table row per catalogue entry, word for word', () => {
    const readme = readFileSync(resolve(import.meta.dirname, '../../docs/reliability.md'), 'utf8');
    const missing = (Object.keys(BAD_INPUTS) as BadInputId[]).filter((id) => !readme.includes(readmeRow(id)));
    expect(missing).toEqual([]);
  });

  it('has a test for every row', () => {
    const sources = [
      '../unit/bad-input.test.ts',
      '../integration/bad-input.test.ts',
      '../integration/launch-files.test.ts',
      '../integration/task-callbacks-cli.test.ts',
    ]
      .map((file) => readFileSync(resolve(import.meta.dirname, file), 'utf8'))
      .join('\n');
    const untested = Object.keys(BAD_INPUTS).filter((id) => !sources.includes(`it(badInput('${id}')`));
    expect(untested).toEqual([]);
  });
});

describe('bad input: configuration', () => {
  it(badInput('config.missing-table'), () => {
    const { EXECUTIONS_TABLE_NAME: _table, ...env } = syncEnv;
    expect(() => loadSyncConfig(env)).toThrow('Invalid configuration: EXECUTIONS_TABLE_NAME: is required');
  });

  it(badInput('config.page-size'), () => {
    expect(() => loadSyncConfig({ ...syncEnv, SYNC_PAGE_SIZE: 'lots' })).toThrow(
      'SYNC_PAGE_SIZE: expected an integer from 1 to 10000, got "lots"',
    );
  });

  it(badInput('config.start-date'), () => {
    expect(() => loadSyncConfig({ ...syncEnv, SYNC_START_DATE: 'yesterday' })).toThrow(
      'SYNC_START_DATE: expected an ISO 8601 date such as 2024-01-31 or 2024-01-31T00:00:00Z',
    );
  });

  it(badInput('config.api-url'), () => {
    expect(() => loadSyncConfig({ ...syncEnv, PRODUCT_LIVE_API_URL: 'ftp://example.com' })).toThrow(
      'PRODUCT_LIVE_API_URL: expected an http(s) URL',
    );
  });

  it(badInput('config.no-key'), () => {
    const { PRODUCT_LIVE_API_KEY_SECRET_ID: _secret, ...env } = syncEnv;
    expect(() => loadSyncConfig(env)).toThrow(
      'PRODUCT_LIVE_API_KEY_SECRET_ID: is required (the Secrets Manager secret holding the API key;',
    );
  });

  it(badInput('config.key-in-lambda'), () => {
    const { PRODUCT_LIVE_API_KEY_SECRET_ID: _secret, ...env } = syncEnv;
    const error = (() => {
      try {
        loadSyncConfig({ ...env, PRODUCT_LIVE_API_KEY: KEY, AWS_LAMBDA_FUNCTION_NAME: 'sync' });
      } catch (caught) {
        return caught as Error;
      }
      throw new Error('expected a failure');
    })();
    expect(error.message).toContain('must not be used in AWS Lambda; store the key in Secrets Manager');
    expect(JSON.stringify({ ...error, message: error.message })).not.toContain(KEY);
  });

  it(badInput('config.hosts'), () => {
    expect(() => loadSyncConfig({ ...syncEnv, FILE_ALLOWED_HOSTS: 'https://files.example.com/' })).toThrow(
      'FILE_ALLOWED_HOSTS: expected comma-separated host names (host, host:port or *.domain), got "https://files.example.com/"',
    );
  });

  it(badInput('config.secret-json'), () => {
    expect(() => parseSecretValue('{"key": "abc"}', 'product-live/api-key')).toThrow(
      'secret product-live/api-key is JSON without a non-empty "apiKey" string',
    );
  });

  it(badInput('config.job-expectations-duration'), () => {
    const value = '{"65819ba43ad5b963658ab35d": {"every": "24x"}}';
    const expected =
      '65819ba43ad5b963658ab35d.every: expected a duration such as 30m, 24h or 7d or "never", got "24x"';
    expect(() => loadSyncConfig({ ...syncEnv, JOB_EXPECTATIONS: value })).toThrow(
      'JOB_EXPECTATIONS: expected a JSON object of job expectations',
    );
    expect(() => loadSyncConfig({ ...syncEnv, JOB_EXPECTATIONS: value })).toThrow(expected);
    const context: Record<string, unknown> = { jobExpectations: value };
    expect(() => loadInfraConfig((key) => context[key])).toThrow(`jobExpectations: expected a JSON object`);
    expect(() => loadInfraConfig((key) => context[key])).toThrow(expected);
  });

  it(badInput('config.job-expectations-field'), () => {
    const context: Record<string, unknown> = { jobExpectations: '{"*": {"evry": "24h"}}' };
    expect(() => loadInfraConfig((key) => context[key])).toThrow(
      '*: unknown field "evry" (expected every, maxConsecutiveFailures, maxDuration, grace)',
    );
  });

  it(badInput('config.job-expectations-key'), () => {
    const context: Record<string, unknown> = { jobExpectations: { 'nightly-export': { every: '24h' } } };
    expect(() => loadInfraConfig((key) => context[key])).toThrow(
      'jobExpectations: expected a JSON object of job expectations',
    );
    expect(() => loadInfraConfig((key) => context[key])).toThrow(
      'nightly-export: expected a job id (24 hexadecimal characters) or "*" as a key',
    );
  });

  it(badInput('config.job-expectations-json'), () => {
    expect(() => loadSyncConfig({ ...syncEnv, JOB_EXPECTATIONS: '{"*": {every: "24h"}}' })).toThrow(
      /JOB_EXPECTATIONS: expected a JSON object of job expectations.*: Expected property name/,
    );
  });

  it(badInput('config.alert-health-states'), () => {
    const context: Record<string, unknown> = { alertHealthStates: 'late,stale' };
    expect(() => loadInfraConfig((key) => context[key])).toThrow(
      /alertHealthStates: expected job health states .*out of healthy, late, failing, slow, unknown.*: "stale" is not one/,
    );
  });

  it(badInput('config.budget-split'), () => {
    const context: Record<string, unknown> = { syncRequestsPerMinute: '45' };
    expect(() => loadInfraConfig((key) => context[key])).toThrow(
      "45 + 10 = 55 exceeds Product-Live's 50 requests/minute per API key",
    );
  });
});

describe('bad input: API responses', () => {
  it(badInput('api.malformed-json'), async () => {
    const { api, requests } = client([
      textReply('{"object":"list","data":['),
      textReply('{"object":"list","data":['),
      textReply('{"object":"list","data":['),
    ]);
    const error = await failureOf(api.findJobExecutions({ type: 'eq', field: 'status', value: 'X' }));
    expect(error).toBeInstanceOf(ProductLiveResponseError);
    expect(error.message).toMatch(/JSON/i);
    expect(requests).toHaveLength(3);
  });

  it(badInput('api.missing-created-at'), async () => {
    const { createdAt: _created, ...broken } = aJobExecution({ id: '6584000000000000000000aa' });
    const { api, requests } = client([jsonReply(aJobExecutionList([broken as JobExecution]))]);
    const error = await failureOf(api.findJobExecutions({ type: 'eq', field: 'status', value: 'X' }));
    expect(error).toBeInstanceOf(ProductLiveResponseError);
    expect(error.message).toContain(
      'Invalid job execution 6584000000000000000000aa in POST /v1/job_executions/find',
    );
    expect(error.message).toContain('field "createdAt"');
    expect(requests).toHaveLength(1);
  });

  it(badInput('api.bad-date'), async () => {
    const { api } = client([jsonReply(aJobExecutionList([{ ...aJobExecution(), createdAt: 'yesterday' }]))]);
    const error = await failureOf(api.findJobExecutions({ type: 'eq', field: 'status', value: 'X' }));
    expect(error.message).toContain('field "createdAt": expected an ISO 8601 date-time');
  });

  it(badInput('api.no-total'), async () => {
    const { api } = client([jsonReply({ object: 'list', data: [] })]);
    const error = await failureOf(api.listJobExecutions());
    expect(error).toBeInstanceOf(ProductLiveResponseError);
    expect(error.message).toContain('field "totalElements"');
  });

  it(badInput('api.unknown-field'), async () => {
    const api = new PagingApi({ order: (list) => [...list] });
    api.executions.push(withoutFiles({ priority: 3 } as Partial<JobExecution>));
    const store = new InMemoryExecutionStore();
    const summary = await syncWith(api, captureLogger().logger, store);
    expect(summary.error).toBeNull();
    const [item] = [...store.items.values()];
    expect(JSON.parse(item?.raw ?? '{}').priority).toBe(3);
  });

  it(badInput('api.unknown-status'), async () => {
    const api = new PagingApi({ order: (list) => [...list] });
    api.executions.push(withoutFiles({ status: 'PAUSED' }));
    const store = new InMemoryExecutionStore();
    const state = new InMemoryStateStore();
    await syncWith(api, captureLogger().logger, store, state);
    const [item] = [...store.items.values()];
    expect(item?.status).toBe('PAUSED');
    expect(item?.openFlag).toBe('OPEN');
    const before = api.requestCount;
    await syncWith(api, captureLogger().logger, store, state);
    expect(api.requestCount - before).toBe(1); // one `or` request: the window, and the open execution by id
  });

  it(badInput('api.401'), async () => {
    const { api, requests } = client([jsonReply({ message: 'Unauthorized' }, 401)]);
    const summary = await syncWith(api, captureLogger().logger);
    expect(summary.error).toMatch(/ProductLiveAuthError/);
    expect(summary.moreRemaining).toBe(true);
    expect(requests).toHaveLength(1);
  });

  it(badInput('api.404-open'), async () => {
    const store = new InMemoryExecutionStore();
    const open = withoutFiles({ status: 'RUNNING' });
    const api = new PagingApi({ order: (list) => [...list] });
    api.executions.push(open);
    await syncWith(api, captureLogger().logger, store);
    api.executions = [];
    const { logger, lines } = captureLogger();
    const summary = await syncWith(api, logger, store);
    expect(summary.error).toBeNull();
    expect(
      lines.some((line) => line.includes('no longer in the API; its last view is kept and marked')),
    ).toBe(true);
    expect(store.items.get(open.id)).toMatchObject({
      status: 'RUNNING',
      removedFromApiAt: new Date(T0).toISOString(),
    });
    expect(store.items.get(open.id)?.openFlag).toBeUndefined();
  });

  it(badInput('api.429-no-retry-after'), async () => {
    const waits: number[] = [];
    const fake = fakeFetch([jsonReply({}, 429), jsonReply({}, 429), jsonReply(aJobExecutionList([]))]);
    const api = new ProductLiveClient({
      baseUrl: 'https://api.product-live.com',
      apiKey: KEY,
      fetch: fake.fetch,
      sleep: async (ms) => {
        waits.push(ms);
      },
      random: () => 0.5,
    });
    await api.listJobExecutions();
    expect(api.throttledCount).toBe(2);
    expect(waits.length).toBeGreaterThanOrEqual(2);
    expect(waits[1]).toBeGreaterThan(waits[0] ?? 0);
  });

  it(badInput('api.html-502'), async () => {
    const page = '<html><body><h1>502 Bad Gateway</h1></body></html>';
    const { api, requests } = client([textReply(page, 502), textReply(page, 502), textReply(page, 502)]);
    const error = await failureOf(api.listJobExecutions());
    expect(error).toBeInstanceOf(ProductLiveApiError);
    expect((error as ProductLiveApiError).status).toBe(502);
    expect((error as ProductLiveApiError).body).toContain('502 Bad Gateway');
    expect(requests).toHaveLength(3);
  });

  it(badInput('api.in-refused'), async () => {
    const api = new PagingApi({ order: (list) => [...list], refuse: ['in'] });
    const open = Array.from({ length: 3 }, () => withoutFiles({ status: 'RUNNING' }));
    api.executions.push(...open);
    const store = new InMemoryExecutionStore();
    await syncWith(api, captureLogger().logger, store);
    for (const execution of api.executions)
      Object.assign(execution, { status: 'COMPLETED', endedAt: new Date(T0).toISOString() });
    const { logger, lines } = captureLogger();
    const summary = await syncWith(api, logger, store);
    expect(summary.error).toBeNull();
    expect(summary.executions.openRefreshed).toBe(3);
    expect(lines.some((line) => line.includes('the API refused an `in` query on id'))).toBe(true);
    expect([...store.items.values()].every((item) => item.status === 'COMPLETED')).toBe(true);
  });

  it(badInput('api.or-refused'), async () => {
    const api = new PagingApi({ order: (list) => [...list], refuse: ['or'] });
    api.executions.push(...Array.from({ length: 3 }, () => withoutFiles({ status: 'RUNNING' })));
    const store = new InMemoryExecutionStore();
    const state = new InMemoryStateStore();
    await syncWith(api, captureLogger().logger, store, state);
    const { logger, lines } = captureLogger();
    const learning = await syncWith(api, logger, store, state);
    expect(learning.error).toBeNull();
    // The refused `or`, then the open ones by id and the window.
    expect(learning.apiRequests).toBe(3);
    expect(learning.executions.openRefreshed).toBe(3);
    expect(lines.some((line) => line.includes('the API refused an `or` query'))).toBe(true);
    expect(await state.getApiProfile()).toMatchObject({ orSupported: false });
    const known = await syncWith(api, captureLogger().logger, store, state);
    expect(known.apiRequests).toBe(2);
    expect(known.executions.openRefreshed).toBe(3);
  });

  it(badInput('api.lower-refused'), async () => {
    const api = new PagingApi({ order: (list) => [...list], refuse: ['lower'] });
    api.executions.push(
      ...Array.from({ length: 5 }, (_, i) => withoutFiles({ createdAt: iso(T0 - (i + 1) * HOUR) })),
    );
    const store = new InMemoryExecutionStore();
    const state = new InMemoryStateStore();
    await syncWith(api, captureLogger().logger, store, state);
    // Visible only now, created 40 days ago: two months back, far behind the lookback.
    const late = withoutFiles({ createdAt: iso(T0 - 40 * 24 * HOUR) });
    api.executions.push(late);
    await state.saveAudit({ lastCompletedAt: iso(T0 - 2 * 24 * HOUR) });
    const { logger, lines } = captureLogger();
    const summary = await syncWith(api, logger, store, state);
    expect(summary.error).toBeNull();
    expect(summary.audit).toMatchObject({ complete: true, monthsDiffering: 1, executionsRecovered: 1 });
    expect(store.items.has(late.id)).toBe(true);
    expect(lines.some((line) => line.includes('the API refused a `lower` criterion'))).toBe(true);
    expect(await state.getApiProfile()).toMatchObject({ lowerSupported: false });
  });

  it(badInput('api.find-path-404'), async () => {
    const paths: string[] = [];
    const fake = fakeFetch((request) => {
      paths.push(request.url.pathname);
      return request.url.pathname === '/v1/job_executions/find'
        ? jsonReply({ message: 'Cannot POST /v1/job_executions/find' }, 404)
        : jsonReply(aJobExecutionList([]));
    });
    const api = new ProductLiveClient({
      baseUrl: 'https://api.product-live.com',
      apiKey: KEY,
      fetch: fake.fetch,
    });
    await api.findJobExecutions({ type: 'eq', field: 'status', value: 'X' });
    await api.findJobExecutions({ type: 'eq', field: 'status', value: 'X' });
    expect(paths).toEqual([
      '/v1/job_executions/find',
      '/v1/data_factory/job_executions/find',
      '/v1/data_factory/job_executions/find',
    ]);
  });

  it(badInput('api.page-size-400'), async () => {
    const sizes: number[] = [];
    const fake = fakeFetch((request) => {
      const size = Number(request.url.searchParams.get('size'));
      sizes.push(size);
      return size > 250
        ? jsonReply({ message: `size must be at most 250, got ${size}` }, 400)
        : jsonReply(aJobExecutionList([withoutFiles()]));
    });
    const api = new ProductLiveClient({
      baseUrl: 'https://api.product-live.com',
      apiKey: KEY,
      fetch: fake.fetch,
    });
    const summary = await syncWith(api, captureLogger().logger);
    expect(summary.error).toBeNull();
    expect(sizes.slice(0, 3)).toEqual([1000, 500, 250]);
    // Everything after asks at most what the API accepted (the audit's counts ask for one item).
    expect(sizes.slice(3).every((size) => size <= 250)).toBe(true);
  });

  it(badInput('api.key-echo'), async () => {
    const { logger, lines } = captureLogger();
    const fake = fakeFetch([textReply(`invalid key ${KEY}`, 400)]);
    const api = new ProductLiveClient({
      baseUrl: 'https://api.product-live.com',
      apiKey: KEY,
      fetch: fake.fetch,
      logger,
    });
    const error = await failureOf(api.listJobExecutions());
    expect(error.message).toContain('[REDACTED]');
    expect(
      JSON.stringify({ ...error, message: error.message, body: (error as ProductLiveApiError).body }),
    ).not.toContain(KEY);
    expect(lines.join('\n')).not.toContain(KEY);
  });
});

describe('bad input: SQS messages', () => {
  const reason = (body: string) => {
    try {
      parseLaunchMessage(body);
    } catch (error) {
      return classifyLaunchFailure(error);
    }
    throw new Error('expected the message to be refused');
  };

  it(badInput('sqs.malformed'), () => {
    expect(reason('{"jobId":')).toMatchObject({
      action: 'dead-letter',
      reason: expect.stringMatching(/^invalid message: body is not valid JSON \(/),
    });
  });

  it(badInput('sqs.not-object'), () => {
    expect(reason('[1, 2]').reason).toBe(
      'invalid message: body must be a JSON object with a "jobId", got an array',
    );
  });

  it(badInput('sqs.no-job'), () => {
    expect(reason('{"input": {}}')).toMatchObject({
      action: 'dead-letter',
      reason: 'invalid message: jobId: is required',
    });
  });

  it(badInput('sqs.job-not-hex'), () => {
    expect(reason('{"jobId": "123"}').reason).toBe(
      'invalid message: jobId: expected 24 hexadecimal characters',
    );
  });

  it(badInput('sqs.input-array'), () => {
    expect(reason('{"jobId": "65819ba43ad5b963658ab35d", "input": [1]}').reason).toBe(
      'invalid message: input: expected a JSON object',
    );
  });

  it(badInput('sqs.unknown-field'), () => {
    expect(reason('{"jobId": "65819ba43ad5b963658ab35d", "idempotencyKye": "k"}').reason).toBe(
      'invalid message: unknown field "idempotencyKye" (expected jobId, input, idempotencyKey, taskToken)',
    );
  });

  it(badInput('sqs.long-key'), () => {
    const body = JSON.stringify({ jobId: '65819ba43ad5b963658ab35d', idempotencyKey: 'k'.repeat(300) });
    expect(reason(body).reason).toBe('invalid message: idempotencyKey: must be at most 256 characters');
  });

  it(badInput('sqs.unknown-job'), () => {
    const error = new ProductLiveNotFoundError({
      method: 'POST',
      path: '/v1/data_factory/job_executions',
      status: 404,
      body: '{"message":"job not found"}',
    });
    expect(classifyLaunchFailure(error, { key: 'k', jobId: '65819ba43ad5b963658ab35d' })).toMatchObject({
      action: 'dead-letter',
      reason: expect.stringMatching(
        /^unknown jobId 65819ba43ad5b963658ab35d: Product-Live answered HTTP 404/,
      ),
    });
  });

  it(badInput('sqs.key-reused'), () => {
    expect(classifyLaunchFailure(new IdempotencyValidationError('payload differs'))).toMatchObject({
      action: 'dead-letter',
      kind: 'idempotency-key-reused',
      reason: expect.stringMatching(/^idempotencyKey was already used for a different request/),
    });
  });
});

describe('bad input: file URL policy', () => {
  const policy = { apiUrl: 'https://api.product-live.com', allowedHosts: ['*.product-live.com'] };

  it(badInput('file.other-host'), () => {
    expect(() => assertAllowedUrl('https://evil.example.com/steal', policy)).toThrow(
      /^host not in the allowed file hosts/,
    );
  });

  it(badInput('file.private'), () => {
    expect(() => assertAllowedUrl('https://169.254.169.254/latest/meta-data', policy)).toThrow(
      /^private address refused/,
    );
  });

  it(badInput('file.loopback'), () => {
    expect(() => assertAllowedUrl('https://127.0.0.1/x', policy)).toThrow(/^loopback address refused/);
  });

  it(badInput('file.credentials'), () => {
    expect(() => assertAllowedUrl('https://user:pass@app.product-live.com/x', policy)).toThrow(
      /^URL with credentials refused/,
    );
  });
});

// Keep the auth error type referenced: a 401 must be this class (asserted by name in the summary above).
void ProductLiveAuthError;

describe('bad input: SQL and the lake', () => {
  const withEmptyLake = async (sql: string) => {
    const directory = await mkdtemp(join(tmpdir(), 'plsync-bad-sql-'));
    const lake = await DuckDbLake.open(directory);
    try {
      return await lake.query(sql).then(
        () => undefined,
        (error: unknown) => error as Error,
      );
    } finally {
      lake.close();
      await rm(directory, { recursive: true, force: true });
    }
  };

  it(badInput('sql.syntax'), async () => {
    expect((await withEmptyLake('SELEC 1'))?.message).toBe('Parser Error: syntax error at or near "SELEC"');
  });

  it(badInput('sql.write'), async () => {
    for (const [sql, keyword] of [
      ['DROP VIEW executions', 'DROP'],
      ['INSERT INTO executions SELECT * FROM executions', 'INSERT'],
      ["COPY executions TO 'out.csv'", 'COPY'],
      ["ATTACH 'other.db'", 'ATTACH'],
      ['SET enable_external_access = true', 'SET'],
      ['PRAGMA show_tables', 'PRAGMA'],
      ["EXPORT DATABASE 'exported'", 'EXPORT'],
      ['INSTALL httpfs', 'INSTALL'],
    ] as const) {
      expect((await withEmptyLake(sql))?.message, sql).toBe(
        `read-only: only SELECT queries are run here (got ${keyword})`,
      );
    }
  });

  it(badInput('sql.explain-analyze'), async () => {
    const directory = await mkdtemp(join(tmpdir(), 'plsync-bad-sql-'));
    const day = join(directory, lakeObjectKey('executions', '2024-06-01'));
    await mkdir(dirname(day), { recursive: true });
    const row = executionRow(
      { ...toExecutionFields(withoutFiles()), files: [], firstSyncedAt: '', syncedAt: '', source: 'sync' },
      {},
    );
    await writeFile(day, toParquet(EXECUTIONS_TABLE, [row]));
    const before = await readFile(day);
    const lake = await DuckDbLake.open(directory);
    try {
      for (const sql of [
        `EXPLAIN ANALYZE COPY (SELECT * FROM executions WHERE false) TO '${day}' (FORMAT parquet)`,
        'EXPLAIN ANALYZE CREATE TABLE t AS SELECT * FROM executions',
        'EXPLAIN ANALYZE DROP VIEW executions',
      ]) {
        await expect(lake.query(sql), sql).rejects.toThrow(
          'read-only: EXPLAIN ANALYZE runs the statement it explains, so it is not run here; plain EXPLAIN shows the plan',
        );
      }
      expect(await readFile(day)).toEqual(before);
      expect((await lake.query('SELECT count(*) AS runs FROM executions')).rows).toEqual([{ runs: 1 }]);
    } finally {
      lake.close();
      await rm(directory, { recursive: true, force: true });
    }
  });

  it(badInput('sql.runaway'), async () => {
    const directory = await mkdtemp(join(tmpdir(), 'plsync-bad-sql-'));
    const lake = await DuckDbLake.open(directory);
    const runaway = 'SELECT count(*) FROM range(100000000000000)';
    try {
      await expect(lake.query(runaway, { timeoutMs: 200 })).rejects.toBeInstanceOf(SqlTimeoutError);
      const interrupt = new AbortController();
      setTimeout(() => interrupt.abort(), 200);
      await expect(lake.query(runaway, { signal: interrupt.signal })).rejects.toBeInstanceOf(
        SqlInterruptedError,
      );
    } finally {
      lake.close();
      await rm(directory, { recursive: true, force: true });
    }
  });

  it(badInput('sql.outside-lake'), async () => {
    expect((await withEmptyLake("SELECT * FROM read_csv('/etc/passwd')"))?.message).toMatch(
      /^Permission Error: Cannot access file "\/etc\/passwd"/,
    );
  });

  it(badInput('lake.copy-tampered'), async () => {
    const s3 = mockClient(S3Client);
    const key = lakeObjectKey('executions', '2024-06-01');
    const body = Buffer.from('PAR1 the day as the lake holds it');
    s3.on(ListObjectsCommand).resolves({ Contents: [{ Key: key, ETag: '"e1"', Size: body.length }] });
    s3.on(GetObjectCommand).callsFake(() => ({ Body: Readable.from([body]), ContentLength: body.length }));
    const client = new S3Client({ region: 'eu-west-1' });
    const directory = await mkdtemp(join(tmpdir(), 'plsync-bad-copy-'));
    try {
      await refreshLakeCache(client, 'lake', directory);
      const path = join(directory, key);
      await chmod(dirname(path), 0o755);
      await chmod(path, 0o644);
      await writeFile(path, 'PAR1 a forged day, same length!!!');
      const planted = join(directory, lakeObjectKey('executions', '2099-01-01'));
      await mkdir(dirname(planted), { recursive: true });
      await writeFile(planted, 'PAR1 forged');
      const notes: string[] = [];
      const refreshed = await refreshLakeCache(client, 'lake', directory, {
        note: (line) => notes.push(line),
      });
      expect(refreshed.downloaded).toBe(1);
      expect(await readFile(path)).toEqual(body);
      await expect(readFile(planted)).rejects.toThrow(/ENOENT/);
      expect(notes).toEqual([
        `Lake copy: ${lakeObjectKey('executions', '2099-01-01')} is not an object of the lake: removed.`,
        `Lake copy: ${key} was changed on disk (its SHA-256 differs): fetched again.`,
      ]);
    } finally {
      s3.restore();
      await removeLakeCopies(directory);
    }
  });

  it(badInput('lake.write-refused'), async () => {
    const marks: Record<string, string> = { '2024-06-01': '0:a' };
    const summary = await runLake(
      {
        marks: {
          read: async () => ({ marks: { ...marks }, initializedAt: '2024-06-01T00:00:00.000Z' }),
          clear: async (day) => delete marks[day],
          mark: async () => {},
          setInitialized: async () => {},
        },
        source: {
          async *executionsOfDay() {
            yield {
              ...toExecutionFields(withoutFiles({ createdAt: '2024-06-01T08:00:00.000Z' })),
              files: [],
              firstSyncedAt: '2024-06-01T08:00:00.000Z',
              syncedAt: '2024-06-01T08:00:00.000Z',
              source: 'sync' as const,
            };
          },
          apiObject: async () => ({}),
          createdAtRange: async () => undefined,
        },
        objects: {
          put: async () => {
            throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
          },
          delete: async () => {},
        },
        lease: { acquireLease: async () => true, releaseLease: async () => {} },
        now: () => T0,
        remainingTimeMs: () => 900_000,
        logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
      },
      { runId: 'r', timeMarginMs: 1_000, leaseMs: 60_000, settleMs: 0 },
    );
    expect(summary).toMatchObject({
      daysFailed: 1,
      daysWritten: 0,
      daysLeft: 1,
      complete: false,
      error: null,
    });
    expect(marks).toEqual({ '2024-06-01': '0:a' });
  });
});

describe('bad input: events', () => {
  const record = (image: Record<string, unknown>, sequence: string): DynamoDBRecord => ({
    dynamodb: {
      SequenceNumber: sequence,
      NewImage: marshall(image) as never,
      Keys: marshall({ id: image.id ?? '?' }) as never,
    },
  });
  // Open executions: one status-change event a record (an ended one would add its result).
  const good = () => {
    const fields = toExecutionFields(aJobExecution({ status: 'RUNNING' }));
    return {
      ...fields,
      files: [],
      firstSyncedAt: fields.createdAt,
      syncedAt: fields.createdAt,
      source: 'sync',
    };
  };

  it(badInput('events.put-refused'), async () => {
    const { logger, lines } = captureLogger();
    const items = [good(), good(), good()];
    const records = items.map((item, index) => record(item, String(index + 1)));
    let calls = 0;
    const result = await publishStatusChanges(
      records,
      {
        sink: {
          put: async (events) => {
            calls += 1;
            if (calls === 1) throw new Error('connect ETIMEDOUT');
            return events.map((event) =>
              event.detail.executionId === items[1]?.id ? 'ThrottlingException: Rate exceeded' : null,
            );
          },
        },
        logger,
        sleep: noWait,
      },
      { maxAttempts: 4 },
    );
    expect(calls).toBe(4);
    expect(result).toMatchObject({ batchItemFailures: [{ itemIdentifier: '2' }], published: 2, failed: 1 });
    expect(lines.some((line) => line.startsWith('warn events not published after retries'))).toBe(true);
  });

  it(badInput('events.not-an-execution'), async () => {
    const { logger, lines } = captureLogger();
    const published: string[] = [];
    const { status: _status, ...withoutStatus } = good();
    const result = await publishStatusChanges(
      [record({ id: 'x-1', note: 'not an execution' }, '1'), record(withoutStatus, '2'), record(good(), '3')],
      {
        sink: {
          put: async (events) =>
            events.map((event) => {
              published.push(event.detail.eventId);
              return null;
            }),
        },
        logger,
        sleep: noWait,
      },
    );
    expect(result).toMatchObject({ batchItemFailures: [], published: 1, unchanged: 2, failed: 0 });
    expect(published).toHaveLength(1);
    expect(lines.filter((line) => line.startsWith('error a stream record is not an execution'))).toHaveLength(
      2,
    );
  });
});

describe('bad input: the local servers', () => {
  const credentials = { accessKeyId: 'LOCALCATALOGUE0000001', secretAccessKey: 'catalogue-secret' };
  const port = 4569;
  /** A ListBuckets request as an SDK signs it, with `headers` over it. */
  async function signed(
    signing = credentials,
    headers: Record<string, string> = {},
  ): Promise<Parameters<typeof checkLocalRequest>[0]> {
    const signer = new SignatureV4({
      credentials: signing,
      region: 'us-east-1',
      service: 's3',
      sha256: Sha256,
      uriEscapePath: false,
    });
    const request = await signer.sign({
      method: 'GET',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port,
      path: '/',
      headers: { host: `127.0.0.1:${port}`, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    });
    return { method: 'GET', url: '/', headers: { ...request.headers, ...headers } };
  }
  const check = async (request: Parameters<typeof checkLocalRequest>[0]) =>
    checkLocalRequest(request, { service: 's3', credentials, port });

  it('accepts what the stack own clients send (the rows below differ from it by one thing)', async () => {
    expect(await check(await signed())).toEqual({ ok: true });
  });

  it(badInput('local.unsigned'), async () => {
    expect(await check({ method: 'POST', url: '/', headers: { host: `127.0.0.1:${port}` } })).toEqual({
      ok: false,
      reason: 'unsigned request',
    });
  });

  it(badInput('local.wrong-credentials'), async () => {
    expect(await check(await signed({ ...credentials, secretAccessKey: 'guessed' }))).toEqual({
      ok: false,
      reason: 'signature does not match',
    });
    expect(await check(await signed({ ...credentials, accessKeyId: 'AKIAOTHER' }))).toEqual({
      ok: false,
      reason: 'unknown access key id',
    });
  });

  it(badInput('local.origin'), async () => {
    expect(await check(await signed(credentials, { origin: 'http://evil.example' }))).toEqual({
      ok: false,
      reason: 'cross-origin request',
    });
  });

  it(badInput('local.foreign-host'), async () => {
    expect(await check(await signed(credentials, { host: `evil.example:${port}` }))).toEqual({
      ok: false,
      reason: 'unexpected Host "evil.example:4569"',
    });
  });
});

describe('bad input: command-line values', () => {
  it(badInput('cli.data-dir-unreadable'), async () => {
    // Root reads every directory: the permission check is given a file system that refuses, as it would.
    const refusing = {
      stat: (async () => ({ isDirectory: () => true })) as unknown as typeof stat,
      access: (async () => {
        throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
      }) as unknown as typeof access,
    };
    await expect(checkDataDir('/srv/locked', '--data-dir', refusing)).rejects.toThrow(
      '--data-dir: /srv/locked cannot be read or written by this user (check its permissions)',
    );
    await expect(checkDataDir('/srv/locked', '--data-dir', refusing)).rejects.toBeInstanceOf(UsageError);
  });

  it(badInput('cli.period-range'), () => {
    const now = Date.parse('2026-12-07T00:00:00Z');
    for (const [flag, value] of [
      ['since', '1969-12-31'],
      ['since', '9999999w'],
      ['until', '10000-01-01'],
    ] as const) {
      expect(() => resolvePeriod({ [flag]: value }, now)).toThrow(HistoryInputError);
    }
    expect(() => resolvePeriod({ since: '1969-12-31' }, now)).toThrow(
      '--since must lie between 1970-01-01 and 9999-12-31 (the history holds nothing earlier); got "1969-12-31"',
    );
    expect(resolvePeriod({ since: '1970-01-01', until: '9999-12-31' }, now)).toEqual({
      since: '1970-01-01T00:00:00.000Z',
      until: '9999-12-31T00:00:00.000Z',
    });
  });
});
