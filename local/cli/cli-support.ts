// Shared pieces of the local CLIs: usage errors (exit code 2), durations, and one-line failure messages.

/** A bad command line: the CLI prints the message and its usage text, and exits with code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A problem of the environment the user can fix (Java missing, port taken, key rejected): exit code 2. */
export class SetupError extends Error {
  override readonly name = 'SetupError';
}

/** Parses `90s`, `1m`, `5m`, `1h` (or a plain number of seconds) into milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new UsageError(`${flag}: expected a duration such as 30s, 1m or 1h, got "${text}"`);
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  const factor = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[unit] ?? 1_000;
  return value * factor;
}

/** Parses a TCP port flag. */
export function parsePort(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new UsageError(`${flag}: expected a port number from 1 to 65535, got "${text}"`);
  }
  return port;
}

/** Parses a non-negative integer flag. */
export function parseCount(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0)
    throw new UsageError(`${flag}: expected a whole number, got "${text}"`);
  return value;
}

/** Runs a CLI's main function: usage and setup errors exit 2 with one line, anything else exits 1. */
export async function runCli(main: () => Promise<number>, usage: string): Promise<void> {
  try {
    process.exitCode = await main();
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`error: ${error.message}\n\n${usage}\n`);
      process.exitCode = 2;
    } else if (error instanceof SetupError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    }
  }
}
