// Checks of the status-change events and of followed launches (deployed): events.stream (the executions stream's
// event source mapping is enabled: GetEventSourceMapping), events.failures (no batch waits in its failure queue:
// GetQueueAttributes) and events.follow (the follow schedule is enabled while launched executions wait for their
// result: GetSchedule and the byOpen index of the executions table).
import { GetEventSourceMappingCommand } from '@aws-sdk/client-lambda';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { ExecutionRepository } from '#core/store/execution-repository';
import type { DeployedTarget } from '../deployed-target';
import { type DoctorCheck, fail, ok, warn } from '../doctor-check';
import { awsErrorName, count, duration, instant, oneLine } from '../wording';

const REPLAY_DOC = 'docs/operations.md "Events the stream gave up on"';

export function eventsStreamCheck(): DoctorCheck {
  return {
    id: 'events.stream',
    targets: ['aws'],
    async run(context) {
      if (context.target.kind !== 'aws') throw new Error('events.stream checks a deployed stack only');
      const { target } = context;
      const uuid = target.output('eventsSourceMapping');
      let mapping: Awaited<ReturnType<typeof readMapping>>;
      try {
        mapping = await readMapping(target, uuid);
      } catch (error) {
        if (awsErrorName(error) !== 'ResourceNotFoundException') throw error;
        return fail(
          `the executions stream's event source mapping ${uuid} does not exist: no status-change event is published`,
          'deploy this checkout again: npx cdk deploy --all',
        );
      }
      const state = mapping.State ?? 'unknown';
      if (state === 'Disabled') {
        return fail(
          `the executions stream's event source mapping is Disabled: no status-change event is published (the stream keeps 24 hours)`,
          `enable it: aws lambda update-event-source-mapping --uuid ${uuid} --enabled`,
        );
      }
      if (state !== 'Enabled') {
        return warn(
          `the executions stream's event source mapping is ${state}${mapping.StateTransitionReason ? ` (${oneLine(mapping.StateTransitionReason)})` : ''}`,
          'it settles within minutes of a deploy or a change; run doctor again',
        );
      }
      const result = mapping.LastProcessingResult ?? '';
      if (/PROBLEM/i.test(result)) {
        return warn(
          `the executions stream's event source mapping is Enabled, but its last batch reports: ${oneLine(result)}`,
          `read the events function's log group (output EventsLogGroupName); see events.failures`,
        );
      }
      return ok(
        `the executions stream's event source mapping is Enabled${result ? ` (last batch: ${oneLine(result, 60)})` : ''}`,
      );
    },
  };
}

async function readMapping(target: DeployedTarget, uuid: string) {
  return target.clients.lambda.send(new GetEventSourceMappingCommand({ UUID: uuid }));
}

export function eventsFailuresCheck(): DoctorCheck {
  return {
    id: 'events.failures',
    targets: ['aws'],
    async run(context) {
      if (context.target.kind !== 'aws') throw new Error('events.failures checks a deployed stack only');
      const { target } = context;
      const url = target.output('eventsFailureQueue');
      const { Attributes: attributes = {} } = await target.clients.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      const waiting = Number(attributes.ApproximateNumberOfMessages ?? 0) || 0;
      const reading = Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0) || 0;
      if (waiting > 0) {
        return fail(
          `${count(waiting, 'stream batch', 'stream batches')} the events function gave up on ${waiting === 1 ? 'waits' : 'wait'} in the failure queue: their status-change events were not published`,
          `publish them again from the stream within 24 hours of the writes: ${REPLAY_DOC} (queue ${url})`,
        );
      }
      if (reading > 0) {
        return warn(
          `${count(reading, 'failure record', 'failure records')} of the events failure queue ${reading === 1 ? 'is' : 'are'} being read by someone (in flight)`,
          `if nobody is replaying them, they come back in the queue shortly: see ${REPLAY_DOC}`,
        );
      }
      return ok('the events failure queue is empty: every status change was published');
    },
  };
}

/** An awaited launch open longer than this is worth a look (a job runs for minutes or hours). */
const LONG_AWAITED_MS = 24 * 3_600_000;

export function eventsFollowCheck(): DoctorCheck {
  return {
    id: 'events.follow',
    targets: ['aws'],
    async run(context) {
      if (context.target.kind !== 'aws') throw new Error('events.follow checks a deployed stack only');
      const { target } = context;
      const [schedule, store] = await Promise.all([target.schedule('follow'), context.store()]);
      const table = store.names.executionsTable;
      const open: Array<{ id: string; createdAt: string; awaited: boolean }> = [];
      if (table) {
        for await (const execution of new ExecutionRepository(store.doc, table).listOpen()) {
          if (execution.launch)
            open.push({
              id: execution.id,
              createdAt: execution.createdAt,
              awaited: execution.launch.awaited === true,
            });
        }
      }
      const awaited = open.filter((execution) => execution.awaited);
      const waiting = `${count(open.length, 'launched execution is', 'launched executions are')} open, ${awaited.length} awaited by a task`;
      const enable = `enable it: EventBridge Scheduler console → Schedules → ${schedule.name} → Enable`;
      if (!schedule.found) {
        return awaited.length > 0
          ? fail(
              `the follow schedule ${schedule.name} does not exist while ${waiting}`,
              'deploy this checkout again: npx cdk deploy --all',
            )
          : warn(
              `the follow schedule ${schedule.name} does not exist (${waiting})`,
              'deploy this checkout again: npx cdk deploy --all',
            );
      }
      if (!schedule.enabled) {
        return awaited.length > 0
          ? fail(
              `the follow schedule ${schedule.name} is disabled while ${waiting}: their results are not reported`,
              enable,
            )
          : warn(
              `the follow schedule ${schedule.name} is disabled: results of launches awaited later will not be reported (${waiting})`,
              enable,
            );
      }
      const oldest = awaited.map((execution) => execution.createdAt).sort()[0];
      if (oldest && context.now() - Date.parse(oldest) > LONG_AWAITED_MS) {
        return warn(
          `the follow schedule is enabled; ${waiting}, the oldest since ${instant(oldest)} (${duration(context.now() - Date.parse(oldest))})`,
          `a result comes when Product-Live ends the execution: npm run history -- list --status RUNNING ${context.fixes.storeFlags}`,
        );
      }
      return ok(`the follow schedule ${schedule.name} is enabled (${schedule.expression}); ${waiting}`);
    },
  };
}
