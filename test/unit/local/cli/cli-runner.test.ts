import { afterEach, describe, expect, it, vi } from 'vitest';
import { JavaMissingError, PortInUseError } from '#local/aws/local-aws-servers';
import { type CliProgram, runCli, SetupError, UsageError } from '#local/cli/cli-runner';

const program = (run: CliProgram['run'], extra: Partial<CliProgram> = {}): CliProgram => ({
  usage: 'Usage: tool <command>',
  commands: { stats: 'Usage: tool stats [--json]' },
  run,
  ...extra,
});

async function invoke(cli: CliProgram, argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => out.push(String(chunk)) > 0);
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => err.push(String(chunk)) > 0);
  const before = process.exitCode;
  try {
    await runCli(cli, argv);
    return { code: process.exitCode, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.exitCode = before;
    stdout.mockRestore();
    stderr.mockRestore();
    process.stdout.removeAllListeners('error');
  }
}

afterEach(() => vi.restoreAllMocks());

describe('runCli', () => {
  it('answers --help with the usage of the command named before it, else of the whole CLI, exit 0', async () => {
    const run = vi.fn(async () => 0);
    expect(await invoke(program(run), ['stats', '--help'])).toEqual({
      code: 0,
      stdout: 'Usage: tool stats [--json]\n',
      stderr: '',
    });
    expect((await invoke(program(run), ['-h'])).stdout).toBe('Usage: tool <command>\n');
    expect(run).not.toHaveBeenCalled();
  });

  it('exits with the code the program returns', async () => {
    expect(
      (
        await invoke(
          program(async () => 1),
          ['stats'],
        )
      ).code,
    ).toBe(1);
    expect(
      (
        await invoke(
          program(async () => 0),
          ['stats'],
        )
      ).code,
    ).toBe(0);
  });

  it('prints a usage error with the usage of its command and exits 2', async () => {
    const result = await invoke(
      program(async () => {
        throw new UsageError('stats does not take --csv', 'stats');
      }),
      ['stats', '--csv'],
    );
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error: stats does not take --csv\n\nUsage: tool stats [--json]\n',
    });
  });

  it.each([
    ['Java missing', new JavaMissingError('`java` was not found')],
    ['a port taken', new PortInUseError('DynamoDB Local', 8000)],
    ['a setup problem', new SetupError('Product-Live rejected the API key (HTTP 401)')],
  ])('exits 2 with one line for %s, the same in every CLI', async (_case, failure) => {
    const result = await invoke(
      program(async () => {
        throw failure;
      }),
      [],
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`error: ${failure.message}\n`);
  });

  it('exits 1 with the first line of any other failure, or the wording the program gives it', async () => {
    const failing = program(async () => {
      throw new Error('socket hang up\n    at somewhere');
    });
    expect(await invoke(failing, [])).toEqual({ code: 1, stdout: '', stderr: 'error: socket hang up\n' });
    const explained = { ...failing, explain: () => ({ message: 'the table is gone', code: 2 as const }) };
    expect(await invoke(explained, [])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error: the table is gone\n',
    });
  });
});
