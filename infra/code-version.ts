// Layer flow: the stateless stack's `Version` output (at synth) and `npm run doctor` (the checkout's) -> codeVersion
// -> package.json's version and a digest of the code a deploy ships. No CDK import: doctor loads it cheaply.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root (this file is infra/code-version.ts). */
const CODE_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * What a deploy is made of: the functions' code (bundled into the Lambdas) and the stacks' code (the templates),
 * every `.ts` file of both directories, and the dependencies (package.json and package-lock.json). The CLIs, the
 * emulator, tests and docs are not in it.
 */
const VERSIONED_PATHS = ['functions', 'infra', 'package.json', 'package-lock.json'] as const;

/** Hex digits of the digest in a version: 48 bits tell two checkouts apart. */
const DIGEST_CHARS = 12;

/**
 * `<package.json version>+<digest>`, e.g. `0.1.0+3f9c2a7b1d04`: the digest is SHA-256 over the files of
 * VERSIONED_PATHS (path and content, in path order, line endings normalized to LF), so it changes with any change
 * of the deployed code and is the same for two checkouts of the same code.
 */
export function codeVersion(root: string = CODE_ROOT): string {
  const hash = createHash('sha256');
  for (const path of VERSIONED_PATHS.flatMap((entry) => filesUnder(root, entry)).sort()) {
    const text = readFileSync(join(root, path), 'utf8').replace(/\r\n/g, '\n');
    hash.update(`${path}\0${text}\0`);
  }
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string };
  return `${version ?? '0.0.0'}+${hash.digest('hex').slice(0, DIGEST_CHARS)}`;
}

/** The package.json version of a code version (`0.1.0` of `0.1.0+3f9c…`). */
export function packageVersionOf(version: string): string {
  return version.split('+')[0] ?? version;
}

/**
 * Compares two package versions (`1.2.3`, numerically, part by part): negative when `a` is older than `b`, 0 when
 * equal, positive when newer. Pre-release tags are ignored.
 */
export function comparePackageVersions(a: string, b: string): number {
  const parts = (text: string) =>
    text
      .split('-')[0]
      ?.split('.')
      .map((part) => Number(part) || 0) ?? [];
  const [left, right] = [parts(a), parts(b)];
  for (let index = 0; index < Math.max(left.length, right.length); index++) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** Every file under `entry` (a file or a directory of the root), as paths relative to the root, `/`-separated. */
function filesUnder(root: string, entry: string): string[] {
  const start = join(root, entry);
  let entries: string[];
  try {
    entries = readdirSync(start, { recursive: true, encoding: 'utf8' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return [entry];
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const files: string[] = [];
  for (const name of entries) {
    const full = join(start, name);
    // Source files only: an editor's swap file or a stray .DS_Store changes no deployed byte.
    if (!name.endsWith('.ts') || !statSync(full).isFile()) continue;
    files.push(relative(root, full).split(sep).join('/'));
  }
  return files;
}
