// Layer flow: the events handler and the sync's job health pass (local stack) -> this sink ->
// `<data-dir>/events.ndjson`. It stands in for EventBridge: each event becomes one JSON line in EventBridge's
// envelope (`version`, `id`, `detail-type`, `source`, `account`, `time`, `region`, `resources`, `detail`), so what
// reads the file reads what a rule's target would receive (docs/events.md).
import { randomUUID } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import type { BusEvent, BusEventSink } from '#core/events/bus-event';
import type { ExecutionEvent } from '#core/events/execution-event';

export const EVENTS_FILE = 'events.ndjson';
export const EVENTS_CHECKPOINT_FILE = 'events-checkpoint.json';

/** One line of the events file: an event as EventBridge delivers it (a status change unless told otherwise). */
export interface EventLine<E extends BusEvent = ExecutionEvent> {
  version: '0';
  id: string;
  'detail-type': E['detailType'];
  source: E['source'];
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: E['detail'];
}

export function toEventLine<E extends BusEvent>(event: E, account: string, region: string): EventLine<E> {
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

/** An event sink appending to a file; the events of one call are written with one append, in order. */
export function fileEventSink(file: string, account: string, region: string): BusEventSink {
  return {
    async put(events) {
      if (events.length === 0) return [];
      const lines = events.map((event) => `${JSON.stringify(toEventLine(event, account, region))}\n`);
      await appendFile(file, lines.join(''));
      return events.map(() => null);
    },
  };
}
