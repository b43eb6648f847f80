// Layer flow: `npm run history -- sql`, the dashboard, the benchmarks -> this module -> DuckDB (embedded) over a
// local copy of the lake (views `executions`, `files`, `sync_runs` over its Parquet). Read-only by construction
// (read-only-sql.ts), file access limited to the lake's directory, configuration locked; results stream, interruptible.
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBPreparedStatement,
  type DuckDBResult,
  DuckDBTypeId,
  JSDuckDBValueConverter,
} from '@duckdb/node-api';
import {
  LAKE_TABLES,
  type LakeColumnType,
  type LakeTable,
  lakeTablePrefix,
  PARTITION_COLUMN,
} from '#core/warehouse/lake-tables';
import { prepareReadOnly, toQueryError } from './read-only-sql';
import {
  collectRows,
  SqlInterruptedError,
  type SqlResult,
  type SqlRow,
  type SqlRows,
  type SqlRunOptions,
  SqlTimeoutError,
  type SqlValue,
} from './sql-result';

const DUCKDB_TYPES: Readonly<Record<LakeColumnType, string>> = {
  string: 'VARCHAR',
  timestamp: 'TIMESTAMP',
  bigint: 'BIGINT',
  int: 'INTEGER',
  boolean: 'BOOLEAN',
};

/** A DuckDB database whose `executions` and `files` views read the lake under `lakeDir` (read-only). */
export class DuckDbLake {
  /** Settles when the query on the connection ends: queries take turns (see stream). */
  private turn: Promise<void> = Promise.resolve();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  /** Opens DuckDB in memory on a local copy of the lake (`lakeDir` holds `lake/executions/day=…/…`). */
  static async open(lakeDir: string): Promise<DuckDbLake> {
    const root = resolve(lakeDir);
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const lake = new DuckDbLake(instance, connection);
    try {
      // Timestamps are UTC instants; current_timestamp compares with them in UTC.
      await connection.run(`SET TimeZone = 'UTC'`);
      for (const table of Object.values(LAKE_TABLES)) {
        await connection.run(await viewSql(root, table));
      }
      await connection.run(`SET allowed_directories = [${quote(`${join(root, 'lake')}/`)}]`);
      await connection.run('SET enable_external_access = false');
      await connection.run('SET lock_configuration = true');
    } catch (error) {
      lake.close();
      throw error;
    }
    return lake;
  }

  /** Runs one read-only statement and reads its whole result (SqlQueryError carries DuckDB's own message). */
  async query(sql: string, options: SqlRunOptions = {}): Promise<SqlResult> {
    return collectRows(await this.stream(sql, options));
  }

  /**
   * Starts one read-only statement (see read-only-sql.ts) and streams its rows, one DuckDB chunk (2,048 rows) a
   * batch: memory does not grow with the result. `timeoutMs` bounds the time spent waiting for DuckDB (parsing,
   * binding, computing each chunk), not the time the caller takes to write the rows out; then, or when `signal`
   * aborts, DuckDB's interrupt stops the query (SqlTimeoutError, SqlInterruptedError).
   *
   * Queries take turns on the connection (DuckDB closes a streaming result when another query starts on its
   * connection: the dashboard's concurrent requests did just that): a query waits until the one before it has been
   * read to its end or left (`break`). Read the batches to the end or leave them; the connection is held until then.
   */
  async stream(sql: string, options: SqlRunOptions = {}): Promise<SqlRows> {
    const release = await this.takeTurn();
    const limit = new QueryLimit(this.connection, options);
    let prepared: DuckDBPreparedStatement | undefined;
    let result: DuckDBResult;
    const finish = () => {
      limit.done();
      prepared?.destroySync();
      prepared = undefined;
      release();
    };
    try {
      prepared = await limit.wait(() => prepareReadOnly(this.connection, sql));
      const statement = prepared;
      result = await limit.wait(() => statement.stream());
    } catch (error) {
      finish();
      throw error;
    }
    const names = result.deduplicatedColumnNames();
    const types = result.columnTypes();
    const isDate = types.map((type) => type.typeId === DuckDBTypeId.DATE);
    const toRow = (values: readonly unknown[]): SqlRow => {
      const row: SqlRow = {};
      names.forEach((name, index) => {
        const value = toSqlValue(values[index]);
        row[name] = isDate[index] && typeof value === 'string' ? value.slice(0, 10) : value;
      });
      return row;
    };
    async function* batches(): AsyncGenerator<SqlRow[]> {
      try {
        for (;;) {
          const chunk = await limit.wait(() => result.fetchChunk());
          if (!chunk || chunk.rowCount === 0) return;
          yield chunk.convertRows(JSDuckDBValueConverter).map(toRow);
        }
      } finally {
        finish();
      }
    }
    return {
      columns: names.map((name, index) => ({ name, type: String(types[index]) })),
      batches: batches(),
    };
  }

  /** Resolves when the connection is this query's; the function returned gives it to the next one. */
  private async takeTurn(): Promise<() => void> {
    let release: () => void = () => undefined;
    const mine = new Promise<void>((done) => {
      release = done;
    });
    const previous = this.turn;
    this.turn = previous.then(() => mine);
    await previous;
    return release;
  }

  /** Stops the running query (its reader then throws). */
  interrupt(): void {
    this.connection.interrupt();
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/** The view of a table: its Parquet objects, or an empty view of the same columns when there is none yet. */
async function viewSql(root: string, table: LakeTable): Promise<string> {
  const folder = join(root, lakeTablePrefix(table.name));
  const hasObjects = (await readdir(folder).catch(() => [] as string[])).some((entry) =>
    entry.startsWith(`${PARTITION_COLUMN}=`),
  );
  if (hasObjects) {
    const glob = join(folder, `${PARTITION_COLUMN}=*`, '*.parquet');
    return (
      `CREATE VIEW ${table.name} AS SELECT * FROM read_parquet(${quote(glob)}, hive_partitioning = true, ` +
      `hive_types = {'${PARTITION_COLUMN}': 'VARCHAR'}, union_by_name = true)`
    );
  }
  const columns = [
    ...table.columns.map((column) => `CAST(NULL AS ${DUCKDB_TYPES[column.type]}) AS ${column.name}`),
    `CAST(NULL AS VARCHAR) AS ${PARTITION_COLUMN}`,
  ];
  return `CREATE VIEW ${table.name} AS SELECT ${columns.join(', ')} WHERE false`;
}

function quote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** JSON-friendly values: instants as ISO 8601, bigints as numbers, bytes as base64. */
function toSqlValue(value: unknown): SqlValue {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(toSqlValue);
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, toSqlValue(child)]));
  }
  return String(value);
}

/**
 * The time limit and the abort signal of one query: DuckDB's interrupt when the time spent waiting for DuckDB
 * exceeds the limit, or when the signal aborts; the interrupted call then throws SqlTimeoutError or
 * SqlInterruptedError instead of DuckDB's own "Interrupted!".
 */
class QueryLimit {
  private remainingMs: number;
  private stopped: 'timeout' | 'signal' | undefined;
  private pending = false;
  private repeat: NodeJS.Timeout | undefined;
  private readonly onAbort = () => this.stop('signal');

  constructor(
    private readonly connection: DuckDBConnection,
    private readonly options: SqlRunOptions,
  ) {
    this.remainingMs =
      options.timeoutMs && options.timeoutMs > 0 ? options.timeoutMs : Number.POSITIVE_INFINITY;
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Runs one DuckDB call, charging its time to the limit. */
  async wait<T>(call: () => Promise<T>): Promise<T> {
    this.throwIfStopped();
    if (this.options.signal?.aborted) this.stop('signal');
    this.throwIfStopped();
    const started = performance.now();
    const timer = Number.isFinite(this.remainingMs)
      ? setTimeout(() => this.stop('timeout'), Math.max(0, this.remainingMs))
      : undefined;
    this.pending = true;
    try {
      return await call();
    } catch (error) {
      this.throwIfStopped();
      throw toQueryError(error);
    } finally {
      this.pending = false;
      clearTimeout(timer);
      clearInterval(this.repeat);
      this.remainingMs -= performance.now() - started;
    }
  }

  /** The query is over (read to its end, or abandoned): the signal no longer concerns it. */
  done(): void {
    this.options.signal?.removeEventListener('abort', this.onAbort);
  }

  private stop(reason: 'timeout' | 'signal'): void {
    if (this.stopped) return;
    this.stopped = reason;
    this.connection.interrupt();
    // DuckDB clears the flag when a query begins: a call still queued for a worker thread would miss it.
    if (this.pending) this.repeat = setInterval(() => this.connection.interrupt(), 50);
  }

  private throwIfStopped(): void {
    if (this.stopped === 'timeout') throw new SqlTimeoutError(this.options.timeoutMs ?? 0);
    if (this.stopped === 'signal') throw new SqlInterruptedError();
  }
}
