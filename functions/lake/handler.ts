// Layer flow: EventBridge Scheduler -> this handler (production wiring, once per container) ->
// createLakeHandler -> runLake. Configuration from the environment; names of logs and metrics from the
// Powertools variables the stack sets; the SDK clients traced as X-Ray subsegments.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createS3Client } from '#core/aws-clients';
import { loadLakeConfig } from '#core/config';
import { createObservability } from '#core/observability';
import { createLakeHandler } from './lake-handler';

const config = loadLakeConfig();
const observability = createObservability();
const { tracer } = observability;

export const handler = createLakeHandler({
  config,
  clients: {
    dynamo: tracer.captureAWSv3Client(new DynamoDBClient({})),
    s3: tracer.captureAWSv3Client(createS3Client({ forcePathStyle: config.s3ForcePathStyle })),
  },
  ...observability,
});
