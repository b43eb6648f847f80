// Layer flow: any layer -> describeError -> one line for logs, summaries and dead letters.

/**
 * An error as one readable line: `Name: message`, then the message of each cause that adds something
 * (`TypeError: fetch failed: other side closed`). Anything else thrown is stringified. Never throws.
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  let line = `${error.name}: ${error.message}`;
  let cause: unknown = error.cause;
  for (let depth = 0; depth < 4 && cause instanceof Error; depth += 1) {
    if (cause.message && !line.includes(cause.message)) line += `: ${cause.message}`;
    cause = cause.cause;
  }
  return line;
}
