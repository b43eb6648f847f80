// Layer flow: the sync and lake services -> this helper -> an EventBridge Scheduler schedule that invokes a
// function at a fixed rate, with its own role (so that its one cdk-nag acknowledgment sits on it), no retry
// and a short maximum event age: the next scheduled run is the retry.
import { Duration, Stack } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { Construct } from 'constructs';
import { acknowledgeWildcardResources } from '../nag';

export interface ScheduledInvoke {
  schedule: Schedule;
  /** The role EventBridge Scheduler assumes to invoke the function. */
  role: Role;
}

/** Invokes `fn` with `{}` every `rate`; `what` names it in the role's and the schedule's descriptions. */
export function scheduledInvoke(
  scope: Construct,
  fn: IFunction,
  options: { rate: Duration; what: string; description: string },
): ScheduledInvoke {
  const role = new Role(scope, 'SchedulerRole', {
    assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(scope).account } },
    }),
    description: `Lets EventBridge Scheduler invoke the ${options.what}`,
  });
  acknowledgeWildcardResources(
    role,
    [`${fn.functionArn}:*`],
    "The CDK's LambdaInvoke target grants lambda:InvokeFunction on the function and its qualified ARNs " +
      '(versions and aliases, ":*"); the wildcard reaches no other function.',
  );
  const schedule = new Schedule(scope, 'Schedule', {
    description: options.description,
    schedule: ScheduleExpression.rate(options.rate),
    target: new LambdaInvoke(fn, {
      role,
      input: ScheduleTargetInput.fromObject({}),
      retryAttempts: 0,
      maxEventAge: Duration.minutes(1),
    }),
  });
  return { schedule, role };
}
