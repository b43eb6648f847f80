import { describe, expect, it } from 'vitest';
import {
  callbackDue,
  REJECTED_ERROR,
  sendHeartbeats,
  sendRejection,
  sendResult,
  type TaskCallbackClient,
  TaskTokenRejectedError,
  type TaskTokenStore,
} from '#core/callbacks/task-callbacks';
import { type FileCopy, type LaunchInfo, toExecutionFields } from '#core/executions/execution-record';
import type { ExecutionItem } from '#core/store/execution-repository';
import type { StoredTaskToken } from '#core/store/task-token-repository';
import { aJobExecution } from '#test/builders/job-execution.builder';
import { CapturingLogger } from '#test/support/capturing-logger';

const LAUNCH: LaunchInfo = {
  idempotencyKey: 'order-4711',
  messageId: 'm-1',
  requestedAt: '2024-06-01T11:59:00.000Z',
  awaited: true,
  waiters: 1,
};
const KEY = 'idempotencyKey:order-4711';

function anItem(status: string, item: Partial<ExecutionItem> = {}): ExecutionItem & { launch: LaunchInfo } {
  const fields = toExecutionFields(aJobExecution({ status }));
  return {
    ...fields,
    files: [],
    firstSyncedAt: '2024-06-01T12:00:00.000Z',
    syncedAt: '2024-06-01T12:00:05.000Z',
    source: 'launch',
    launch: LAUNCH,
    ...item,
  } as ExecutionItem & { launch: LaunchInfo };
}

function aCopy(path: string, status: FileCopy['status'], extra: Partial<FileCopy> = {}): FileCopy {
  return {
    path,
    sourceUrl: 'https://files.example/x',
    fileName: `${path}.csv`,
    s3Key: `executions/j/e/${path}.csv`,
    status,
    attempts: 1,
    ...(status === 'copied' ? { size: 41, sha256: 'a'.repeat(64) } : {}),
    ...extra,
  };
}

function aToken(id: string, state: StoredTaskToken['state'] = 'waiting'): StoredTaskToken {
  return { id, token: `token-${id}`, state, addedAt: '2024-06-01T11:59:00.000Z' };
}

/** Records every callback; a token named in `refused` is refused as Step Functions refuses a timed-out one. */
function recordingClient(refused: string[] = [], failing: string[] = []) {
  const calls: Array<{ action: string; token: string; output?: string; error?: string; cause?: string }> = [];
  const check = (token: string) => {
    if (refused.includes(token)) throw new TaskTokenRejectedError('Task Timed Out');
    if (failing.includes(token)) throw new Error('ThrottlingException: Rate exceeded');
  };
  const client: TaskCallbackClient = {
    success: async (token, output) => {
      check(token);
      calls.push({ action: 'success', token, output });
    },
    failure: async (token, error, cause) => {
      check(token);
      calls.push({ action: 'failure', token, error, cause });
    },
    heartbeat: async (token) => {
      check(token);
      calls.push({ action: 'heartbeat', token });
    },
  };
  return { client, calls };
}

/** Task tokens in memory, per launch key, with every mark recorded. */
function memoryTokens(tokens: StoredTaskToken[]) {
  const marks: string[] = [];
  const store: TaskTokenStore = {
    tokensOf: async (key) => (key === KEY ? tokens.map((token) => ({ ...token })) : []),
    markSent: async (key, id) => {
      marks.push(`sent ${key} ${id}`);
    },
    markRejected: async (key, id, reason) => {
      marks.push(`rejected ${key} ${id} ${reason}`);
    },
    markHeartbeat: async (key, id) => {
      marks.push(`heartbeat ${key} ${id}`);
    },
  };
  return { store, marks };
}

function deps(client: TaskCallbackClient, tokens: TaskTokenStore) {
  let rejected = 0;
  const logger = new CapturingLogger();
  return {
    deps: { client, tokens, now: () => Date.UTC(2024, 5, 1, 12), logger, onRejected: () => (rejected += 1) },
    rejectedCount: () => rejected,
    logger,
  };
}

describe('sendResult', () => {
  it('sends a COMPLETED execution its output and file copies, to each waiting token, and marks each sent', async () => {
    const { client, calls } = recordingClient();
    const { store, marks } = memoryTokens([aToken('a'), aToken('b'), aToken('c', 'sent')]);
    const item = anItem('COMPLETED', {
      files: [aCopy('input.file', 'copied'), aCopy('output.report', 'failed')],
    });
    const counts = await sendResult(
      deps(client, store).deps,
      item,
      async () => ({ rows: 12 }),
      'files-bucket',
    );

    expect(counts).toEqual({ sent: 2, rejected: 0 });
    expect(calls.map((call) => [call.action, call.token])).toEqual([
      ['success', 'token-a'],
      ['success', 'token-b'],
    ]);
    expect(JSON.parse(calls[0]?.output ?? '')).toEqual({
      executionId: item.id,
      jobId: item.jobId,
      status: 'COMPLETED',
      createdAt: item.createdAt,
      startedAt: item.startedAt ?? null,
      endedAt: item.endedAt ?? null,
      durationMs: item.durationMs ?? null,
      output: { rows: 12 },
      files: [
        {
          path: 'input.file',
          s3Uri: 's3://files-bucket/executions/j/e/input.file.csv',
          size: 41,
          sha256: 'a'.repeat(64),
          status: 'copied',
        },
        { path: 'output.report', s3Uri: null, size: null, sha256: null, status: 'failed' },
      ],
    });
    expect(marks).toEqual([`sent ${KEY} a`, `sent ${KEY} b`]);
  });

  it('fails the task with ProductLive.<STATUS> and a readable cause for any other end', async () => {
    for (const status of ['USER_ERROR', 'FAILED', 'TIMEDOUT', 'TERMINATED']) {
      const { client, calls } = recordingClient();
      const { store } = memoryTokens([aToken('a')]);
      const item = anItem(status);
      await sendResult(deps(client, store).deps, item, async () => null, 'files-bucket');
      expect(calls[0]?.error, status).toBe(`ProductLive.${status}`);
      const cause = JSON.parse(calls[0]?.cause ?? '') as { message: string; status: string };
      expect(cause.message).toMatch(
        new RegExp(`^Product-Live job ${item.jobId}: execution ${item.id} ended ${status}`),
      );
      expect(cause.status).toBe(status);
    }
  });

  it('leaves out the output, then files from the end, to fit 256 KiB, and says what and where', async () => {
    const { client, calls } = recordingClient();
    const { store } = memoryTokens([aToken('a')]);
    const files = Array.from({ length: 3_000 }, (_, index) =>
      aCopy(`output.files[${index}]`, 'copied', { s3Key: `executions/j/e/${'x'.repeat(60)}-${index}.csv` }),
    );
    const item = anItem('COMPLETED', { files });
    await sendResult(
      deps(client, store).deps,
      item,
      async () => ({ blob: 'é'.repeat(200_000) }),
      'files-bucket',
    );

    const text = calls[0]?.output ?? '';
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(256 * 1024);
    const output = JSON.parse(text) as {
      output: unknown;
      files: unknown[];
      omitted: Record<string, unknown>;
    };
    expect(output.output).toBeNull();
    expect(output.files.length).toBeGreaterThan(0);
    expect(output.omitted).toEqual({
      output: true,
      files: 3_000 - output.files.length,
      readFrom: expect.stringContaining(`npm run history -- show ${item.id}`),
    });
  });

  it('fits a failure cause in 32,768 characters', async () => {
    const { client, calls } = recordingClient();
    const { store } = memoryTokens([aToken('a')]);
    await sendResult(
      deps(client, store).deps,
      anItem('FAILED'),
      async () => ({ log: 'x'.repeat(50_000) }),
      'b',
    );
    expect(calls[0]?.cause?.length).toBeLessThanOrEqual(32_768);
    expect(JSON.parse(calls[0]?.cause ?? '')).toMatchObject({
      output: null,
      omitted: { output: true, files: 0 },
    });
  });

  it('marks a token Step Functions refuses and goes on with the others; any other failure propagates', async () => {
    const refused = recordingClient(['token-a']);
    const { store, marks } = memoryTokens([aToken('a'), aToken('b')]);
    const run = deps(refused.client, store);
    expect(await sendResult(run.deps, anItem('COMPLETED'), async () => null, 'b')).toEqual({
      sent: 1,
      rejected: 1,
    });
    expect(marks).toEqual([`rejected ${KEY} a Task Timed Out`, `sent ${KEY} b`]);
    expect(run.rejectedCount()).toBe(1);
    expect(run.logger.lines.map((line) => line.message)).toContain(
      'Step Functions refused a task token; nothing more is sent to it',
    );

    const throttled = recordingClient([], ['token-a']);
    const again = memoryTokens([aToken('a')]);
    await expect(
      sendResult(deps(throttled.client, again.store).deps, anItem('COMPLETED'), async () => null, 'b'),
    ).rejects.toThrow(/ThrottlingException/);
    // Not marked: the stream's redelivery sends it again.
    expect(again.marks).toEqual([]);
  });

  it('reads no output and sends nothing when no token waits', async () => {
    const { client, calls } = recordingClient();
    const { store } = memoryTokens([aToken('a', 'sent'), aToken('b', 'rejected')]);
    let loaded = 0;
    const counts = await sendResult(
      deps(client, store).deps,
      anItem('COMPLETED'),
      async () => {
        loaded += 1;
        return null;
      },
      'b',
    );
    expect(counts).toEqual({ sent: 0, rejected: 0 });
    expect(calls).toEqual([]);
    expect(loaded).toBe(0);
  });
});

describe('sendRejection', () => {
  it('fails the task with ProductLive.Rejected and the DLQ reason; a refused token is logged, not thrown', async () => {
    const { client, calls } = recordingClient();
    const refusal = { reason: 'job not found', failureKind: 'api-refused', messageId: 'm-9', jobId: 'j-1' };
    expect(await sendRejection(deps(client, memoryTokens([]).store).deps, 'token-x', refusal)).toBe(true);
    expect(calls[0]).toMatchObject({ action: 'failure', token: 'token-x', error: REJECTED_ERROR });
    expect(JSON.parse(calls[0]?.cause ?? '')).toEqual({ message: 'job not found', ...refusal });

    const refused = recordingClient(['token-y']);
    const run = deps(refused.client, memoryTokens([]).store);
    expect(await sendRejection(run.deps, 'token-y', refusal)).toBe(false);
    expect(run.rejectedCount()).toBe(1);
    await expect(
      sendRejection(
        deps(recordingClient([], ['token-z']).client, memoryTokens([]).store).deps,
        'token-z',
        refusal,
      ),
    ).rejects.toThrow(/ThrottlingException/);
  });

  it('keeps the cause within 32,768 characters however long the reason', async () => {
    const { client, calls } = recordingClient();
    const refusal = { reason: 'r'.repeat(40_000), failureKind: 'invalid-message', messageId: 'm' };
    await sendRejection(deps(client, memoryTokens([]).store).deps, 'token-x', refusal);
    expect(calls[0]?.cause?.length).toBeLessThanOrEqual(32_768);
  });
});

describe('sendHeartbeats', () => {
  it('heartbeats each waiting token of awaited executions, and names those none of whose tokens waits', async () => {
    const { client, calls } = recordingClient(['token-b']);
    const { store, marks } = memoryTokens([aToken('a'), aToken('b')]);
    const outcome = await sendHeartbeats(deps(client, store).deps, [
      { id: 'e-1', launch: LAUNCH },
      { id: 'e-2', launch: { ...LAUNCH, awaited: false } },
      { id: 'e-3' },
    ]);
    expect(outcome).toEqual({ sent: 1, rejected: 1, unawaited: [] });
    expect(calls).toEqual([{ action: 'heartbeat', token: 'token-a' }]);
    expect(marks).toEqual([`heartbeat ${KEY} a`, `rejected ${KEY} b Task Timed Out`]);

    const allRefused = recordingClient(['token-a', 'token-b']);
    const gone = await sendHeartbeats(
      deps(allRefused.client, memoryTokens([aToken('a'), aToken('b')]).store).deps,
      [{ id: 'e-1', launch: LAUNCH }],
    );
    expect(gone).toEqual({ sent: 0, rejected: 2, unawaited: ['e-1'] });
  });

  it('is best effort: a failed heartbeat or token read is logged, the token still counts as waiting', async () => {
    const throttled = recordingClient([], ['token-a']);
    const run = deps(throttled.client, memoryTokens([aToken('a')]).store);
    expect(await sendHeartbeats(run.deps, [{ id: 'e-1', launch: LAUNCH }])).toEqual({
      sent: 0,
      rejected: 0,
      unawaited: [],
    });
    expect(run.logger.lines.map((line) => line.message)).toContain(
      'task heartbeat not sent; the next pass sends it again',
    );

    const broken: TaskTokenStore = {
      ...memoryTokens([]).store,
      tokensOf: async () => {
        throw new Error('DynamoDB unavailable');
      },
    };
    const unread = deps(recordingClient().client, broken);
    expect(await sendHeartbeats(unread.deps, [{ id: 'e-1', launch: LAUNCH }])).toEqual({
      sent: 0,
      rejected: 0,
      unawaited: [],
    });
    expect(unread.logger.lines.map((line) => line.message)).toContain(
      'could not read the task tokens of an open execution',
    );
  });
});

describe('callbackDue', () => {
  const settled = anItem('COMPLETED', { files: [aCopy('input.file', 'copied')] });
  const pending = anItem('COMPLETED', { id: settled.id, files: [aCopy('input.file', 'pending')] });
  const open = anItem('RUNNING', { id: settled.id });

  it('is due on the write that settles an awaited execution, or attaches a new waiter to a settled one', () => {
    expect(callbackDue(open, settled)).toBe(true);
    expect(callbackDue(pending, settled)).toBe(true);
    expect(callbackDue(undefined, settled)).toBe(true);
    const reattached = { ...settled, launch: { ...LAUNCH, waiters: 2 } };
    expect(callbackDue(settled, reattached)).toBe(true);
  });

  it('is not due before the files settle, for an execution nobody awaits, or for a rewrite that changes nothing', () => {
    expect(callbackDue(open, pending)).toBe(false);
    expect(callbackDue(open, { ...settled, launch: { ...LAUNCH, awaited: false } })).toBe(false);
    expect(callbackDue(settled, { ...settled, syncedAt: '2024-06-01T13:00:00.000Z' })).toBe(false);
    expect(callbackDue(settled, undefined)).toBe(false);
  });
});
