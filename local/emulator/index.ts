// Public surface of the Product-Live emulator, for integration tests, benchmarks and the local stack.
export { type Clock, createMonotonicNow, ManualClock, systemClock } from './clock';
export { DEMO_JOBS, type DemoOptions } from './demo-data';
export {
  type AddFileSpec,
  type AddJobSpec,
  createEmulator,
  type Emulator,
  type EmulatorJob,
  type EmulatorUpload,
  type ExecutionOverrides,
  type RequestInfo,
  type RequestLogEntry,
} from './emulator';
export {
  BadRequestError,
  EmulatorAlreadyStartedError,
  EmulatorConfigError,
  EmulatorError,
  EmulatorNotStartedError,
  FindQueryError,
  JobWithoutPipelineError,
  PayloadTooLargeError,
  UnknownExecutionError,
  UnknownFileError,
  UnknownJobError,
  UnknownUploadError,
} from './emulator-errors';
export {
  DEFAULT_API_KEY,
  DEFAULT_FIND_PATH,
  DEFAULT_MAX_PAGE_SIZE,
  DEFAULT_MAX_UPLOAD_BYTES,
  type EmulatorOptions,
  FIND_PATH_ALIAS,
  type LifecycleOptions,
  type RateLimitOptions,
} from './emulator-options';
export { EXECUTION_ORDERS, type ExecutionOrder } from './execution-store';
export { ENDPOINTS, type Endpoint, FAULT_KINDS, type FaultKind, type FaultOptions } from './fault-injector';
export { contentTypeFor } from './file-store';
export { CRITERION_TYPES, GROUP_TYPES, type QueryType } from './find-query';
export { FILES_PATH, MULTIPART_OVERHEAD_BYTES } from './http-front-end';
export { JOB_KINDS, type JobKind, TERMINAL_OUTCOMES, type TerminalOutcome } from './job-templates';
