// Check launch.queues: the depths of the launch queue and its dead-letter queue (GetQueueAttributes only: nothing is
// received, so nothing is hidden or moved). A request in the DLQ is a fail, with the redrive command. Locally the
// queues live in the memory of the running stack: without one there is nothing to read.
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type DoctorCheck, fail, NotCheckedError, ok, warn } from '../doctor-check';
import { count } from '../wording';

/** A launch queue holding more than this many requests is behind (about ten minutes of the launch budget). */
const LAUNCH_BACKLOG = 100;

interface Depth {
  waiting: number;
  inFlight: number;
  delayed: number;
  arn: string | undefined;
}

async function depthOf(sqs: SQSClient, url: string): Promise<Depth> {
  const { Attributes: attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
        'QueueArn',
      ],
    }),
  );
  const number = (value: string | undefined) => Number(value ?? 0) || 0;
  return {
    waiting: number(attributes.ApproximateNumberOfMessages),
    inFlight: number(attributes.ApproximateNumberOfMessagesNotVisible),
    delayed: number(attributes.ApproximateNumberOfMessagesDelayed),
    arn: attributes.QueueArn,
  };
}

export function launchQueuesCheck(): DoctorCheck {
  return {
    id: 'launch.queues',
    targets: ['local', 'aws'],
    async run(context) {
      const { target } = context;
      if (target.kind === 'local' && target.stackFile.status !== 'running') {
        return ok('not checked: the local queues live in the memory of the running stack, and none runs');
      }
      const store = await context.store();
      const { launchQueueUrl: queueUrl, launchDlqUrl: dlqUrl } = store.names;
      const sqs = target.kind === 'aws' ? target.clients.sqs : store.sqs();
      if (!queueUrl || !dlqUrl || !sqs) {
        throw new NotCheckedError(
          'needs the launch queue and its dead-letter queue',
          'pass --stack NAME (or --queue-url URL --dlq-url URL)',
        );
      }
      const [queue, dlq] = await Promise.all([depthOf(sqs, queueUrl), depthOf(sqs, dlqUrl)]);
      const dead = dlq.waiting + dlq.inFlight + dlq.delayed;
      if (dead > 0) {
        const dlqArn =
          (target.kind === 'aws' ? target.outputOrUndefined('launchDeadLetterQueueArn') : undefined) ??
          dlq.arn;
        const endpoint =
          target.kind === 'local' && store.stack ? ` --endpoint-url ${store.stack.endpoints.sqs}` : '';
        const move = `aws${endpoint} sqs start-message-move-task --source-arn ${dlqArn ?? '<the DLQ ARN>'}`;
        return fail(
          `${count(dead, 'launch request waits', 'launch requests wait')} in the dead-letter queue: ${dead === 1 ? 'it' : 'they'} will not launch (${dlqUrl})`,
          target.kind === 'aws'
            ? `read each one's FailureReason: aws sqs receive-message --queue-url ${dlqUrl} --max-number-of-messages 10 --message-attribute-names All; fix the cause, then move them back to the launch queue: ${move}`
            : `read each one's FailureReason on the dashboard's Launches (npm start serves it, http://127.0.0.1:4000 by default); fix the cause, then move them back to the launch queue, with the credentials npm start printed: ${move}`,
        );
      }
      const depths = `launch queue: ${queue.waiting} waiting, ${queue.inFlight} in flight${queue.delayed ? `, ${queue.delayed} delayed` : ''}; dead-letter queue empty`;
      if (queue.waiting > LAUNCH_BACKLOG) {
        return warn(
          depths,
          'the launcher starts a few jobs a minute (its share of the API budget): if the queue does not shrink, read the launch function’s log group (output LaunchLogGroupName)',
        );
      }
      return ok(depths);
    },
  };
}
