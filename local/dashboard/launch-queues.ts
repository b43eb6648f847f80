// Layer flow: dashboard data -> this module -> SQS (the launch queue and its dead-letter queue). Read-only: the
// depths come from GetQueueAttributes; the dead-lettered requests are peeked with ReceiveMessage and a
// visibility timeout of 0, so they stay visible to everyone else and are never deleted or moved (a receive
// only counts one more receive on them; the DLQ has no redrive policy that would act on that count).
import {
  GetQueueAttributesCommand,
  type QueueAttributeName,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

export interface QueueDepth {
  /** Messages waiting to be received. */
  visible: number;
  /** Received and not yet deleted (being handled, or waiting out a retry's backoff). */
  inFlight: number;
  delayed: number;
}

/** A dead-lettered launch request, with the reason the launch function gave (docs/launches.md). */
export interface DeadLetterView {
  messageId: string;
  sentAt: string | null;
  kind: string | null;
  reason: string | null;
  failedAt: string | null;
  /** The request's body, as sent (at most 2,000 characters). */
  body: string;
}

export interface LaunchesView {
  queue: QueueDepth;
  deadLetter: QueueDepth;
  /** Up to 10 of the dead-lettered requests (SQS returns a sample of them, not necessarily the oldest). */
  deadLetters: DeadLetterView[];
}

export interface LaunchQueueUrls {
  launchUrl: string;
  dlqUrl: string;
}

const DEPTH_ATTRIBUTES: QueueAttributeName[] = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
];
const MAX_BODY_CHARS = 2_000;

/** The queues' depths and a peek at the dead-lettered requests. */
export async function readLaunches(sqs: SQSClient, urls: LaunchQueueUrls): Promise<LaunchesView> {
  const [queue, deadLetter, peeked] = await Promise.all([
    readDepth(sqs, urls.launchUrl),
    readDepth(sqs, urls.dlqUrl),
    sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: urls.dlqUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 0,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['SentTimestamp'],
      }),
    ),
  ]);
  const deadLetters = (peeked.Messages ?? []).map((message): DeadLetterView => {
    const attribute = (name: string) => message.MessageAttributes?.[name]?.StringValue ?? null;
    const sent = Number(message.Attributes?.SentTimestamp);
    const body = message.Body ?? '';
    return {
      messageId: message.MessageId ?? '',
      sentAt: Number.isFinite(sent) && sent > 0 ? new Date(sent).toISOString() : null,
      kind: attribute('FailureKind'),
      reason: attribute('FailureReason'),
      failedAt: attribute('FailedAt'),
      body: body.length > MAX_BODY_CHARS ? `${body.slice(0, MAX_BODY_CHARS - 1)}…` : body,
    };
  });
  deadLetters.sort((a, b) => (b.failedAt ?? b.sentAt ?? '').localeCompare(a.failedAt ?? a.sentAt ?? ''));
  return { queue, deadLetter, deadLetters };
}

async function readDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: DEPTH_ATTRIBUTES }),
  );
  const count = (name: string) => Number(Attributes[name as keyof typeof Attributes] ?? 0) || 0;
  return {
    visible: count('ApproximateNumberOfMessages'),
    inFlight: count('ApproximateNumberOfMessagesNotVisible'),
    delayed: count('ApproximateNumberOfMessagesDelayed'),
  };
}
