// The find query language over HTTP: every operator, nesting, caseSensitive, dotted fields, and the 400s
// that tell a client what is wrong with its query. Expected results come from the ground truth
// (`emulator.executions()`) filtered by plain JavaScript.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { type JobExecution, JobExecutionList } from '#core/product-live/product-live.schema';
import { createEmulator, type Emulator, ManualClock } from '#local/emulator/index';

const SAME_AT = '2024-05-20T08:30:00.125Z';
const ErrorBody = z.object({
  statusCode: z.literal(400),
  error: z.literal('Bad Request'),
  message: z.string(),
});

let emulator: Emulator;
let all: JobExecution[];

beforeAll(async () => {
  emulator = createEmulator({
    clock: new ManualClock('2024-06-01T12:00:00.000Z'),
    rateLimit: false,
    demo: { seed: 11, executions: 300, sameCreatedAt: { count: 12, at: SAME_AT } },
  });
  await emulator.start();
  all = emulator.executions();
});

afterAll(async () => {
  await emulator.stop();
});

async function find(query: unknown, paging = 'size=1000') {
  const response = await fetch(`${emulator.url}/v1/job_executions/find?${paging}`, {
    method: 'POST',
    headers: { 'X-Api-Key': emulator.apiKey, 'Content-Type': 'application/json' },
    body: typeof query === 'string' ? query : JSON.stringify(query),
  });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as unknown };
}

async function findIds(query: unknown): Promise<string[]> {
  const response = await find(query);
  expect(response.status).toBe(200);
  const list = JobExecutionList.parse(response.body);
  expect(list.totalElements).toBe(list.data.length);
  return list.data.map((execution) => execution.id);
}

function idsWhere(predicate: (execution: JobExecution) => boolean): string[] {
  return all.filter(predicate).map((execution) => execution.id);
}

const ms = (value: unknown): number => (typeof value === 'string' ? Date.parse(value) : Number.NaN);
const title = (execution: JobExecution): string => execution.info?.title ?? '';

describe('find criteria', () => {
  it('eq compares strings case-insensitively by default and exactly with caseSensitive: true', async () => {
    const completed = idsWhere((execution) => execution.status === 'COMPLETED');

    expect(await findIds({ type: 'eq', field: 'status', value: 'completed' })).toEqual(completed);
    expect(await findIds({ type: 'eq', caseSensitive: false, field: 'status', value: 'Completed' })).toEqual(
      completed,
    );
    expect(await findIds({ type: 'eq', caseSensitive: true, field: 'status', value: 'completed' })).toEqual(
      [],
    );
    expect(await findIds({ type: 'eq', caseSensitive: true, field: 'status', value: 'COMPLETED' })).toEqual(
      completed,
    );
    expect(completed.length).toBeGreaterThan(100);
  });

  it('eq on a date field compares instants, whatever the offset the value is written with', async () => {
    const sameInstantOtherOffset = '2024-05-20T10:30:00.125+02:00';

    const ids = await findIds({ type: 'eq', field: 'createdAt', value: sameInstantOtherOffset });

    expect(ids).toEqual(idsWhere((execution) => execution.createdAt === SAME_AT));
    expect(ids).toHaveLength(12);
  });

  it.each([
    ['greater', (a: number, b: number) => a > b],
    ['greaterOrEqual', (a: number, b: number) => a >= b],
    ['lower', (a: number, b: number) => a < b],
    ['lowerOrEqual', (a: number, b: number) => a <= b],
  ] as const)('%s on createdAt includes or excludes executions at exactly the bound', async (type, holds) => {
    const ids = await findIds({ type, field: 'createdAt', value: SAME_AT });

    expect(ids).toEqual(idsWhere((execution) => holds(ms(execution.createdAt), ms(SAME_AT))));
    expect(ids.length).toBeGreaterThan(0);
  });

  it('comparisons on startedAt and endedAt never match executions where the field is absent', async () => {
    const bound = '2000-01-01T00:00:00.000Z';

    const started = await findIds({ type: 'greater', field: 'startedAt', value: bound });
    const ended = await findIds({ type: 'greater', field: 'endedAt', value: bound });

    expect(started).toEqual(idsWhere((execution) => execution.startedAt !== undefined));
    expect(ended).toEqual(idsWhere((execution) => execution.endedAt !== undefined));
    expect(ended.length).toBeLessThan(all.length);
  });

  it('greater and lower compare strings such as ids', async () => {
    const middle = [...all].map((execution) => execution.id).sort()[150] ?? '';

    expect(await findIds({ type: 'greater', field: 'id', value: middle })).toEqual(
      idsWhere((execution) => execution.id > middle),
    );
    expect(await findIds({ type: 'lowerOrEqual', field: 'id', value: middle.toUpperCase() })).toEqual(
      idsWhere((execution) => execution.id <= middle),
    );
  });

  it('in matches any of the listed values (ids, statuses), case-insensitively by default', async () => {
    const picked = all.filter((_, index) => index % 37 === 0).map((execution) => execution.id);

    expect(await findIds({ type: 'in', field: 'id', value: picked })).toEqual(picked);
    expect(await findIds({ type: 'in', field: 'status', value: ['pending', 'RUNNING'] })).toEqual(
      idsWhere((execution) => execution.status === 'PENDING' || execution.status === 'RUNNING'),
    );
    expect(
      await findIds({ type: 'in', caseSensitive: true, field: 'status', value: ['pending', 'running'] }),
    ).toEqual([]);
    expect(await findIds({ type: 'in', field: 'id', value: [] })).toEqual([]);
  });

  it('search matches a substring, case-insensitively unless caseSensitive is true', async () => {
    const amazon = idsWhere((execution) => title(execution).includes('Amazon'));

    expect(await findIds({ type: 'search', field: 'info.title', value: 'amazon' })).toEqual(amazon);
    expect(
      await findIds({ type: 'search', caseSensitive: true, field: 'info.title', value: 'amazon' }),
    ).toEqual([]);
    expect(
      await findIds({ type: 'search', caseSensitive: true, field: 'info.title', value: 'Amazon' }),
    ).toEqual(amazon);
    expect(amazon.length).toBeGreaterThan(10);
  });

  it('reads dotted paths into input and output, through arrays', async () => {
    const userId = '6120';
    const byUser = idsWhere(
      (execution) => (execution.input as { context?: { userId?: string } }).context?.userId === userId,
    );
    const withCsvOutput = idsWhere((execution) =>
      JSON.stringify((execution.output as { files?: unknown }).files ?? []).includes('.csv'),
    );

    expect(await findIds({ type: 'eq', field: 'input.context.userId', value: userId })).toEqual(byUser);
    expect(await findIds({ type: 'search', field: 'output.files.url', value: '.csv' })).toEqual(
      withCsvOutput,
    );
    expect(byUser.length).toBeGreaterThan(0);
    expect(withCsvOutput.length).toBeGreaterThan(0);
  });
});

describe('find groups', () => {
  it('combines criteria with and/or nested to any depth', async () => {
    const query = {
      type: 'and',
      queries: [
        {
          type: 'or',
          queries: [
            { type: 'eq', field: 'status', value: 'FAILED' },
            { type: 'and', queries: [{ type: 'eq', field: 'status', value: 'USER_ERROR' }] },
          ],
        },
        { type: 'or', queries: [{ type: 'search', field: 'info.title', value: 'import' }] },
        { type: 'greaterOrEqual', field: 'createdAt', value: '2024-05-10T00:00:00.000Z' },
      ],
    };

    const ids = await findIds(query);

    expect(ids).toEqual(
      idsWhere(
        (execution) =>
          (execution.status === 'FAILED' || execution.status === 'USER_ERROR') &&
          title(execution).toLowerCase().includes('import') &&
          ms(execution.createdAt) >= ms('2024-05-10T00:00:00.000Z'),
      ),
    );
    expect(ids.length).toBeGreaterThan(0);
  });

  it('pages over the matches and counts all of them', async () => {
    const completed = idsWhere((execution) => execution.status === 'COMPLETED');

    const response = await find({ type: 'eq', field: 'status', value: 'COMPLETED' }, 'page=2&size=15');

    const list = JobExecutionList.parse(response.body);
    expect(list.totalElements).toBe(completed.length);
    expect(list.data.map((execution) => execution.id)).toEqual(completed.slice(30, 45));
  });
});

describe('supported operators', () => {
  it('refuses the operators left out of findOperators as unknown types, even nested', async () => {
    const strict = createEmulator({
      clock: new ManualClock('2024-06-01T12:00:00.000Z'),
      rateLimit: false,
      findOperators: ['eq', 'greater', 'greaterOrEqual', 'in', 'search', 'and', 'or'],
    });
    await strict.start();
    try {
      const ask = (query: unknown) =>
        fetch(`${strict.url}/v1/job_executions/find`, {
          method: 'POST',
          headers: { 'X-Api-Key': strict.apiKey, 'Content-Type': 'application/json' },
          body: JSON.stringify(query),
        });
      const lower = { type: 'lower', field: 'createdAt', value: SAME_AT };

      const refused = await ask({ type: 'and', queries: [lower] });
      const accepted = await ask({ type: 'greaterOrEqual', field: 'createdAt', value: SAME_AT });

      expect(refused.status).toBe(400);
      expect(ErrorBody.parse(await refused.json()).message).toContain(
        'queries[0].type: unknown type "lower"',
      );
      expect(accepted.status).toBe(200);
    } finally {
      await strict.stop();
    }
  });
});

describe('invalid find queries', () => {
  it.each([
    ['an unknown type', { type: 'like', field: 'status', value: 'x' }, 'at type: unknown type "like"'],
    ['a missing type', { field: 'status', value: 'x' }, 'missing "type"'],
    ['a missing field', { type: 'eq', value: 'x' }, '"eq" needs a "field"'],
    ['a missing value', { type: 'eq', field: 'status' }, '"eq" needs a "value"'],
    ['in without an array', { type: 'in', field: 'id', value: 'abc' }, 'at value: "in" needs an array value'],
    ['empty queries', { type: 'and', queries: [] }, 'at queries: "and" needs at least one query'],
    ['missing queries', { type: 'or' }, '"or" needs a "queries" array'],
    [
      'an unknown field',
      { type: 'eq', field: 'updatedAt', value: 'x' },
      'at field: unknown field "updatedAt"',
    ],
    [
      'an unknown nested field',
      { type: 'and', queries: [{ type: 'eq', field: 'foo.bar', value: 1 }] },
      'at queries[0].field: unknown field "foo"',
    ],
    [
      'a date that does not parse',
      { type: 'greater', field: 'createdAt', value: 'yesterday' },
      '"createdAt" is a date',
    ],
    [
      'a non-boolean caseSensitive',
      { type: 'eq', caseSensitive: 'yes', field: 'status', value: 'x' },
      'at caseSensitive',
    ],
    [
      'an object value',
      { type: 'eq', field: 'status', value: { a: 1 } },
      'expected a string, number, boolean or null',
    ],
    ['a non-string search', { type: 'search', field: 'status', value: 3 }, '"search" needs a string value'],
    ['a JSON array body', [], 'expected a query object, got an array'],
    ['a JSON string body', '"status"', 'expected a query object, got the string'],
    ['a JSON null body', 'null', 'expected a query object, got null'],
    ['a malformed JSON body', '{"type": "eq",', 'Malformed JSON body'],
  ])('answers 400 for %s, saying what is wrong', async (_case, query, message) => {
    const response = await find(query);

    expect(response.status).toBe(400);
    expect(ErrorBody.parse(response.body).message).toContain(message);
  });
});
