// Layer flow: SQS launch queue (event source mapping, partial batch response) -> this handler (production
// wiring, once per container) -> createLaunchHandler -> processLaunchBatch -> launchJob. The SDK clients and
// the Product-Live calls (fetch) are traced as X-Ray subsegments.
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createS3Client } from '#core/aws-clients';
import { stepFunctionsCallbacks } from '#core/callbacks/step-functions-client';
import { loadLaunchConfig } from '#core/config';
import { createObservability } from '#core/observability';
import { createLaunchHandler } from './launch-handler';

const observability = createObservability();
const { tracer } = observability;

const config = loadLaunchConfig();

export const handler = createLaunchHandler({
  config,
  clients: {
    dynamo: tracer.captureAWSv3Client(new DynamoDBClient({})),
    secrets: new SecretsProvider({ awsSdkV3Client: tracer.captureAWSv3Client(new SecretsManagerClient({})) }),
    sqs: tracer.captureAWSv3Client(new SQSClient({})),
    s3: tracer.captureAWSv3Client(createS3Client({ forcePathStyle: config.s3ForcePathStyle })),
    callbacks: stepFunctionsCallbacks(tracer.captureAWSv3Client(new SFNClient({}))),
  },
  ...observability,
});
