// Named errors of the emulator. Each carries the HTTP status it maps to, so the programmatic interface
// (createExecution, fileSize, ...) and the HTTP layer share one mapping: see `toErrorBody`.

const REASON_PHRASES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** The HTTP reason phrase of a status, as used in the `error` field of error bodies. */
function reasonPhrase(statusCode: number): string {
  return REASON_PHRASES[statusCode] ?? 'Error';
}

/** Base of every error the emulator answers over HTTP with `statusCode`. */
export class EmulatorError extends Error {
  override name = 'EmulatorError';
  readonly statusCode: number;

  constructor(statusCode: number, message: string) {
    super(message);
    this.statusCode = statusCode;
  }
}

/** A request the API rejects as malformed (bad JSON, bad paging parameters, ...). */
export class BadRequestError extends EmulatorError {
  override name = 'BadRequestError';
  constructor(message: string) {
    super(400, message);
  }
}

/** A find query that is not valid; `path` locates the offending part (`queries[1].value`). */
export class FindQueryError extends EmulatorError {
  override name = 'FindQueryError';
  readonly path: string;

  constructor(path: string, problem: string) {
    super(400, `Invalid find query${path ? ` at ${path}` : ''}: ${problem}`);
    this.path = path;
  }
}

/** A body above a limit: an upload larger than the Files API takes, or a JSON body larger than any query. */
export class PayloadTooLargeError extends EmulatorError {
  override name = 'PayloadTooLargeError';
  constructor(message: string) {
    super(413, message);
  }
}

export class UnknownJobError extends EmulatorError {
  override name = 'UnknownJobError';
  constructor(jobId: string) {
    super(404, `Job ${jobId} not found`);
  }
}

/** Product-Live refuses to run a job that has no pipeline. */
export class JobWithoutPipelineError extends EmulatorError {
  override name = 'JobWithoutPipelineError';
  constructor(jobId: string) {
    super(400, `Job ${jobId} has no pipeline and cannot be run`);
  }
}

export class UnknownExecutionError extends EmulatorError {
  override name = 'UnknownExecutionError';
  constructor(id: string) {
    super(404, `Job execution ${id} not found`);
  }
}

export class UnknownFileError extends EmulatorError {
  override name = 'UnknownFileError';
  constructor(reference: string) {
    super(404, `File ${reference} not found`);
  }
}

/** `uploadBytes(id)` or `openUpload(id)` for an id that no upload has. */
export class UnknownUploadError extends Error {
  override name = 'UnknownUploadError';
  constructor(id: string) {
    super(`no upload with id ${id}`);
  }
}

/** An option of `createEmulator` (or a CLI flag) that is invalid; fails at construction, not later. */
export class EmulatorConfigError extends Error {
  override name = 'EmulatorConfigError';
}

/** A call that needs the HTTP server (e.g. `url`) made before `start()`. */
export class EmulatorNotStartedError extends Error {
  override name = 'EmulatorNotStartedError';
  constructor(what: string) {
    super(`${what} needs the emulator to be started (call start() first)`);
  }
}

/** `start()` called on an emulator that is listening already. */
export class EmulatorAlreadyStartedError extends Error {
  override name = 'EmulatorAlreadyStartedError';
  constructor() {
    super('the emulator is already started (call stop() first)');
  }
}

/** The error body the emulator sends: `{"statusCode", "error", "message"}` (NestJS-style). */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
}

/** Builds the JSON error body for a status and message. */
export function toErrorBody(statusCode: number, message: string): ErrorBody {
  return { statusCode, error: reasonPhrase(statusCode), message };
}
