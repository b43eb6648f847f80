// Layer flow: the executions table's stream (event source mapping, partial batch response) -> this handler
// (production wiring, once per container) -> createEventsHandler -> publishStatusChanges -> EventBridge. The
// EventBridge client is traced as an X-Ray subsegment.
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { loadEventsConfig } from '#core/config';
import { createObservability } from '#core/observability';
import { eventBridgeSink } from './eventbridge-sink';
import { createEventsHandler } from './events-handler';

const config = loadEventsConfig();
const observability = createObservability();

export const handler = createEventsHandler({
  sink: eventBridgeSink(
    observability.tracer.captureAWSv3Client(new EventBridgeClient({})),
    config.eventBusName,
  ),
  ...observability,
});
