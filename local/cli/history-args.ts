// Command line of `npm run history`, parsed strictly: an unknown flag, a flag the command does not take or
// a malformed value is an error (exit 2 with the usage text), never silently ignored.
import { HistoryInputError } from '#core/history/history.errors';
import { type Period, resolvePeriod } from '#core/history/period';
import { DEFAULT_GLUE_DATABASE } from '#core/warehouse/lake-tables';
import { NAMED_QUERIES, namedQuery } from '#core/warehouse/named-queries';
import { TIMELINE_BUCKETS, type TimelineBucket } from '../history/timeline';
import { DEFAULT_DATA_DIR } from '../stack/local-stack-settings';
import type { StoreChoice } from '../store/open-store';
import { UsageError } from './cli-runner';
import { parseStoreChoice, STORE_OPTIONS, type StoreFlag, storeUsage } from './store-options';

/** The store flags of the history commands (sql has its own: --data-dir and --bucket, or --stack). */
const HISTORY_STORE_FLAGS: readonly StoreFlag[] = ['data-dir', 'stack', 'table', 'files-bucket'];

import { parseBucketName, parseCommandLine, parseCount, parseDuration } from './cli-values';

/** `history sql --timeout` when not given. */
const DEFAULT_SQL_TIMEOUT = '60s';
/** `history sql --max-rows` for the table view and on a terminal (CSV and JSON into a file or pipe: all rows). */
export const DEFAULT_MAX_ROWS = 10_000;

const WHERE = `Where the data is (every command):
${storeUsage(HISTORY_STORE_FLAGS)}`;

const PERIOD = `  --since WHEN     from WHEN (inclusive): 2024-05-01, 2024-05-01T08:00:00Z (UTC unless an offset is
                   given), an age (30m, 24h, 7d, 2w), or "all"
  --until WHEN     up to WHEN (exclusive), same forms; default: no end`;

/** Each command: one line for the overview, and its own usage text (`history <command> --help`). */
const COMMAND_HELP = {
  stats: {
    summary:
      'per job: runs, count per status, success rate (COMPLETED / ended runs), duration p50/p95/max\n' +
      '                   (nearest rank, ended runs), last run, last failure; and a total',
    usage: `Usage: npm run history -- stats [--since WHEN] [--until WHEN] [--job ID] [--json | --csv]

Per job: runs, count per status, success rate (COMPLETED / ended runs), duration p50/p95/max of ended
runs (nearest rank), last run, last failure; and a total row.

${PERIOD} (default --since 30d)
  --job ID         one job
  --json, --csv    JSON or CSV instead of a table

Example:
  npm run history -- stats --since 7d`,
  },
  list: {
    summary: 'executions, newest first',
    usage: `Usage: npm run history -- list [--since WHEN] [--until WHEN] [--job ID] [--status S] [--limit N] [--json | --csv]

Executions, newest first.

${PERIOD} (default: all time)
  --job ID         one job
  --status S       one status, e.g. FAILED
  --limit N        at most N executions (default 50; 0 = all)
  --json, --csv    JSON or CSV instead of a table

Example:
  npm run history -- list --status FAILED --since 2024-05-01 --limit 20`,
  },
  show: {
    summary: 'one execution: its input, output and file copies',
    usage: `Usage: npm run history -- show ID [--json]

One execution: its fields, input, output, and each file copy (S3 key, size, SHA-256).

  --json           the API object with its files, as JSON

Example:
  npm run history -- show 658445e23ad5b929948ab731`,
  },
  export: {
    summary: "every execution of the period, oldest first, with each file's S3 key, size, SHA-256",
    usage: `Usage: npm run history -- export [--since WHEN] [--until WHEN] [--job ID] [--status S] [--format F] [--out FILE]

Every execution of the period, oldest first, as the API returned it, with each file's S3 key, size and
SHA-256.

${PERIOD} (default: all time)
  --job ID         one job
  --status S       one status
  --format F       ndjson (default; one execution a line) or csv
  --out FILE       write to FILE (complete or not at all) instead of stdout

Example:
  npm run history -- export --since 30d --format csv --out executions.csv`,
  },
  timeline: {
    summary: 'runs and failures per day or hour, as a bar chart',
    usage: `Usage: npm run history -- timeline [--since WHEN] [--until WHEN] [--job ID] [--bucket day|hour] [--json]

Runs and failures per day or hour (UTC), quiet periods included, as a bar chart.

${PERIOD} (default --since 30d, or 48h with --bucket hour)
  --job ID         one job
  --bucket B       day (default) or hour
  --json           JSON instead of the chart

Example:
  npm run history -- timeline --job 64a1f0c2e4b0a1b2c3d4e5f6 --bucket hour --since 24h`,
  },
  sql: {
    summary:
      'SQL over the warehouse tables `executions`, `files` and `sync_runs` (DuckDB over the lake; Athena with\n' +
      '                   --engine athena); named queries with --query NAME',
    usage: `Usage: npm run history -- sql "SQL" [--json | --csv] [--timeout DURATION] [--max-rows N]
       npm run history -- sql --query NAME [--json | --csv]
       npm run history -- sql --queries

Runs one read-only query on the warehouse: the tables \`executions\` and \`files\`, partitioned by \`day\` (UTC day
of the execution's createdAt), and \`sync_runs\` (one row per sync run, by the day it started). Locally DuckDB
reads the lake's Parquet objects (copied to DIR/lake-cache, refreshed by ETag and checked against their recorded
SHA-256 before each query) and runs exactly one SELECT as its own parser sees it (WITH … SELECT, FROM …, DESCRIBE,
SHOW, SUMMARIZE too) or a plain EXPLAIN of one; with --engine athena the same SQL runs on Athena in the deployed account. Rows are written as they come. Columns:
docs/analytics.md.

  --query NAME     a named query instead of SQL: ${NAMED_QUERIES.map((query) => query.name).join(', ')}
  --queries        list the named queries and their SQL
  --json           a JSON array of row objects (instants as ISO 8601 strings, whole numbers as numbers)
  --csv            CSV with a header line
  --timeout D      stop the query after D of work (default ${DEFAULT_SQL_TIMEOUT}; 0 = no limit): 30s, 5m, 1h
  --max-rows N     print at most N rows (0 = all); default ${DEFAULT_MAX_ROWS.toLocaleString('en')} for the table and on a
                   terminal, all for --csv or --json into a file or a pipe
  --bucket NAME    a deployed lake bucket (stack output LakeBucketName; or env LAKE_BUCKET_NAME) instead
                   of the local store's lake, read with the standard AWS credentials
  --engine E       duckdb (default) or athena
  --workgroup NAME the Athena workgroup (stack output AthenaWorkGroupName); needed with --engine athena
  --database NAME  the Glue database (stack output GlueDatabaseName; default ${DEFAULT_GLUE_DATABASE})
  --data-dir DIR   the local store whose lake is read, and where lake copies are cached (default ${DEFAULT_DATA_DIR})

Examples:
  npm run history -- sql "SELECT status, count(*) AS runs FROM executions GROUP BY status ORDER BY runs DESC"
  npm run history -- sql --query job-stats --csv > job-stats.csv
  npm run history -- sql "SELECT * FROM files" --csv --timeout 0 > files.csv
  npm run history -- sql --engine athena --workgroup product-live-sync --query failures-7d`,
  },
  files: {
    summary: 'the file copies not done: left for a later run, or failed for good, with their last error',
    usage: `Usage: npm run history -- files [--status pending|failed] [--json]

The file copies that are not done, oldest execution first: \`pending\` ones wait for a later run (a
transient failure outlived the retries of a run), \`failed\` ones will not be tried again (the file is
gone, or refused, or past Product-Live's 90 days) unless \`npm start -- --once --retry-failed-files\` (or the
sync event {"retryFailedFiles": true}) puts them back in the queue.

  --status S       pending or failed (default: both)
  --json           JSON instead of a table

Example:
  npm run history -- files --status failed`,
  },
  health: {
    summary:
      "each job's health: healthy, late, failing, slow or unknown, with its reasons, last run and success,\n" +
      '                   expected run, usual interval and duration, failures in a row (as of the last sync)',
    usage: `Usage: npm run history -- health [--job ID] [--json]

Each job's health as the sync evaluated it after its last run (docs/health.md): its state (late, failing,
slow, unknown or healthy; the jobs that need attention first), the reasons in words, its last run and last
success, when a run is expected by, its usual interval and duration, and its failures in a row. Read from the
store: no Product-Live request.

  --job ID         one job
  --json           {"jobs": [{"jobId", "title", "state", "reasons", "lastRunAt", "lastSuccessAt",
                   "expectedBy", "usualIntervalMs", "consecutiveFailures", ...}]}
  --state-table NAME the deployed state table, with --table (or env STATE_TABLE_NAME; --stack names it)

Example:
  npm run history -- health --json | jq -r '.jobs[] | select(.state != "healthy") | .title'`,
  },
} as const;

const HISTORY_COMMANDS = Object.keys(COMMAND_HELP) as Array<keyof typeof COMMAND_HELP>;
export type HistoryCommandName = keyof typeof COMMAND_HELP;

export const USAGE = `Usage: npm run history -- <command> [options]

Analytics over the synced job executions: the local store of \`npm start\`, or a deployed table.
Answers come from key and index queries; the table is never scanned.

Commands (\`npm run history -- <command> --help\` for each one's options):
${HISTORY_COMMANDS.map((name) => `  ${name.padEnd(16)} ${COMMAND_HELP[name].summary}`).join('\n')}

${WHERE}

Examples:
  npm run history -- stats --since 7d
  npm run history -- list --status FAILED --since 2024-05-01 --limit 20
  npm run history -- export --since 30d --format csv --out executions.csv`;

/** The usage text of each command, with the options every command shares. */
export const COMMAND_USAGE: Readonly<Record<string, string>> = Object.fromEntries(
  HISTORY_COMMANDS.map((name) => [
    name,
    name === 'sql' ? COMMAND_HELP[name].usage : `${COMMAND_HELP[name].usage}\n\n${WHERE}`,
  ]),
);

export type HistoryCommand =
  | { name: 'stats'; jobId?: string; period: Period; output: 'table' | 'json' | 'csv' }
  | {
      name: 'list';
      jobId?: string;
      status?: string;
      period: Period;
      /** Absent: no limit. */
      limit?: number;
      output: 'table' | 'json' | 'csv';
    }
  | { name: 'show'; id: string; output: 'table' | 'json' }
  | {
      name: 'export';
      jobId?: string;
      status?: string;
      period: Period;
      format: 'ndjson' | 'csv';
      out?: string;
    }
  | { name: 'timeline'; jobId?: string; period: Period; bucket: TimelineBucket; output: 'table' | 'json' }
  | { name: 'files'; status?: 'pending' | 'failed'; output: 'table' | 'json' }
  | { name: 'health'; jobId?: string; output: 'table' | 'json' }
  | {
      name: 'sql';
      /** The SQL text (a named query's, with --query). Absent with --queries (list them). */
      sql?: string;
      /** The named query, when one was asked for. */
      query?: string;
      output: 'table' | 'json' | 'csv';
      engine: 'duckdb' | 'athena';
      /** A deployed lake bucket (DuckDB engine); absent: the local store's lake. */
      bucket?: string;
      workgroup?: string;
      database: string;
      /** Stop the query after this long (ms); 0: no limit. */
      timeoutMs: number;
      /** Print at most this many rows (0: all); absent: the default of the output (DEFAULT_MAX_ROWS or all). */
      maxRows?: number;
    };

export interface HistoryInvocation {
  command: HistoryCommand;
  store: StoreChoice;
}

const OPTIONS = {
  since: { type: 'string' },
  until: { type: 'string' },
  job: { type: 'string' },
  status: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
  csv: { type: 'boolean' },
  format: { type: 'string' },
  out: { type: 'string' },
  bucket: { type: 'string' },
  ...STORE_OPTIONS,
  query: { type: 'string' },
  queries: { type: 'boolean' },
  engine: { type: 'string' },
  workgroup: { type: 'string' },
  database: { type: 'string' },
  timeout: { type: 'string' },
  'max-rows': { type: 'string' },
} as const;

type Flag = keyof typeof OPTIONS;

const COMMON: readonly Flag[] = HISTORY_STORE_FLAGS;
const ALLOWED: Readonly<Record<HistoryCommandName, readonly Flag[]>> = {
  stats: ['since', 'until', 'job', 'json', 'csv'],
  list: ['since', 'until', 'job', 'status', 'limit', 'json', 'csv'],
  show: ['json'],
  export: ['since', 'until', 'job', 'status', 'format', 'out'],
  timeline: ['since', 'until', 'job', 'bucket', 'json'],
  files: ['status', 'json'],
  health: ['job', 'json', 'state-table'],
  sql: [
    'query',
    'queries',
    'json',
    'csv',
    'bucket',
    'engine',
    'workgroup',
    'database',
    'timeout',
    'max-rows',
  ],
};

export interface ParseContext {
  /** Relative periods (7d) count back from this instant (ms since the epoch). */
  now: number;
  /** EXECUTIONS_TABLE_NAME and FILES_BUCKET_NAME are read from here. */
  env: Record<string, string | undefined>;
}

/** Parses the history CLI's arguments (without the node and script paths). */
export function parseHistoryArgs(argv: readonly string[], context: ParseContext): HistoryInvocation {
  const { values, positionals } = parse(argv);
  const [name, ...rest] = positionals;
  if (name === undefined) throw new UsageError(`a command is required: ${HISTORY_COMMANDS.join(', ')}`);
  if (!(HISTORY_COMMANDS as readonly string[]).includes(name)) {
    throw new UsageError(`unknown command "${name}" (expected ${HISTORY_COMMANDS.join(', ')})`);
  }
  const command = name as HistoryCommandName;
  const fail = (message: string) => new UsageError(message, command);
  const allowed = new Set<Flag>([
    ...(command === 'sql' ? (['data-dir', 'stack'] as const) : COMMON),
    ...ALLOWED[command],
  ]);
  for (const flag of Object.keys(values) as Flag[]) {
    if (!allowed.has(flag)) throw fail(`${command} does not take --${flag}`);
  }
  if (command === 'sql') {
    return {
      command: toSqlCommand(values, rest, context.env),
      store: sqlStore(values, context.env),
    };
  }
  if (command === 'show' ? rest.length !== 1 || rest[0]?.trim() === '' : rest.length > 0) {
    throw fail(
      command === 'show'
        ? 'show takes exactly one execution id: npm run history -- show ID'
        : `unexpected argument "${rest[0]}" (${command} takes flags only)`,
    );
  }
  for (const flag of ['since', 'until', 'job', 'status', 'format', 'out', 'bucket'] as const) {
    if (values[flag] !== undefined && values[flag].trim() === '') {
      throw fail(`--${flag} needs a value`);
    }
  }
  if (values.json && values.csv) throw fail('choose one of --json and --csv');
  return {
    command: toCommand(command, values, rest[0] ?? '', context.now),
    store: storeChoice(
      () =>
        parseStoreChoice(
          values,
          context.env,
          command === 'health' ? [...HISTORY_STORE_FLAGS, 'state-table'] : HISTORY_STORE_FLAGS,
        ),
      command,
    ),
  };
}

type Values = ReturnType<typeof parse>['values'];

function toCommand(name: HistoryCommandName, values: Values, id: string, now: number): HistoryCommand {
  const filters = {
    ...(values.job !== undefined ? { jobId: values.job.trim() } : {}),
    ...(values.status !== undefined ? { status: values.status.trim().toUpperCase() } : {}),
  };
  const output = values.json ? 'json' : values.csv ? 'csv' : 'table';
  switch (name) {
    case 'stats':
      return { name, ...filters, period: period(values, now, '30d'), output };
    case 'list':
      return { name, ...filters, period: period(values, now), ...limit(values.limit), output };
    case 'show':
      return { name, id: id.trim(), output: values.json ? 'json' : 'table' };
    case 'export': {
      const format = values.format ?? 'ndjson';
      if (format !== 'ndjson' && format !== 'csv') {
        throw new UsageError(`--format must be ndjson or csv, got "${format}"`);
      }
      return {
        name,
        ...filters,
        period: period(values, now),
        format,
        ...(values.out !== undefined ? { out: values.out } : {}),
      };
    }
    case 'sql':
      throw new Error('sql is parsed by toSqlCommand');
    case 'health':
      return {
        name,
        ...(filters.jobId !== undefined ? { jobId: filters.jobId } : {}),
        output: values.json ? 'json' : 'table',
      };
    case 'files': {
      const status = values.status?.trim().toLowerCase();
      if (status !== undefined && status !== 'pending' && status !== 'failed') {
        throw new UsageError(`--status must be pending or failed, got "${values.status}"`, 'files');
      }
      return { name, ...(status ? { status } : {}), output: values.json ? 'json' : 'table' };
    }
    case 'timeline': {
      const bucket = values.bucket ?? 'day';
      if (!(TIMELINE_BUCKETS as readonly string[]).includes(bucket)) {
        throw new UsageError(`--bucket must be ${TIMELINE_BUCKETS.join(' or ')}, got "${bucket}"`);
      }
      return {
        name,
        ...filters,
        period: period(values, now, bucket === 'hour' ? '48h' : '30d'),
        bucket: bucket as TimelineBucket,
        output: values.json ? 'json' : 'table',
      };
    }
  }
}

function toSqlCommand(
  values: Values,
  rest: readonly string[],
  env: Record<string, string | undefined>,
): Extract<HistoryCommand, { name: 'sql' }> {
  const fail = (message: string) => new UsageError(message, 'sql');
  for (const flag of ['query', 'engine', 'workgroup', 'database', 'bucket', 'timeout', 'max-rows'] as const) {
    if (values[flag] !== undefined && values[flag].trim() === '') throw fail(`--${flag} needs a value`);
  }
  const engine = values.engine?.trim().toLowerCase() ?? 'duckdb';
  if (engine !== 'duckdb' && engine !== 'athena')
    throw fail(`--engine must be duckdb or athena, got "${values.engine}"`);
  const output = values.json ? 'json' : values.csv ? 'csv' : 'table';
  const given = [rest.length > 0, values.query !== undefined, values.queries === true].filter(Boolean).length;
  if (given !== 1) {
    throw fail(
      rest.length > 1
        ? 'the SQL goes in one argument: put it in quotes, npm run history -- sql "SELECT …"'
        : 'give one of: the SQL in quotes, --query NAME, or --queries',
    );
  }
  let sql = rest[0];
  if (values.query !== undefined) {
    const named = namedQuery(values.query.trim());
    if (!named) {
      throw fail(
        `unknown query "${values.query}" (expected ${NAMED_QUERIES.map((query) => query.name).join(', ')})`,
      );
    }
    sql = named.sql;
  }
  if (sql !== undefined && sql.trim() === '') throw fail('the SQL is empty');
  const workgroup = values.workgroup?.trim();
  if (engine === 'athena' && workgroup === undefined) {
    throw fail('--engine athena needs --workgroup NAME (the stack output AthenaWorkGroupName)');
  }
  if (engine === 'duckdb' && workgroup !== undefined) throw fail('--workgroup goes with --engine athena');
  if (engine === 'athena' && values.bucket !== undefined) {
    throw fail('--bucket is for DuckDB over a deployed lake; Athena reads the lake itself');
  }
  // Checked here, before anything touches the disk: the name becomes a directory of the lake copy.
  const bucket =
    values.bucket !== undefined
      ? parseBucketName(values.bucket, '--bucket')
      : engine === 'duckdb' && env.LAKE_BUCKET_NAME?.trim()
        ? parseBucketName(env.LAKE_BUCKET_NAME, 'LAKE_BUCKET_NAME')
        : undefined;
  const timeoutMs = parseDuration(values.timeout ?? DEFAULT_SQL_TIMEOUT, '--timeout');
  const maxRows = parseCount(values['max-rows']?.trim(), '--max-rows');
  return {
    name: 'sql',
    ...(sql !== undefined ? { sql } : {}),
    ...(values.query !== undefined ? { query: values.query.trim() } : {}),
    output,
    engine,
    ...(bucket !== undefined ? { bucket } : {}),
    ...(workgroup !== undefined ? { workgroup } : {}),
    database: values.database?.trim() ?? DEFAULT_GLUE_DATABASE,
    timeoutMs,
    ...(maxRows !== undefined ? { maxRows } : {}),
  };
}

function period(values: Values, now: number, defaultSince?: string): Period {
  try {
    return resolvePeriod(
      {
        ...(values.since !== undefined ? { since: values.since } : {}),
        ...(values.until !== undefined ? { until: values.until } : {}),
        ...(defaultSince !== undefined ? { defaultSince } : {}),
      },
      now,
    );
  } catch (error) {
    if (error instanceof HistoryInputError) throw new UsageError(error.message);
    throw error;
  }
}

const DEFAULT_LIST_LIMIT = 50;

function limit(raw: string | undefined): { limit?: number } {
  if (raw === undefined) return { limit: DEFAULT_LIST_LIMIT };
  if (!/^\d{1,9}$/.test(raw.trim())) {
    throw new UsageError(`--limit must be a whole number (0 = all), got "${raw}"`);
  }
  const value = Number(raw.trim());
  return value === 0 ? {} : { limit: value };
}

/** The store flags' choice, their usage errors told as this command's. */
function storeChoice(parse: () => StoreChoice, command: HistoryCommandName): StoreChoice {
  try {
    return parse();
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(error.message, command);
    throw error;
  }
}

/**
 * Where `history sql` reads the lake: the local store's (--data-dir), a deployed lake bucket (--bucket, or env
 * LAKE_BUCKET_NAME; copies cached under --data-dir), or the lake of a deployed stack (--stack).
 */
function sqlStore(values: Values, env: Record<string, string | undefined>): StoreChoice {
  const dataDir = values['data-dir'] ?? DEFAULT_DATA_DIR;
  const bucket = values.bucket?.trim() || env.LAKE_BUCKET_NAME?.trim() || undefined;
  const stackName = values.stack?.trim();
  if (stackName !== undefined && values.bucket !== undefined) {
    throw new UsageError('choose one of --bucket and --stack', 'sql');
  }
  if (stackName !== undefined) return { kind: 'aws', stackName, dataDir };
  return bucket !== undefined ? { kind: 'aws', lakeBucket: bucket, dataDir } : { kind: 'local', dataDir };
}

function parse(argv: readonly string[]) {
  return parseCommandLine(
    argv,
    { options: OPTIONS, allowPositionals: true },
    { unknownFlag: true, byCommand: true },
  );
}
