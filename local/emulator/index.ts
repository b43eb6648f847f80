// Public surface of the Product-Live emulator, for integration tests, benchmarks and the local stack.
export { type Clock, createMonotonicNow, ManualClock, systemClock } from './clock';
export { DEMO_JOBS, type DemoOptions } from './demo-data';
export {
  type AddFileSpec,
  type AddJobSpec,
  createEmulator,
  type Emulator,
  type EmulatorJob,
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
  UnknownExecutionError,
  UnknownFileError,
  UnknownJobError,
} from './emulator-errors';
export {
  DEFAULT_API_KEY,
  DEFAULT_FIND_PATH,
  DEFAULT_MAX_PAGE_SIZE,
  type EmulatorOptions,
  FIND_PATH_ALIAS,
  type LifecycleOptions,
  type RateLimitOptions,
} from './emulator-options';
export { EXECUTION_ORDERS, type ExecutionOrder } from './execution-store';
export { ENDPOINTS, type Endpoint, FAULT_KINDS, type FaultKind, type FaultOptions } from './fault-injector';
export { contentTypeFor } from './file-store';
export { CRITERION_TYPES, GROUP_TYPES, type QueryType } from './find-query';
export { JOB_KINDS, type JobKind, TERMINAL_OUTCOMES, type TerminalOutcome } from './job-templates';
