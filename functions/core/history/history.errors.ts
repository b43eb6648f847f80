// Named errors of the history queries; the CLI maps each to one line that says what to do.

/** A query argument that cannot be served (a malformed period, a period too long for hourly buckets). */
export class HistoryInputError extends Error {
  override readonly name = 'HistoryInputError';
}

/** No execution with this id is stored. */
export class ExecutionNotFoundError extends Error {
  override readonly name = 'ExecutionNotFoundError';
  constructor(
    readonly executionId: string,
    readonly tableName: string,
  ) {
    super(`no execution "${executionId}" in table ${tableName}`);
  }
}

/** An execution's JSON was offloaded to S3 (too large for DynamoDB) and no way to read S3 was given. */
export class LargePayloadUnavailableError extends Error {
  override readonly name = 'LargePayloadUnavailableError';
  constructor(
    readonly executionId: string,
    readonly s3Key: string,
  ) {
    super(`execution ${executionId} is stored in the files bucket at ${s3Key}, and no bucket is configured`);
  }
}
