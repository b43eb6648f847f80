// The Athena engine of `history sql --engine athena`, with Athena mocked (aws-sdk-client-mock): the query is
// started in the workgroup and database, waited for, streamed page by page, and its text cells turned back into
// values; a failed query is one line; a query past its timeout, or interrupted, is stopped; non-read statements
// are refused before any call. (Not yet run against a live
// account: see docs/analytics.md.)
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { runAthenaQuery, streamAthenaQuery } from '#local/warehouse/athena-engine';
import { SqlInterruptedError, SqlQueryError, SqlTimeoutError } from '#local/warehouse/sql-result';

const athena = mockClient(AthenaClient);
const client = new AthenaClient({ region: 'eu-west-1' });
const options = { workgroup: 'product-live-sync', database: 'product_live_sync', sleep: async () => {} };

const column = (Name: string, Type: string) => ({ Name, Type });
const row = (...values: Array<string | undefined>) => ({
  Data: values.map((value) => (value === undefined ? {} : { VarCharValue: value })),
});

beforeEach(() => {
  athena.reset();
  athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
});

describe('runAthenaQuery', () => {
  it('starts the query in the workgroup and database, waits, and pages every result', async () => {
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce({ QueryExecution: { Status: { State: 'QUEUED' } } })
      .resolvesOnce({ QueryExecution: { Status: { State: 'RUNNING' } } })
      .resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
    const metadata = {
      ColumnInfo: [
        column('job_id', 'varchar'),
        column('runs', 'bigint'),
        column('success_rate', 'double'),
        column('last_run_at', 'timestamp'),
        column('day', 'varchar'),
        column('ok', 'boolean'),
      ],
    };
    athena
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-1' })
      .resolvesOnce({
        ResultSet: {
          ResultSetMetadata: metadata,
          Rows: [
            row('job_id', 'runs', 'success_rate', 'last_run_at', 'day', 'ok'),
            row('aaaa', '12', '0.75', '2024-06-01 12:00:00.123', '2024-06-01', 'true'),
          ],
        },
        NextToken: 'page-2',
      })
      .resolvesOnce({
        ResultSet: {
          ResultSetMetadata: metadata,
          Rows: [row('bbbb', '3', undefined, undefined, '2024-06-02', 'false')],
        },
      });
    const result = await runAthenaQuery(client, 'SELECT * FROM job_stats;', options);
    expect(athena.commandCalls(StartQueryExecutionCommand)[0]?.args[0].input).toEqual({
      QueryString: 'SELECT * FROM job_stats',
      WorkGroup: 'product-live-sync',
      QueryExecutionContext: { Database: 'product_live_sync', Catalog: 'AwsDataCatalog' },
    });
    expect(athena.commandCalls(GetQueryExecutionCommand)).toHaveLength(3);
    expect(result.columns.map((entry) => entry.name)).toEqual([
      'job_id',
      'runs',
      'success_rate',
      'last_run_at',
      'day',
      'ok',
    ]);
    expect(result.rows).toEqual([
      {
        job_id: 'aaaa',
        runs: 12,
        success_rate: 0.75,
        last_run_at: '2024-06-01T12:00:00.123Z',
        day: '2024-06-01',
        ok: true,
      },
      { job_id: 'bbbb', runs: 3, success_rate: null, last_run_at: null, day: '2024-06-02', ok: false },
    ]);
  });

  it("reports a failed query with Athena's own message, as one line", async () => {
    athena.on(GetQueryExecutionCommand).resolves({
      QueryExecution: {
        Status: {
          State: 'FAILED',
          AthenaError: { ErrorMessage: "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved" },
        },
      },
    });
    const error = await runAthenaQuery(client, 'SELECT nope FROM executions', options).catch((e) => e);
    expect(error).toBeInstanceOf(SqlQueryError);
    expect(error.message).toBe("Athena: COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved");
  });

  it('stops a query still running after the timeout (StopQueryExecution) and says so', async () => {
    athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: 'RUNNING' } } });
    athena.on(StopQueryExecutionCommand).resolves({});
    const wait = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));
    const error = await runAthenaQuery(client, 'SELECT 1', {
      ...options,
      timeoutMs: 20,
      sleep: () => wait(5),
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SqlTimeoutError);
    expect(athena.commandCalls(StopQueryExecutionCommand)[0]?.args[0].input).toEqual({
      QueryExecutionId: 'q-1',
    });
  });

  it('stops the query when the signal aborts (Ctrl-C)', async () => {
    const interrupt = new AbortController();
    athena.on(GetQueryExecutionCommand).callsFake(() => {
      interrupt.abort();
      return { QueryExecution: { Status: { State: 'RUNNING' } } };
    });
    athena.on(StopQueryExecutionCommand).resolves({});
    const error = await runAthenaQuery(client, 'SELECT 1', { ...options, signal: interrupt.signal }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(SqlInterruptedError);
    expect(athena.commandCalls(StopQueryExecutionCommand)).toHaveLength(1);
  });

  it('streams the result page by page: the next page is asked for only when the rows before it are read', async () => {
    athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
    const metadata = { ColumnInfo: [column('n', 'integer')] };
    athena
      .on(GetQueryResultsCommand)
      .resolvesOnce({
        ResultSet: { ResultSetMetadata: metadata, Rows: [row('n'), row('1')] },
        NextToken: 'p2',
      })
      .resolvesOnce({ ResultSet: { ResultSetMetadata: metadata, Rows: [row('2'), row('3')] } });
    const result = await streamAthenaQuery(client, 'SELECT n FROM t', options);
    expect(result.columns).toEqual([{ name: 'n', type: 'integer' }]);
    const batches = result.batches[Symbol.asyncIterator]();
    expect((await batches.next()).value).toEqual([{ n: 1 }]);
    expect(athena.commandCalls(GetQueryResultsCommand)).toHaveLength(1);
    expect((await batches.next()).value).toEqual([{ n: 2 }, { n: 3 }]);
    expect(athena.commandCalls(GetQueryResultsCommand)).toHaveLength(2);
    expect((await batches.next()).done).toBe(true);
  });

  it.each([
    ['DROP TABLE executions', 'DROP'],
    ['INSERT INTO executions SELECT * FROM executions', 'INSERT'],
    ['-- a comment\nCREATE TABLE x AS SELECT 1', 'CREATE'],
  ])('refuses %s before calling Athena', async (sql, keyword) => {
    await expect(runAthenaQuery(client, sql, options)).rejects.toThrow(
      `read-only: only SELECT queries are run here (got ${keyword})`,
    );
    expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(0);
  });
});
