// Layer flow: `npm run history -- sql` (and the benchmarks) -> this module -> DuckDB (@duckdb/node-api,
// embedded) over a local copy of the lake: the views `executions`, `files` and `sync_runs` read the
// day-partitioned Parquet objects. Read-only: one SELECT (or EXPLAIN) per query; file access is limited to the lake's directory and
// the configuration is locked, so a statement cannot write, attach or load anything.
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type DuckDBConnection, DuckDBInstance, DuckDBTypeId, StatementType } from '@duckdb/node-api';
import {
  LAKE_TABLES,
  type LakeColumnType,
  type LakeTable,
  lakeTablePrefix,
  PARTITION_COLUMN,
} from '../../functions/core/warehouse/lake-tables';
import { assertReadOnly, SqlQueryError, type SqlResult, type SqlValue } from './sql-result';

const DUCKDB_TYPES: Readonly<Record<LakeColumnType, string>> = {
  string: 'VARCHAR',
  timestamp: 'TIMESTAMP',
  bigint: 'BIGINT',
  int: 'INTEGER',
  boolean: 'BOOLEAN',
};

const ALLOWED_STATEMENTS = new Set([StatementType.SELECT, StatementType.EXPLAIN]);

/** A DuckDB database whose `executions` and `files` views read the lake under `lakeDir` (read-only). */
export class DuckDbLake {
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

  /** Runs one read-only statement; SqlQueryError carries DuckDB's own message. */
  async query(sql: string): Promise<SqlResult> {
    let statements: Awaited<ReturnType<DuckDBConnection['extractStatements']>>;
    try {
      // Parsed first, so that a typo gets DuckDB's syntax error rather than the read-only refusal.
      statements = await this.connection.extractStatements(sql);
    } catch (error) {
      throw toQueryError(error);
    }
    if (statements.count === 0) throw new SqlQueryError('no SQL statement given');
    if (statements.count > 1) throw new SqlQueryError('one statement at a time, please');
    assertReadOnly(sql);
    let prepared: Awaited<ReturnType<typeof statements.prepare>>;
    try {
      prepared = await statements.prepare(0);
    } catch (error) {
      throw toQueryError(error);
    }
    if (!ALLOWED_STATEMENTS.has(prepared.statementType)) {
      throw new SqlQueryError(
        `read-only: only SELECT queries are run here (got ${StatementType[prepared.statementType] ?? 'another statement'})`,
      );
    }
    try {
      const reader = await prepared.runAndReadAll();
      const names = reader.columnNames();
      const types = reader.columnTypes();
      const columns = names.map((name, index) => ({ name, type: String(types[index]) }));
      const isDate = types.map((type) => type.typeId === DuckDBTypeId.DATE);
      const rows = reader.getRowObjectsJS().map((row) => {
        const converted: Record<string, SqlValue> = {};
        names.forEach((name, index) => {
          const value = toSqlValue(row[name]);
          converted[name] = isDate[index] && typeof value === 'string' ? value.slice(0, 10) : value;
        });
        return converted;
      });
      return { columns, rows };
    } catch (error) {
      throw toQueryError(error);
    }
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

/** DuckDB's message, first line, without the wrapper the statement extraction adds. */
function toQueryError(error: unknown): SqlQueryError {
  if (error instanceof SqlQueryError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = message.replace(/^Failed to extract statements:\s*/, '').split('\n')[0] ?? message;
  return new SqlQueryError(firstLine.trim());
}
