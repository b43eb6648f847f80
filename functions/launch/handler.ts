// Layer flow: SQS launch queue (event source mapping, partial batch response) -> this handler (production
// wiring, once per container) -> createLaunchHandler -> processLaunchBatch -> launchJob. The SDK clients and
// the Product-Live calls (fetch) are traced as X-Ray subsegments.
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { loadLaunchConfig } from '../core/config';
import { createObservability } from '../core/observability';
import { createLaunchHandler } from './launch-handler';

const observability = createObservability();
const { tracer } = observability;

export const handler = createLaunchHandler({
  config: loadLaunchConfig(),
  clients: {
    dynamo: tracer.captureAWSv3Client(new DynamoDBClient({})),
    secrets: new SecretsProvider({ awsSdkV3Client: tracer.captureAWSv3Client(new SecretsManagerClient({})) }),
    sqs: tracer.captureAWSv3Client(new SQSClient({})),
  },
  ...observability,
});
