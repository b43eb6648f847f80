// Test support: `npm run history` as a subprocess (tsx local/cli/history.ts), run to its end with the given
// environment; its exit code and both outputs. startHistoryCli gives the process too, to signal it (Ctrl-C).
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { captureOutput } from './child-output';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = join(ROOT, 'node_modules/.bin/tsx');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `history <args>` with exactly `env` (pass the suite's AWS settings, not the caller's table). */
export function runHistoryCli(args: string[], env: Record<string, string | undefined>): Promise<CliResult> {
  return startHistoryCli(args, env).result;
}

/** Starts `history <args>`: the process (tsx relays a signal to the CLI it runs) and its result when it ends. */
export function startHistoryCli(
  args: string[],
  env: Record<string, string | undefined>,
): { child: ChildProcess; result: Promise<CliResult> } {
  const child = spawn(process.execPath, [TSX, 'local/cli/history.ts', ...args], {
    cwd: ROOT,
    env: env as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = captureOutput(child);
  const result = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, ...output() }));
  });
  return { child, result };
}
