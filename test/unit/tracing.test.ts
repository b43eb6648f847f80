// Every function's production wiring (its handler.ts) hands each AWS SDK client it creates to the Powertools
// Tracer, so that X-Ray shows them as subsegments (the Product-Live calls, made with fetch, the Tracer
// instruments by itself), and the Tracer follows POWERTOOLS_TRACE_ENABLED, which the stack sets.
import { Tracer } from '@aws-lambda-powertools/tracer';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createObservability } from '#core/observability';

const ENVIRONMENT = {
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  PRODUCT_LIVE_API_URL: 'https://api.product-live.com',
  PRODUCT_LIVE_API_KEY_SECRET_ID: 'product-live/api-key',
  EXECUTIONS_TABLE_NAME: 'executions',
  STATE_TABLE_NAME: 'state',
  FILES_BUCKET_NAME: 'files',
  LAKE_BUCKET_NAME: 'lake',
  IDEMPOTENCY_TABLE_NAME: 'idempotency',
  LAUNCH_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/launch',
  LAUNCH_DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/launch-dlq',
  EVENT_BUS_NAME: 'default',
};

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

/** The SDK clients (by class name) a handler module hands to the Tracer when it is loaded. */
async function tracedClients(load: () => Promise<unknown>): Promise<string[]> {
  for (const [name, value] of Object.entries(ENVIRONMENT)) vi.stubEnv(name, value);
  const capture = vi.spyOn(Tracer.prototype, 'captureAWSv3Client').mockImplementation((client) => client);
  capture.mockClear();
  vi.resetModules();
  await load();
  return capture.mock.calls.map(([client]) => (client as object).constructor.name).sort();
}

describe('tracing', () => {
  it('traces every SDK client of the sync, launch, lake, events, follow and callbacks functions', async () => {
    expect(await tracedClients(() => import('#functions/sync/handler'))).toEqual([
      'DynamoDBClient',
      // The job health changes the sync publishes.
      'EventBridgeClient',
      'S3Client',
      'SecretsManagerClient',
    ]);
    expect(await tracedClients(() => import('#functions/launch/handler'))).toEqual([
      'DynamoDBClient',
      'S3Client',
      'SFNClient',
      'SQSClient',
      'SecretsManagerClient',
    ]);
    expect(await tracedClients(() => import('#functions/lake/handler'))).toEqual([
      'DynamoDBClient',
      'S3Client',
    ]);
    expect(await tracedClients(() => import('#functions/events/handler'))).toEqual(['EventBridgeClient']);
    expect(await tracedClients(() => import('#functions/follow/handler'))).toEqual([
      'DynamoDBClient',
      'S3Client',
      'SFNClient',
      'SecretsManagerClient',
    ]);
    expect(await tracedClients(() => import('#functions/callbacks/handler'))).toEqual([
      'DynamoDBClient',
      'S3Client',
      'SFNClient',
    ]);
  });

  it('follows POWERTOOLS_TRACE_ENABLED in Lambda, and an explicit option everywhere', () => {
    vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'sync');
    vi.stubEnv('AWS_EXECUTION_ENV', 'AWS_Lambda_nodejs22.x');
    vi.stubEnv('POWERTOOLS_TRACE_ENABLED', 'true');
    expect(createObservability().tracer.isTracingEnabled()).toBe(true);
    vi.stubEnv('POWERTOOLS_TRACE_ENABLED', 'false');
    expect(createObservability().tracer.isTracingEnabled()).toBe(false);
    expect(createObservability({ tracing: false }).tracer.isTracingEnabled()).toBe(false);
  });
});
