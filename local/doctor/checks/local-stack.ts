// Check local.stack: whether `npm start` runs on the data directory (its stack.json and whether its process lives).
// A stack that is not running is not a failure: the data checks read the directory itself.
import { type DoctorCheck, fail, ok, warn } from '../doctor-check';
import { instant } from '../wording';

export function localStackCheck(): DoctorCheck {
  return {
    id: 'local.stack',
    targets: ['local'],
    async run(context) {
      if (context.target.kind !== 'local') throw new Error('local.stack checks the local stack only');
      const { stackFile, dataDir } = context.target;
      switch (stackFile.status) {
        case 'running': {
          const { state } = stackFile;
          const api = state.emulator ? 'the built-in emulator' : state.endpoints.productLive;
          const every = state.sync?.everyMs
            ? `, syncing every ${Math.round(state.sync.everyMs / 1000)}s`
            : '';
          return ok(
            `npm start runs on ${dataDir} (pid ${state.pid}, since ${instant(state.startedAt)}${every}; API: ${api})`,
          );
        }
        case 'absent':
          return ok(`not running: the checks read ${dataDir} directly (npm start runs the stack)`);
        case 'stale':
          return warn(
            `not running, but ${dataDir}/stack.json was left by a stack that is gone (pid ${stackFile.pid}${stackFile.startedAt ? `, started ${instant(stackFile.startedAt)}` : ''}): it was killed`,
            `harmless (the next npm start replaces it); to tidy up: rm ${dataDir}/stack.json`,
          );
        case 'unusable':
          return fail(
            `a stack runs on ${dataDir} (pid ${stackFile.pid}) but was started by an older version: its servers cannot be reached with this one's credentials`,
            'restart it: Ctrl-C in its terminal, then npm start',
          );
      }
    },
  };
}
