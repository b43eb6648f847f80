// Layer flow: `npm run launch -- --file KEY=PATH` -> readLocalFiles -> each file checked before anything is sent:
// a missing, unreadable or non-regular PATH, or a KEY given twice, is a usage error (exit 2).
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { UsageError } from './cli-runner';

/** A local file to launch with: the input key it goes to, and its path and size. */
export interface LocalFile {
  key: string;
  path: string;
  size: number;
}

const INPUT_KEY = /^[A-Za-z0-9_.-]{1,128}$/;

/** The files of the `--file KEY=PATH` flags, each checked readable. */
export async function readLocalFiles(flags: readonly string[]): Promise<LocalFile[]> {
  const files: LocalFile[] = [];
  for (const flag of flags) {
    const equals = flag.indexOf('=');
    const key = equals === -1 ? '' : flag.slice(0, equals);
    const path = equals === -1 ? '' : flag.slice(equals + 1);
    if (!INPUT_KEY.test(key) || path === '') {
      throw new UsageError(
        `--file: expected KEY=PATH (KEY: letters, digits, "_", "." or "-"), got "${flag}"`,
      );
    }
    if (files.some((file) => file.key === key))
      throw new UsageError(`--file: the key "${key}" is given twice`);
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new UsageError(
        code === 'ENOENT'
          ? `--file ${key}: ${path} does not exist`
          : `--file ${key}: ${path} cannot be read (${code})`,
      );
    }
    if (!info.isFile()) throw new UsageError(`--file ${key}: ${path} is not a file`);
    try {
      await access(path, constants.R_OK);
    } catch {
      throw new UsageError(`--file ${key}: ${path} cannot be read by this user`);
    }
    files.push({ key, path, size: info.size });
  }
  return files;
}
