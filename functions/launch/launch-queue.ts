// Layer flow: launch record processing -> this adapter -> SQS (the launch queue and its dead-letter queue).
import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** Why a message was dead-lettered, as the `FailureKind` attribute says it. */
export type FailureKind =
  | 'invalid-message'
  | 'file-refused'
  | 'rejected-by-api'
  | 'idempotency-key-reused'
  | 'retries-exhausted';

/** A message that can never succeed, or that failed on its last delivery, on its way to the dead-letter queue. */
export interface DeadLetter {
  /** The original body, unchanged, so that a redrive replays it as it was sent. */
  body: string;
  kind: FailureKind;
  /** One readable line, e.g. `invalid message: jobId: expected 24 hexadecimal characters`. */
  reason: string;
  sourceMessageId: string;
  failedAt: string;
}

/** The queue operations of the launch function. */
export interface LaunchQueue {
  /** Sends the message to the dead-letter queue with its reason in message attributes. */
  deadLetter(letter: DeadLetter): Promise<void>;
  /** Keeps a failed message invisible for `seconds`, so that its next delivery comes after a backoff. */
  delayRetry(receiptHandle: string, seconds: number): Promise<void>;
}

/** Longest visibility timeout SQS accepts (12 hours). */
const MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200;
/** SQS limits a message attribute value to the message size; a reason this long is already unreadable. */
const MAX_REASON_CHARS = 1_000;

export class SqsLaunchQueue implements LaunchQueue {
  constructor(
    private readonly sqs: SQSClient,
    readonly queueUrl: string,
    readonly deadLetterQueueUrl: string,
  ) {}

  async deadLetter(letter: DeadLetter): Promise<void> {
    const text = (value: string) => ({ DataType: 'String', StringValue: value });
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.deadLetterQueueUrl,
        MessageBody: letter.body,
        MessageAttributes: {
          FailureReason: text(oneLine(letter.reason)),
          FailureKind: text(letter.kind),
          SourceMessageId: text(letter.sourceMessageId),
          FailedAt: text(letter.failedAt),
        },
      }),
    );
  }

  async delayRetry(receiptHandle: string, seconds: number): Promise<void> {
    await this.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: Math.max(0, Math.min(MAX_VISIBILITY_TIMEOUT_SECONDS, Math.round(seconds))),
      }),
    );
  }
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim() || 'unknown failure';
  return line.length > MAX_REASON_CHARS ? `${line.slice(0, MAX_REASON_CHARS - 1)}…` : line;
}
