// Layer flow: SQS launch queue (event source mapping, partial batch response) -> this handler (production
// wiring, once per container) -> createLaunchHandler -> processLaunchBatch -> launchJob.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { loadLaunchConfig } from '../core/config';
import { createObservability } from '../core/observability';
import { createLaunchHandler } from './launch-handler';

export const handler = createLaunchHandler({
  config: loadLaunchConfig(),
  clients: { dynamo: new DynamoDBClient({}), sqs: new SQSClient({}) },
  ...createObservability(),
});
