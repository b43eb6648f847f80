// `npm run emulator`: starts, prints its URL, serves demo data, and stops cleanly on SIGINT; bad flags
// exit 2 with the usage text.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { JobExecutionList } from '../../functions/core/product-live/product-live.schema';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function runCli(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/cli/emulator.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, exited, output: () => ({ stdout, stderr }) };
}

describe('emulator CLI', () => {
  it('serves demo data on the printed URL until SIGINT, then exits 0', async () => {
    const cli = runCli([
      '--port',
      '0',
      '--api-key',
      'cli-key',
      '--seed',
      '5',
      '--executions',
      '30',
      '--no-rate-limit',
    ]);
    let url: string | undefined;
    while (!url) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      url = /listening on (http:\/\/\S+) /.exec(cli.output().stdout)?.[1];
      if (cli.child.exitCode !== null) throw new Error(`CLI exited early: ${cli.output().stderr}`);
    }

    const response = await fetch(`${url}/v1/data_factory/job_executions?size=5`, {
      headers: { 'X-Api-Key': 'cli-key' },
    });
    const list = JobExecutionList.parse(await response.json());
    cli.child.kill('SIGINT');

    expect(list.totalElements).toBe(30);
    expect(await cli.exited).toBe(0);
    expect(cli.output().stdout).toContain('stopped');
  });

  it.each([
    [['--bogus']],
    [['--port', 'eighty']],
    [['--order', 'random']],
    [['--fault-rate', '2']],
    [['--fault-kinds', 'teapot', '--fault-rate', '0.1']],
  ])('exits 2 with the usage for %j', async (args) => {
    const cli = runCli(args);

    expect(await cli.exited).toBe(2);
    expect(cli.output().stderr).toContain('Usage: npm run emulator');
  });
});
