// Layer flow: the executions table's stream, filtered to awaited executions (event source mapping, partial batch
// response) -> this handler (production wiring, once per container) -> createCallbacksHandler -> Step Functions.
// The SDK clients are traced as X-Ray subsegments.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { createS3Client } from '#core/aws-clients';
import { stepFunctionsCallbacks } from '#core/callbacks/step-functions-client';
import { loadCallbacksConfig } from '#core/config';
import { createObservability } from '#core/observability';
import { createCallbacksHandler } from './callbacks-handler';

const config = loadCallbacksConfig();
const observability = createObservability();
const { tracer } = observability;

export const handler = createCallbacksHandler({
  config,
  clients: {
    dynamo: tracer.captureAWSv3Client(new DynamoDBClient({})),
    s3: tracer.captureAWSv3Client(createS3Client({ forcePathStyle: config.s3ForcePathStyle })),
  },
  callbacks: stepFunctionsCallbacks(tracer.captureAWSv3Client(new SFNClient({}))),
  ...observability,
});
