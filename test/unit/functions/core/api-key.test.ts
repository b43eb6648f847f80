import type { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { describe, expect, it, vi } from 'vitest';
import { ApiKeyError, createApiKeyResolver } from '#core/api-key';

/** A secrets provider that answers from a map and records every call. */
function fakeSecrets(values: Record<string, string>) {
  const get = vi.fn(async (name: string, _options?: { maxAge?: number; forceFetch?: boolean }) => {
    const value = values[name];
    if (value === undefined)
      throw Object.assign(new Error('not found'), { name: 'ResourceNotFoundException' });
    return value;
  });
  return { provider: { get } as unknown as SecretsProvider, get };
}

describe('API key resolver', () => {
  it('returns the local key as given, also on refresh', async () => {
    const keys = createApiKeyResolver({ kind: 'env', value: 'local-key' });
    expect(await keys.get()).toBe('local-key');
    expect(await keys.refresh()).toBe('local-key');
  });

  it('reads the secret through its own provider, cached for 5 minutes, and re-reads it on refresh', async () => {
    const { provider, get } = fakeSecrets({ 'product-live/api-key': '{"apiKey": "k-1"}' });
    const keys = createApiKeyResolver({ kind: 'secret', secretId: 'product-live/api-key' }, provider);
    expect(await keys.get()).toBe('k-1');
    expect(get).toHaveBeenLastCalledWith('product-live/api-key', { maxAge: 300, forceFetch: false });
    expect(await keys.refresh()).toBe('k-1');
    expect(get).toHaveBeenLastCalledWith('product-live/api-key', { maxAge: 300, forceFetch: true });
  });

  it('keeps each resolver on its own provider: one injected provider never becomes the others', async () => {
    const first = fakeSecrets({ s: 'key-from-first' });
    const second = fakeSecrets({ s: 'key-from-second' });
    const a = createApiKeyResolver({ kind: 'secret', secretId: 's' }, first.provider);
    const b = createApiKeyResolver({ kind: 'secret', secretId: 's' }, second.provider);
    expect(await a.get()).toBe('key-from-first');
    expect(await b.get()).toBe('key-from-second');
    expect(await a.get()).toBe('key-from-first');
    expect(first.get).toHaveBeenCalledTimes(2);
    expect(second.get).toHaveBeenCalledTimes(1);
  });

  it('names the secret, never its value, when it cannot be read or holds no key', async () => {
    const { provider } = fakeSecrets({ empty: '   ', json: '{"key": "secret-value"}' });
    const read = (secretId: string) => createApiKeyResolver({ kind: 'secret', secretId }, provider).get();
    await expect(read('missing')).rejects.toThrow(
      new ApiKeyError('could not read the API key from secret missing: ResourceNotFoundException'),
    );
    await expect(read('empty')).rejects.toThrow('secret empty is empty or not a string secret');
    const error = await read('json').catch((caught: unknown) => caught);
    expect(String(error)).toContain('secret json is JSON without a non-empty "apiKey" string');
    expect(String(error)).not.toContain('secret-value');
  });
});
