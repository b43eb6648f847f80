// Checks of the sync's runs, from the state table: sync.last-run (the last run is recent for its schedule and
// ended ok), sync.lag (how far the store is behind the API: now − the checkpoint's watermark) and sync.lease (no
// lease left held). Ages are judged only while something runs the sync (cadence.scheduled): a stopped local stack's
// store is expected to age.
import { type DoctorCheck, fail, ok, warn } from '../doctor-check';
import type { SyncCadence } from '../doctor-context';
import { duration, instant, oneLine } from '../wording';

/** The longest a healthy sync leaves between two runs' ends: a schedule interval, a whole run, and some slack. */
export function expectedRunGapMs(cadence: SyncCadence): number {
  return (cadence.everyMs ?? 0) * 2 + cadence.leaseMs;
}

export function syncLastRunCheck(): DoctorCheck {
  return {
    id: 'sync.last-run',
    targets: ['local', 'aws'],
    async run(context) {
      const [state, cadence] = await Promise.all([context.state(), context.cadence()]);
      const now = context.now();
      const last = state.lastRun;
      if (!last) {
        return warn(
          'no sync run is recorded in this store yet',
          context.target.kind === 'local'
            ? `run one: ${context.fixes.syncNow()}`
            : `the first run comes with ${cadence.runner}; or run one now: ${context.fixes.syncNow()}`,
        );
      }
      const endedAt = Date.parse(last.finishedAt);
      const age = now - endedAt;
      const when = `the last run (${instant(last.finishedAt)}, ${duration(age)} ago)`;
      const error = last.summary.error;
      if (error) {
        const authFix = /\b401\b|\b403\b|refused|Unauthorized|Forbidden/i.test(error)
          ? 'the API refused the key: see api.key. '
          : '';
        return fail(
          `${when} stopped on an error: ${oneLine(error)}`,
          `${authFix}Progress up to its last checkpoint is kept and the next run resumes; what happened: ${context.fixes.syncLogs}`,
        );
      }
      const more = last.summary.moreRemaining ? '; more remains, the next run goes on' : '';
      if (!cadence.scheduled || cadence.everyMs === null) {
        return ok(
          `${when} ended ok${more}${context.target.kind === 'local' ? ' (no stack runs the sync now)' : ''}`,
        );
      }
      const gap = expectedRunGapMs(cadence);
      if (age <= gap) return ok(`${when} ended ok${more}`);
      const what = `no sync run ended since ${instant(last.finishedAt)} (${duration(age)} ago; ${cadence.runner})`;
      const fix = `see sync.schedule; a run that times out or crashes records nothing: ${context.fixes.syncLogs}`;
      return age <= gap * 3 ? warn(what, fix) : fail(what, fix);
    },
  };
}

export function syncLagCheck(): DoctorCheck {
  return {
    id: 'sync.lag',
    targets: ['local', 'aws'],
    async run(context) {
      const [state, cadence] = await Promise.all([context.state(), context.cadence()]);
      const watermark = state.checkpoint?.watermark;
      if (!watermark) {
        return warn(
          'no window is complete yet: the first sync (a backfill of the whole history) is under way or has not run',
          `each run continues from its checkpoint; see sync.last-run (${cadence.runner})`,
        );
      }
      const lag = Math.max(0, context.now() - Date.parse(watermark));
      const behind = `the store holds every execution created before ${instant(watermark)} (${duration(lag)} behind the API)`;
      if (!cadence.scheduled) return ok(`${behind}; the next npm start catches up`);
      const normal = expectedRunGapMs(cadence);
      if (lag <= normal) return ok(behind);
      if (state.lastRun?.summary.moreRemaining && !state.lastRun.summary.error) {
        return warn(
          `${behind}, catching up: the last run had more to do`,
          'nothing to do during a first backfill or after a pause: each run goes on from its checkpoint, within the API budget',
        );
      }
      const fix = `see sync.last-run and sync.schedule: ${context.fixes.syncLogs}`;
      return lag <= normal * 3 ? warn(behind, fix) : fail(behind, fix);
    },
  };
}

/** A lease held longer than this was not taken by a run that is still going (a run lasts 15 minutes at most). */
const STUCK_LEASE_MS = 60 * 60_000;

export function syncLeaseCheck(): DoctorCheck {
  return {
    id: 'sync.lease',
    targets: ['local', 'aws'],
    async run(context) {
      const state = await context.state();
      const now = context.now();
      const lease = state.lease;
      if (!lease || lease.expiresAt <= now) {
        return ok(
          lease
            ? `free (the last holder, a run or pass started ${lease.acquiredAt ? instant(lease.acquiredAt) : 'earlier'}, did not give it back; it expired at ${instant(lease.expiresAt)})`
            : 'free: no sync run holds it',
        );
      }
      const since = lease.acquiredAt ? `since ${instant(lease.acquiredAt)}` : '';
      const held = `held by ${lease.owner || 'a run'} ${since}, until ${instant(lease.expiresAt)}`;
      const table = context.target.kind === 'aws' ? context.target.store.names.stateTable : undefined;
      if (lease.acquiredAt !== null && now - lease.acquiredAt > STUCK_LEASE_MS) {
        return fail(
          `${held}: longer than any run takes, so every run is skipped until then`,
          context.target.kind === 'local'
            ? 'stop npm start, then start it again once the lease expires (or delete the item name=lease of the state table with the AWS CLI, while no run is going)'
            : `while no sync run is going: aws dynamodb delete-item --table-name ${table ?? '<StateTableName>'} --key '{"name": {"S": "lease"}}'`,
        );
      }
      if (context.target.kind === 'local' && context.target.stackFile.status !== 'running') {
        return warn(
          `${held}, left by a stack that stopped during a run: the next npm start skips its runs until it expires`,
          `start npm start after ${instant(lease.expiresAt)}, or let its first runs be skipped (they say so)`,
        );
      }
      return ok(`${held}: a run (or a follow pass) is going`);
    },
  };
}
