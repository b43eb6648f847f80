// Keeps the API key out of everything the client hands back or logs: error messages, response bodies
// a server might echo, and the cause chains of network failures (undici can quote header values).

export const REDACTED = '[REDACTED]';

/** Replaces a secret (and its URL- and JSON-escaped forms) in text and in error chains. */
export interface SecretRedactor {
  redactText(text: string): string;
  /** A fresh `Error` copy of `error` (name, message, stack, code, cause chain), redacted. */
  redactError(error: unknown): Error;
}

/** Builds a redactor for one secret. The secret must be non-empty. */
export function createSecretRedactor(secret: string): SecretRedactor {
  const forms = [
    ...new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]),
  ].filter((form) => form.length > 0);
  const redactText = (text: string): string =>
    forms.reduce((result, form) => result.replaceAll(form, REDACTED), text);

  const redactError = (error: unknown, depth = 0): Error => {
    if (!(error instanceof Error)) return new Error(redactText(String(error)));
    const copy = new Error(redactText(error.message));
    copy.name = redactText(error.name);
    copy.stack = error.stack === undefined ? undefined : redactText(error.stack);
    const code: unknown = Reflect.get(error, 'code');
    if (typeof code === 'string' || typeof code === 'number') Reflect.set(copy, 'code', code);
    if (error.cause !== undefined && depth < 5) copy.cause = redactError(error.cause, depth + 1);
    return copy;
  };

  return { redactText, redactError: (error) => redactError(error) };
}
