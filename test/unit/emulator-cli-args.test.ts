// Flags of `npm run emulator`, parsed strictly.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../local/cli/cli-runner';
import { parseEmulatorArgs } from '../../local/cli/emulator-args';

describe('emulator CLI arguments', () => {
  it('has defaults for everything', () => {
    expect(parseEmulatorArgs([])).toEqual({
      port: 4010,
      host: '127.0.0.1',
      options: { apiKey: 'local-dev-key', order: 'insertion', demo: { seed: 1, executions: 400 } },
    });
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
    [['--no-rate-limit=yes']],
  ])('refuses %j with a UsageError', (argv) => {
    expect(() => parseEmulatorArgs(argv)).toThrow(UsageError);
  });
});
