// Layer flow: EventBridge Scheduler -> this handler (production wiring, once per container) ->
// createSyncHandler -> runSync (and its job health pass, publishing to EventBridge). Configuration from the
// environment; names of logs and metrics from the Powertools variables the stack sets; the SDK clients and the
// Product-Live calls (fetch) traced as X-Ray subsegments.
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createS3Client } from '#core/aws-clients';
import { loadSyncConfig } from '#core/config';
import { createObservability } from '#core/observability';
import { eventBridgeSink } from '#functions/events/eventbridge-sink';
import { createSyncHandler } from './sync-handler';

const config = loadSyncConfig();
const observability = createObservability();
const { tracer } = observability;

export const handler = createSyncHandler({
  config,
  clients: {
    dynamo: tracer.captureAWSv3Client(new DynamoDBClient({})),
    secrets: new SecretsProvider({ awsSdkV3Client: tracer.captureAWSv3Client(new SecretsManagerClient({})) }),
    s3: tracer.captureAWSv3Client(createS3Client({ forcePathStyle: config.s3ForcePathStyle })),
  },
  // The job health changes (the status changes go through the executions table's stream instead).
  eventSink: eventBridgeSink(tracer.captureAWSv3Client(new EventBridgeClient({})), config.eventBusName),
  ...observability,
});
