// Check audit.recent: the completeness audit (the API's counts month by month against the store) last completed
// within its interval, and what the last one found (months differing, executions recovered). Reads the state table's
// `audit` item and the last run's summary.
import { type DoctorCheck, fail, ok, warn } from '../doctor-check';
import { count, duration, instant } from '../wording';
import { expectedRunGapMs } from './sync-runs';

export function auditCheck(): DoctorCheck {
  return {
    id: 'audit.recent',
    targets: ['local', 'aws'],
    async run(context) {
      const [state, cadence] = await Promise.all([context.state(), context.cadence()]);
      const now = context.now();
      const audit = state.audit;
      const interval = `every ${duration(cadence.auditIntervalMs)}`;
      const auditNow = `run one now: ${context.fixes.syncNow({ audit: true })}`;
      const progress = audit?.progress;
      const inProgress = progress
        ? `an audit is under way since ${instant(progress.startedAt)} (${count(progress.monthsChecked, 'month', 'months')} checked; the next run goes on)`
        : undefined;
      if (!audit?.lastCompletedAt) {
        return warn(
          inProgress ?? 'no completeness audit has completed yet',
          inProgress
            ? 'nothing to do: each run goes on with it'
            : `the first runs audit by themselves; or ${auditNow}`,
        );
      }
      const age = now - Date.parse(audit.lastCompletedAt);
      const last = `the last audit completed ${instant(audit.lastCompletedAt)} (${duration(age)} ago; ${interval})`;
      const found = state.lastRun?.summary.audit;
      if (found?.complete && found.executionsRecovered > 0) {
        return warn(
          `${last}: ${count(found.monthsDiffering, 'month', 'months')} differed and ${count(found.executionsRecovered, 'execution', 'executions')} that ordinary runs had missed were recovered`,
          context.target.kind === 'aws'
            ? 'they appeared in the API later than each run looks back: raise the CDK context value syncLookbackSeconds (e.g. 3600) and npx cdk deploy --all'
            : 'they appeared in the API later than each run looks back: raise SYNC_LOOKBACK_SECONDS (e.g. 3600) for npm start',
        );
      }
      const differing =
        found?.complete && found.monthsDiffering > 0
          ? `; ${count(found.monthsDiffering, 'month', 'months')} differed (executions the API no longer returns, marked)`
          : found?.complete
            ? `; ${count(found.monthsChecked, 'month', 'months')} checked, none differing`
            : '';
      if (!cadence.scheduled || age <= cadence.auditIntervalMs + expectedRunGapMs(cadence)) {
        return ok(`${last}${differing}`);
      }
      if (inProgress)
        return warn(`${last}; ${inProgress}`, 'nothing to do unless it stays so: each run goes on with it');
      return fail(
        `no audit completed for ${duration(age)} (${interval}): runs do not get to it`,
        `see sync.last-run; ${auditNow}; ${context.fixes.syncLogs} (the "audit complete" lines)`,
      );
    },
  };
}
