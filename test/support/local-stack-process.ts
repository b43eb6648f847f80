// Test support: `npm start` as a user runs it, as a detached subprocess on free ports, with its output kept; the
// stack it started (stack.json) once it says it is running; and a clean stop (Ctrl-C to its process group).
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFreePort } from '#local/aws/local-aws-servers';
import type { LocalStackState } from '#local/stack/local-stack-settings';
import { captureOutput, closed } from './child-output';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running subprocess whose output is kept as it comes. */
export interface RunningProcess {
  child: ChildProcess;
  output(): { stdout: string; stderr: string };
  /** Resolves when the process has exited and its pipes closed. */
  done: Promise<ProcessResult>;
}

/** Starts `command` in its own process group (so that a Ctrl-C reaches npm and everything below it). */
export function startProcess(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): RunningProcess {
  const child = spawn(command, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  return { child, output: captureOutput(child), done: closed(child) };
}

/** Free ports for every server of `npm start`, as its flags. */
export async function freeStackPorts(): Promise<string[]> {
  const [emulator, dynamodb, s3, sqs] = await Promise.all(
    ['emulator', 'dynamodb', 's3', 'sqs'].map((name) => findFreePort(name)),
  );
  return [
    '--emulator-port',
    String(emulator),
    '--dynamodb-port',
    String(dynamodb),
    '--s3-port',
    String(s3),
    '--sqs-port',
    String(sqs),
  ];
}

/** Waits until `check` holds, polling; throws after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

/** A long-running `npm start` (not --once), once it printed that it runs, with the stack it wrote. */
export interface StartedStack {
  process: RunningProcess;
  state: LocalStackState;
  /** Sends Ctrl-C to the whole process group and waits for the exit. */
  stop(): Promise<ProcessResult>;
}

/** Runs `npm start -- <args>` on free ports in `dataDir` and waits until it is syncing. */
export async function startNpmStart(
  dataDir: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 120_000,
): Promise<StartedStack> {
  const running = startProcess(
    'npm',
    ['-s', 'start', '--', '--data-dir', dataDir, ...(await freeStackPorts()), ...args],
    env,
  );
  const stop = async () => {
    if (running.child.exitCode === null && running.child.signalCode === null) {
      process.kill(-(running.child.pid ?? 0), 'SIGINT');
    }
    return running.done;
  };
  try {
    await waitFor(() => {
      if (running.child.exitCode !== null) throw new Error(`npm start exited: ${running.output().stderr}`);
      return running.output().stdout.includes('Press Ctrl-C to stop.');
    }, timeoutMs);
  } catch (error) {
    await stop();
    throw error;
  }
  const state = JSON.parse(await readFile(join(dataDir, 'stack.json'), 'utf8')) as LocalStackState;
  return { process: running, state, stop };
}
