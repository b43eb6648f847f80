// Layer flow: DuckDbLake.stream -> this module -> DuckDB's own parser (json_serialize_sql, then the prepared
// statement's type). Decides, before anything is extracted, bound or run, that a text is one SELECT or a plain
// EXPLAIN of one; everything else is refused (SqlQueryError). Why each step: docs/analytics.md#sql.
import { type DuckDBConnection, type DuckDBPreparedStatement, StatementType } from '@duckdb/node-api';
import { SqlQueryError } from './sql-result';

/**
 * Prepares `sql` when DuckDB's parser says it is exactly one SELECT (DESCRIBE, SHOW, SUMMARIZE, FROM-first and
 * VALUES are SELECTs to DuckDB), or a plain EXPLAIN of one; refuses anything else before it is extracted or bound:
 *
 * 1. `json_serialize_sql`, DuckDB's parser alone, serializes SELECT statements and nothing else: a text it refuses
 *    is not a SELECT, whatever its words (PRAGMA, COPY, PIVOT with its hidden CREATE TYPE, …); a syntax error is
 *    DuckDB's own message; more than one statement is refused. This comes first because the later steps have
 *    effects of their own: extracting expands PRAGMAs (IMPORT DATABASE reads files), binding EXPORT DATABASE
 *    creates its directory.
 * 2. The prepared statement's type must then be SELECT (EXPLAIN for an EXPLAIN).
 *
 * An EXPLAIN is accepted only as the keyword followed by a text that passes (1) and (2) on its own; what runs is
 * `EXPLAIN ` + that text, rebuilt here, so EXPLAIN ANALYZE (which runs its statement: `EXPLAIN ANALYZE COPY …`
 * writes the file) or options (`EXPLAIN (ANALYZE) …`) can never reach DuckDB.
 */
export async function prepareReadOnly(
  connection: DuckDBConnection,
  sql: string,
): Promise<DuckDBPreparedStatement> {
  const explained = explainedText(sql);
  if (explained === undefined) {
    const refuse = () => refusal(`got ${firstWord(sql) ?? 'a statement that is not a SELECT'}`);
    await assertOneSelect(connection, sql, refuse);
    return prepareAs(connection, sql, StatementType.SELECT, refuse);
  }
  const inner = stripLeadingComments(explained);
  if (/^(analy[sz]e\b|\([^)]*\banaly[sz]e\b)/i.test(inner)) {
    throw new SqlQueryError(
      'read-only: EXPLAIN ANALYZE runs the statement it explains, so it is not run here; plain EXPLAIN shows the plan',
    );
  }
  if (EXPLAIN_OPTIONS.test(inner)) {
    throw new SqlQueryError('read-only: EXPLAIN options are not run here; plain EXPLAIN shows the plan');
  }
  const refuse = () => refusal(`got EXPLAIN ${firstWord(inner) ?? 'of a statement that is not a SELECT'}`);
  // A parenthesised query becomes FROM (…): after the keyword there is then a word, never an option list.
  const query = inner.startsWith('(') ? `FROM ${inner}` : inner;
  await assertOneSelect(connection, query, refuse);
  (await prepareAs(connection, query, StatementType.SELECT, refuse)).destroySync();
  return prepareAs(connection, `EXPLAIN ${query}`, StatementType.EXPLAIN, refuse);
}

/** DuckDB's parser, alone (no extraction, no binding): json_serialize_sql answers an error for anything but SELECT. */
async function assertOneSelect(
  connection: DuckDBConnection,
  sql: string,
  refuse: () => SqlQueryError,
): Promise<void> {
  const reader = await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR) AS parsed', [sql]);
  const parsed = JSON.parse(String(reader.getRowObjectsJS()[0]?.parsed ?? '{"error": true}')) as {
    error?: boolean;
    error_type?: string;
    error_message?: string;
    statements?: unknown[];
  };
  if (parsed.error === true && parsed.error_type === 'parser') {
    throw new SqlQueryError(`Parser Error: ${parsed.error_message ?? 'syntax error'}`);
  }
  if (parsed.error !== false) throw refuse();
  const count = parsed.statements?.length ?? 0;
  if (count === 0) throw new SqlQueryError('no SQL statement given');
  if (count > 1) throw new SqlQueryError('one statement at a time, please');
}

async function prepareAs(
  connection: DuckDBConnection,
  sql: string,
  type: StatementType,
  refuse: () => SqlQueryError,
): Promise<DuckDBPreparedStatement> {
  let prepared: DuckDBPreparedStatement;
  try {
    const statements = await connection.extractStatements(sql);
    prepared = await statements.prepare(0);
  } catch (error) {
    throw toQueryError(error);
  }
  if (prepared.statementType !== type) {
    prepared.destroySync();
    throw refuse();
  }
  return prepared;
}

/** `EXPLAIN VERBOSE …`, `EXPLAIN (FORMAT json) …`: a word, not a query, after the parenthesis. */
const EXPLAIN_OPTIONS =
  /^(verbose\b|\(\s*(?!(select|with|from|values|table|describe|show|summarize|pivot|unpivot)\b)[a-z_]+)/i;

function refusal(got: string): SqlQueryError {
  return new SqlQueryError(`read-only: only SELECT queries are run here (${got})`);
}

/** The text after a leading EXPLAIN keyword, or undefined when the statement does not start with it. */
function explainedText(sql: string): string | undefined {
  const match = /^explain(?=[\s(/-]|$)/i.exec(stripLeadingComments(sql));
  return match ? stripLeadingComments(sql).slice(match[0].length) : undefined;
}

/** For messages only (DuckDB has decided by then): the statement's first word, upper-cased. */
function firstWord(sql: string): string | undefined {
  const word = /^[a-z_]+/i.exec(stripLeadingComments(sql))?.[0]?.toUpperCase();
  return word === 'WITH' || word === 'SELECT' ? undefined : word;
}

/** Removes leading white space, `-- line` and (nested) `/* block *\/` comments. */
function stripLeadingComments(sql: string): string {
  let text = sql;
  for (;;) {
    const trimmed = text.trimStart();
    if (trimmed.startsWith('--')) {
      const end = trimmed.indexOf('\n');
      text = end < 0 ? '' : trimmed.slice(end + 1);
    } else if (trimmed.startsWith('/*')) {
      let depth = 0;
      let index = 0;
      for (; index < trimmed.length; index++) {
        if (trimmed.startsWith('/*', index)) {
          depth += 1;
          index += 1;
        } else if (trimmed.startsWith('*/', index)) {
          depth -= 1;
          index += 1;
          if (depth === 0) break;
        }
      }
      text = trimmed.slice(index + 1);
    } else {
      return trimmed;
    }
  }
}

/** DuckDB's message, first line, without the wrapper the statement extraction adds. */
export function toQueryError(error: unknown): SqlQueryError {
  if (error instanceof SqlQueryError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = message.replace(/^Failed to extract statements:\s*/, '').split('\n')[0] ?? message;
  return new SqlQueryError(firstLine.trim());
}
