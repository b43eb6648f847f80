// Layer flow: EventBridge Scheduler -> this handler (production wiring, once per container) ->
// createFollowHandler -> runFollow. Configuration from the environment; the SDK clients and the Product-Live
// calls (fetch) traced as X-Ray subsegments.
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { createS3Client } from '#core/aws-clients';
import { stepFunctionsCallbacks } from '#core/callbacks/step-functions-client';
import { loadFollowConfig } from '#core/config';
import { createObservability } from '#core/observability';
import { createFollowHandler } from './follow-handler';

const config = loadFollowConfig();
const observability = createObservability();
const { tracer } = observability;

export const handler = createFollowHandler({
  config,
  clients: {
    dynamo: tracer.captureAWSv3Client(new DynamoDBClient({})),
    secrets: new SecretsProvider({ awsSdkV3Client: tracer.captureAWSv3Client(new SecretsManagerClient({})) }),
    s3: tracer.captureAWSv3Client(createS3Client({ forcePathStyle: config.s3ForcePathStyle })),
    callbacks: stepFunctionsCallbacks(tracer.captureAWSv3Client(new SFNClient({}))),
  },
  ...observability,
});
