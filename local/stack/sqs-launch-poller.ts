// Layer flow: local stack -> this poller -> local SQS (ReceiveMessage, DeleteMessageBatch) -> launch handler.
// It plays the part of Lambda's SQS event source mapping: batches of up to 10, real SQS event records, and
// partial batch responses (failed messages stay in the queue, reappear after their visibility timeout,
// and move to the DLQ after maxReceiveCount receives).
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  type QueueAttributeName,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';

export interface LaunchPollerStats {
  received: number;
  failed: number;
  /** Set when the handler itself threw: the whole batch will be received again. */
  error?: string;
}

export interface SqsLaunchPollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  region: string;
  invoke: (event: SQSEvent) => Promise<SQSBatchResponse | undefined>;
  onBatch?: (stats: LaunchPollerStats) => void;
  /** Long-poll wait per receive (seconds); short so that stop() is prompt. */
  waitTimeSeconds?: number;
}

export class SqsLaunchPoller {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();

  constructor(private readonly options: SqsLaunchPollerOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.pollOnce();
      } catch (error) {
        if (!this.running) return;
        this.options.onBatch?.({ received: 0, failed: 0, error: (error as Error).message });
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  }

  /** Receives one batch, invokes the handler, deletes what it handled. */
  async pollOnce(): Promise<void> {
    const { sqs, queueUrl } = this.options;
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: this.options.waitTimeSeconds ?? 1,
        // local-aws-sqs reads only the older AttributeNames parameter (ApproximateReceiveCount drives backoff).
        AttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: this.abort.signal },
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) return;
    const event: SQSEvent = {
      Records: messages.map((message) => toSqsRecord(message, this.options.queueArn, this.options.region)),
    };
    let response: SQSBatchResponse | undefined;
    try {
      response = await this.options.invoke(event);
    } catch (error) {
      // Like Lambda: a failed invocation leaves the whole batch in the queue.
      this.options.onBatch?.({
        received: messages.length,
        failed: messages.length,
        error: (error as Error).message,
      });
      return;
    }
    const failedIds = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
    const handled = messages.filter((message) => !failedIds.has(message.MessageId ?? ''));
    if (handled.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: handled.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle,
          })),
        }),
      );
    }
    this.options.onBatch?.({ received: messages.length, failed: failedIds.size });
  }
}

/** The record Lambda's SQS event source mapping builds from a received message. */
export function toSqsRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: toRecordAttributes(message.MessageAttributes),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

function toRecordAttributes(
  attributes: Record<string, MessageAttributeValue> | undefined,
): SQSMessageAttributes {
  return Object.fromEntries(
    Object.entries(attributes ?? {}).map(([name, value]) => [
      name,
      {
        dataType: value.DataType ?? 'String',
        ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
        ...(value.BinaryValue !== undefined
          ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }
          : {}),
        stringListValues: [],
        binaryListValues: [],
      },
    ]),
  );
}

/**
 * Messages in a queue: visible, and invisible (in flight, or a retry backing off). A missing figure is an
 * error, never read as 0: callers decide from these that a queue is empty.
 */
export async function queueDepth(
  sqs: SQSClient,
  queueUrl: string,
): Promise<{ visible: number; invisible: number }> {
  const attributes =
    (
      await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      )
    ).Attributes ?? {};
  const count = (name: QueueAttributeName) => {
    const value = Number(attributes[name]);
    if (!Number.isInteger(value)) throw new Error(`${queueUrl}: no ${name} in GetQueueAttributes`);
    return value;
  };
  return {
    visible: count('ApproximateNumberOfMessages'),
    invisible: count('ApproximateNumberOfMessagesNotVisible'),
  };
}
