// Check sync.schedule (deployed): the sync's schedule exists, is enabled and targets the sync function, and the
// function can run: its configuration parses as its cold start parses it, it is Active, and it is not paused
// (reserved concurrency 0). Reads GetSchedule, GetFunctionConfiguration and GetFunctionConcurrency.
import { GetFunctionConcurrencyCommand } from '@aws-sdk/client-lambda';
import { type DoctorCheck, fail, ok, warn } from '../doctor-check';
import { duration, oneLine } from '../wording';

export function syncScheduleCheck(): DoctorCheck {
  return {
    id: 'sync.schedule',
    targets: ['aws'],
    async run(context) {
      if (context.target.kind !== 'aws') throw new Error('sync.schedule checks a deployed stack only');
      const target = context.target;
      const [schedule, fn] = await Promise.all([target.schedule('sync'), target.syncFunction()]);
      const redeploy = 'deploy this checkout again: npx cdk deploy --all';
      if (!schedule.found)
        return fail(`the sync's schedule ${schedule.name} does not exist: no sync runs`, redeploy);
      if (!schedule.enabled) {
        return fail(
          `the sync's schedule ${schedule.name} is disabled: no sync runs`,
          `enable it: EventBridge Scheduler console → Schedules → ${schedule.name} → Enable (a deploy does not, when the template is unchanged)`,
        );
      }
      if (fn.arn && schedule.targetArn && schedule.targetArn.split(':').slice(0, 7).join(':') !== fn.arn) {
        return fail(
          `the schedule ${schedule.name} invokes ${schedule.targetArn}, not the sync function ${fn.name}`,
          redeploy,
        );
      }
      if (fn.configError) {
        return fail(
          `the sync function ${fn.name} fails at cold start: ${oneLine(fn.configError, 200)}`,
          'fix the CDK context value that sets that variable (docs/configuration.md), then npx cdk deploy --all',
        );
      }
      const { ReservedConcurrentExecutions: reserved } = await target.clients.lambda.send(
        new GetFunctionConcurrencyCommand({ FunctionName: fn.name }),
      );
      if (reserved === 0) {
        return fail(
          `the sync function ${fn.name} is paused (reserved concurrency 0): every scheduled run is throttled`,
          `resume it: aws lambda put-function-concurrency --function-name ${fn.name} --reserved-concurrent-executions 1 (or npx cdk deploy --all)`,
        );
      }
      if (fn.lastUpdateStatus === 'Failed') {
        return fail(
          `the last update of the sync function ${fn.name} failed${fn.stateReason ? `: ${oneLine(fn.stateReason)}` : ''}`,
          redeploy,
        );
      }
      const every = schedule.everyMs !== null ? `every ${duration(schedule.everyMs)}` : schedule.expression;
      if (fn.state && fn.state !== 'Active') {
        return warn(
          `the schedule ${schedule.name} is enabled (${every}), but the sync function is ${fn.state}${fn.stateReason ? ` (${oneLine(fn.stateReason)})` : ''}`,
          'a function becomes Active within minutes of a deploy; run doctor again, and redeploy if it stays so',
        );
      }
      return ok(`the schedule ${schedule.name} is enabled (${every}) and invokes ${fn.name}`);
    },
  };
}
