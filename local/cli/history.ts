// `npm run history -- stats|list|show|export|timeline|files|health|sql`: analytics over the synced executions, from the
// local store or a deployed table. Wiring only: parse the command line, open the store, run one query of
// local/history, print it. Exit codes: 0 done, 1 failed (one line saying what to do), 2 bad usage, 130 Ctrl-C.
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import {
  ExecutionNotFoundError,
  HistoryInputError,
  LargePayloadUnavailableError,
} from '#core/history/history.errors';
import { readJobHealth } from '#core/history/job-health-reader';
import { csvLine } from '../history/csv';
import { EXPORT_CSV_COLUMNS, toExportCsvValues } from '../history/export-record';
import {
  exportExecutions,
  listCopiesNotDone,
  listExecutions,
  queryStats,
  queryTimeline,
  showExecution,
} from '../history/history-queries';
import { DEFAULT_DATA_DIR } from '../stack/local-stack-settings';
import { openStore, requireName, type Store } from '../store/open-store';
import { SqlQueryError, SqlTimeoutError } from '../warehouse/sql-result';
import { writeChunk } from './cli-output';
import { type Explained, runCli, SetupError } from './cli-runner';
import { checkDataDir, checkOutputFile } from './cli-values';
import { COMMAND_USAGE, type HistoryCommand, parseHistoryArgs, USAGE } from './history-args';
import {
  renderCopiesNotDone,
  renderHealthTable,
  renderListCsv,
  renderListTable,
  renderShow,
  renderStatsCsv,
  renderStatsTable,
  renderTimelineChart,
  showJson,
} from './history-render';
import { explainStoreFailure } from './store-options';

async function main(argv: readonly string[]): Promise<number> {
  const { command, store: choice } = parseHistoryArgs(argv, { now: Date.now(), env: process.env });
  if (choice.kind === 'local') await checkDataDir(choice.dataDir);
  if (command.name === 'export' && command.out !== undefined) await checkOutputFile(command.out);
  if (command.name === 'sql') {
    // The lake copy goes under --data-dir whatever the lake (a deployed bucket's too).
    return runSql(command, choice.dataDir ?? DEFAULT_DATA_DIR);
  }
  let store: Store | undefined;
  const stopOnSignal = (signal: NodeJS.Signals) => {
    void (store?.close() ?? Promise.resolve()).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    store = await openStore(choice, {
      env: process.env,
      ...(process.stderr.isTTY ? { note: (message: string) => process.stderr.write(`${message}\n`) } : {}),
    });
    await run(command, store);
    return 0;
  } catch (error) {
    const explained = explainStoreFailure(error, choice);
    throw explained ? new SetupError(explained.message) : error;
  } finally {
    await store?.close();
    process.off('SIGINT', stopOnSignal);
    process.off('SIGTERM', stopOnSignal);
  }
}

/**
 * SQL reads the lake (Parquet), not the table: its own wiring, loaded only for this command. Ctrl-C (or SIGTERM)
 * stops the lake refresh, the query (DuckDB's interrupt) and the writing; DuckDB is closed and the exit code is 130.
 * A second Ctrl-C exits at once.
 */
async function runSql(command: Extract<HistoryCommand, { name: 'sql' }>, dataDir: string): Promise<number> {
  const { runSqlCommand } = await import('./history-sql');
  const interrupt = new AbortController();
  const stop = () => {
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    await runSqlCommand(command, dataDir, {
      out: process.stdout,
      isTTY: process.stdout.isTTY === true,
      env: process.env,
      warn: (message) => process.stderr.write(`${message}\n`),
      signal: interrupt.signal,
      ...(process.stderr.isTTY ? { note: (message: string) => process.stderr.write(`${message}\n`) } : {}),
    });
    return 0;
  } catch (error) {
    if (!interrupt.signal.aborted) throw error;
    process.stderr.write('interrupted: the query was stopped\n');
    return 130;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

async function run(command: HistoryCommand, store: Store): Promise<void> {
  const reader = store.reader();
  const print = (text: string) => writeChunk(process.stdout, text.endsWith('\n') ? text : `${text}\n`);
  const json = (value: unknown) => print(`${JSON.stringify(value, null, 2)}\n`);
  switch (command.name) {
    case 'stats': {
      const stats = await queryStats(reader, {
        period: command.period,
        ...(command.jobId !== undefined ? { jobId: command.jobId } : {}),
      });
      if (command.output === 'json') return json(stats);
      return print(command.output === 'csv' ? renderStatsCsv(stats) : renderStatsTable(stats, command.jobId));
    }
    case 'list': {
      const { name: _name, output, ...filter } = command;
      const list = await listExecutions(reader, filter);
      if (output === 'json') return json(list);
      return print(output === 'csv' ? renderListCsv(list) : renderListTable(list, command.limit));
    }
    case 'show': {
      const detail = await showExecution(reader, command.id);
      return command.output === 'json' ? json(showJson(detail)) : print(renderShow(detail));
    }
    case 'export':
      return runExport(command, store);
    case 'files': {
      const copies = await listCopiesNotDone(reader, command.status ? { status: command.status } : {});
      return command.output === 'json'
        ? json({ copies })
        : print(renderCopiesNotDone(copies, command.status));
    }
    case 'sql':
      throw new Error('sql runs without the table store');
    case 'health': {
      // What the sync's last evaluation left in the state table: no Product-Live request, no Scan.
      const report = await readJobHealth(
        { client: store.doc, stateTableName: requireName(store, 'stateTable', '--state-table NAME') },
        command.jobId !== undefined ? { jobId: command.jobId } : {},
      );
      return command.output === 'json'
        ? json({ jobs: report.jobs, evaluatedAt: report.evaluatedAt, asOf: report.asOf })
        : print(renderHealthTable(report, command.jobId));
    }
    case 'timeline': {
      const timeline = await queryTimeline(reader, {
        period: command.period,
        bucket: command.bucket,
        now: Date.now(),
        ...(command.jobId !== undefined ? { jobId: command.jobId } : {}),
      });
      return command.output === 'json' ? json(timeline) : print(renderTimelineChart(timeline));
    }
  }
}

/** Streams the export to stdout, or to a temporary file renamed to --out once complete. */
async function runExport(command: Extract<HistoryCommand, { name: 'export' }>, store: Store) {
  const temporary = command.out
    ? join(dirname(command.out), `.${command.out.split(/[\\/]/).pop()}.${process.pid}.partial`)
    : undefined;
  const target: Writable = temporary ? createWriteStream(temporary) : process.stdout;
  let executions = 0;
  let files = 0;
  try {
    if (command.format === 'csv') await writeChunk(target, csvLine(EXPORT_CSV_COLUMNS));
    for await (const { record, item } of exportExecutions(store.reader(), command)) {
      await writeChunk(
        target,
        command.format === 'csv'
          ? csvLine(toExportCsvValues(record, item.durationMs))
          : `${JSON.stringify(record)}\n`,
      );
      executions += 1;
      files += record.files.length;
    }
    if (temporary && command.out) {
      target.end();
      await finished(target);
      await rename(temporary, command.out);
      process.stdout.write(
        `Exported ${executions} execution${executions === 1 ? '' : 's'} (${files} file${files === 1 ? '' : 's'}) to ${command.out}.\n`,
      );
    }
  } catch (error) {
    if (temporary) {
      target.destroy();
      await rm(temporary, { force: true });
    }
    throw error;
  }
}

/** One line that says what went wrong and what to do, and the exit code (see cli-runner.ts). */
function explain(error: unknown): Explained | undefined {
  if (error instanceof HistoryInputError) return { message: error.message, code: 2 };
  if (error instanceof ExecutionNotFoundError) {
    return {
      message: `${error.message}: check the id (\`npm run history -- list\` shows recent ones)`,
      code: 1,
    };
  }
  if (error instanceof LargePayloadUnavailableError) {
    return { message: `${error.message}: pass --files-bucket NAME or set FILES_BUCKET_NAME`, code: 2 };
  }
  if (error instanceof SqlQueryError) return { message: error.message, code: 2 };
  if (error instanceof SqlTimeoutError) {
    return {
      message: `the query ran longer than --timeout ${formatTimeout(error.timeoutMs)} and was stopped: narrow it (WHERE day >= '…', LIMIT) or pass --timeout 0 for no limit`,
      code: 1,
    };
  }
  return explainStoreFailure(error);
}

/** A --timeout as it was typed: 60s, 5m, 1h, 1500ms. */
function formatTimeout(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms > 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}

await runCli({ usage: USAGE, commands: COMMAND_USAGE, run: main, explain });
