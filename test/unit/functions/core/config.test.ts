import { describe, expect, it } from 'vitest';
import { ConfigError, loadLakeConfig, loadLaunchConfig, loadSyncConfig } from '#core/config';

const syncEnv = {
  EXECUTIONS_TABLE_NAME: 'executions',
  STATE_TABLE_NAME: 'state',
  FILES_BUCKET_NAME: 'files',
  PRODUCT_LIVE_API_KEY_SECRET_ID: 'product-live/api-key',
};

describe('sync configuration', () => {
  it('applies the documented defaults', () => {
    const config = loadSyncConfig(syncEnv);
    expect(config).toMatchObject({
      apiUrl: 'https://api.product-live.com',
      findPath: '/v1/job_executions/find',
      apiKey: { kind: 'secret', secretId: 'product-live/api-key' },
      startDate: '1970-01-01T00:00:00.000Z',
      pageSize: 1000,
      requestsPerMinute: 40,
      lookbackMs: 600_000,
      timeMarginMs: 60_000,
      allowedFileHosts: ['api.product-live.com', '*.product-live.com'],
      s3ForcePathStyle: false,
    });
  });

  it('names every bad variable and what is wrong with it', () => {
    const attempt = () =>
      loadSyncConfig({
        ...syncEnv,
        FILES_BUCKET_NAME: undefined,
        SYNC_PAGE_SIZE: 'lots',
        SYNC_START_DATE: 'yesterday',
        PRODUCT_LIVE_API_URL: 'ftp://x',
      });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const message = (error as ConfigError).message;
      expect(message).toContain('FILES_BUCKET_NAME: is required');
      expect(message).toContain('SYNC_PAGE_SIZE: expected an integer from 1 to 10000, got "lots"');
      expect(message).toContain('SYNC_START_DATE: expected an ISO 8601 date');
      expect(message).toContain('PRODUCT_LIVE_API_URL: expected an http(s) URL');
    }
  });

  it('requires exactly one source of API key, and never the plain key inside Lambda', () => {
    const { PRODUCT_LIVE_API_KEY_SECRET_ID: _secret, ...noKey } = syncEnv;
    expect(() => loadSyncConfig(noKey)).toThrow(/PRODUCT_LIVE_API_KEY_SECRET_ID: is required/);
    expect(() => loadSyncConfig({ ...syncEnv, PRODUCT_LIVE_API_KEY: 'k' })).toThrow(/set only one/);
    expect(() =>
      loadSyncConfig({ ...noKey, PRODUCT_LIVE_API_KEY: 'k', AWS_LAMBDA_FUNCTION_NAME: 'sync' }),
    ).toThrow(/must not be used in AWS Lambda/);
    expect(loadSyncConfig({ ...noKey, PRODUCT_LIVE_API_KEY: 'k' }).apiKey).toEqual({
      kind: 'env',
      value: 'k',
    });
  });

  it('never echoes the API key in a configuration error', () => {
    const { PRODUCT_LIVE_API_KEY_SECRET_ID: _secret, ...noKey } = syncEnv;
    try {
      loadSyncConfig({
        ...noKey,
        PRODUCT_LIVE_API_KEY: 'super-secret-key',
        AWS_LAMBDA_FUNCTION_NAME: 'sync',
      });
      expect.unreachable();
    } catch (error) {
      expect(String(error)).not.toContain('super-secret-key');
      expect(JSON.stringify(error)).not.toContain('super-secret-key');
    }
  });

  it('derives path-style S3 from an S3 emulator endpoint and takes custom file hosts', () => {
    const config = loadSyncConfig({
      ...syncEnv,
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4569',
      FILE_ALLOWED_HOSTS: 'files.example.com, *.product-live.com',
      PRODUCT_LIVE_API_URL: 'http://127.0.0.1:4010/',
    });
    expect(config.s3ForcePathStyle).toBe(true);
    expect(config.allowedFileHosts).toEqual(['files.example.com', '*.product-live.com']);
    expect(config.apiUrl).toBe('http://127.0.0.1:4010');
    expect(() => loadSyncConfig({ ...syncEnv, FILE_ALLOWED_HOSTS: 'https://x.com/' })).toThrow(
      /expected comma-separated host names/,
    );
  });
});

describe('launch configuration', () => {
  it('needs its queue, dead-letter queue, idempotency and state tables, and defaults to 10 requests a minute', () => {
    expect(() => loadLaunchConfig({ EXECUTIONS_TABLE_NAME: 'e', PRODUCT_LIVE_API_KEY: 'k' })).toThrow(
      /STATE_TABLE_NAME: is required.*IDEMPOTENCY_TABLE_NAME: is required.*LAUNCH_QUEUE_URL: is required.*LAUNCH_DLQ_URL: is required/,
    );
    const config = loadLaunchConfig({
      EXECUTIONS_TABLE_NAME: 'e',
      STATE_TABLE_NAME: 's',
      PRODUCT_LIVE_API_KEY: 'k',
      IDEMPOTENCY_TABLE_NAME: 'i',
      LAUNCH_QUEUE_URL: 'q',
      LAUNCH_DLQ_URL: 'd',
    });
    expect(config.requestsPerMinute).toBe(10);
    expect(config.stateTableName).toBe('s');
  });
});

describe('lake configuration', () => {
  it('needs its tables and buckets, and defaults to a 30-second margin', () => {
    expect(() => loadLakeConfig({})).toThrow(
      /EXECUTIONS_TABLE_NAME: is required.*STATE_TABLE_NAME: is required.*FILES_BUCKET_NAME: is required.*LAKE_BUCKET_NAME: is required/,
    );
    const env = {
      EXECUTIONS_TABLE_NAME: 'e',
      STATE_TABLE_NAME: 's',
      FILES_BUCKET_NAME: 'f',
      LAKE_BUCKET_NAME: 'l',
    };
    const config = loadLakeConfig(env);
    expect(config).toEqual({
      executionsTableName: 'e',
      stateTableName: 's',
      filesBucketName: 'f',
      lakeBucketName: 'l',
      timeMarginMs: 30_000,
      s3ForcePathStyle: false,
    });
    expect(() => loadLakeConfig({ ...env, LAKE_TIME_MARGIN_SECONDS: 'soon' })).toThrow(
      'LAKE_TIME_MARGIN_SECONDS: expected an integer from 0 to 900, got "soon"',
    );
  });
});
