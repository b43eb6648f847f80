// The bad-input catalogue: every bad input the project has been tried against, and what it gets. The
// docs/reliability.md table "Bad input catalogue" lists exactly these rows (a unit test keeps the two in
// step), and each row has one test, named by `badInput(id)` (in test/unit/bad-input.test.ts,
// test/integration/bad-input.test.ts, or, for launches that carry files, test/integration/launch-files.test.ts, or,
// for task tokens, test/integration/task-callbacks-cli.test.ts).

export interface BadInput {
  area:
    | 'configuration'
    | 'API response'
    | 'SQS message'
    | 'file URL'
    | 'CLI'
    | 'SQL'
    | 'lake'
    | 'events'
    | 'local services';
  input: string;
  outcome: string;
}

export const BAD_INPUTS = {
  // Configuration: the function stops at cold start, naming the variable.
  'config.missing-table': {
    area: 'configuration',
    input: '`EXECUTIONS_TABLE_NAME` unset',
    outcome: 'cold start fails: `Invalid configuration: EXECUTIONS_TABLE_NAME: is required`',
  },
  'config.page-size': {
    area: 'configuration',
    input: '`SYNC_PAGE_SIZE=lots`',
    outcome: '`SYNC_PAGE_SIZE: expected an integer from 1 to 10000, got "lots"`',
  },
  'config.start-date': {
    area: 'configuration',
    input: '`SYNC_START_DATE=yesterday`',
    outcome: '`SYNC_START_DATE: expected an ISO 8601 date such as 2024-01-31 or 2024-01-31T00:00:00Z`',
  },
  'config.api-url': {
    area: 'configuration',
    input: '`PRODUCT_LIVE_API_URL=ftp://example.com`',
    outcome: '`PRODUCT_LIVE_API_URL: expected an http(s) URL`',
  },
  'config.no-key': {
    area: 'configuration',
    input: 'neither `PRODUCT_LIVE_API_KEY_SECRET_ID` nor `PRODUCT_LIVE_API_KEY`',
    outcome:
      '`PRODUCT_LIVE_API_KEY_SECRET_ID: is required (the Secrets Manager secret holding the API key; …)`',
  },
  'config.key-in-lambda': {
    area: 'configuration',
    input: '`PRODUCT_LIVE_API_KEY` set inside Lambda',
    outcome:
      'refused: `must not be used in AWS Lambda; store the key in Secrets Manager …` (the key is not echoed)',
  },
  'config.hosts': {
    area: 'configuration',
    input: '`FILE_ALLOWED_HOSTS=https://files.example.com/`',
    outcome:
      '`FILE_ALLOWED_HOSTS: expected comma-separated host names (host, host:port or *.domain), got "https://files.example.com/"`',
  },
  'config.secret-json': {
    area: 'configuration',
    input: 'secret value `{"key": "…"}`',
    outcome: '`secret product-live/api-key is JSON without a non-empty "apiKey" string`',
  },
  'config.job-expectations-duration': {
    area: 'configuration',
    input:
      '`JOB_EXPECTATIONS` (CDK context `jobExpectations`) `{"65819ba43ad5b963658ab35d": {"every": "24x"}}`',
    outcome:
      'cold start (or synth) fails: `JOB_EXPECTATIONS: expected a JSON object of job expectations …: 65819ba43ad5b963658ab35d.every: expected a duration such as 30m, 24h or 7d or "never", got "24x"`',
  },
  'config.job-expectations-field': {
    area: 'configuration',
    input: '`jobExpectations` `{"*": {"evry": "24h"}}` (a misspelt field)',
    outcome:
      'synth fails: `jobExpectations: … *: unknown field "evry" (expected every, maxConsecutiveFailures, maxDuration, grace)`',
  },
  'config.job-expectations-key': {
    area: 'configuration',
    input: '`jobExpectations` `{"nightly-export": {"every": "24h"}}` (a job title, not its id)',
    outcome:
      'synth fails: `jobExpectations: … nightly-export: expected a job id (24 hexadecimal characters) or "*" as a key`',
  },
  'config.job-expectations-json': {
    area: 'configuration',
    input: '`JOB_EXPECTATIONS={"*": {every: "24h"}}` (not JSON)',
    outcome:
      "cold start fails: `JOB_EXPECTATIONS: expected a JSON object of job expectations …: <the JSON parser's message>`",
  },
  'config.alert-health-states': {
    area: 'configuration',
    input: 'CDK context `alertHealthStates=late,stale`',
    outcome:
      'synth fails: `alertHealthStates: expected job health states … out of healthy, late, failing, slow, unknown …: "stale" is not one`',
  },
  'config.budget-split': {
    area: 'configuration',
    input: 'CDK context `syncRequestsPerMinute=45` with the default launch share 10',
    outcome: "synth fails: `… 45 + 10 = 55 exceeds Product-Live's 50 requests/minute per API key`",
  },
  // API responses: validated; transient ones retried, deterministic ones named.
  'api.malformed-json': {
    area: 'API response',
    input: 'HTTP 200 with a truncated JSON body',
    outcome:
      'retried with backoff; if it persists, `ProductLiveResponseError` (malformed JSON) and the run ends with `error` in its summary',
  },
  'api.missing-created-at': {
    area: 'API response',
    input: 'an execution without `createdAt`',
    outcome: 'not retried: `Invalid job execution <id> in POST /v1/job_executions/find: field "createdAt" …`',
  },
  'api.bad-date': {
    area: 'API response',
    input: '`"createdAt": "yesterday"`',
    outcome: '`… field "createdAt": expected an ISO 8601 date-time`',
  },
  'api.no-total': {
    area: 'API response',
    input: 'a list without `totalElements`',
    outcome: '`… field "totalElements" …`',
  },
  'api.unknown-field': {
    area: 'API response',
    input: 'an undocumented field (`"priority": 3`)',
    outcome: 'not an error: kept verbatim in the stored JSON and in exports',
  },
  'api.unknown-status': {
    area: 'API response',
    input: 'an undocumented status (`"PAUSED"`)',
    outcome: 'stored as returned, treated as not ended: re-read by every run until a terminal status',
  },
  'api.401': {
    area: 'API response',
    input: 'HTTP 401 (key revoked)',
    outcome:
      '`ProductLiveAuthError`, not retried; the run stops with `error` in its summary (alarm `SyncRunsFailed`)',
  },
  'api.404-open': {
    area: 'API response',
    input: 'HTTP 404 for an execution stored as open',
    outcome: 'warning logged; the last stored view kept, marked `removedFromApiAt` and no longer re-read',
  },
  'api.429-no-retry-after': {
    area: 'API response',
    input: 'HTTP 429 without `Retry-After`',
    outcome:
      'waited out with exponential backoff and jitter; the whole budget pauses; counted as `throttled`',
  },
  'api.html-502': {
    area: 'API response',
    input: 'HTTP 502 with an HTML page',
    outcome: 'retried; then `ProductLiveApiError` with status 502 and the body (truncated, redacted)',
  },
  'api.in-refused': {
    area: 'API response',
    input: 'HTTP 400 for a find with `in` on `id`',
    outcome: 'open executions are read one by one (GET), the stalest first, at most 100 a run',
  },
  'api.page-size-400': {
    area: 'API response',
    input: 'HTTP 400 for `size=1000`',
    outcome: 'the page size is halved until the API accepts it',
  },
  'api.find-path-404': {
    area: 'API response',
    input: 'HTTP 404 on the configured find path',
    outcome:
      'the other documented spelling (`/v1/data_factory/job_executions/find` or `/v1/job_executions/find`) is tried once and kept',
  },
  'api.or-refused': {
    area: 'API response',
    input: 'HTTP 400 for a find with `or` (the window and the open ids in one query)',
    outcome:
      'learned and kept a day in the state table: the open executions (`in`) and the window are read apart, 2 requests a quiet run instead of 1',
  },
  'api.lower-refused': {
    area: 'API response',
    input: "HTTP 400 for a find with `lower` (the audit's re-read of one month)",
    outcome:
      'learned and kept a day: the audit re-reads `createdAt >= start` of that month, which covers the later months too',
  },
  'api.key-echo': {
    area: 'API response',
    input: 'an error body that echoes the API key',
    outcome: 'the key is replaced by `[REDACTED]` in the error and every log line',
  },
  // SQS messages: never retried; to the DLQ at once with the reason, the original body kept.
  'sqs.malformed': {
    area: 'SQS message',
    input: 'body `{"jobId":`',
    outcome: 'DLQ: `invalid message: body is not valid JSON (…)`',
  },
  'sqs.not-object': {
    area: 'SQS message',
    input: 'body `[1, 2]`',
    outcome: 'DLQ: `invalid message: body must be a JSON object with a "jobId", got an array`',
  },
  'sqs.no-job': {
    area: 'SQS message',
    input: 'body `{"input": {}}`',
    outcome: 'DLQ: `invalid message: jobId: is required`',
  },
  'sqs.job-not-hex': {
    area: 'SQS message',
    input: '`"jobId": "123"`',
    outcome: 'DLQ: `invalid message: jobId: expected 24 hexadecimal characters`',
  },
  'sqs.input-array': {
    area: 'SQS message',
    input: '`"input": [1]`',
    outcome: 'DLQ: `invalid message: input: expected a JSON object`',
  },
  'sqs.unknown-field': {
    area: 'SQS message',
    input: 'a misspelt field `"idempotencyKye"`',
    outcome:
      'DLQ: `invalid message: unknown field "idempotencyKye" (expected jobId, input, idempotencyKey, taskToken)`',
  },
  'sqs.long-key': {
    area: 'SQS message',
    input: 'an `idempotencyKey` of 300 characters',
    outcome: 'DLQ: `invalid message: idempotencyKey: must be at most 256 characters`',
  },
  'sqs.unknown-job': {
    area: 'SQS message',
    input: 'a well-formed `jobId` that does not exist',
    outcome: 'DLQ: `unknown jobId …: Product-Live answered HTTP 404 …`',
  },
  'sqs.key-reused': {
    area: 'SQS message',
    input: 'an `idempotencyKey` reused with another `input`',
    outcome: 'DLQ: `idempotencyKey was already used for a different request …`',
  },
  // Launches that carry files (docs/launches.md "Launching with files", "The inbox"): refused before anything is
  // uploaded or launched; their tests run on the local services (test/integration/launch-files.test.ts).
  'sqs.file-bucket-not-allowed': {
    area: 'SQS message',
    input:
      'an `s3_object` reference to a bucket (or a prefix of one) that is neither in `launchInputBuckets` nor the inbox',
    outcome:
      'DLQ at once, before any S3 read: `invalid file reference: input.file: s3://… is not in a place the launch function may read (allowed: …)`',
  },
  'sqs.file-bad-uri': {
    area: 'SQS message',
    input:
      'an `s3_object` reference whose `uri` is not `s3://bucket/key` (`https://bucket.s3.amazonaws.com/…`)',
    outcome:
      'DLQ at once, none of the request\'s references read: `invalid file reference: input.files[0]: uri must be s3://bucket/key, got "https://…"`',
  },
  'sqs.file-empty-key': {
    area: 'SQS message',
    input: 'an `s3_object` reference with an empty key (`s3://bucket/`)',
    outcome:
      'DLQ at once, nothing read: `invalid file reference: input.file: uri has an empty key: "s3://bucket/"`',
  },
  'sqs.file-missing': {
    area: 'SQS message',
    input: 'a reference to an object that does not exist (after one that does)',
    outcome:
      'DLQ (`file-refused`) after HeadObject of both, before either is read or uploaded: `s3://bucket/key does not exist`',
  },
  'sqs.file-bad-version': {
    area: 'SQS message',
    input: 'a reference whose `versionId` is empty, or a version the object does not have',
    outcome:
      'DLQ: `invalid file reference: input.file: versionId: versionId must not be empty`, or (`file-refused`, before any upload) `s3://bucket/key (version …) does not exist`',
  },
  'sqs.file-over-100mb': {
    area: 'SQS message',
    input: 'a reference to an object of 104,857,601 bytes (one more than 100 MB)',
    outcome:
      "DLQ (`file-refused`) after HeadObject, nothing uploaded: `s3://… is 104,857,601 bytes, over Product-Live's 100 MB (104,857,600 bytes)`; exactly 104,857,600 bytes is uploaded",
  },
  'sqs.file-content-type': {
    area: 'SQS message',
    input: 'a reference to an object whose Content-Type is not a MIME type (`csv`)',
    outcome: 'launched: the file is uploaded as `application/octet-stream`',
  },
  'sqs.inbox-no-rule': {
    area: 'SQS message',
    input: 'an inbox object that no rule claims, or under `uploads/`, or of another bucket',
    outcome:
      'ignored with a log line saying why (`launch ignored`): never retried, nothing in the DLQ, nothing read or launched',
  },
  'api.file-413': {
    area: 'API response',
    input: "HTTP 413 to the upload of a launch's file",
    outcome:
      'DLQ (`rejected-by-api`), not retried, no execution: `Product-Live refused the file as too large (HTTP 413: …)`',
  },
  // File URLs (invariant 8) and downloads.
  'file.http': {
    area: 'file URL',
    input: '`http://app.product-live.com/…` (plain http)',
    outcome: 'not downloaded: `plain http refused …`; recorded `failed` at once, the sync goes on',
  },
  'file.other-host': {
    area: 'file URL',
    input: '`https://evil.example.com/…`',
    outcome: 'not downloaded, the key never sent: `host not in the allowed file hosts …`',
  },
  'file.redirect': {
    area: 'file URL',
    input: 'an allowed URL redirecting to another host',
    outcome: 'the redirect is re-checked and refused; the key is not sent there',
  },
  'file.private': {
    area: 'file URL',
    input: '`https://169.254.169.254/…` (a private address)',
    outcome: '`private address refused …`',
  },
  'file.loopback': {
    area: 'file URL',
    input: '`https://127.0.0.1/…` in production',
    outcome: '`loopback address refused …`',
  },
  'file.loopback-other-port': {
    area: 'file URL',
    input:
      'with the local API at `http://127.0.0.1:4010`, a file at `http://127.0.0.1:4011/…` (directly or through a redirect)',
    outcome:
      "`loopback address refused (…): only the local API's own origin (…) is allowed`: recorded `failed` once, never requested, the key never sent",
  },
  'file.credentials': {
    area: 'file URL',
    input: '`https://user:pass@app.product-live.com/…`',
    outcome: '`URL with credentials refused …`',
  },
  'file.zero-byte': {
    area: 'file URL',
    input: 'a zero-byte file',
    outcome: 'copied: size 0, SHA-256 `e3b0c442…b855`',
  },
  'file.large': {
    area: 'file URL',
    input: 'a 40 MiB file (1 GiB in the file-copy benchmark)',
    outcome: 'streamed in 8 MiB multipart parts, SHA-256 matches; memory does not grow with the size',
  },
  'file.truncated': {
    area: 'file URL',
    input: 'a download that closes before `Content-Length` bytes',
    outcome:
      'no S3 object is completed; tried again in the run (3 tries), then recorded `pending` with the error and retried by a later run',
  },
  'file.404': {
    area: 'file URL',
    input: 'a download answering 404 (deleted after 90 days)',
    outcome:
      'recorded `failed` at once with `answered HTTP 404 (the file is gone …)`, never requested again (`--retry-failed-files` puts it back)',
  },
  // Command lines: one line, exit code 2.
  'cli.unknown-flag': {
    area: 'CLI',
    input: '`npm start -- --bogus`',
    outcome: "exit 2: `error: Unknown option '--bogus'` and the usage text",
  },
  'cli.every': {
    area: 'CLI',
    input: '`npm start -- --every soon`',
    outcome: 'exit 2: `--every: expected a duration such as 30s, 1m or 1h, got "soon"`',
  },
  'cli.api-url-no-key': {
    area: 'CLI',
    input: '`npm start -- --api-url https://api.product-live.com` without a key',
    outcome:
      'exit 2: `--api-url needs its key: --api-key-file PATH (or the environment variable PRODUCT_LIVE_API_KEY)`',
  },
  'cli.json-quiet': {
    area: 'CLI',
    input: '`npm start -- --json --quiet`',
    outcome: 'exit 2: `--json and --quiet cannot be combined`',
  },
  'cli.launch-input': {
    area: 'CLI',
    input: "`npm run launch -- --job <id> --input '{bad'`",
    outcome: 'exit 2: `--input: not valid JSON: {bad`',
  },
  'cli.launch-job': {
    area: 'CLI',
    input: '`npm run launch -- --job 123`',
    outcome: 'exit 2: `jobId: expected 24 hexadecimal characters`',
  },
  'cli.launch-file-missing': {
    area: 'CLI',
    input: '`npm run launch -- --job ID --file file=PATH` with no file at PATH',
    outcome: 'exit 2 before anything is put in the inbox or sent: `--file file: PATH does not exist`',
  },
  'cli.launch-task-token-empty': {
    area: 'CLI',
    input: "`npm run launch -- --job ID --task-token ''`",
    outcome: 'exit 2 before anything is sent: `taskToken: must not be empty`',
  },
  'cli.launch-task-token-long': {
    area: 'CLI',
    input: '`npm run launch -- --job ID --task-token TOKEN` with a token over 2048 characters',
    outcome: 'exit 2 before anything is sent: `taskToken: must be at most 2048 characters`',
  },
  'cli.inbox-reserved': {
    area: 'CLI',
    input: '`npm start -- --inbox uploads/=JOB_ID` (the prefix of `npm run launch -- --file`)',
    outcome:
      'exit 2: `--inbox uploads/=JOB_ID: prefix must not start with uploads/ (reserved for npm run launch -- --file)`',
  },
  'cli.history-command': {
    area: 'CLI',
    input: '`npm run history -- frobnicate`',
    outcome:
      'exit 2: `unknown command "frobnicate" (expected stats, list, show, export, timeline, sql, files, health)`',
  },
  'cli.job-expectations-file': {
    area: 'CLI',
    input:
      '`npm start -- --job-expectations FILE`, FILE missing, not JSON, or with `"maxDuration": "30 minutes"`',
    outcome:
      'exit 2 before anything starts: `--job-expectations FILE: no such file` / `not valid JSON (…)` / `*.maxDuration: expected a duration such as 30m, 24h or 7d, got "30 minutes"`',
  },
  'cli.history-sql-bucket': {
    area: 'CLI',
    input: '`npm run history -- sql "SELECT 1" --bucket ../../etc`',
    outcome:
      'exit 2 before anything touches the disk: `--bucket: "../../etc" is not a valid S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens, …)`',
  },
  'cli.history-since': {
    area: 'CLI',
    input: '`npm run history -- stats --since soon`',
    outcome: 'exit 2, naming `--since` and the accepted forms',
  },
  'sql.syntax': {
    area: 'SQL',
    input: '`npm run history -- sql "SELEC 1"`',
    outcome: 'exit 2: `error: Parser Error: syntax error at or near "SELEC"`',
  },
  'sql.write': {
    area: 'SQL',
    input:
      '`DROP VIEW executions`, `INSERT …`, `COPY … TO`, `ATTACH`, `SET`, `PRAGMA …`, `EXPORT DATABASE`, `INSTALL`',
    outcome:
      "exit 2: `read-only: only SELECT queries are run here (got DROP)`, by DuckDB's own parser; nothing is extracted, bound or run",
  },
  'sql.explain-analyze': {
    area: 'SQL',
    input:
      "`EXPLAIN ANALYZE COPY (…) TO '<lake copy>/…/executions.parquet'`, `EXPLAIN ANALYZE CREATE TABLE …`, `EXPLAIN ANALYZE DROP VIEW executions`",
    outcome:
      'exit 2: `read-only: EXPLAIN ANALYZE runs the statement it explains, so it is not run here; plain EXPLAIN shows the plan`; the lake copy stays byte-identical',
  },
  'sql.outside-lake': {
    area: 'SQL',
    input: "`SELECT * FROM read_csv('/etc/passwd')`",
    outcome: '`Permission Error: Cannot access file …`: DuckDB reads only the copy of the lake',
  },
  'sql.runaway': {
    area: 'SQL',
    input: 'a runaway query: `SELECT count(*) FROM range(100000000000000)`',
    outcome:
      "stopped by DuckDB's interrupt after `--timeout` (default 60s): exit 1, `the query ran longer than --timeout 60s and was stopped: …`; Ctrl-C stops it at once: exit 130",
  },
  'lake.copy-tampered': {
    area: 'lake',
    input: 'a file of the local lake copy changed, truncated or removed on disk, or one added',
    outcome:
      'found before the next query (each file checked against the size and SHA-256 recorded when it was written): fetched again, an added one removed, one line on stderr each',
  },
  'lake.write-refused': {
    area: 'lake',
    input: 'the lake bucket refuses a write (throttling, a missing permission)',
    outcome:
      "that day's mark stays: counted in `daysFailed` (metric `LakeDaysFailed`), rewritten by the next run; the sync is not affected",
  },
  'events.put-refused': {
    area: 'events',
    input: 'PutEvents refuses entries (`ThrottlingException`, `InternalFailure`) or the call fails',
    outcome:
      'retried in place (4 tries); an entry still refused: its record is the batch failure, nothing after it is sent, the stream delivers again from it (metric `EventsFailed`)',
  },
  'events.not-an-execution': {
    area: 'events',
    input: 'a stream record whose new image lacks an id, job, status, dates or origin',
    outcome: 'publishes nothing, logged as an error with its keys; the rest of the batch is published',
  },
  'cli.events-status': {
    area: 'CLI',
    input: '`npm run events -- tail --status BROKEN`',
    outcome: 'exit 2: `--status: "BROKEN" is not a status (PENDING, RUNNING, …)` with the usage',
  },
  'cli.events-no-file': {
    area: 'CLI',
    input: '`npm run events -- tail --no-follow --data-dir DIR` before any `npm start` on DIR',
    outcome: 'exit 2: `no events at DIR/events.ndjson: run `npm start` first (or pass --data-dir)`',
  },
  'cli.api-key-argv': {
    area: 'CLI',
    input: '`npm start -- --api-url URL --api-key KEY` (the key in the process list)',
    outcome:
      'runs, with `warning: --api-key puts the key in the process list, where other users of this machine can read it: use --api-key-file PATH or …`; the key is never printed',
  },
  'cli.api-key-file': {
    area: 'CLI',
    input: '`--api-key-file` naming a missing or empty file (`npm start`, `npm run emulator`)',
    outcome: 'exit 2: `--api-key-file: PATH does not exist` / `… is empty` (the content is never shown)',
  },
  'cli.data-dir-file': {
    area: 'CLI',
    input:
      '`--data-dir` naming a file, for `npm start`, `history`, `dashboard`, `events`, `launch` and `doctor`',
    outcome: 'exit 2 before anything starts: `--data-dir: PATH is a file, not a directory`',
  },
  'cli.data-dir-unreadable': {
    area: 'CLI',
    input: '`--data-dir` naming a directory this user cannot read or write',
    outcome: 'exit 2: `--data-dir: PATH cannot be read or written by this user (check its permissions)`',
  },
  'cli.launch-no-stack': {
    area: 'CLI',
    input: '`npm run launch -- --job ID` while no `npm start` runs on the data directory',
    outcome:
      'exit 2: `no local stack is running in DIR: start it with `npm start` …` (never a guess at a default queue)',
  },
  'cli.export-out-dir': {
    area: 'CLI',
    input: '`npm run history -- export --out /nonexistent/dir/x.csv`',
    outcome: 'exit 2 before the store is read: `--out: the directory /nonexistent/dir does not exist`',
  },
  'cli.show-empty-id': {
    area: 'CLI',
    input: "`npm run history -- show ''`",
    outcome: 'exit 2: `show takes exactly one execution id: npm run history -- show ID` with the usage',
  },
  'cli.period-range': {
    area: 'CLI',
    input: '`--since 1969-12-31`, `--since 9999999w`, `--until 10000-01-01`',
    outcome:
      'exit 2: `--since must lie between 1970-01-01 and 9999-12-31 (the history holds nothing earlier); got "…"` (or the accepted forms)',
  },
  'cli.ui-port-taken': {
    area: 'CLI',
    input: '`npm start -- --ui-port P` with P in use',
    outcome:
      'exit 2 before `Local stack running` is printed and before any server starts: `port P for the dashboard is already in use …`',
  },
  'cli.doctor-flag': {
    area: 'CLI',
    input: '`npm run doctor -- --bogus`',
    outcome: 'exit 2: `error: unknown flag --bogus` and the usage text',
  },
  'cli.doctor-api-key-argv': {
    area: 'CLI',
    input: '`npm run doctor -- --api-key KEY` (the key in the process list)',
    outcome:
      'exit 2: `--api-key is not taken: a key on the command line is in the process list, …; use --api-key-file PATH or the environment variable PRODUCT_LIVE_API_KEY` (the key is never printed)',
  },
  'cli.doctor-api-url': {
    area: 'CLI',
    input: '`npm run doctor -- --api-url https://api.product-live.com` without a key',
    outcome:
      'exit 2: `--api-url needs its key: --api-key-file PATH (or the environment variable PRODUCT_LIVE_API_KEY)`',
  },
  'cli.doctor-athena-local': {
    area: 'CLI',
    input: '`npm run doctor -- --athena` without a deployed stack',
    outcome: 'exit 2: `--athena runs a query in a deployed Athena workgroup: it goes with --stack NAME`',
  },
  'cli.doctor-key-deployed': {
    area: 'CLI',
    input: '`npm run doctor -- --stack NAME --api-key-file PATH`',
    outcome:
      "exit 2: `--api-url and --api-key-file check a local key: a deployed stack's key is read from its secret`",
  },
  // The local stack's servers: only its own signed clients (docs/local.md).
  'local.unsigned': {
    area: 'local services',
    input: 'an unsigned request (a form, a `no-cors` fetch) to the local SQS, S3 or DynamoDB',
    outcome: "403 `refused by the local stack's guard: unsigned request`; the service never sees it",
  },
  'local.wrong-credentials': {
    area: 'local services',
    input: 'a request signed with another access key id or secret than this run’s',
    outcome: '403 `unknown access key id` / `signature does not match` (AccessDenied to an SDK)',
  },
  'local.origin': {
    area: 'local services',
    input: 'any request carrying an `Origin` header, to any local server (SQS, S3, DynamoDB, the emulator)',
    outcome: '403 `cross-origin request`, whatever else it carries',
  },
  'local.foreign-host': {
    area: 'local services',
    input: 'a `Host` other than `127.0.0.1:<port>` or `localhost:<port>` (DNS rebinding)',
    outcome: '403 `unexpected Host "…"`',
  },
} as const satisfies Record<string, BadInput>;

export type BadInputId = keyof typeof BAD_INPUTS;

/** The test name of a catalogue row. */
export function badInput(id: BadInputId): string {
  const row = BAD_INPUTS[id];
  return `${row.area}: ${row.input} → ${row.outcome}`;
}

/** The docs/reliability.md table row of a catalogue entry. */
export function readmeRow(id: BadInputId): string {
  const row = BAD_INPUTS[id];
  return `| ${row.area} | ${row.input} | ${row.outcome} |`;
}
