import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { AppLogger } from '#core/observability';
import { ProductLiveError } from '#core/product-live/product-live.errors';
import { ProductLiveClient } from '#core/product-live/product-live-client';
import { REDACTED } from '#core/product-live/redact-secret';
import { fakeFetch, jsonReply, type Reply, textReply } from '../../../../builders/fetch-responder';
import { aJobExecution } from '../../../../builders/job-execution.builder';

const API_KEY = 'pl-secret-3b1f9e7a-KEY';

/** Every string reachable from `value`: own properties (enumerable or not, e.g. message, stack, cause) and getters. */
function serialiseEverything(value: unknown, seen = new Set<unknown>()): string {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return String(value);
  if (seen.has(value)) return '';
  seen.add(value);
  const parts: string[] = [];
  for (
    let target: object | null = value;
    target && target !== Object.prototype;
    target = Object.getPrototypeOf(target)
  ) {
    for (const key of Object.getOwnPropertyNames(target)) {
      if (key === 'constructor') continue;
      let property: unknown;
      try {
        property = Reflect.get(value, key);
      } catch {
        continue;
      }
      if (typeof property === 'function') continue;
      parts.push(`${key}=${serialiseEverything(property, seen)}`);
    }
  }
  if (Array.isArray(value)) parts.push(...value.map((item) => serialiseEverything(item, seen)));
  return parts.join('\n');
}

/** JSON.stringify that also writes an error's non-enumerable message, stack and cause, and skips cycles. */
function jsonWithErrorFields(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item !== 'object' || item === null) return item;
    if (seen.has(item)) return '[cycle]';
    seen.add(item);
    return item instanceof Error
      ? { ...item, message: item.message, stack: item.stack, cause: item.cause }
      : item;
  });
}

function expectNoKey(value: unknown): void {
  const everything = [
    serialiseEverything(value),
    inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true, getters: true }),
    jsonWithErrorFields(value),
  ].join('\n');
  expect(everything).not.toContain(API_KEY);
  expect(everything).not.toContain(encodeURIComponent(API_KEY));
}

function capturingLogger(lines: string[]): AppLogger {
  const capture =
    (level: string) =>
    (message: string, ...attributes: Record<string, unknown>[]) =>
      lines.push(`${level} ${message} ${JSON.stringify(attributes)}`);
  return { debug: capture('debug'), info: capture('info'), warn: capture('warn'), error: capture('error') };
}

async function failWith(replies: Reply[], call: (client: ProductLiveClient) => Promise<unknown>) {
  const logs: string[] = [];
  const events: unknown[] = [];
  const { fetch, requests } = fakeFetch(replies);
  const client = new ProductLiveClient({
    baseUrl: 'https://api.product-live.com',
    apiKey: API_KEY,
    fetch,
    sleep: async () => {},
    maxAttempts: 2,
    logger: capturingLogger(logs),
    onRequest: (event) => events.push(event),
  });
  const error = await call(client).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  return { error, logs, events, requests, client };
}

const getOne = (client: ProductLiveClient) => client.getJobExecution('658445e23ad5b929948ab731');

describe('ProductLiveClient keeps the API key secret', () => {
  it('sends the key only in the X-Api-Key header', async () => {
    const { requests } = await failWith([jsonReply(aJobExecution())], getOne);
    expect(requests[0]?.headers['x-api-key']).toBe(API_KEY);
    expect(requests[0]?.url.href).not.toContain(API_KEY);
  });

  it.each<[string, () => Reply[]]>([
    ['a 401 body echoing the key', () => [textReply(`{"error":"invalid key ${API_KEY}"}`, 401)]],
    [
      'a 500 body echoing the key URL-encoded',
      () => [textReply(`key=${encodeURIComponent(API_KEY)}`, 500), textReply(`key: ${API_KEY}`, 500)],
    ],
    [
      'a malformed 2xx body quoting the key (JSON.parse quotes the body in its message)',
      () => [textReply(`${API_KEY} <html>`), textReply(`${API_KEY}!`)],
    ],
    [
      'an invalid execution whose id is the key',
      () => [jsonReply({ ...aJobExecution({ id: API_KEY }), createdAt: 1 })],
    ],
    [
      'a network failure whose cause quotes the header value',
      () => [
        new TypeError('fetch failed', {
          cause: Object.assign(new TypeError(`Headers.append: "${API_KEY}" is an invalid header value.`), {
            code: 'ERR_INVALID_ARG_VALUE',
            headerValue: API_KEY,
          }),
        }),
        new TypeError(`fetch failed for ${API_KEY}`),
      ],
    ],
  ])('redacts %s from the error, its causes, the logs and the request events', async (_label, replies) => {
    const { error, logs, events, client } = await failWith(replies(), getOne);

    expect(error).toBeInstanceOf(ProductLiveError);
    expectNoKey(error);
    expectNoKey(logs);
    expect(logs.join('\n')).not.toContain(API_KEY);
    expectNoKey(events);
    expectNoKey(client);
    expect(serialiseEverything(error)).toContain(REDACTED);
  });

  it('keeps the redacted body useful', async () => {
    const { error } = await failWith([textReply(`{"error":"invalid key ${API_KEY}"}`, 403)], getOne);
    expect(error).toMatchObject({ status: 403, body: `{"error":"invalid key ${REDACTED}"}` });
  });
});
