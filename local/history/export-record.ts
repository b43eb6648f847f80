// Layer flow: history queries -> this module (pure). The exported form of an execution: for NDJSON exactly
// DESIGN's "Machine-readable output" shape (the API object as the API returned it, unknown fields included,
// plus its file copies), and for CSV one flat row per execution.
import type { FileCopy, LaunchView } from '#core/executions/execution-record';
import type { CsvValue } from './csv';

/** A file of an exported execution. A copy not (yet) made has null size, sha256 and contentType. */
export interface ExportedFile {
  path: string;
  s3Key: string;
  size: number | null;
  sha256: string | null;
  contentType: string | null;
}

/** One line of `history export --format ndjson`: the API's fields, then `files`, then `launch`. */
export type ExportRecord = Record<string, unknown> & { files: ExportedFile[]; launch: LaunchView | null };

/** The exported description of a file copy. */
function toExportedFile(copy: FileCopy): ExportedFile {
  const copied = copy.status === 'copied';
  return {
    path: copy.path,
    s3Key: copy.s3Key,
    size: copied ? (copy.size ?? null) : null,
    sha256: copied ? (copy.sha256 ?? null) : null,
    contentType: copied ? (copy.contentType ?? null) : null,
  };
}

/**
 * The export record of an execution: its API object (key order kept) followed by its files and the launch
 * request that started it (null when it was started elsewhere).
 */
export function toExportRecord(
  apiObject: Record<string, unknown>,
  files: readonly FileCopy[],
  launch: LaunchView | null = null,
): ExportRecord {
  return { ...apiObject, files: files.map(toExportedFile), launch };
}

/** The documented fields of the API object that get a CSV column of their own. */
const API_COLUMNS = ['id', 'jobId', 'pipelineId', 'status', 'createdAt', 'startedAt', 'endedAt'] as const;
const OWN_COLUMNS = new Set<string>([...API_COLUMNS, 'input', 'output', 'info', 'object', 'files', 'launch']);

/**
 * The CSV columns of `history export --format csv`. Dates are the API's text; input, output, info and any
 * undocumented fields (`otherFields`) are JSON; the file columns list one value per file, one per line of
 * the cell, in the same order in each.
 */
export const EXPORT_CSV_COLUMNS = [
  ...API_COLUMNS,
  'title',
  'durationMs',
  'input',
  'output',
  'info',
  'otherFields',
  'fileCount',
  'filePaths',
  'fileS3Keys',
  'fileSizes',
  'fileSha256s',
  'fileContentTypes',
  'launchKey',
] as const;

/** The CSV values of an export record, in EXPORT_CSV_COLUMNS order. */
export function toExportCsvValues(record: ExportRecord, durationMs?: number): CsvValue[] {
  const scalar = (value: unknown): CsvValue =>
    value === undefined || value === null
      ? ''
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value);
  const json = (value: unknown): CsvValue => (value === undefined ? '' : JSON.stringify(value));
  const info = record.info as { title?: unknown } | null | undefined;
  const other = Object.fromEntries(Object.entries(record).filter(([key]) => !OWN_COLUMNS.has(key)));
  const list = (pick: (file: ExportedFile) => unknown) =>
    record.files.map((file) => scalar(pick(file)) ?? '').join('\n');
  return [
    ...API_COLUMNS.map((column) => scalar(record[column])),
    scalar(info?.title),
    durationMs ?? '',
    json(record.input),
    json(record.output),
    json(record.info),
    Object.keys(other).length > 0 ? JSON.stringify(other) : '',
    record.files.length,
    list((file) => file.path),
    list((file) => file.s3Key),
    list((file) => file.size),
    list((file) => file.sha256),
    list((file) => file.contentType),
    record.launch ? (record.launch.idempotencyKey ?? record.launch.messageId) : '',
  ];
}
