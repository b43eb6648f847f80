// Layer flow: domain. The named queries of the warehouse: run by `npm run history -- sql --query NAME`
// (DuckDB) and saved as Athena named queries by the CDK stack. One SQL text for both engines: only what DuckDB
// and Athena (Trino) both accept (window functions, CASE, CAST, max_by, INTERVAL 'n' DAY).
import { TERMINAL_STATUSES } from '../product-live/product-live.schema';

export interface NamedQuery {
  readonly name: string;
  readonly description: string;
  readonly sql: string;
}

const quoted = (values: Iterable<string>) => [...values].map((value) => `'${value}'`).join(', ');
const ENDED = quoted(TERMINAL_STATUSES);
const FAILED = quoted([...TERMINAL_STATUSES].filter((status) => status !== 'COMPLETED'));

/** The count of each status, as `history stats` shows them (every documented status). */
const STATUS_COUNTS = ['PENDING', 'RUNNING', 'COMPLETED', 'USER_ERROR', 'FAILED', 'TERMINATED', 'TIMEDOUT']
  .map((status) => `  sum(CASE WHEN status = '${status}' THEN 1 ELSE 0 END) AS ${status.toLowerCase()},`)
  .join('\n');

/** Nearest rank: the value at rank ceil(p/100 × n) of the ascending durations (as `history stats`). */
const rankOf = (percent: number) => `greatest(1, CAST(ceil(CAST(n * ${percent} AS DOUBLE) / 100) AS BIGINT))`;

const JOB_STATS = `-- Per job, over all time: the figures of \`npm run history -- stats --since all\`.
-- One scan: each run with its duration when it ended (measured), ranked per job for the percentiles.
WITH runs AS (
  SELECT job_id, title, status, created_at,
         CASE WHEN status IN (${ENDED}) THEN 1 ELSE 0 END AS ended,
         CASE WHEN status IN (${ENDED}) THEN duration_ms END AS measured
  FROM executions
),
ranked AS (
  SELECT job_id, title, status, created_at, ended, measured,
         row_number() OVER (PARTITION BY job_id ORDER BY measured) AS rank,
         count(measured) OVER (PARTITION BY job_id) AS n
  FROM runs
)
SELECT
  job_id,
  max_by(title, CASE WHEN title IS NOT NULL THEN created_at END) AS title,
  count(*) AS runs,
${STATUS_COUNTS}
  sum(ended) AS ended,
  CAST(sum(CASE WHEN status = 'COMPLETED' THEN 1 ELSE 0 END) AS DOUBLE) / nullif(sum(ended), 0) AS success_rate,
  max(CASE WHEN measured IS NOT NULL AND rank = ${rankOf(50)} THEN measured END) AS p50_ms,
  max(CASE WHEN measured IS NOT NULL AND rank = ${rankOf(95)} THEN measured END) AS p95_ms,
  max(measured) AS max_ms,
  max(created_at) AS last_run_at,
  max(CASE WHEN status IN (${FAILED}) THEN created_at END) AS last_failure_at
FROM ranked
GROUP BY job_id
ORDER BY runs DESC, title, job_id`;

const FAILURES_7D = `-- The runs that ended in a status other than COMPLETED in the last 7 days, newest first.
SELECT id, job_id, title, status, created_at, ended_at, duration_ms, output
FROM executions
WHERE status IN (${FAILED})
  AND created_at >= current_timestamp - INTERVAL '7' DAY
ORDER BY created_at DESC, id`;

const RUNS_PER_DAY = `-- Runs and failures per UTC day (the days with runs), as \`npm run history -- timeline\`.
SELECT day,
       count(*) AS runs,
       sum(CASE WHEN status IN (${FAILED}) THEN 1 ELSE 0 END) AS failures
FROM executions
GROUP BY day
ORDER BY day`;

const COPIES_NOT_DONE = `-- The file copies not done (pending or failed), oldest execution first, as \`npm run history -- files\`.
SELECT created_at, execution_id, job_id, path, status, attempts, last_error
FROM files
WHERE status <> 'copied'
ORDER BY created_at, execution_id, path`;

export const NAMED_QUERIES: readonly NamedQuery[] = [
  {
    name: 'job-stats',
    description:
      'Per job: runs, count per status, success rate, duration p50/p95/max, last run, last failure',
    sql: JOB_STATS,
  },
  {
    name: 'failures-7d',
    description: 'Runs that ended in a status other than COMPLETED in the last 7 days',
    sql: FAILURES_7D,
  },
  { name: 'runs-per-day', description: 'Runs and failures per UTC day', sql: RUNS_PER_DAY },
  {
    name: 'copies-not-done',
    description: 'File copies pending or failed, with their last error',
    sql: COPIES_NOT_DONE,
  },
];

/** The named query, or undefined. */
export function namedQuery(name: string): NamedQuery | undefined {
  return NAMED_QUERIES.find((query) => query.name === name);
}
