import { describe, expect, it } from 'vitest';
import { MAX_INLINE_RAW_BYTES } from '#core/defaults';
import { toExecutionFields } from '#core/executions/execution-record';
import type { ExecutionItem } from '#core/store/execution-repository';
import { decideWrite, ExecutionWriter, latestViews } from '#functions/sync/execution-writer';
import { aJobExecution } from '../../../builders/job-execution.builder';
import { InMemoryExecutionStore } from '../../../support/in-memory-sync';

const NOW = Date.parse('2024-06-01T12:00:00.000Z');

/** A writer over an in-memory store, recording what it hands to the files phase and to S3. */
function aWriter(options: { storeLargePayload?: boolean } = {}) {
  const executions = new InMemoryExecutionStore();
  const copied: string[][] = [];
  const offloaded = new Map<string, string>();
  const writer = new ExecutionWriter({
    executions,
    files: {
      copyWritten: async (items: readonly ExecutionItem[]) => {
        copied.push(items.map((item) => item.id));
      },
    },
    now: () => NOW,
    ...(options.storeLargePayload
      ? {
          storeLargePayload: async (key: string, json: string) => {
            offloaded.set(key, json);
          },
        }
      : {}),
  });
  return { writer, executions, copied, offloaded };
}

describe('latestViews', () => {
  it('keeps, of views of one execution, the highest status and the later one among equals', () => {
    const running = aJobExecution({ status: 'RUNNING', output: {} });
    const ended = { ...running, status: 'COMPLETED', endedAt: '2024-06-01T11:00:00.000Z' };
    const endedAgain = { ...ended, output: { note: 'later view' } };
    const other = aJobExecution();
    const latest = latestViews([running, ended, { ...running }, endedAgain, other]);
    expect([...latest.keys()]).toEqual([running.id, other.id]);
    expect(latest.get(running.id)).toBe(endedAgain);
  });
});

describe('decideWrite', () => {
  const view = (status: 'PENDING' | 'RUNNING' | 'COMPLETED') =>
    toExecutionFields(aJobExecution({ id: '6584000000000000000000aa', status, output: {} }));
  const stored = (status: 'PENDING' | 'RUNNING' | 'COMPLETED', removedFromApiAt?: string) => ({
    ...view(status),
    ...(removedFromApiAt ? { removedFromApiAt } : {}),
  });

  it('inserts what the store does not hold', () => {
    expect(decideWrite(view('RUNNING'), undefined)).toBe('insert');
  });

  it('never replaces a terminal state by an open one', () => {
    expect(decideWrite(view('RUNNING'), stored('COMPLETED'))).toBe('skip');
    expect(decideWrite(view('PENDING'), stored('RUNNING'))).toBe('skip');
  });

  it('skips the same content and writes changed content of the same status', () => {
    expect(decideWrite(view('RUNNING'), stored('RUNNING'))).toBe('skip');
    expect(decideWrite({ ...view('RUNNING'), fingerprint: 'other' }, stored('RUNNING'))).toBe('update');
  });

  it('writes a newer status', () => {
    expect(decideWrite(view('COMPLETED'), stored('RUNNING'))).toBe('update');
  });

  it('writes again an execution marked removed from the API, whatever it holds (the write clears the mark)', () => {
    expect(decideWrite(view('RUNNING'), stored('COMPLETED', '2024-05-01T00:00:00.000Z'))).toBe('update');
    expect(decideWrite(view('RUNNING'), stored('RUNNING', '2024-05-01T00:00:00.000Z'))).toBe('update');
  });
});

describe('ExecutionWriter', () => {
  it('counts each execution once, by its best outcome over the run, and copies the files of what it wrote', async () => {
    const { writer, copied } = aWriter();
    const running = aJobExecution({ status: 'RUNNING', output: {} });
    const ended = { ...running, status: 'COMPLETED', endedAt: '2024-06-01T11:00:00.000Z' };
    expect(await writer.write([running])).toBe(1);
    expect(await writer.write([ended])).toBe(0);
    expect(await writer.write([ended, running])).toBe(0);
    // New in this run beats updated and unchanged.
    expect(writer.counts).toEqual({ new: 1, updated: 0, unchanged: 0 });
    expect(copied).toEqual([[running.id], [running.id], []]);
  });

  it('counts an update the store found stale as unchanged', async () => {
    const { writer, executions } = aWriter();
    const execution = aJobExecution({ status: 'RUNNING', output: {} });
    await executions.insertMany([{ ...toItemOf(execution), removedFromApiAt: '2024-05-01T00:00:00.000Z' }]);
    await writer.write([execution]);
    expect(writer.counts).toEqual({ new: 0, updated: 0, unchanged: 1 });
  });

  it('stores a payload too large for an item in S3, and refuses it without a place to put it', async () => {
    const large = aJobExecution({ output: { blob: 'x'.repeat(MAX_INLINE_RAW_BYTES) } });
    const { writer, executions, offloaded } = aWriter({ storeLargePayload: true });
    await writer.write([large]);
    const item = executions.items.get(large.id);
    expect(item?.raw).toBe('');
    expect(item?.rawS3Key).toMatch(new RegExp(`^executions/${large.jobId}/${large.id}/execution\\.json$`));
    expect(JSON.parse(offloaded.get(item?.rawS3Key ?? '') ?? '{}')).toEqual(large);

    await expect(aWriter().writer.write([large])).rejects.toThrow(`execution ${large.id} is too large`);
  });
});

function toItemOf(execution: ReturnType<typeof aJobExecution>): ExecutionItem {
  const iso = new Date(NOW).toISOString();
  return { ...toExecutionFields(execution), files: [], firstSyncedAt: iso, syncedAt: iso, source: 'sync' };
}
