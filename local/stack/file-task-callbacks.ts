// Layer flow: the callbacks, launch and follow functions (local stack) -> this client -> `<data-dir>/task-callbacks.ndjson`.
// It stands in for Step Functions: each callback becomes one JSON line, `{"action": "success" | "failure" |
// "heartbeat", "taskToken", "output" | "error" + "cause", "at"}`, so that a test or a script can play the
// waiting state machine (docs/local.md "Task tokens"). A local file accepts every token.
import { appendFile } from 'node:fs/promises';
import type { TaskCallbackClient } from '#core/callbacks/task-callbacks';

export const TASK_CALLBACKS_FILE = 'task-callbacks.ndjson';
export const CALLBACKS_CHECKPOINT_FILE = 'callbacks-checkpoint.json';

/** One line of the callbacks file. */
export type TaskCallbackLine =
  | { action: 'success'; taskToken: string; output: unknown; at: string }
  | { action: 'failure'; taskToken: string; error: string; cause: string; at: string }
  | { action: 'heartbeat'; taskToken: string; at: string };

/** A TaskCallbackClient appending to a file, one line per call (`output` parsed back into JSON). */
export function fileTaskCallbacks(file: string, now: () => number = Date.now): TaskCallbackClient {
  const append = (line: TaskCallbackLine) => appendFile(file, `${JSON.stringify(line)}\n`);
  const at = () => new Date(now()).toISOString();
  return {
    success: (taskToken, output) =>
      append({ action: 'success', taskToken, output: JSON.parse(output) as unknown, at: at() }),
    failure: (taskToken, error, cause) => append({ action: 'failure', taskToken, error, cause, at: at() }),
    heartbeat: (taskToken) => append({ action: 'heartbeat', taskToken, at: at() }),
  };
}
