// Check alarms.state (deployed): the deployment's CloudWatch alarms (output AlarmNames), and which are in ALARM.
// Reads DescribeAlarms.
import { DescribeAlarmsCommand, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import { type DoctorCheck, fail, ok, warn } from '../doctor-check';
import { count } from '../wording';

/** DescribeAlarms takes at most this many names per call. */
const NAMES_PER_CALL = 100;

export function alarmsCheck(): DoctorCheck {
  return {
    id: 'alarms.state',
    targets: ['aws'],
    async run(context) {
      if (context.target.kind !== 'aws') throw new Error('alarms.state checks a deployed stack only');
      const { target } = context;
      const names = target
        .output('alarms')
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean);
      const alarms: MetricAlarm[] = [];
      for (let start = 0; start < names.length; start += NAMES_PER_CALL) {
        const page = await target.clients.cloudwatch.send(
          new DescribeAlarmsCommand({
            AlarmNames: names.slice(start, start + NAMES_PER_CALL),
            AlarmTypes: ['MetricAlarm'],
          }),
        );
        alarms.push(...(page.MetricAlarms ?? []));
      }
      const inState = (state: string) =>
        alarms.filter((alarm) => alarm.StateValue === state).map((alarm) => alarm.AlarmName ?? '?');
      const firing = inState('ALARM');
      const pending = inState('INSUFFICIENT_DATA');
      const found = new Set(alarms.map((alarm) => alarm.AlarmName));
      const missing = names.filter((name) => !found.has(name));
      if (firing.length > 0) {
        return fail(
          `in ALARM: ${firing.join(', ')}`,
          'each alarm\'s description says what it means and what to do (CloudWatch → Alarms, or docs/operations.md "Alarms")',
        );
      }
      if (missing.length > 0) {
        return warn(
          `${count(missing.length, 'alarm is', 'alarms are')} missing: ${missing.join(', ')}`,
          'deploy this checkout again: npx cdk deploy --all',
        );
      }
      if (pending.length > 0) {
        return warn(
          `no data yet for ${pending.join(', ')} (${alarms.length - pending.length} of ${alarms.length} OK)`,
          'normal in the first hour after a deploy; otherwise the metric is not published: see sync.last-run',
        );
      }
      return ok(`${count(alarms.length, 'alarm', 'alarms')}, none in ALARM`);
    },
  };
}
