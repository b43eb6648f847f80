import { describe, expect, it } from 'vitest';
import { UsageError, usageFor } from '#local/cli/cli-runner';
import { COMMAND_USAGE, parseHistoryArgs, USAGE } from '#local/cli/history-args';

const NOW = Date.parse('2024-06-01T12:00:00.000Z');
const parse = (argv: string[], env: Record<string, string> = {}) => parseHistoryArgs(argv, { now: NOW, env });
const commandOf = (argv: string[], env: Record<string, string> = {}) => parse(argv, env);

describe('parseHistoryArgs', () => {
  it('defaults stats to the last 30 days of the local store, as a table', () => {
    expect(commandOf(['stats'])).toEqual({
      command: { name: 'stats', period: { since: '2024-05-02T12:00:00.000Z' }, output: 'table' },
      store: { kind: 'local', dataDir: '.local' },
    });
  });

  it('reads filters and output flags', () => {
    expect(
      commandOf(['stats', '--since', '7d', '--until', '2024-06-01', '--job', 'J1', '--json']).command,
    ).toEqual({
      name: 'stats',
      jobId: 'J1',
      period: { since: '2024-05-25T12:00:00.000Z', until: '2024-06-01T00:00:00.000Z' },
      output: 'json',
    });
    expect(commandOf(['stats', '--since', 'all', '--csv']).command).toMatchObject({
      period: {},
      output: 'csv',
    });
  });

  it('lists all time, 50 at most by default; --limit 0 lifts the limit; statuses are upper-cased', () => {
    expect(commandOf(['list']).command).toEqual({ name: 'list', period: {}, limit: 50, output: 'table' });
    expect(commandOf(['list', '--status', 'failed', '--limit', '0']).command).toEqual({
      name: 'list',
      status: 'FAILED',
      period: {},
      output: 'table',
    });
  });

  it('takes one id for show', () => {
    expect(commandOf(['show', 'abc', '--json']).command).toEqual({ name: 'show', id: 'abc', output: 'json' });
  });

  it('exports NDJSON by default, all time, optionally to a file', () => {
    expect(commandOf(['export']).command).toEqual({ name: 'export', period: {}, format: 'ndjson' });
    expect(
      commandOf(['export', '--format', 'csv', '--out', 'x.csv', '--since', '2024-05-01']).command,
    ).toEqual({
      name: 'export',
      period: { since: '2024-05-01T00:00:00.000Z' },
      format: 'csv',
      out: 'x.csv',
    });
  });

  it('charts days over 30 days, hours over 48 hours by default', () => {
    expect(commandOf(['timeline']).command).toMatchObject({
      bucket: 'day',
      period: { since: '2024-05-02T12:00:00.000Z' },
    });
    expect(commandOf(['timeline', '--bucket', 'hour']).command).toMatchObject({
      bucket: 'hour',
      period: { since: '2024-05-30T12:00:00.000Z' },
    });
  });

  it('reads a deployed table from --table or EXECUTIONS_TABLE_NAME, its bucket from --files-bucket or FILES_BUCKET_NAME', () => {
    expect(commandOf(['stats', '--table', 'T', '--files-bucket', 'B']).store).toEqual({
      kind: 'aws',
      dataDir: '.local',
      executionsTable: 'T',
      filesBucket: 'B',
    });
    expect(commandOf(['stats'], { EXECUTIONS_TABLE_NAME: 'T2', FILES_BUCKET_NAME: 'B2' }).store).toEqual({
      kind: 'aws',
      dataDir: '.local',
      executionsTable: 'T2',
      filesBucket: 'B2',
    });
    // A deployed stack names everything through its outputs; --table still wins over them.
    expect(commandOf(['stats', '--stack', 'ProductLiveSync', '--table', 'T3']).store).toEqual({
      kind: 'aws',
      dataDir: '.local',
      stackName: 'ProductLiveSync',
      executionsTable: 'T3',
    });
    // An explicit --data-dir wins over the environment.
    expect(commandOf(['stats', '--data-dir', 'd'], { EXECUTIONS_TABLE_NAME: 'T2' }).store).toEqual({
      kind: 'local',
      dataDir: 'd',
    });
  });

  it('has a usage for the CLI and one for each command, which --help after the command shows', () => {
    const program = { usage: USAGE, commands: COMMAND_USAGE, run: async () => 0 };
    expect(usageFor(program, ['--help'])).toBe(USAGE);
    expect(USAGE).toContain('npm run history -- <command>');
    const stats = usageFor(program, ['stats', '--help']);
    expect(stats).toMatch(/^Usage: npm run history -- stats /);
    expect(stats).toContain('--job ID');
    expect(stats).not.toContain('--bucket');
    expect(usageFor(program, ['timeline', '-h'])).toContain('--bucket B');
    for (const name of ['stats', 'list', 'show', 'export', 'timeline']) {
      expect(USAGE).toContain(`  ${name} `);
      expect(COMMAND_USAGE[name]).toContain('--data-dir DIR');
    }
  });

  it('names the command of a bad command line, so that its own usage is shown', () => {
    try {
      parse(['timeline', '--csv']);
      throw new Error('expected a UsageError');
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).command).toBe('timeline');
    }
  });

  it.each([
    [[], /a command is required/],
    [['stat'], /unknown command "stat"/],
    [['stats', '--frobnicate'], /unknown flag --frobnicate$/],
    [['stats', '--status', 'FAILED'], /stats does not take --status/],
    [['show'], /exactly one execution id/],
    [['show', 'a', 'b'], /exactly one execution id/],
    [['list', 'extra'], /unexpected argument "extra"/],
    [['list', '--limit', 'ten'], /--limit must be a whole number/],
    [['list', '--limit', '-1'], /--limit/],
    [['list', '--json', '--csv'], /one of --json and --csv/],
    [['export', '--format', 'xml'], /--format must be ndjson or csv/],
    [['export', '--json'], /export does not take --json/],
    [['timeline', '--bucket', 'week'], /--bucket must be day or hour/],
    [['timeline', '--csv'], /timeline does not take --csv/],
    [['stats', '--since', 'last week'], /--since must be an ISO date/],
    [['stats', '--since', '2024-05-02', '--until', '2024-05-01'], /must be before --until/],
    [['stats', '--job', ''], /--job needs a value/],
    [['stats', '--since'], /argument missing/],
    [['stats', '--table', 'T', '--data-dir', 'd'], /choose one of --data-dir .* and --table/],
    [['stats', '--stack', 'S', '--data-dir', 'd'], /choose one of --data-dir .* and --stack/],
    [['stats', '--files-bucket', 'B'], /--files-bucket goes with --table/],
  ])('rejects %j', (argv, message) => {
    expect(() => parse(argv)).toThrow(UsageError);
    expect(() => parse(argv)).toThrow(message);
  });
});

describe('parseHistoryArgs: sql', () => {
  const sql = (argv: string[], env: Record<string, string> = {}) => parse(['sql', ...argv], env).command;

  it('stops a query after 60 s by default; --timeout takes a duration, 0 for none', () => {
    expect(sql(['SELECT 1'])).toEqual({
      name: 'sql',
      sql: 'SELECT 1',
      output: 'table',
      engine: 'duckdb',
      database: 'product_live_sync',
      timeoutMs: 60_000,
    });
    expect(sql(['SELECT 1', '--timeout', '5m'])).toMatchObject({ timeoutMs: 300_000 });
    expect(sql(['SELECT 1', '--timeout', '0'])).toMatchObject({ timeoutMs: 0 });
  });

  it('leaves --max-rows to the output unless given; 0 means all rows', () => {
    expect(sql(['SELECT 1', '--csv'])).not.toHaveProperty('maxRows');
    expect(sql(['SELECT 1', '--max-rows', '0'])).toMatchObject({ maxRows: 0 });
    expect(sql(['SELECT 1', '--json', '--max-rows', '250'])).toMatchObject({ maxRows: 250, output: 'json' });
  });

  it.each(['product-live-lake', 'my.lake.bucket', 'a1b', `a${'b'.repeat(61)}c`])(
    'takes %s as a bucket name',
    (bucket) => {
      expect(sql(['SELECT 1', '--bucket', bucket])).toMatchObject({ bucket });
    },
  );

  it.each([
    ['../../etc', 'the parent directory'],
    ['/tmp/lake', 'an absolute path'],
    ['ab', 'too short'],
    [`a${'b'.repeat(62)}c`, 'too long'],
    ['My_Lake', 'upper case and an underscore'],
    ['-lake', 'a hyphen first'],
    ['lake.', 'a dot last'],
    ['my..lake', 'two dots in a row'],
    ['192.168.1.10', 'an IP address'],
    ['lake bucket', 'a space'],
  ])('refuses --bucket %j (%s) with a usage error', (bucket) => {
    expect(() => sql(['SELECT 1', `--bucket=${bucket}`])).toThrow(UsageError);
    expect(() => sql(['SELECT 1', `--bucket=${bucket}`])).toThrow(
      `--bucket: ${JSON.stringify(bucket)} is not a valid S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit, no "..", not an IP address)`,
    );
  });

  it('checks LAKE_BUCKET_NAME the same way, naming it', () => {
    expect(sql(['SELECT 1'], { LAKE_BUCKET_NAME: 'deployed-lake' })).toMatchObject({
      bucket: 'deployed-lake',
    });
    expect(() => sql(['SELECT 1'], { LAKE_BUCKET_NAME: '../x' })).toThrow(
      /^LAKE_BUCKET_NAME: "..\/x" is not a valid/,
    );
  });

  it.each([
    [['SELECT 1', '--timeout', 'soon'], '--timeout: expected a duration such as 30s, 1m or 1h, got "soon"'],
    [['SELECT 1', '--timeout=-5s'], '--timeout: expected a duration'],
    [['SELECT 1', '--max-rows', 'many'], '--max-rows: expected a whole number, got "many"'],
    [['SELECT 1', '--max-rows=-1'], '--max-rows: expected a whole number'],
    [['SELECT 1', '--bucket', ''], '--bucket needs a value'],
  ])('rejects %j', (argv, message) => {
    expect(() => sql(argv)).toThrow(UsageError);
    expect(() => sql(argv)).toThrow(message);
  });
});
