// Public surface of the history queries: analytics over the stored executions, for the `history` CLI, a
// Lambda or a notebook. Construct a HistoryReader with a document client and the executions table name.
export { type CsvValue, csvField, csvLine } from './csv';
export {
  computeStats,
  type DurationStats,
  type HistoryStats,
  isFailureStatus,
  type JobStats,
  StatsAccumulator,
  type StatsRow,
  TOTAL_TITLE,
} from './execution-stats';
export {
  EXPORT_CSV_COLUMNS,
  type ExportedFile,
  type ExportRecord,
  toExportCsvValues,
  toExportedFile,
  toExportRecord,
} from './export-record';
export { ExecutionNotFoundError, HistoryInputError, LargePayloadUnavailableError } from './history.errors';
export {
  type ExecutionDetail,
  type ExecutionList,
  type ExecutionSummary,
  type ExportedExecution,
  type ExportFilter,
  exportExecutions,
  type ListFilter,
  listExecutions,
  queryStats,
  queryTimeline,
  type StatsFilter,
  showExecution,
  type TimelineFilter,
  toSummary,
} from './history-queries';
export {
  type ExecutionSelection,
  HistoryReader,
  type HistoryReaderOptions,
  type PlannedQuery,
  planQueries,
} from './history-reader';
export { s3PayloadLoader } from './large-payload';
export { nearestRank } from './percentiles';
export {
  inPeriod,
  monthsBetween,
  type Period,
  type PeriodInput,
  parseTimeBound,
  periodKeyRange,
  resolvePeriod,
} from './period';
export {
  bucketStart,
  checkBucketCount,
  computeTimeline,
  MAX_TIMELINE_BUCKETS,
  TIMELINE_BUCKETS,
  type Timeline,
  type TimelineBucket,
  type TimelinePoint,
} from './timeline';
