// Layer flow: task-callbacks.ts -> this adapter -> Step Functions (SendTaskSuccess, SendTaskFailure,
// SendTaskHeartbeat). The SDK retries throttling and 5xx itself; what Step Functions answers about the token
// (timed out, unknown, invalid) becomes TaskTokenRejectedError, which is never retried.
import {
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { type TaskCallbackClient, TaskTokenRejectedError } from './task-callbacks';

/** A TaskCallbackClient over Step Functions. */
export function stepFunctionsCallbacks(client: SFNClient): TaskCallbackClient {
  const call = async (send: () => Promise<unknown>) => {
    try {
      await send();
    } catch (error) {
      if (
        error instanceof TaskTimedOut ||
        error instanceof TaskDoesNotExist ||
        error instanceof InvalidToken
      ) {
        throw new TaskTokenRejectedError(`${error.name}: ${error.message}`, { cause: error });
      }
      throw error;
    }
  };
  return {
    success: (taskToken, output) =>
      call(() => client.send(new SendTaskSuccessCommand({ taskToken, output }))),
    failure: (taskToken, error, cause) =>
      call(() => client.send(new SendTaskFailureCommand({ taskToken, error, cause }))),
    heartbeat: (taskToken) => call(() => client.send(new SendTaskHeartbeatCommand({ taskToken }))),
  };
}
