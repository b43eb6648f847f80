// Check files.copies: file copies pending (retried by later runs) and failed for good, from the executions table's
// sparse file-copy indexes (the Queries of `npm run history -- files`), with the commands that show and retry them.
import { listCopiesNotDone } from '../../history/history-queries';
import { type DoctorCheck, fail, ok, warn } from '../doctor-check';
import { count, instant, oneLine } from '../wording';

export function filesCopiesCheck(): DoctorCheck {
  return {
    id: 'files.copies',
    targets: ['local', 'aws'],
    async run(context) {
      const store = await context.store();
      const copies = await listCopiesNotDone(store.reader(), {});
      const failed = copies.filter((copy) => copy.status === 'failed');
      const pending = copies.filter((copy) => copy.status === 'pending');
      const list = (status: string) =>
        `npm run history -- files --status ${status} ${context.fixes.storeFlags}`;
      if (failed.length > 0) {
        const latest = failed[failed.length - 1];
        return fail(
          `${count(failed.length, 'file copy', 'file copies')} failed for good${pending.length > 0 ? ` (and ${pending.length} pending)` : ''}; the latest: ${latest ? oneLine(latest.lastError ?? 'no error recorded', 120) : ''}`,
          `see why: ${list('failed')}; once the cause is fixed (the file is back, the host allowed, the key renewed), retry them: ${context.fixes.syncNow({ retryFailedFiles: true })}`,
        );
      }
      if (pending.length > 0) {
        const next = pending
          .map((copy) => copy.nextAttemptAt)
          .filter((at): at is string => at !== null)
          .sort()[0];
        return warn(
          `${count(pending.length, 'file copy', 'file copies')} pending: a later run retries them${next ? ` (the next at ${instant(next)})` : ''}`,
          `nothing to do if they clear; what failed so far: ${list('pending')}`,
        );
      }
      return ok('no file copy pending or failed');
    },
  };
}
