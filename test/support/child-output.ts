// Test support: what a subprocess (spawned with piped stdout and stderr) has written so far, kept as it comes,
// and its exit code and both outputs once it has ended and its pipes closed.
import type { ChildProcess } from 'node:child_process';

export interface ChildOutput {
  stdout: string;
  stderr: string;
}

/** Starts keeping the child's stdout and stderr; the function returns what was written so far. */
export function captureOutput(child: ChildProcess): () => ChildOutput {
  const output: ChildOutput = { stdout: '', stderr: '' };
  child.stdout?.on('data', (chunk: Buffer) => {
    output.stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output.stderr += chunk.toString();
  });
  return () => ({ ...output });
}

/** The child's exit code, the signal that ended it, and both outputs, once it has ended and its pipes closed. */
export function closed(
  child: ChildProcess,
): Promise<ChildOutput & { code: number | null; signal: NodeJS.Signals | null }> {
  const output = captureOutput(child);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, ...output() })),
  );
}
