// Parsers of command-line values shared by the local CLIs; a bad value is a UsageError naming the flag.
import { UsageError } from './cli-runner';

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
