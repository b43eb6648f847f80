// Layer flow: the CLIs that take a Product-Live API key (npm start, the emulator, doctor) -> readApiKeyOption ->
// the key from a file (--api-key-file), the environment (PRODUCT_LIVE_API_KEY) or, with a warning, the command
// line. A key on the command line is in the process list, where every user of the machine can read it.
import { readFileSync, statSync } from 'node:fs';
import { UsageError } from './cli-runner';

/** The flags every command that takes a key accepts. */
export const API_KEY_OPTIONS = {
  'api-key': { type: 'string' },
  'api-key-file': { type: 'string' },
} as const;

/** Lines of the usage texts, the same for every command. */
export const API_KEY_USAGE = `  --api-key-file PATH    a file holding the API key (or env PRODUCT_LIVE_API_KEY); never printed
  --api-key KEY          the key itself: discouraged, other users of this machine can read it in the
                         process list (a warning says so)`;

/** Where a key came from, for messages that must never show the key itself. */
export type ApiKeySourceName = '--api-key-file' | 'PRODUCT_LIVE_API_KEY' | '--api-key';

export interface ApiKeyOption {
  key: string;
  source: ApiKeySourceName;
}

/** Largest key file read: a key is a short line. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

/**
 * The API key the command line or the environment gives: `--api-key-file PATH` first, then `--api-key KEY`
 * (with a warning through `warn`), then `PRODUCT_LIVE_API_KEY`; undefined when none is given. A bad file is a
 * usage error that names the file, never its content.
 */
export function readApiKeyOption(
  values: { 'api-key'?: string | undefined; 'api-key-file'?: string | undefined },
  env: Record<string, string | undefined>,
  warn: (message: string) => void,
): ApiKeyOption | undefined {
  const file = values['api-key-file'];
  if (file !== undefined && values['api-key'] !== undefined) {
    throw new UsageError('choose one of --api-key-file and --api-key');
  }
  if (file !== undefined) return { key: readKeyFile(file, warn), source: '--api-key-file' };
  if (values['api-key'] !== undefined) {
    if (values['api-key'].trim() === '') throw new UsageError('--api-key must not be empty');
    warn(
      '--api-key puts the key in the process list, where other users of this machine can read it: ' +
        'use --api-key-file PATH or the environment variable PRODUCT_LIVE_API_KEY instead',
    );
    return { key: values['api-key'].trim(), source: '--api-key' };
  }
  const fromEnv = env.PRODUCT_LIVE_API_KEY?.trim();
  return fromEnv ? { key: fromEnv, source: 'PRODUCT_LIVE_API_KEY' } : undefined;
}

function readKeyFile(path: string, warn: (message: string) => void): string {
  if (path.trim() === '') throw new UsageError('--api-key-file needs a path');
  let info: ReturnType<typeof statSync>;
  try {
    info = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT'
        ? `--api-key-file: ${path} does not exist`
        : `--api-key-file: ${path} cannot be read (${code ?? 'error'})`,
    );
  }
  if (!info.isFile()) throw new UsageError(`--api-key-file: ${path} is not a file`);
  if (info.size > MAX_KEY_FILE_BYTES) {
    throw new UsageError(`--api-key-file: ${path} is ${info.size} bytes, too large to be a key file`);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--api-key-file: ${path} cannot be read (${(error as NodeJS.ErrnoException).code})`);
  }
  const key = text.trim();
  if (key === '') throw new UsageError(`--api-key-file: ${path} is empty`);
  if (/[\r\n]/.test(key)) throw new UsageError(`--api-key-file: ${path} holds more than one line`);
  if ((info.mode & 0o077) !== 0) {
    warn(`${path} can be read by other users of this machine: \`chmod 600 ${path}\``);
  }
  return key;
}
