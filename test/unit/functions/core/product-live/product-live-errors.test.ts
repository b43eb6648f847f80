import { describe, expect, it } from 'vitest';
import {
  isApiStatus,
  isOutcomeUnknown,
  isRetryable,
  isSafeToRepeat,
  ProductLiveApiError,
  ProductLiveAuthError,
  ProductLiveError,
  ProductLiveNetworkError,
  ProductLiveNotFoundError,
  ProductLiveRateLimitError,
  ProductLiveResponseError,
} from '#core/product-live/product-live.errors';
import { parseRetryAfter } from '#core/product-live/product-live-responses';

const request = { method: 'GET', path: '/v1/data_factory/job_executions/x' } as const;
const apiError = (status: number) => new ProductLiveApiError({ ...request, status, body: '' });
const networkError = (requestMayHaveBeenSent: boolean, timedOut = false) =>
  new ProductLiveNetworkError({ ...request, timedOut, requestMayHaveBeenSent, cause: new Error('x') });
const responseError = (problem: 'malformed-json' | 'schema') =>
  new ProductLiveResponseError({ ...request, status: 200, body: '', problem, message: 'bad' });

describe('Product-Live errors', () => {
  it('are named classes that narrow with instanceof', () => {
    const auth = new ProductLiveAuthError({ ...request, status: 401, body: 'no' });
    expect(auth).toBeInstanceOf(ProductLiveApiError);
    expect(auth).toBeInstanceOf(ProductLiveError);
    expect(auth.name).toBe('ProductLiveAuthError');
    expect(new ProductLiveNotFoundError({ ...request, status: 404, body: '' }).name).toBe(
      'ProductLiveNotFoundError',
    );
    expect(
      new ProductLiveRateLimitError({ ...request, status: 429, body: '', retryAfterMs: 5 }).message,
    ).toBe(
      'Product-Live GET /v1/data_factory/job_executions/x was throttled (HTTP 429); server asked to retry after 5 ms',
    );
  });

  it('classify what a read may retry', () => {
    expect(isRetryable(apiError(429))).toBe(true);
    expect(isRetryable(apiError(500))).toBe(true);
    expect(isRetryable(apiError(503))).toBe(true);
    for (const status of [400, 401, 403, 404, 409, 422]) expect(isRetryable(apiError(status))).toBe(false);
    expect(isRetryable(networkError(true))).toBe(true);
    expect(isRetryable(networkError(true, true))).toBe(true);
    expect(isRetryable(responseError('malformed-json'))).toBe(true);
    expect(isRetryable(responseError('schema'))).toBe(false);
    expect(isRetryable(new Error('other'))).toBe(false);
  });

  it('classify what a create may repeat, and when its outcome is unknown', () => {
    expect(isSafeToRepeat(apiError(429))).toBe(true);
    expect(isSafeToRepeat(networkError(false))).toBe(true);
    expect(isSafeToRepeat(apiError(500))).toBe(false);
    expect(isSafeToRepeat(networkError(true))).toBe(false);
    expect(isSafeToRepeat(responseError('malformed-json'))).toBe(false);

    expect(isOutcomeUnknown(apiError(502))).toBe(true);
    expect(isOutcomeUnknown(networkError(true, true))).toBe(true);
    expect(isOutcomeUnknown(responseError('malformed-json'))).toBe(true);
    expect(isOutcomeUnknown(apiError(400))).toBe(false);
    expect(isOutcomeUnknown(apiError(429))).toBe(false);
    expect(isOutcomeUnknown(networkError(false))).toBe(false);
  });

  it('tell an answer of the API by its class, not by a `status` field', () => {
    expect(isApiStatus(apiError(400), 400)).toBe(true);
    expect(isApiStatus(new ProductLiveNotFoundError({ ...request, status: 404, body: '' }), 404)).toBe(true);
    expect(isApiStatus(apiError(400), 404)).toBe(false);
    // Not answers of the API: a plain error that happens to carry a status, a body the client could not use.
    expect(isApiStatus(Object.assign(new Error('proxy said no'), { status: 400 }), 400)).toBe(false);
    expect(isApiStatus({ status: 404 }, 404)).toBe(false);
    expect(isApiStatus(responseError('schema'), 200)).toBe(false);
  });

  it('read Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2024-03-01T10:00:00.000Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 1.5 ', now)).toBe(1_500);
    expect(parseRetryAfter('Fri, 01 Mar 2024 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Fri, 01 Mar 2024 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
