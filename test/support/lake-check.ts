// Test support: the lake read back as an analyst would (its objects copied from S3, then DuckDB), compared
// with the store row for row and column for column: what `executionRow`/`fileRows` make of every stored
// execution, with its `day`.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { HistoryReader } from '#core/history/history-reader';
import { s3PayloadLoader } from '#core/history/large-payload';
import { executionRow, fileRows, type LakeRow } from '#core/warehouse/lake-tables';
import { DuckDbLake } from '#local/warehouse/duckdb-lake';
import { refreshLakeCache, removeLakeCopies } from '#local/warehouse/lake-cache';
import type { SqlResult, SqlValue } from '#local/warehouse/sql-result';
import type { SyncHarness } from './sync-harness';

/** A lake row as DuckDB gives it back (instants as ISO text, whole numbers as numbers). */
function asSql(row: LakeRow, day: string): Record<string, SqlValue> {
  const converted: Record<string, SqlValue> = {};
  for (const [key, value] of Object.entries(row)) {
    converted[key] =
      value instanceof Date ? value.toISOString() : typeof value === 'bigint' ? Number(value) : value;
  }
  return { ...converted, day };
}

/** Queries the harness's lake with DuckDB, over a fresh copy of its objects. */
export async function queryLake(h: SyncHarness, sql: string): Promise<SqlResult> {
  const directory = await mkdtemp(join(tmpdir(), 'plsync-lake-'));
  try {
    await refreshLakeCache(h.clients.s3, h.store.lakeBucket, directory);
    const lake = await DuckDbLake.open(directory);
    try {
      return await lake.query(sql);
    } finally {
      lake.close();
    }
  } finally {
    await removeLakeCopies(directory);
  }
}

/** Every row and column of both lake tables equals what the store holds. */
export async function expectLakeToEqualStore(h: SyncHarness, context = ''): Promise<void> {
  const reader = new HistoryReader(h.clients.doc, h.store.executionsTable, {
    loadLargePayload: s3PayloadLoader(h.clients.s3, h.store.filesBucket),
  });
  const items = await h.storedItems();
  const expectedExecutions: Array<Record<string, SqlValue>> = [];
  const expectedFiles: Array<Record<string, SqlValue>> = [];
  for (const item of items) {
    const day = item.createdAt.slice(0, 10);
    expectedExecutions.push(asSql(executionRow(item, await reader.apiObject(item)), day));
    for (const row of fileRows(item)) expectedFiles.push(asSql(row, day));
  }
  const byKey = (keys: string[]) => (a: Record<string, SqlValue>, b: Record<string, SqlValue>) => {
    for (const key of keys) {
      const left = String(a[key]);
      const right = String(b[key]);
      if (left !== right) return left < right ? -1 : 1;
    }
    return 0;
  };
  expectedExecutions.sort(byKey(['id']));
  expectedFiles.sort(byKey(['execution_id', 'path']));
  const executions = await queryLake(h, 'SELECT * FROM executions ORDER BY id');
  const files = await queryLake(h, 'SELECT * FROM files ORDER BY execution_id, path');
  expect(executions.rows.length, `${context} executions in the lake`).toBe(expectedExecutions.length);
  expect(executions.rows, `${context} lake executions`).toEqual(expectedExecutions);
  expect(files.rows.length, `${context} files in the lake`).toBe(expectedFiles.length);
  expect(files.rows, `${context} lake files`).toEqual(expectedFiles);
}
