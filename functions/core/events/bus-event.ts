// Layer flow: the event producers (the events function's status changes, the sync's job health changes) -> this
// shape -> an event sink (EventBridge in AWS, `<data-dir>/events.ndjson` locally). What every event of the
// application's source has in common: its detail-type, time, and a detail with an `eventId` to drop duplicates on.

/** An event as a sink receives it (EventBridge's entry fields). */
export interface BusEvent {
  readonly source: string;
  readonly detailType: string;
  /** ISO 8601. */
  readonly time: string;
  readonly detail: { readonly eventId: string };
}

/** Where events go. `put` returns, for each entry in order, null (accepted) or why it was refused. */
export interface BusEventSink {
  put(events: readonly BusEvent[]): Promise<Array<string | null>>;
}
