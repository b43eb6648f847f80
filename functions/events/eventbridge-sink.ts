// Layer flow: publishStatusChanges (and the sync's job health pass) -> this adapter -> EventBridge PutEvents. One
// entry per event, in order; PutEvents answers per entry, so a partly refused call reports which entries to send
// again.
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { BusEvent, BusEventSink } from '#core/events/bus-event';

/** An event sink over an EventBridge bus (a name or an ARN; `default` is the account's default bus). */
export function eventBridgeSink(client: EventBridgeClient, eventBusName: string): BusEventSink {
  return {
    async put(events: readonly BusEvent[]) {
      const output = await client.send(
        new PutEventsCommand({
          Entries: events.map((event) => ({
            EventBusName: eventBusName,
            Source: event.source,
            DetailType: event.detailType,
            Detail: JSON.stringify(event.detail),
            Time: new Date(event.time),
            Resources: [],
          })),
        }),
      );
      const entries = output.Entries ?? [];
      // Without a per-entry answer (it should not happen), an entry is taken as refused, never as published.
      return events.map((_, index) => {
        const entry = entries[index];
        if (entry?.EventId && !entry.ErrorCode) return null;
        return entry?.ErrorCode
          ? `${entry.ErrorCode}: ${entry.ErrorMessage ?? 'no message'}`
          : 'no answer for this entry';
      });
    },
  };
}
