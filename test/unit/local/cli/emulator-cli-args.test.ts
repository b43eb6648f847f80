// Flags of `npm run emulator`, parsed strictly; the key from a file or the environment, never required on argv.
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '#local/cli/cli-runner';
import { parseEmulatorArgs } from '#local/cli/emulator-args';

describe('emulator CLI arguments', () => {
  it('has defaults for everything', () => {
    expect(parseEmulatorArgs([])).toEqual({
      port: 4010,
      host: '127.0.0.1',
      options: { apiKey: 'local-dev-key', order: 'insertion', demo: { seed: 1, executions: 400 } },
      keySource: undefined,
    });
  });

  it('takes the key from --api-key-file or PRODUCT_LIVE_API_KEY, and warns about --api-key', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'emulator-key-')), 'key.txt');
    await writeFile(file, 'file-key\n');
    await chmod(file, 0o600);
    const warnings: string[] = [];
    const warn = (message: string) => warnings.push(message);

    const fromFile = parseEmulatorArgs(['--api-key-file', file], {}, warn);
    const fromEnv = parseEmulatorArgs([], { PRODUCT_LIVE_API_KEY: 'env-key' }, warn);
    expect(warnings).toEqual([]);
    const fromArgv = parseEmulatorArgs(['--api-key', 'argv-key'], {}, warn);

    expect(
      [fromFile, fromEnv, fromArgv].map((command) => [command.options.apiKey, command.keySource]),
    ).toEqual([
      ['file-key', '--api-key-file'],
      ['env-key', 'PRODUCT_LIVE_API_KEY'],
      ['argv-key', '--api-key'],
    ]);
    expect(warnings).toEqual([expect.stringContaining('process list')]);
    expect(warnings.join('')).not.toContain('argv-key');
  });

  it('refuses a key file that is missing, empty or a directory, naming the file and never its content', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'emulator-key-'));
    const empty = join(directory, 'empty.txt');
    await writeFile(empty, '  \n');
    for (const [path, message] of [
      [join(directory, 'missing.txt'), 'does not exist'],
      [empty, 'is empty'],
      [directory, 'is not a file'],
    ] as const) {
      expect(() => parseEmulatorArgs(['--api-key-file', path])).toThrow(`--api-key-file: ${path} ${message}`);
    }
  });

  it('maps every flag to an emulator option', () => {
    const command = parseEmulatorArgs([
      '--port=0',
      '--api-key',
      'KEY',
      '--seed',
      'abc',
      '--executions',
      '20000',
      '--order',
      'shuffled',
      '--no-rate-limit',
      '--fault-rate',
      '0.2',
      '--fault-kinds',
      '500,reset',
    ]);

    expect(command.port).toBe(0);
    expect(command.options).toEqual({
      apiKey: 'KEY',
      order: 'shuffled',
      demo: { seed: 'abc', executions: 20_000 },
      rateLimit: false,
      faults: { rate: 0.2, kinds: ['500', 'reset'], seed: 'abc' },
    });
  });

  it('injects every fault kind but timeout by default', () => {
    expect(parseEmulatorArgs(['--fault-rate', '1']).options.faults?.kinds).not.toContain('timeout');
  });

  it.each([
    [['--unknown']],
    [['positional']],
    [['--port', '-1']],
    [['--port', '70000']],
    [['--executions', '1e3']],
    [['--order', 'newest']],
    [['--fault-rate', 'lots']],
    [['--fault-rate', '']],
    [['--fault-kinds', '500']],
    [['--api-key', '']],
    [['--api-key', 'k', '--api-key-file', 'f']],
    [['--host', '0.0.0.0']],
    [['--host', '192.168.1.10']],
    [['--no-rate-limit=yes']],
  ])('refuses %j with a UsageError', (argv) => {
    expect(() => parseEmulatorArgs(argv)).toThrow(UsageError);
  });
});
