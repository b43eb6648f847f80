// Layer flow: `npm run events -- tail` (local/cli/events.ts) -> this module -> `<data-dir>/events.ndjson`, the
// local stack's stand-in for EventBridge. It reads the file's last lines, then follows what is appended (a file
// that shrinks was replaced: it is read again from its start), one line per event for people or the JSON line
// as written.
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RESULT_DETAIL_TYPE, type ResultEventDetail } from '#core/events/execution-event';
import { JOB_HEALTH_DETAIL_TYPE, type JobHealthEvent } from '#core/events/job-health-event';
import { KNOWN_STATUSES } from '#core/product-live/product-live.schema';
import { EVENTS_FILE, type EventLine } from '../stack/file-event-sink';
import { DEFAULT_DATA_DIR } from '../stack/local-stack-settings';
import { formatDuration, truncate } from './cli-output';
import { UsageError } from './cli-runner';
import { parseCommandLine, parseCount } from './cli-values';

export interface TailOptions {
  file: string;
  /** Only events with one of these statuses; empty: every event. */
  statuses: ReadonlySet<string>;
  /** Only result events (`Job Execution Result`), no status changes (with `health`: both kinds). */
  results: boolean;
  /** Only job health changes (`Job Health Change`) (with `results`: both kinds). */
  health: boolean;
  json: boolean;
  /** How many of the existing events to show first. */
  lines: number;
  /** The data directory the events file is in. */
  dataDir: string;
  follow: boolean;
}

/** Parses `tail [--status S[,S]] [--results] [--health] [--json] [--lines N] [--no-follow] [--data-dir DIR]`. */
export function parseTailArgs(argv: readonly string[]): TailOptions {
  const parsed = parse(argv);
  const [command, ...rest] = parsed.positionals;
  if (command !== 'tail') {
    throw new UsageError(
      command === undefined ? 'a command is needed: tail' : `unknown command "${command}"`,
    );
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
  const statuses = new Set<string>();
  for (const value of parsed.values.status ?? []) {
    for (const status of value.split(',').map((part) => part.trim().toUpperCase())) {
      if (!(KNOWN_STATUSES as readonly string[]).includes(status)) {
        throw new UsageError(`--status: "${status}" is not a status (${KNOWN_STATUSES.join(', ')})`);
      }
      statuses.add(status);
    }
  }
  return {
    dataDir: parsed.values['data-dir'] ?? DEFAULT_DATA_DIR,
    file: join(parsed.values['data-dir'] ?? DEFAULT_DATA_DIR, EVENTS_FILE),
    statuses,
    results: parsed.values.results ?? false,
    health: parsed.values.health ?? false,
    json: parsed.values.json ?? false,
    lines: parseCount(parsed.values.lines, '--lines') ?? 10,
    follow: !(parsed.values['no-follow'] ?? false),
  };
}

function parse(argv: readonly string[]) {
  return parseCommandLine(argv, {
    allowPositionals: true,
    options: {
      status: { type: 'string', multiple: true },
      results: { type: 'boolean' },
      health: { type: 'boolean' },
      json: { type: 'boolean' },
      lines: { type: 'string' },
      'no-follow': { type: 'boolean' },
      'data-dir': { type: 'string' },
    },
  });
}

/** A line of the events file: an execution's event (status change or result), or a job health change. */
export type TailEvent = EventLine | EventLine<JobHealthEvent>;

/** A parsed line of the events file, or why it is not one. */
export function parseEventLine(text: string): TailEvent | { invalid: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { invalid: 'not JSON' };
  }
  const detail = (value as { detail?: unknown } | null)?.detail as Record<string, unknown> | undefined;
  if (!detail || typeof detail !== 'object') return { invalid: 'no detail' };
  if ((value as { 'detail-type'?: unknown })['detail-type'] === JOB_HEALTH_DETAIL_TYPE) {
    if (typeof detail.jobId !== 'string' || typeof detail.state !== 'string') {
      return { invalid: 'a job health change without jobId and state' };
    }
    return value as EventLine<JobHealthEvent>;
  }
  if (typeof detail.executionId !== 'string' || typeof detail.status !== 'string') {
    return { invalid: 'no detail with executionId and status' };
  }
  return value as EventLine;
}

function isHealth(event: TailEvent): event is EventLine<JobHealthEvent> {
  return event['detail-type'] === JOB_HEALTH_DETAIL_TYPE;
}

/** A job health change for people: when, the change, the job, and the reason that explains the state. */
function formatHealthEvent(event: EventLine<JobHealthEvent>): string {
  const { detail } = event;
  const change = `health ${detail.previousState ?? 'new'} → ${detail.state}`;
  return [event.time, change.padEnd(22), truncate(detail.title ?? detail.jobId, 40).padEnd(40), detail.jobId]
    .join('  ')
    .concat(detail.reason ? `  ${detail.reason}` : '');
}

/**
 * One event for people: when, status (from the previous one; `result` for a result event), job title,
 * execution, duration, files, origin and the launch's key.
 */
export function formatEvent(event: TailEvent): string {
  if (isHealth(event)) return formatHealthEvent(event);
  const detail = event.detail;
  const failed = isResult(event) ? event.detail.files.filter((file) => file.status === 'failed').length : 0;
  const change = isResult(event)
    ? `result ${detail.status}`
    : detail.previousStatus
      ? `${detail.previousStatus} → ${detail.status}`
      : `new ${detail.status}`;
  const files = detail.files?.length
    ? `  ${detail.files.length} file${detail.files.length === 1 ? '' : 's'}${failed > 0 ? ` (${failed} failed)` : ''}`
    : '';
  const launch = detail.launch ? `  launch ${detail.launch.idempotencyKey ?? detail.launch.messageId}` : '';
  return [
    event.time,
    change.padEnd(22),
    truncate(detail.title ?? detail.jobId, 40).padEnd(40),
    detail.executionId,
    detail.durationMs !== null && detail.durationMs !== undefined ? formatDuration(detail.durationMs) : '-',
  ]
    .join('  ')
    .concat(files, `  (${detail.origin})`, launch);
}

function isResult(event: TailEvent): event is EventLine & { detail: ResultEventDetail } {
  return event['detail-type'] === RESULT_DETAIL_TYPE;
}

export interface TailOutput {
  write(text: string): void;
  warn(text: string): void;
}

/**
 * Prints the last `lines` matching events, then (with follow) what is appended until `signal` aborts.
 * Lines that are not events are skipped with a warning naming their line number.
 */
export async function tailEvents(
  options: TailOptions,
  output: TailOutput,
  signal: AbortSignal,
  pollMs = 250,
): Promise<void> {
  // --results and --health choose kinds (both: either kind); --status keeps executions' events of those statuses.
  const kindShown = (event: TailEvent) =>
    (!options.results && !options.health) ||
    (options.results && isResult(event)) ||
    (options.health && isHealth(event));
  const matches = (event: TailEvent) =>
    kindShown(event) &&
    (options.statuses.size === 0 || (!isHealth(event) && options.statuses.has(event.detail.status)));
  const show = (event: TailEvent, raw: string) => {
    if (matches(event)) output.write(`${options.json ? raw : formatEvent(event)}\n`);
  };
  const reader = new LineReader(options.file);
  let lineNumber = 0;
  const take = (raw: string): TailEvent | undefined => {
    lineNumber += 1;
    if (raw.trim() === '') return undefined;
    const event = parseEventLine(raw);
    if ('invalid' in event) {
      output.warn(`${options.file}:${lineNumber}: skipped (${event.invalid})`);
      return undefined;
    }
    return event;
  };
  // The existing lines: the last `lines` that match.
  const first = await reader.read();
  if (first.missing && !options.follow) {
    throw new EventsFileMissingError(
      `no events at ${options.file}: run \`npm start\` first (or pass --data-dir)`,
    );
  }
  if (first.missing) output.warn(`waiting for ${options.file} (npm start writes it)`);
  const recent: Array<[TailEvent, string]> = [];
  for (const raw of first.lines) {
    const event = take(raw);
    if (!event || !matches(event)) continue;
    recent.push([event, raw]);
    if (recent.length > options.lines) recent.shift();
  }
  for (const [event, raw] of recent) show(event, raw);
  while (options.follow && !signal.aborted) {
    await sleep(pollMs, signal);
    const next = await reader.read();
    if (next.restarted) lineNumber = 0;
    for (const raw of next.lines) {
      const event = take(raw);
      if (event) show(event, raw);
    }
  }
}

class EventsFileMissingError extends Error {
  override readonly name = 'SetupError';
}

/** Reads the complete lines appended to a file since the last read. */
class LineReader {
  private offset = 0;
  private partial = '';

  constructor(private readonly file: string) {}

  async read(): Promise<{ lines: string[]; missing: boolean; restarted: boolean }> {
    let size: number;
    try {
      size = (await stat(this.file)).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        return { lines: [], missing: true, restarted: false };
      throw error;
    }
    let restarted = false;
    if (size < this.offset) {
      // Replaced or truncated: read it again from the start.
      this.offset = 0;
      this.partial = '';
      restarted = true;
    }
    if (size === this.offset) return { lines: [], missing: false, restarted };
    const handle = await open(this.file, 'r');
    try {
      const buffer = Buffer.alloc(size - this.offset);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.offset);
      this.offset += bytesRead;
      const text = this.partial + buffer.subarray(0, bytesRead).toString('utf8');
      const lines = text.split('\n');
      this.partial = lines.pop() ?? '';
      return { lines, missing: false, restarted };
    } finally {
      await handle.close();
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
