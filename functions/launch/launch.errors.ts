// Layer flow: launch use case and message parsing -> these named errors -> mapped to a message outcome in
// one place (`classifyLaunchFailure` in process-launch-batch.ts).

/** The SQS message body is not a valid launch request; never retried (dead-lettered with `reason`). */
export class InvalidLaunchMessageError extends Error {
  override readonly name = 'InvalidLaunchMessageError';
  constructor(readonly reason: string) {
    super(`invalid message: ${reason}`);
  }
}

/**
 * The invocation is about to run out of time: requests still waiting for the rate budget are abandoned
 * (they were never sent) and the message is retried by a later invocation.
 */
export class LaunchDeadlineError extends Error {
  override readonly name = 'LaunchDeadlineError';
  constructor() {
    super('not enough time left in this invocation to launch safely; retried later');
  }
}
