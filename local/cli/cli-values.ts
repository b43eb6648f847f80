// Parsers of command-line values shared by the local CLIs; a bad value is a UsageError naming the flag.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { UsageError } from './cli-runner';

/** How a CLI words the command lines node's parseArgs refuses (the wording is each CLI's documented own). */
interface CommandLineWording {
  /** `unknown flag --x` instead of node's `Unknown option '--x'`. */
  unknownFlag?: boolean;
  /** Flags refused with a message of their own instead (e.g. `--api-key`, never taken by some commands). */
  refused?: Readonly<Record<string, string>>;
  /** The usage shown is that of the command named (the first argument that is not a flag). */
  byCommand?: boolean;
}

/**
 * Parses a command line strictly (node's parseArgs: an unknown flag, a missing value or an unexpected
 * argument throws): what it refuses is a UsageError, so the CLI prints it with the usage and exits 2.
 */
export function parseCommandLine<const O extends ParseArgsOptionsConfig, const P extends boolean = false>(
  argv: readonly string[],
  config: { options: O; allowPositionals?: P },
  wording: CommandLineWording = {},
) {
  try {
    return parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: (config.allowPositionals ?? false) as P,
      options: config.options,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const named = wording.byCommand ? argv.find((argument) => !argument.startsWith('-')) : undefined;
    const unknown = /^Unknown option '([^']+)'/.exec(message)?.[1];
    const refusal = unknown === undefined ? undefined : wording.refused?.[unknown];
    if (refusal !== undefined) throw new UsageError(refusal, named);
    if (unknown !== undefined && wording.unknownFlag) throw new UsageError(`unknown flag ${unknown}`, named);
    throw new UsageError(message, named);
  }
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

/**
 * Refuses a data directory that cannot be one: a path that is a file, or a directory this user cannot read
 * (exit 2, naming it). A directory that does not exist yet passes: `npm start` creates it, and the other
 * commands say there is no store in it.
 */
export async function checkDataDir(
  dir: string,
  flag = '--data-dir',
  fs: { stat: typeof stat; access: typeof access } = { stat, access },
): Promise<void> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await fs.stat(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR')
      throw new UsageError(`${flag}: ${dir} is not a directory (a part of it is a file)`);
    throw new UsageError(`${flag}: ${dir} cannot be read (${code ?? 'error'})`);
  }
  if (!info.isDirectory()) throw new UsageError(`${flag}: ${dir} is a file, not a directory`);
  try {
    await fs.access(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch {
    throw new UsageError(`${flag}: ${dir} cannot be read or written by this user (check its permissions)`);
  }
}

/**
 * Refuses an output file that cannot be written before anything is read: its directory must exist and be
 * writable, and the path itself must not be a directory (exit 2, naming the flag).
 */
export async function checkOutputFile(path: string, flag = '--out'): Promise<void> {
  const directory = dirname(path);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(directory);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT'
        ? `${flag}: the directory ${directory} does not exist`
        : `${flag}: the directory ${directory} cannot be used (${code ?? 'error'})`,
    );
  }
  if (!info.isDirectory()) throw new UsageError(`${flag}: ${directory} is not a directory`);
  try {
    await access(directory, constants.W_OK | constants.X_OK);
  } catch {
    throw new UsageError(`${flag}: the directory ${directory} is not writable by this user`);
  }
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) throw new UsageError(`${flag}: ${path} is a directory, not a file`);
}

/**
 * An S3 bucket name as S3 allows it (general purpose buckets): 3 to 63 characters, lowercase letters, digits, dots
 * and hyphens, a letter or digit at both ends, no two dots in a row, not an IP address. Checked before the name is
 * used anywhere, a local path included (the lake copy's directory is named after it).
 */
export function parseBucketName(text: string, name: string): string {
  const bucket = text.trim();
  const valid =
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) &&
    !bucket.includes('..') &&
    !/^\d{1,3}(\.\d{1,3}){3}$/.test(bucket);
  if (!valid) {
    throw new UsageError(
      `${name}: ${JSON.stringify(text)} is not a valid S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit, no "..", not an IP address)`,
    );
  }
  return bucket;
}
