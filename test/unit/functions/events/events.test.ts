import { appendFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  EVENT_DETAIL_TYPE,
  type ExecutionEvent,
  fitToEventSize,
  MAX_DETAIL_BYTES,
  RESULT_DETAIL_TYPE,
  resultOf,
  statusChangeOf,
} from '#core/events/execution-event';
import { jobHealthEvent } from '#core/events/job-health-event';
import { type FileCopy, toExecutionFields } from '#core/executions/execution-record';
import type { ExecutionItem } from '#core/store/execution-repository';
import { eventBridgeSink } from '#functions/events/eventbridge-sink';
import { type EventSink, publishStatusChanges } from '#functions/events/publish-status-changes';
import { formatEvent, parseEventLine, parseTailArgs, tailEvents } from '#local/cli/events-tail';
import { toEventLine } from '#local/stack/file-event-sink';
import { aJobExecution } from '../../../builders/job-execution.builder';
import { CapturingLogger } from '../../../support/capturing-logger';

function anItem(
  overrides: Partial<Parameters<typeof aJobExecution>[0]> = {},
  item: Partial<ExecutionItem> = {},
) {
  const fields = toExecutionFields(aJobExecution(overrides));
  return {
    ...fields,
    files: [],
    firstSyncedAt: '2024-06-01T12:00:00.000Z',
    syncedAt: '2024-06-01T12:00:05.000Z',
    source: 'sync',
    ...item,
  } as ExecutionItem;
}

let sequence = 100;
function aRecord(before: ExecutionItem | undefined, after: ExecutionItem | undefined): DynamoDBRecord {
  sequence += 1;
  const image = (item: ExecutionItem) => marshall(item, { removeUndefinedValues: true }) as never;
  return {
    eventName: before ? (after ? 'MODIFY' : 'REMOVE') : 'INSERT',
    dynamodb: {
      SequenceNumber: String(sequence),
      ...(before ? { OldImage: image(before) } : {}),
      ...(after ? { NewImage: image(after) } : {}),
    },
  };
}

describe('statusChangeOf', () => {
  it('makes a new execution an event with no previous status and no files while open', () => {
    const item = anItem({ status: 'RUNNING', info: { title: 'Import <b>' } });
    const event = statusChangeOf(undefined, item);
    expect(event).toEqual({
      source: 'product-live.job-executions',
      detailType: 'Job Execution Status Change',
      time: item.syncedAt,
      detail: {
        eventId: `${item.id}:RUNNING`,
        executionId: item.id,
        jobId: item.jobId,
        pipelineId: item.pipelineId,
        title: 'Import <b>',
        status: 'RUNNING',
        previousStatus: null,
        createdAt: item.createdAt,
        startedAt: item.startedAt,
        endedAt: null,
        durationMs: null,
        files: [],
        origin: 'sync',
        launch: null,
      },
    });
  });

  it('lists an ended execution’s files, with size and SHA-256 once copied and null before', () => {
    const before = anItem({ status: 'RUNNING' });
    const after: ExecutionItem = {
      ...anItem({ id: before.id, status: 'FAILED' }, { source: 'launch' }),
      files: [
        {
          path: 'output.report',
          sourceUrl: 'u',
          fileName: 'r.xml',
          s3Key: 'k/r.xml',
          status: 'copied',
          attempts: 1,
          size: 12,
          sha256: 'ab',
        },
        {
          path: 'input.file',
          sourceUrl: 'u',
          fileName: 'i.csv',
          s3Key: 'k/i.csv',
          status: 'pending',
          attempts: 0,
        },
      ],
    };
    const event = statusChangeOf(before, after);
    expect(event?.detail).toMatchObject({ previousStatus: 'RUNNING', status: 'FAILED', origin: 'launch' });
    expect(event?.detail.durationMs).toBe(after.durationMs);
    expect(event?.detail.files).toEqual([
      { path: 'output.report', s3Key: 'k/r.xml', size: 12, sha256: 'ab' },
      { path: 'input.file', s3Key: 'k/i.csv', size: null, sha256: null },
    ]);
  });

  it('makes nothing of a write that keeps the status, or of a removal', () => {
    const item = anItem({ status: 'COMPLETED' });
    expect(statusChangeOf(item, { ...item, syncedAt: '2024-06-02T00:00:00.000Z' })).toBeUndefined();
    expect(statusChangeOf(item, undefined)).toBeUndefined();
  });

  it('keeps an event under 256 KB: the files that do not fit are counted in filesOmitted', () => {
    const files = Array.from({ length: 3_000 }, (_, index) => ({
      path: `output.files[${index}]`,
      sourceUrl: 'u',
      fileName: `f${index}.csv`,
      s3Key: `executions/job/run/output.files[${index}]/${'x'.repeat(60)}-${index}.csv`,
      status: 'copied' as const,
      attempts: 1,
      size: 1_000,
      sha256: 'a'.repeat(64),
    }));
    const item = { ...anItem({ status: 'COMPLETED' }), files };
    const event = fitToEventSize(statusChangeOf(undefined, item) as ExecutionEvent);
    const bytes = Buffer.byteLength(JSON.stringify(event.detail));
    expect(bytes).toBeLessThanOrEqual(MAX_DETAIL_BYTES);
    expect(bytes).toBeGreaterThan(MAX_DETAIL_BYTES - 300);
    expect(event.detail.files.length + (event.detail.filesOmitted ?? 0)).toBe(3_000);
    expect(event.detail.files[0]?.path).toBe('output.files[0]');
    // A small event is left as it is, without the field.
    const small = statusChangeOf(undefined, anItem()) as ExecutionEvent;
    expect(fitToEventSize(small)).toBe(small);
    expect('filesOmitted' in small.detail).toBe(false);
  });

  it('keeps a status the documentation does not name', () => {
    const event = statusChangeOf(anItem({ status: 'RUNNING' }), anItem({ status: 'QUEUED_FOR_RETRY' }));
    expect(event?.detail).toMatchObject({ status: 'QUEUED_FOR_RETRY', files: [] });
  });
});

describe('resultOf', () => {
  const copy = (path: string, status: FileCopy['status'], extra: Partial<FileCopy> = {}): FileCopy => ({
    path,
    sourceUrl: 'u',
    fileName: `${path}.csv`,
    s3Key: `k/${path}.csv`,
    status,
    attempts: status === 'pending' ? 0 : 1,
    ...extra,
  });
  const launch = {
    idempotencyKey: 'order-4711',
    messageId: 'm-1',
    requestedAt: '2024-06-01T11:59:00.000Z',
    awaited: true,
  };

  it('comes with the write that settles the last pending copy of an ended execution, never before', () => {
    const running = anItem({ status: 'RUNNING' }, { launch });
    const ended = {
      ...anItem({ id: running.id, status: 'COMPLETED' }, { launch }),
      files: [copy('output.report', 'copied', { size: 3, sha256: 'aa' }), copy('input.file', 'pending')],
    };
    expect(resultOf(running, ended)).toBeUndefined();
    const settled = {
      ...ended,
      files: [
        copy('output.report', 'copied', { size: 3, sha256: 'aa', copiedAt: '2024-06-01T12:00:09.000Z' }),
        copy('input.file', 'failed', { lastError: 'HTTP 404' }),
      ],
    };
    const event = resultOf(ended, settled);
    expect(event).toEqual({
      source: 'product-live.job-executions',
      detailType: 'Job Execution Result',
      time: '2024-06-01T12:00:09.000Z',
      detail: expect.objectContaining({
        eventId: `${running.id}:result`,
        executionId: running.id,
        status: 'COMPLETED',
        previousStatus: 'COMPLETED',
        launch,
        files: [
          { path: 'output.report', s3Key: 'k/output.report.csv', size: 3, sha256: 'aa', status: 'copied' },
          { path: 'input.file', s3Key: 'k/input.file.csv', size: null, sha256: null, status: 'failed' },
        ],
      }),
    });
  });

  it('comes once: a rewrite of a settled execution, an open one and a removal make none', () => {
    const settled = anItem({ status: 'FAILED' }, { files: [copy('output.report', 'copied')] });
    expect(resultOf(settled, { ...settled, syncedAt: '2024-06-09T00:00:00.000Z' })).toBeUndefined();
    expect(resultOf(undefined, anItem({ status: 'RUNNING' }))).toBeUndefined();
    expect(resultOf(settled, undefined)).toBeUndefined();
    // An execution that ends with no file to copy is settled by the write that ends it.
    expect(resultOf(anItem({ id: settled.id, status: 'RUNNING' }), settled)?.detail).toMatchObject({
      eventId: `${settled.id}:result`,
      previousStatus: 'RUNNING',
      launch: null,
    });
  });

  it('carries the launch on status changes too, with awaited false when no task token waits', () => {
    const { awaited: _awaited, ...unawaited } = launch;
    const event = statusChangeOf(undefined, anItem({ status: 'RUNNING' }, { launch: unawaited }));
    expect(event?.detail.launch).toEqual({ ...unawaited, awaited: false });
  });
});

describe('publishStatusChanges', () => {
  const logger = new CapturingLogger();
  const noWait = { sleep: async () => {} };

  /** A sink recording every call; `refuse` decides per entry. */
  function recordingSink(refuse: (event: ExecutionEvent, call: number) => string | null = () => null) {
    const calls: ExecutionEvent[][] = [];
    const sink: EventSink = {
      async put(events) {
        calls.push([...events]);
        return events.map((event) => refuse(event, calls.length));
      },
    };
    return { sink, calls };
  }

  it('publishes status changes in order, at most ten per call, and counts the rest as unchanged', async () => {
    const items = Array.from({ length: 23 }, () => anItem({ status: 'RUNNING' }));
    const records = [
      ...items.map((item) => aRecord(undefined, item)),
      aRecord(items[0], { ...(items[0] as ExecutionItem), syncedAt: '2025-01-01T00:00:00.000Z' }),
      aRecord(items[1], undefined),
    ];
    const { sink, calls } = recordingSink();
    const result = await publishStatusChanges(records, { sink, logger, ...noWait });
    expect(result).toEqual({ batchItemFailures: [], published: 23, unchanged: 2, retried: 0, failed: 0 });
    expect(calls.map((call) => call.length)).toEqual([10, 10, 3]);
    expect(calls.flat().map((event) => event.detail.executionId)).toEqual(items.map((item) => item.id));
  });

  it('never puts two statuses of one execution in the same call', async () => {
    const pending = anItem({ status: 'PENDING' });
    const running = { ...pending, status: 'RUNNING' };
    const done = { ...pending, status: 'COMPLETED' };
    const { sink, calls } = recordingSink();
    await publishStatusChanges(
      [aRecord(undefined, pending), aRecord(pending, running), aRecord(running, done)],
      { sink, logger, ...noWait },
    );
    expect(
      calls.map((call) =>
        call.map((event) => (event.detailType === RESULT_DETAIL_TYPE ? 'result' : event.detail.status)),
      ),
    ).toEqual([['PENDING'], ['RUNNING'], ['COMPLETED'], ['result']]);
  });

  it('retries refused entries in place and publishes them', async () => {
    const items = Array.from({ length: 5 }, () => anItem({ status: 'RUNNING' }));
    const refusedId = items[2]?.id;
    const { sink, calls } = recordingSink((event, call) =>
      call === 1 && event.detail.executionId === refusedId ? 'ThrottlingException: slow down' : null,
    );
    const result = await publishStatusChanges(
      items.map((item) => aRecord(undefined, item)),
      { sink, logger, ...noWait },
    );
    expect(result).toMatchObject({ batchItemFailures: [], published: 5, retried: 1, failed: 0 });
    expect(calls[1]?.map((event) => event.detail.executionId)).toEqual([refusedId]);
  });

  it('reports the first still-refused record as the batch failure and sends nothing after its call', async () => {
    const items = Array.from({ length: 25 }, () => anItem({ status: 'RUNNING' }));
    const records = items.map((item) => aRecord(undefined, item));
    const blocked = items[13]?.id;
    const { sink, calls } = recordingSink((event) =>
      event.detail.executionId === blocked ? 'InternalFailure' : null,
    );
    const result = await publishStatusChanges(records, { sink, logger, ...noWait }, { maxAttempts: 3 });
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: records[13]?.dynamodb?.SequenceNumber }]);
    expect(result).toMatchObject({ published: 19, retried: 2, failed: 1 });
    // The third chunk (records 20..24) was never sent: it comes again with the redelivery.
    expect(calls.flat().some((event) => event.detail.executionId === items[20]?.id)).toBe(false);
  });

  it('takes a call that throws as every entry refused, and waits longer between tries', async () => {
    const waits: number[] = [];
    const sink: EventSink = {
      put: async () => {
        throw new Error('connect ECONNREFUSED');
      },
    };
    const records = [aRecord(undefined, anItem())];
    const result = await publishStatusChanges(
      records,
      { sink, logger, sleep: async (ms) => void waits.push(ms) },
      { maxAttempts: 4, baseDelayMs: 100 },
    );
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: records[0]?.dynamodb?.SequenceNumber }]);
    expect(result.published).toBe(0);
    expect(waits).toEqual([100, 200, 400]);
  });
});

describe('eventBridgeSink', () => {
  const eventBridge = mockClient(EventBridgeClient);
  beforeEach(() => eventBridge.reset());
  const event = statusChangeOf(undefined, anItem({ status: 'FAILED' })) as ExecutionEvent;

  it('sends each event as an entry on the bus, with source, detail-type, detail and time', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    const outcomes = await eventBridgeSink(new EventBridgeClient({}), 'ops-bus').put([event]);
    expect(outcomes).toEqual([null]);
    const entry = eventBridge.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0];
    expect(entry).toMatchObject({
      EventBusName: 'ops-bus',
      Source: 'product-live.job-executions',
      DetailType: 'Job Execution Status Change',
      Time: new Date(event.time),
    });
    expect(JSON.parse(entry?.Detail ?? '')).toEqual(event.detail);
  });

  it('reports refused entries with their error code, and an entry without an answer as refused', async () => {
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ EventId: 'e-1' }, { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }],
    });
    const outcomes = await eventBridgeSink(new EventBridgeClient({}), 'default').put([event, event, event]);
    expect(outcomes).toEqual([null, 'ThrottlingException: Rate exceeded', 'no answer for this entry']);
  });
});

describe('events tail', () => {
  it('parses its flags and refuses unknown statuses and commands', () => {
    expect(
      parseTailArgs(['tail', '--status', 'failed,TIMEDOUT', '--json', '--data-dir', '/d', '--no-follow']),
    ).toEqual({
      dataDir: '/d',
      file: '/d/events.ndjson',
      statuses: new Set(['FAILED', 'TIMEDOUT']),
      results: false,
      health: false,
      json: true,
      lines: 10,
      follow: false,
    });
    expect(parseTailArgs(['tail', '--health'])).toMatchObject({ health: true, results: false });
    expect(() => parseTailArgs(['tail', '--status', 'BROKEN'])).toThrow(/not a status/);
    expect(() => parseTailArgs(['follow'])).toThrow(/unknown command "follow"/);
    expect(() => parseTailArgs([])).toThrow(/a command is needed/);
    expect(() => parseTailArgs(['tail', '--lines', '-1'])).toThrow(/--lines/);
  });

  it('reads back the lines the file sink writes, and shows the change for people', () => {
    const item = anItem({ status: 'FAILED', info: { title: 'Import Products' } });
    const event = statusChangeOf(anItem({ id: item.id, status: 'RUNNING' }), item) as ExecutionEvent;
    const line = JSON.stringify(toEventLine(event, '123456789012', 'eu-west-1'));
    const parsed = parseEventLine(line);
    expect(parsed).toMatchObject({
      source: event.source,
      'detail-type': event.detailType,
      detail: event.detail,
    });
    if ('invalid' in parsed) throw new Error(parsed.invalid);
    const text = formatEvent(parsed);
    expect(text).toContain('RUNNING → FAILED');
    expect(text).toContain('Import Products');
    expect(text).toContain(item.id);
    expect(parseTailArgs(['tail', '--results']).results).toBe(true);
    const settled = anItem(
      { id: item.id, status: 'FAILED', info: { title: 'Import Products' } },
      {
        launch: { idempotencyKey: 'order-9', messageId: 'm-9', requestedAt: '2024-06-01T11:00:00.000Z' },
        files: [
          {
            path: 'output.report',
            sourceUrl: 'u',
            fileName: 'r',
            s3Key: 'k/r',
            status: 'failed',
            attempts: 3,
          },
        ],
      },
    );
    const result = resultOf(anItem({ id: item.id, status: 'RUNNING' }), settled) as ExecutionEvent;
    const resultLine = parseEventLine(JSON.stringify(toEventLine(result, '1', 'r')));
    if ('invalid' in resultLine) throw new Error(resultLine.invalid);
    expect(formatEvent(resultLine)).toMatch(
      /result FAILED .* 1 file \(1 failed\) {2}\(sync\) {2}launch order-9$/,
    );
    expect(parseEventLine('{not json')).toEqual({ invalid: 'not JSON' });
    expect(parseEventLine('{"detail":{}}')).toEqual({ invalid: 'no detail with executionId and status' });
    expect(parseEventLine('{"detail-type":"Job Health Change","detail":{"jobId":"j"}}')).toEqual({
      invalid: 'a job health change without jobId and state',
    });
  });

  it("shows job health changes beside the executions' events, and filters each kind", async () => {
    const health = jobHealthEvent({
      eventId: 'j-1:late:2026-12-07T02:00:00.000Z',
      jobId: '65819ba43ad5b963658ab35d',
      title: 'Supplier feed',
      state: 'late',
      previousState: 'healthy',
      reasons: ['no run since 2026-12-05 02:00 UTC; usually every 24h'],
      reason: 'no run since 2026-12-05 02:00 UTC; usually every 24h',
      lastRunAt: '2026-12-05T02:00:00.000Z',
      lastSuccessAt: '2026-12-05T02:00:00.000Z',
      expectedBy: '2026-12-06T08:00:00.000Z',
      consecutiveFailures: 0,
      usualIntervalMs: 86_400_000,
      stateSince: '2026-12-07T02:00:00.000Z',
    });
    const healthLine = parseEventLine(JSON.stringify(toEventLine(health, '1', 'r')));
    if ('invalid' in healthLine) throw new Error(healthLine.invalid);
    expect(formatEvent(healthLine)).toMatch(
      /health healthy → late .*Supplier feed .*65819ba43ad5b963658ab35d {2}no run since 2026-12-05 02:00 UTC; usually every 24h$/,
    );
    const file = join(await mkdtemp(join(tmpdir(), 'tail-health-')), 'events.ndjson');
    const failed = statusChangeOf(undefined, anItem({ status: 'FAILED' })) as ExecutionEvent;
    await writeFile(
      file,
      [toEventLine(failed, '1', 'r'), toEventLine(health, '1', 'r')]
        .map((line) => `${JSON.stringify(line)}\n`)
        .join(''),
    );
    const shown = async (flags: string[]) => {
      const written: string[] = [];
      const options = { ...parseTailArgs(['tail', '--no-follow', ...flags]), file };
      await tailEvents(
        options,
        { write: (text) => written.push(text), warn: () => undefined },
        new AbortController().signal,
      );
      return written.map((text) => (JSON.parse(text) as { 'detail-type': string })['detail-type']);
    };
    expect(await shown(['--json'])).toEqual([EVENT_DETAIL_TYPE, 'Job Health Change']);
    expect(await shown(['--json', '--health'])).toEqual(['Job Health Change']);
    expect(await shown(['--json', '--results'])).toEqual([]);
    expect(await shown(['--json', '--status', 'FAILED'])).toEqual([EVENT_DETAIL_TYPE]);
  });

  it('shows the last matching events, skips lines that are not events, then follows appends and a replaced file', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'tail-')), 'events.ndjson');
    const line = (status: string) => {
      const event = statusChangeOf(undefined, anItem({ status })) as ExecutionEvent;
      return `${JSON.stringify(toEventLine(event, '1', 'r'))}\n`;
    };
    await writeFile(
      file,
      [line('FAILED'), line('COMPLETED'), 'garbage\n', line('FAILED'), line('FAILED')].join(''),
    );
    const written: string[] = [];
    const warnings: string[] = [];
    const abort = new AbortController();
    const statusOf = (text: string) => (JSON.parse(text) as { detail: { status: string } }).detail.status;
    const tail = tailEvents(
      {
        dataDir: dirname(file),
        file,
        statuses: new Set(['FAILED']),
        results: false,
        health: false,
        json: true,
        lines: 2,
        follow: true,
      },
      { write: (text) => written.push(text), warn: (text) => warnings.push(text) },
      abort.signal,
      5,
    );
    const until = async (check: () => boolean) => {
      for (let i = 0; i < 400 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    await until(() => written.length === 2);
    expect(written.map(statusOf)).toEqual(['FAILED', 'FAILED']);
    expect(warnings).toEqual([`${file}:3: skipped (not JSON)`]);

    // Appended in two writes (a line cut in the middle is shown once whole), one of them not matching.
    const next = line('FAILED');
    await appendFile(file, line('COMPLETED') + next.slice(0, 40));
    await new Promise((resolve) => setTimeout(resolve, 30));
    await appendFile(file, next.slice(40));
    await until(() => written.length === 3);
    expect(written[2]).toBe(next);
    // The file replaced by a shorter one: read again from its start.
    const fresh = line('FAILED');
    await writeFile(file, fresh);
    await until(() => written.length === 4);
    abort.abort();
    await tail;
    expect(written).toHaveLength(4);
    expect(written[3]).toBe(fresh);
  });
});
