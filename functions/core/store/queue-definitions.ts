// The one definition of the launch queues. The CDK stack and the local provisioning both build their queues
// from these, so retention and redrive cannot drift between local and deployed runs.

export interface QueueDefinition {
  /** Logical name, used for the CDK construct id. */
  readonly logicalName: string;
  /** How long a message is kept. */
  readonly retentionDays: number;
}

/** Launch requests, consumed by the launch function. */
export const LAUNCH_QUEUE = {
  logicalName: 'LaunchQueue',
  // Shorter than the DLQ's: a standard queue's message keeps its first enqueue time in the DLQ.
  retentionDays: 4,
  /** Deliveries before the redrive moves a message to the DLQ (context launchMaxReceiveCount). */
  defaultMaxReceiveCount: 10,
} as const satisfies QueueDefinition & { defaultMaxReceiveCount: number };

/** Launch requests that can never succeed or kept failing, with their reason. */
export const LAUNCH_DEAD_LETTER_QUEUE = {
  logicalName: 'LaunchDeadLetterQueue',
  retentionDays: 14,
} as const satisfies QueueDefinition;
