// The 50 requests/minute limit: a sliding 60-second window per API key, answered with 429 and a
// Retry-After in each configured style, recovering exactly when the window slides. Time is a ManualClock.
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { type Emulator, ManualClock } from '#local/emulator/index';
import { startEmulator as startTestEmulator, type TestEmulatorOptions } from '../support/emulator';

const T0 = Date.parse('2024-06-01T12:00:00.000Z');

const startEmulator = (options: TestEmulatorOptions = {}) =>
  startTestEmulator({
    clock: new ManualClock(T0),
    rateLimit: undefined,
    demo: { seed: 41, executions: 30 },
    ...options,
  });

async function list(emulator: Emulator, key: string | null = emulator.apiKey) {
  const response = await fetch(`${emulator.url}/v1/data_factory/job_executions?size=1`, {
    headers: key === null ? {} : { 'X-Api-Key': key },
  });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: (await response.json()) as unknown,
  };
}

async function burst(emulator: Emulator, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) statuses.push((await list(emulator)).status);
  return statuses;
}

describe('rate limit', () => {
  it('answers 429 with Retry-After in seconds after 50 requests in a minute', async () => {
    const { emulator } = await startEmulator();

    const statuses = await burst(emulator, 50);
    const refused = await list(emulator);

    expect(statuses.every((status) => status === 200)).toBe(true);
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toBe('60');
    expect(
      z
        .object({ statusCode: z.literal(429), error: z.literal('Too Many Requests'), message: z.string() })
        .parse(refused.body),
    ).toBeTruthy();
  });

  it('slides the window: a slot frees exactly 60 s after the request that used it', async () => {
    const { emulator, clock } = await startEmulator();
    for (let i = 0; i < 50; i++) {
      expect((await list(emulator)).status).toBe(200);
      clock.advance(1_000); // requests at T0, T0+1s, ..., T0+49s
    }
    clock.set(T0 + 50_500);

    const refused = await list(emulator);
    expect(refused).toMatchObject({ status: 429, retryAfter: '10' }); // the T0 slot frees at T0+60s
    clock.set(T0 + 59_999);
    expect((await list(emulator)).status).toBe(429);
    clock.set(T0 + 60_000);
    expect((await list(emulator)).status).toBe(200);
    const next = await list(emulator);
    expect(next).toMatchObject({ status: 429, retryAfter: '1' }); // the T0+1s slot frees at T0+61s
    clock.set(T0 + 61_000);
    expect((await list(emulator)).status).toBe(200);
  });

  it('recovers completely once a full window has passed', async () => {
    const { emulator, clock } = await startEmulator();
    await burst(emulator, 51);

    clock.advance(60_000);

    expect(await burst(emulator, 50)).toEqual(Array(50).fill(200));
    expect((await list(emulator)).status).toBe(429);
  });

  it('sends Retry-After as an HTTP-date of the instant a slot frees', async () => {
    const { emulator, clock } = await startEmulator({ rateLimit: { retryAfter: 'http-date' } });
    await burst(emulator, 50);
    clock.advance(12_345);

    const refused = await list(emulator);

    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toBe(new Date(T0 + 60_000).toUTCString());
  });

  it('sends no Retry-After with retryAfter: none', async () => {
    const { emulator } = await startEmulator({ rateLimit: { retryAfter: 'none' } });
    await burst(emulator, 50);

    const refused = await list(emulator);

    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toBeNull();
  });

  it('honours a custom limit and window', async () => {
    const { emulator, clock } = await startEmulator({
      rateLimit: { requestsPerMinute: 3, windowMs: 10_000 },
    });

    expect(await burst(emulator, 4)).toEqual([200, 200, 200, 429]);
    clock.advance(10_000);
    expect(await burst(emulator, 3)).toEqual([200, 200, 200]);
  });

  it('does not count refused requests, unauthenticated requests, programmatic calls or downloads', async () => {
    const { emulator, clock } = await startEmulator();
    const file = emulator.addFile({ filename: 'a.csv', size: 10 });
    for (let i = 0; i < 10; i++) expect((await list(emulator, 'wrong')).status).toBe(401);
    for (let i = 0; i < 10; i++) expect((await fetch(file.url)).status).toBe(200);
    const job = emulator.jobs()[0];
    for (let i = 0; i < 10; i++) emulator.createExecution(job?.id ?? '');

    expect(await burst(emulator, 50)).toEqual(Array(50).fill(200));
    for (let i = 0; i < 5; i++) expect((await list(emulator)).status).toBe(429);
    clock.advance(60_000);
    expect(await burst(emulator, 50)).toEqual(Array(50).fill(200));
  });

  it('counts downloads with rateLimitDownloads', async () => {
    const { emulator } = await startEmulator({
      rateLimitDownloads: true,
      rateLimit: { requestsPerMinute: 5 },
    });
    const file = emulator.addFile({ filename: 'a.csv', size: 10 });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(file.url)).status);

    statuses.push(...(await burst(emulator, 3)));

    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it('can be turned off, at creation or at run time', async () => {
    const { emulator } = await startEmulator({ rateLimit: false });
    expect((await burst(emulator, 120)).every((status) => status === 200)).toBe(true);

    emulator.setRateLimit({ requestsPerMinute: 2 });

    expect(await burst(emulator, 3)).toEqual([200, 200, 429]);
  });
});
