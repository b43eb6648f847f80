// Layer flow: handlers -> resolveApiKey -> Secrets Manager (Powertools parameters, cached) or, for local
// runs only, the environment. The key is returned to the caller and never logged.
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { ApiKeySource } from './config';

/** Raised when the secret is missing or holds no usable key; the message never contains the value. */
export class ApiKeyError extends Error {
  override readonly name = 'ApiKeyError';
}

/** Seconds a fetched key is cached, so a rotated key is picked up without a cold start. */
const SECRET_MAX_AGE_SECONDS = 300;

let provider: SecretsProvider | undefined;

/**
 * The API key: the secret's value as plain text, or its `apiKey` field when the secret is JSON
 * (`{"apiKey": "..."}`).
 */
export async function resolveApiKey(source: ApiKeySource, secrets?: SecretsProvider): Promise<string> {
  if (source.kind === 'env') return source.value;
  provider ??= secrets ?? new SecretsProvider();
  let value: unknown;
  try {
    value = await (secrets ?? provider).get(source.secretId, { maxAge: SECRET_MAX_AGE_SECONDS });
  } catch (error) {
    throw new ApiKeyError(
      `could not read the API key from secret ${source.secretId}: ${(error as Error).name ?? 'error'}`,
      { cause: error },
    );
  }
  return parseSecretValue(value, source.secretId);
}

/** Accepts a plain-text key or JSON with an `apiKey` string. */
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
