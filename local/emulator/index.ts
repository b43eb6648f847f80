// Public surface of the Product-Live emulator, for integration tests, benchmarks and the local stack.
export { type Clock, ManualClock, systemClock } from './clock';

export {
  createEmulator,
  type Emulator,
  type EmulatorJob,
  type EmulatorUpload,
  type TerminalOutcome,
} from './emulator';
export {
  EmulatorAlreadyStartedError,
  EmulatorConfigError,
  EmulatorNotStartedError,
  JobWithoutPipelineError,
  UnknownJobError,
} from './emulator-errors';
export type { EmulatorOptions } from './emulator-options';
export { EXECUTION_ORDERS, type ExecutionOrder } from './execution-store';
export { FAULT_KINDS, type FaultKind } from './fault-injector';
