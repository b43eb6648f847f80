// Layer flow: handlers -> an ApiKeyResolver -> Secrets Manager (Powertools parameters, cached) or, for local
// runs only, the environment. The key is returned to the caller and never logged.
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { ApiKeySource } from './config';

/** Raised when the secret is missing or holds no usable key; the message never contains the value. */
export class ApiKeyError extends Error {
  override readonly name = 'ApiKeyError';
}

/** Seconds a fetched key is cached, so a rotated key is picked up without a cold start. */
const SECRET_MAX_AGE_SECONDS = 300;

/** The API key of one function: read once, cached, re-read when it may have been rotated. */
export interface ApiKeyResolver {
  /** The key (cached for 5 minutes). */
  get(): Promise<string>;
  /** The key read afresh from its secret, bypassing the cache (after the API refused the cached one). */
  refresh(): Promise<string>;
}

/**
 * A resolver for `source`. Each resolver has its own secrets provider (its cache): `secrets` replaces the
 * default one (tests pass a fake), for this resolver only.
 */
export function createApiKeyResolver(source: ApiKeySource, secrets?: SecretsProvider): ApiKeyResolver {
  if (source.kind === 'env') {
    const key = source.value;
    return { get: async () => key, refresh: async () => key };
  }
  let provider = secrets;
  const read = async (forceFetch: boolean): Promise<string> => {
    provider ??= new SecretsProvider();
    let value: unknown;
    try {
      value = await provider.get(source.secretId, { maxAge: SECRET_MAX_AGE_SECONDS, forceFetch });
    } catch (error) {
      throw new ApiKeyError(
        `could not read the API key from secret ${source.secretId}: ${(error as Error).name ?? 'error'}`,
        { cause: error },
      );
    }
    return parseSecretValue(value, source.secretId);
  };
  return { get: () => read(false), refresh: () => read(true) };
}

/**
 * The API key in a secret's value: the value as plain text, or its `apiKey` field when the secret is JSON
 * (`{"apiKey": "..."}`).
 */
export function parseSecretValue(value: unknown, secretId: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ApiKeyError(`secret ${secretId} is empty or not a string secret`);
  }
  const text = value.trim();
  if (text.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ApiKeyError(`secret ${secretId} looks like JSON but does not parse`);
    }
    const key = (parsed as { apiKey?: unknown }).apiKey;
    if (typeof key !== 'string' || key.trim() === '') {
      throw new ApiKeyError(`secret ${secretId} is JSON without a non-empty "apiKey" string`);
    }
    return key.trim();
  }
  return text;
}
