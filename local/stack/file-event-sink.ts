// Layer flow: the events handler (local stack) -> this sink -> `<data-dir>/events.ndjson`. It stands in for
// EventBridge: each event becomes one JSON line in EventBridge's envelope (`version`, `id`, `detail-type`,
// `source`, `account`, `time`, `region`, `resources`, `detail`), so what reads the file reads what a rule's
// target would receive (docs/events.md).
import { randomUUID } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import type { ExecutionEvent } from '../../functions/core/events/execution-event';
import type { EventSink } from '../../functions/events/publish-status-changes';

export const EVENTS_FILE = 'events.ndjson';
export const EVENTS_CHECKPOINT_FILE = 'events-checkpoint.json';

/** One line of the events file: an event as EventBridge delivers it. */
export interface EventLine {
  version: '0';
  id: string;
  'detail-type': ExecutionEvent['detailType'];
  source: ExecutionEvent['source'];
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: ExecutionEvent['detail'];
}

export function toEventLine(event: ExecutionEvent, account: string, region: string): EventLine {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': event.detailType,
    source: event.source,
    account,
    time: event.time,
    region,
    resources: [],
    detail: event.detail,
  };
}

/** An EventSink appending to a file; the events of one call are written with one append, in order. */
export function fileEventSink(file: string, account: string, region: string): EventSink {
  return {
    async put(events) {
      if (events.length === 0) return [];
      const lines = events.map((event) => `${JSON.stringify(toEventLine(event, account, region))}\n`);
      await appendFile(file, lines.join(''));
      return events.map(() => null);
    },
  };
}
