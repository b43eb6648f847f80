// The dashboard's routes and filters (pure): every URL it answers, and the refusals of anything else.
import { describe, expect, it } from 'vitest';
import { parseDashboardArgs } from '#local/cli/dashboard-args';
import { DashboardRequestError, matchRoute, parseFilters } from '#local/dashboard/dashboard-routes';

const ASSETS = new Set(['app.js', 'app.css']);
const ID = '658445e23ad5b929948ab731';
const NOW = Date.parse('2024-06-30T12:00:00Z');

/** The path as the server sees it: parsed by URL, so `..` and `%2e%2e` segments are resolved first. */
const route = (path: string) => matchRoute(new URL(path, 'http://127.0.0.1:4000').pathname, ASSETS);

function refusal(path: string): number {
  try {
    route(path);
  } catch (error) {
    if (error instanceof DashboardRequestError) return error.status;
    throw error;
  }
  return 200;
}

describe('dashboard routes', () => {
  it('serves the three pages, the assets and the JSON views', () => {
    expect(route('/')).toEqual({ kind: 'page', page: 'overview' });
    expect(route(`/jobs/${ID}`)).toEqual({ kind: 'page', page: 'job' });
    expect(route(`/executions/${ID}`)).toEqual({ kind: 'page', page: 'execution' });
    expect(route('/assets/app.js')).toEqual({ kind: 'asset', name: 'app.js' });
    for (const kind of ['version', 'overview', 'failures', 'executions', 'health'] as const) {
      expect(route(`/api/${kind}`)).toEqual({ kind });
    }
    expect(route(`/api/jobs/${ID}`)).toEqual({ kind: 'job', jobId: ID });
    expect(route(`/api/executions/${ID}`)).toEqual({ kind: 'execution', id: ID });
    expect(route(`/api/executions/${ID}/files/3`)).toEqual({ kind: 'file', id: ID, index: 3 });
  });

  it('refuses path traversal in downloads and assets, plain or encoded', () => {
    expect(refusal(`/api/executions/${ID}/files/..%2f..%2fetc%2fpasswd`)).toBe(400);
    expect(refusal(`/api/executions/${ID}/files/%2e%2e/%2e%2e/package.json`)).toBe(400);
    expect(refusal(`/api/executions/${ID}/files/../../../package.json`)).toBe(404);
    expect(refusal('/api/executions/..%2F..%2Fetc/files/0')).toBe(400);
    expect(refusal(`/api/executions/${ID}/files/-1`)).toBe(400);
    expect(refusal(`/api/executions/${ID}/files/01`)).toBe(400);
    expect(refusal(`/api/executions/${ID}/files/0/extra`)).toBe(404);
    expect(refusal('/assets/../package.json')).toBe(404);
    expect(refusal('/assets/..%2fpackage.json')).toBe(404);
    expect(refusal('/assets/app.js.map')).toBe(404);
    expect(refusal('/local/dashboard/client/main.ts')).toBe(404);
  });

  it('refuses ids that are not ids', () => {
    expect(refusal('/api/jobs/%3Cscript%3E')).toBe(400);
    expect(refusal(`/api/executions/${'a'.repeat(65)}`)).toBe(400);
    expect(refusal('/api/nothing')).toBe(404);
  });
});

describe('dashboard filters', () => {
  it('defaults to the last 30 days, as history stats', () => {
    const { filters, period } = parseFilters(new URLSearchParams(), NOW);
    expect(filters).toEqual({ since: '30d', until: null, job: null, status: null });
    expect(period).toEqual({ since: '2024-05-31T12:00:00.000Z' });
  });

  it('resolves the period as the history CLI does', () => {
    const { filters, period } = parseFilters(
      new URLSearchParams({ since: '2024-05-01', until: '2024-06-01', job: ID, status: 'failed' }),
      NOW,
    );
    expect(filters).toEqual({ since: '2024-05-01', until: '2024-06-01', job: ID, status: 'FAILED' });
    expect(period).toEqual({ since: '2024-05-01T00:00:00.000Z', until: '2024-06-01T00:00:00.000Z' });
    expect(parseFilters(new URLSearchParams({ since: 'all' }), NOW).period).toEqual({});
  });

  it('refuses a malformed filter with 400 and the reason', () => {
    const status = (query: Record<string, string>) => {
      try {
        parseFilters(new URLSearchParams(query), NOW);
        return 200;
      } catch (error) {
        return error instanceof DashboardRequestError ? `${error.status} ${error.message}` : 'thrown';
      }
    };
    expect(status({ since: 'yesterday' })).toMatch(/^400 since must be an ISO date/);
    expect(status({ since: '2024-06-01', until: '2024-05-01' })).toMatch(
      /^400 since .* must be before until/,
    );
    expect(status({ job: '../x' })).toBe('400 not a valid job id');
    expect(status({ status: '<b>' })).toBe('400 not a valid status');
  });
});

describe('npm run dashboard arguments', () => {
  it('serves the local store on port 4000 by default', () => {
    expect(parseDashboardArgs([], {})).toEqual({ port: 4000, store: { kind: 'local', dataDir: '.local' } });
    expect(parseDashboardArgs(['--ui-port', '0', '--data-dir', '/tmp/x'], {})).toEqual({
      port: 0,
      store: { kind: 'local', dataDir: '/tmp/x' },
    });
  });

  it('reads a deployed store from flags or the environment', () => {
    expect(
      parseDashboardArgs(['--table', 't', '--files-bucket', 'f'], {
        STATE_TABLE_NAME: 's',
        LAKE_BUCKET_NAME: 'l',
        LAUNCH_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/q',
        LAUNCH_DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/1/d',
      }),
    ).toEqual({
      port: 4000,
      store: {
        kind: 'aws',
        dataDir: '.local',
        executionsTable: 't',
        stateTable: 's',
        filesBucket: 'f',
        lakeBucket: 'l',
        launchQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/q',
        launchDlqUrl: 'https://sqs.eu-west-1.amazonaws.com/1/d',
      },
    });
  });

  it('refuses bad command lines with a UsageError naming the flag', () => {
    const message = (argv: string[]) => {
      try {
        parseDashboardArgs(argv, {});
        return 'parsed';
      } catch (error) {
        return `${(error as Error).name}: ${(error as Error).message}`;
      }
    };
    expect(message(['--ui-port', '70000'])).toBe(
      'UsageError: --ui-port: expected a port number from 1 to 65535, got "70000"',
    );
    expect(message(['--port', '1'])).toBe('UsageError: unknown flag --port');
    expect(message(['--table', 't', '--data-dir', 'd'])).toMatch(/^UsageError: choose one of --data-dir/);
    expect(message(['--files-bucket', 'f'])).toBe(
      'UsageError: --files-bucket goes with --table or --stack (the local store knows its own)',
    );
    expect(message(['--table', 't', '--lake-bucket', 'l'])).toMatch(/--lake-bucket needs --state-table/);
    expect(message(['--table', 't', '--queue-url', 'https://q'])).toBe(
      'UsageError: --queue-url and --dlq-url go together',
    );
  });
});
