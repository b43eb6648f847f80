// The emulator's HTTP API against the reference page: endpoints, defaults, paging, errors, schemas.
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  DataFactoryFile,
  JobExecution,
  JobExecutionList,
  NamedFileLink,
} from '#core/product-live/product-live.schema';
import { type Emulator, EmulatorAlreadyStartedError, ManualClock } from '#local/emulator/index';
import { startEmulator as startTestEmulator, type TestEmulatorOptions } from '../support/emulator';

const T0 = '2024-06-01T12:00:00.000Z';
const ErrorBody = z.object({
  statusCode: z.number().int(),
  error: z.string().min(1),
  message: z.string().min(1),
});

const startEmulator = async (options: TestEmulatorOptions = {}): Promise<Emulator> =>
  (await startTestEmulator({ clock: new ManualClock(T0), ...options })).emulator;

interface CallOptions {
  body?: unknown;
  rawBody?: string;
  /** null: send no X-Api-Key. */
  key?: string | null;
}

async function call(emulator: Emulator, method: string, path: string, options: CallOptions = {}) {
  const headers: Record<string, string> = {};
  if (options.key !== null) headers['X-Api-Key'] = options.key ?? emulator.apiKey;
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`${emulator.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: (): unknown => JSON.parse(text) };
}

const EXECUTIONS = '/v1/data_factory/job_executions';
const FIND = '/v1/job_executions/find';

describe('POST /v1/data_factory/job_executions', () => {
  it('creates an execution shaped like the reference example, with the platform context in input', async () => {
    const emulator = await startEmulator();
    const job = emulator.addJob({ title: 'Import Schema' });

    const response = await call(emulator, 'POST', EXECUTIONS, {
      body: { jobId: job.id, input: { someKey: 'some data' } },
    });

    expect(response.status).toBe(200);
    const execution = JobExecution.parse(response.json());
    expect(execution).toMatchObject({
      object: 'job_execution',
      jobId: job.id,
      pipelineId: job.pipelineId,
      createdAt: T0,
      status: 'RUNNING',
      output: {},
      info: { title: 'Import Schema' },
      input: {
        someKey: 'some data',
        context: {
          jobAccountId: '2629',
          jobId: job.id,
          userShardId: '2629',
          userAccountId: '2629',
          userId: '5443',
        },
      },
    });
    expect(execution.id).toMatch(/^[0-9a-f]{24}$/);
    expect(execution.endedAt).toBeUndefined();
    const startedAt = Date.parse(execution.startedAt ?? '');
    expect(startedAt).toBeLessThanOrEqual(Date.parse(T0));
    expect(startedAt).toBeGreaterThanOrEqual(Date.parse(T0) - 60);
    // Key order of the reference examples (checked on the raw body: parsing reorders keys).
    expect(Object.keys(response.json() as object)).toEqual([
      'object',
      'jobId',
      'id',
      'pipelineId',
      'createdAt',
      'input',
      'startedAt',
      'status',
      'output',
      'info',
    ]);
    expect(emulator.execution(execution.id)).toEqual(execution);
  });

  it('creates an execution without input (input then holds only the context)', async () => {
    const emulator = await startEmulator();
    const job = emulator.addJob({ title: 'Sync Prices', kind: 'no-files' });

    const execution = JobExecution.parse(
      (await call(emulator, 'POST', EXECUTIONS, { body: { jobId: job.id } })).json(),
    );

    expect(Object.keys(execution.input as object)).toEqual(['context']);
  });

  it('answers 404 for an unknown job and 400 for a job without pipeline', async () => {
    const emulator = await startEmulator();
    const draft = emulator.addJob({ title: 'Draft', pipelineId: null });

    const unknown = await call(emulator, 'POST', EXECUTIONS, { body: { jobId: '65819ba43ad5b963658ab35d' } });
    const noPipeline = await call(emulator, 'POST', EXECUTIONS, { body: { jobId: draft.id } });

    expect(unknown.status).toBe(404);
    expect(ErrorBody.parse(unknown.json())).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'Job 65819ba43ad5b963658ab35d not found',
    });
    expect(noPipeline.status).toBe(400);
    expect(ErrorBody.parse(noPipeline.json()).message).toContain('has no pipeline');
    expect(emulator.executions()).toHaveLength(0);
  });

  it.each([
    [
      'malformed JSON (the trailing comma of the reference curl example)',
      '{"jobId": "65819ba43ad5b963658ab35d",}',
      'Malformed JSON',
    ],
    ['an empty body', '', 'empty'],
    ['a JSON array', '[]', 'JSON object'],
    ['no jobId', '{"input": {}}', 'jobId is required'],
    ['a numeric jobId', '{"jobId": 42}', 'jobId must be'],
    ['an array input', '{"jobId": "JOB", "input": []}', 'input must be a JSON object'],
    ['a string input', '{"jobId": "JOB", "input": "x"}', 'input must be a JSON object'],
    ['a null input', '{"jobId": "JOB", "input": null}', 'input must be a JSON object'],
  ])('answers 400 for %s', async (_case, rawBody, message) => {
    const emulator = await startEmulator();
    const job = emulator.addJob({ title: 'Import Schema' });

    const response = await call(emulator, 'POST', EXECUTIONS, { rawBody: rawBody.replace('JOB', job.id) });

    expect(response.status).toBe(400);
    expect(ErrorBody.parse(response.json())).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(ErrorBody.parse(response.json()).message).toContain(message);
    expect(emulator.executions()).toHaveLength(0);
  });
});

describe('GET /v1/data_factory/job_executions/{id}', () => {
  it('returns the execution as the programmatic view sees it, and 404 for an unknown id', async () => {
    const emulator = await startEmulator({ demo: { seed: 1, executions: 30 } });
    const [first] = emulator.executions();

    const found = await call(emulator, 'GET', `${EXECUTIONS}/${first?.id}`);
    const missing = await call(emulator, 'GET', `${EXECUTIONS}/ffffffffffffffffffffffff`);

    expect(found.status).toBe(200);
    expect(JobExecution.parse(found.json())).toEqual(first);
    expect(missing.status).toBe(404);
    expect(ErrorBody.parse(missing.json()).message).toBe('Job execution ffffffffffffffffffffffff not found');
  });
});

describe('GET /v1/data_factory/job_executions', () => {
  it('lists 20 executions of page 0 by default with totalElements', async () => {
    const emulator = await startEmulator({ demo: { seed: 2, executions: 45 } });

    const response = await call(emulator, 'GET', EXECUTIONS);

    const list = JobExecutionList.parse(response.json());
    expect(list.object).toBe('list');
    expect(list.totalElements).toBe(45);
    expect(list.data).toEqual(emulator.executions().slice(0, 20));
  });

  it('pages with page and size, and answers an empty page past the end', async () => {
    const emulator = await startEmulator({ demo: { seed: 2, executions: 45 } });
    const all = emulator.executions();

    const second = JobExecutionList.parse(
      (await call(emulator, 'GET', `${EXECUTIONS}?page=1&size=7`)).json(),
    );
    const last = JobExecutionList.parse((await call(emulator, 'GET', `${EXECUTIONS}?page=2&size=20`)).json());
    const beyond = JobExecutionList.parse(
      (await call(emulator, 'GET', `${EXECUTIONS}?page=9&size=20`)).json(),
    );

    expect(second.data.map((execution) => execution.id)).toEqual(
      all.slice(7, 14).map((execution) => execution.id),
    );
    expect(last.data).toHaveLength(5);
    expect(beyond).toEqual({ object: 'list', data: [], totalElements: 45 });
  });
});

describe('POST /v1/job_executions/find', () => {
  it('returns 10 matches of page 0 by default with the count of all matches', async () => {
    const emulator = await startEmulator({ demo: { seed: 3, executions: 80 } });
    const completed = emulator.executions().filter((execution) => execution.status === 'COMPLETED');

    const response = await call(emulator, 'POST', FIND, {
      body: { type: 'eq', caseSensitive: true, field: 'status', value: 'COMPLETED' },
    });

    const list = JobExecutionList.parse(response.json());
    expect(list.totalElements).toBe(completed.length);
    expect(list.data).toEqual(completed.slice(0, 10));
  });

  it('accepts the /v1/data_factory/job_executions/find alias and a configured find path', async () => {
    const emulator = await startEmulator({
      demo: { seed: 3, executions: 20 },
      findPath: '/v2/executions/search',
    });
    const query = { type: 'search', field: 'status', value: '' };

    const alias = await call(emulator, 'POST', '/v1/data_factory/job_executions/find', { body: query });
    const configured = await call(emulator, 'POST', '/v2/executions/search?size=3', { body: query });
    const formerDefault = await call(emulator, 'POST', FIND, { body: query });

    expect(JobExecutionList.parse(alias.json()).totalElements).toBe(20);
    expect(JobExecutionList.parse(configured.json()).data).toHaveLength(3);
    expect(formerDefault.status).toBe(404);
  });
});

describe('paging parameters', () => {
  it.each([
    ['page=-1', 'page must be a non-negative integer'],
    ['page=abc', 'page must be a non-negative integer'],
    ['page=1.5', 'page must be a non-negative integer'],
    ['size=0', 'size must be at least 1'],
    ['size=2.5', 'size must be a non-negative integer'],
    ['size=', 'size must be a non-negative integer'],
    ['size=1001', 'size must not be greater than 1000'],
  ])('answers 400 for %s on list and find', async (query, message) => {
    const emulator = await startEmulator();

    const list = await call(emulator, 'GET', `${EXECUTIONS}?${query}`);
    const find = await call(emulator, 'POST', `${FIND}?${query}`, {
      body: { type: 'eq', field: 'status', value: 'x' },
    });

    for (const response of [list, find]) {
      expect(response.status).toBe(400);
      expect(ErrorBody.parse(response.json()).message).toContain(message);
    }
  });

  it('accepts size up to maxPageSize and refuses one more', async () => {
    const emulator = await startEmulator({ demo: { seed: 4, executions: 60 }, maxPageSize: 50 });

    const atMax = await call(emulator, 'GET', `${EXECUTIONS}?size=50`);
    const aboveMax = await call(emulator, 'GET', `${EXECUTIONS}?size=51`);

    expect(JobExecutionList.parse(atMax.json()).data).toHaveLength(50);
    expect(aboveMax.status).toBe(400);
    expect(ErrorBody.parse(aboveMax.json()).message).toBe('size must not be greater than 50');
  });

  it('silently serves maxPageSize items for a larger size in clamp mode', async () => {
    const emulator = await startEmulator({
      demo: { seed: 4, executions: 60 },
      maxPageSize: 25,
      pageSizeOverflow: 'clamp',
    });

    const first = JobExecutionList.parse((await call(emulator, 'GET', `${EXECUTIONS}?size=100`)).json());
    const second = JobExecutionList.parse(
      (
        await call(emulator, 'POST', `${FIND}?size=100&page=1`, {
          body: { type: 'search', field: 'id', value: '' },
        })
      ).json(),
    );

    expect(first.data).toHaveLength(25);
    expect(first.totalElements).toBe(60);
    expect(second.data.map((execution) => execution.id)).toEqual(
      emulator
        .executions()
        .slice(25, 50)
        .map((execution) => execution.id),
    );
  });
});

describe('authentication and routing', () => {
  it.each([
    ['a missing key', null, 'Missing X-Api-Key header'],
    ['a wrong key', 'not-the-key', 'Invalid API key'],
  ])('answers 401 with a JSON body for %s on every endpoint', async (_case, key, message) => {
    const emulator = await startEmulator({ apiKey: 'secret-key', demo: { seed: 1, executions: 20 } });
    const id = emulator.executions()[0]?.id;

    const responses = await Promise.all([
      call(emulator, 'GET', EXECUTIONS, { key }),
      call(emulator, 'GET', `${EXECUTIONS}/${id}`, { key }),
      call(emulator, 'POST', EXECUTIONS, { key, body: { jobId: emulator.jobs()[0]?.id } }),
      call(emulator, 'POST', FIND, { key, body: { type: 'eq', field: 'status', value: 'COMPLETED' } }),
    ]);

    for (const response of responses) {
      expect(response.status).toBe(401);
      expect(ErrorBody.parse(response.json())).toEqual({ statusCode: 401, error: 'Unauthorized', message });
    }
    expect(emulator.executions()).toHaveLength(20);
  });

  it('answers 404 for unknown routes and methods, with or without a key', async () => {
    const emulator = await startEmulator();

    const responses = await Promise.all([
      call(emulator, 'GET', '/v1/jobs'),
      call(emulator, 'DELETE', `${EXECUTIONS}/658445e23ad5b929948ab731`),
      call(emulator, 'PUT', EXECUTIONS, { key: null }),
      call(emulator, 'GET', '/'),
    ]);

    for (const response of responses) {
      expect(response.status).toBe(404);
      expect(ErrorBody.parse(response.json()).error).toBe('Not Found');
    }
    expect(ErrorBody.parse(responses[0]?.json()).message).toBe('Cannot GET /v1/jobs');
  });
});

describe('server lifecycle', () => {
  it('refuses a second start, and serves the same data again after stop and start', async () => {
    const emulator = await startEmulator({ demo: { seed: 8, executions: 20 } });
    const before = await call(emulator, 'GET', EXECUTIONS);

    await expect(emulator.start()).rejects.toThrow(EmulatorAlreadyStartedError);
    await emulator.stop();
    await emulator.start();
    const after = await call(emulator, 'GET', EXECUTIONS);

    expect(JobExecutionList.parse(after.json()).data.map((execution) => execution.id)).toEqual(
      JobExecutionList.parse(before.json()).data.map((execution) => execution.id),
    );
  });
});

describe('response schemas', () => {
  it('serves demo executions that parse with the production schemas, files of both kinds included', async () => {
    const emulator = await startEmulator({ demo: { seed: 5, executions: 200 } });

    const list = JobExecutionList.parse((await call(emulator, 'GET', `${EXECUTIONS}?size=1000`)).json());
    const dataFactoryFiles: unknown[] = [];
    const namedLinks: unknown[] = [];
    collectFiles(list.data, dataFactoryFiles, namedLinks);

    expect(list.data).toHaveLength(200);
    expect(dataFactoryFiles.length).toBeGreaterThan(20);
    expect(namedLinks.length).toBeGreaterThan(20);
    for (const file of dataFactoryFiles) {
      const parsed = DataFactoryFile.parse(file);
      expect(parsed.id).toMatch(/^[0-9a-f]{64}$/);
      expect(parsed.url.startsWith(`${emulator.url}/data-factory/2629/download/${parsed.id}/`)).toBe(true);
    }
    for (const link of namedLinks) expect(NamedFileLink.parse(link).url.startsWith(emulator.url)).toBe(true);
    for (const execution of list.data) {
      expect(execution.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(execution.input).toMatchObject({ context: { jobAccountId: expect.stringMatching(/^\d+$/) } });
    }
  });

  it('adds undocumented fields to some executions with unknownFields, and lets find query them', async () => {
    const plain = await startEmulator({ demo: { seed: 6, executions: 100 } });
    const extended = await startEmulator({ demo: { seed: 6, executions: 100 }, unknownFields: true });

    const list = JobExecutionList.parse((await call(extended, 'GET', `${EXECUTIONS}?size=100`)).json());
    const withExtras = list.data.filter((execution) => 'priority' in execution || 'tags' in execution);
    const byPriority = await call(extended, 'POST', FIND, {
      body: { type: 'greaterOrEqual', field: 'priority', value: 1 },
    });
    const unknownOnPlain = await call(plain, 'POST', FIND, {
      body: { type: 'eq', field: 'priority', value: 1 },
    });

    expect(withExtras.length).toBeGreaterThan(5);
    expect(withExtras.length).toBeLessThan(100);
    expect(JobExecutionList.parse(byPriority.json()).totalElements).toBe(
      list.data.filter((execution) => typeof execution.priority === 'number').length,
    );
    expect(unknownOnPlain.status).toBe(400);
    // Turning the option on changes nothing else: same ids, same documented fields.
    expect(plain.executions().map((execution) => execution.id)).toEqual(
      list.data.map((execution) => execution.id),
    );
  });
});

function collectFiles(value: unknown, dataFactoryFiles: unknown[], namedLinks: unknown[]): void {
  if (Array.isArray(value)) {
    for (const item of value) collectFiles(item, dataFactoryFiles, namedLinks);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const record = value as Record<string, unknown>;
  if (record.object === 'data_factory_file') dataFactoryFiles.push(record);
  else if (typeof record.url === 'string' && typeof record.filename === 'string') namedLinks.push(record);
  for (const item of Object.values(record)) collectFiles(item, dataFactoryFiles, namedLinks);
}
