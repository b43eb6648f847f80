// Layer flow: EventBridge Scheduler -> this handler (production wiring, once per container) ->
// createLakeHandler -> runLake. Configuration from the environment; names of logs and metrics from the
// Powertools variables the stack sets.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createS3Client } from '../core/aws-clients';
import { loadLakeConfig } from '../core/config';
import { createObservability } from '../core/observability';
import { createLakeHandler } from './lake-handler';

const config = loadLakeConfig();

export const handler = createLakeHandler({
  config,
  clients: {
    dynamo: new DynamoDBClient({}),
    s3: createS3Client({ forcePathStyle: config.s3ForcePathStyle }),
  },
  ...createObservability(),
});
