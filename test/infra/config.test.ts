import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '#core/config';
import { CONTEXT_KEYS, type ContextKey, functionEnvironment, loadInfraConfig } from '#infra/config';
import { createApp } from '#infra/create-app';

const load = (context: Record<string, unknown> = {}) => loadInfraConfig((key) => context[key]);

function problemsOf(context: Record<string, unknown>): string[] {
  try {
    load(context);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

describe('CDK context configuration', () => {
  it('uses the documented defaults when no context is given', () => {
    const config = load();
    expect(config).toMatchObject({
      stackPrefix: 'ProductLiveSync',
      productLiveApiUrl: 'https://api.product-live.com',
      productLiveFindPath: '/v1/job_executions/find',
      apiKeySecret: { kind: 'name', name: 'product-live/api-key' },
      syncStartDate: '1970-01-01T00:00:00.000Z',
      syncPageSize: 1000,
      syncRequestsPerMinute: 40,
      launchRequestsPerMinute: 10,
      syncLagAlarmMinutes: 60,
      syncMemoryMb: 1024,
      launchMemoryMb: 512,
      launchBatchSize: 10,
      launchMaxConcurrency: 2,
      launchMaxReceiveCount: 10,
      launchIdempotencyTtlDays: 30,
      logRetention: RetentionDays.THREE_MONTHS,
      logLevel: 'INFO',
      tracing: true,
      eventBusName: 'default',
      alertStatuses: ['FAILED', 'TIMEDOUT'],
      alertEmails: [],
      filesNoncurrentVersionDays: 30,
      accessLogsExpirationDays: 365,
    });
    expect(config.syncSchedule.toMinutes()).toBe(5);
    expect(config.syncTimeout.toSeconds()).toBe(900);
    expect(config.launchTimeout.toSeconds()).toBe(240);
    expect(config.launchMaxBatchingWindow.toSeconds()).toBe(5);
    expect(config.fileAllowedHosts).toBeUndefined();
    expect(config.alarmEmail).toBeUndefined();
    expect(config.apiKeySecretKmsKeyArn).toBeUndefined();
  });

  it('documents a default for every key that has one, and the defaults parse', () => {
    for (const [key, spec] of Object.entries(CONTEXT_KEYS) as Array<[string, ContextKey<unknown>]>) {
      expect(spec.description, key).not.toBe('');
      if (spec.defaultValue !== undefined)
        expect(() => load({ [key]: spec.defaultValue }), key).not.toThrow();
    }
  });

  it('derives the sync time budget and lease from the function timeout', () => {
    expect(load().derived).toMatchObject({ syncTimeMarginSeconds: 180, syncLeaseSeconds: 960 });
    expect(load({ syncTimeoutMinutes: '5' }).derived).toMatchObject({
      syncTimeMarginSeconds: 60,
      syncLeaseSeconds: 360,
    });
    for (const minutes of [3, 7, 10, 15]) {
      const { derived } = load({ syncTimeoutMinutes: minutes });
      expect(derived.syncLeaseSeconds).toBeGreaterThanOrEqual(minutes * 60 + 60);
      expect(derived.syncTimeMarginSeconds).toBeGreaterThanOrEqual(60);
      expect(derived.syncTimeMarginSeconds).toBeLessThan((minutes * 60) / 2);
    }
  });

  it("splits the launch budget, less the follow function's part, over the instances the event source may run at once", () => {
    // (10 − 2) ÷ 2.
    expect(load().derived.launchRequestsPerMinutePerInstance).toBe(4);
    const config = load({
      launchMaxConcurrency: '3',
      launchRequestsPerMinute: '11',
      followRequestsPerMinute: '2',
      syncRequestsPerMinute: '39',
      launchTimeoutSeconds: '240',
    });
    expect(config.derived.launchRequestsPerMinutePerInstance).toBe(3);
    expect(
      config.derived.launchRequestsPerMinutePerInstance * config.launchMaxConcurrency +
        config.followRequestsPerMinute +
        config.syncRequestsPerMinute,
    ).toBeLessThanOrEqual(50);
  });

  it('sets the launch visibility timeout to six times the function timeout', () => {
    expect(load().derived.launchVisibilityTimeout.toSeconds()).toBe(6 * 240);
    expect(load({ launchTimeoutSeconds: '300' }).derived.launchVisibilityTimeout.toSeconds()).toBe(1800);
  });

  it('accepts values as -c gives them (strings) and as cdk.json gives them (numbers, booleans, lists)', () => {
    const config = load({
      syncPageSize: '500',
      tracing: 'true',
      syncSchedule: 'rate(2 hours)',
      syncLagAlarmMinutes: 240,
      fileAllowedHosts: 'files.example.com, *.Product-Live.com',
      syncStartDate: '2024-01-31',
      productLiveApiUrl: 'https://api.example.com/',
      logRetentionDays: 30,
      logLevel: 'debug',
    });
    expect(config.syncPageSize).toBe(500);
    expect(config.tracing).toBe(true);
    expect(config.syncSchedule.toMinutes()).toBe(120);
    expect(config.fileAllowedHosts).toEqual(['files.example.com', '*.product-live.com']);
    expect(config.syncStartDate).toBe('2024-01-31T00:00:00.000Z');
    expect(config.productLiveApiUrl).toBe('https://api.example.com');
    expect(config.logRetention).toBe(RetentionDays.ONE_MONTH);
    expect(config.logLevel).toBe('DEBUG');
    expect(load({ fileAllowedHosts: ['a.example.com', 'b.example.com'] }).fileAllowedHosts).toEqual([
      'a.example.com',
      'b.example.com',
    ]);
    expect(load({ tracing: false }).tracing).toBe(false);
  });

  it("takes the alert statuses and e-mails as a JSON list (-c key='[...]'), a comma list or a cdk.json array", () => {
    const fromJson = load({
      alertEmails: '["ops@example.com", "data@example.com"]',
      alertStatuses: '["FAILED","USER_ERROR"]',
    });
    expect(fromJson.alertEmails).toEqual(['ops@example.com', 'data@example.com']);
    expect(fromJson.alertStatuses).toEqual(['FAILED', 'USER_ERROR']);
    const fromText = load({
      alertEmails: 'ops@example.com, data@example.com',
      alertStatuses: 'failed, timedout',
    });
    expect(fromText.alertEmails).toEqual(['ops@example.com', 'data@example.com']);
    expect(fromText.alertStatuses).toEqual(['FAILED', 'TIMEDOUT']);
    expect(load({ alertEmails: ['ops@example.com'], alertStatuses: ['TERMINATED'] })).toMatchObject({
      alertEmails: ['ops@example.com'],
      alertStatuses: ['TERMINATED'],
    });
    // An empty list is "nobody", and duplicates are dropped.
    expect(load({ alertEmails: '[]' }).alertEmails).toEqual([]);
    expect(load({ alertStatuses: 'FAILED,FAILED' }).alertStatuses).toEqual(['FAILED']);
  });

  it('names the unknown status or the malformed address of a list', () => {
    expect(problemsOf({ alertStatuses: '["FAILED","FAILD"]' })).toEqual([
      'alertStatuses: expected execution statuses out of PENDING, RUNNING, COMPLETED, USER_ERROR, FAILED, ' +
        'TERMINATED, TIMEDOUT, as a JSON list (["a","b"]) or separated by commas, got "[\\"FAILED\\",\\"FAILD\\"]": ' +
        '"FAILD" is not one',
    ]);
    expect(problemsOf({ alertEmails: 'ops@example.com,ops@' })).toEqual([
      'alertEmails: expected e-mail addresses, as a JSON list (["a","b"]) or separated by commas, got ' +
        '"ops@example.com,ops@": "ops@" is not one',
    ]);
    expect(problemsOf({ alertEmails: '["ops@example.com"' })[0]).toMatch(
      /^alertEmails: expected e-mail addresses/,
    );
    expect(problemsOf({ alertStatuses: '[]' })[0]).toMatch(/^alertStatuses: expected execution statuses/);
    expect(problemsOf({ eventBusName: 'my bus' })[0]).toMatch(
      /^eventBusName: expected an EventBridge event bus name/,
    );
  });

  it('turns tracing on by default and tells each function whether the Powertools Tracer is on', () => {
    for (const fn of ['sync', 'launch', 'lake', 'events'] as const) {
      expect(functionEnvironment(fn, load()), fn).toMatchObject({ POWERTOOLS_TRACE_ENABLED: 'true' });
      expect(functionEnvironment(fn, load({ tracing: 'false' })), fn).toMatchObject({
        POWERTOOLS_TRACE_ENABLED: 'false',
      });
    }
    expect(functionEnvironment('events', load({ eventBusName: 'product-live' }))).toEqual({
      EVENT_BUS_NAME: 'product-live',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      POWERTOOLS_TRACE_ENABLED: 'true',
    });
  });

  it('takes the secret by name, complete ARN or partial ARN', () => {
    expect(load({ apiKeySecret: 'team/product-live' }).apiKeySecret).toEqual({
      kind: 'name',
      name: 'team/product-live',
    });
    const complete = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:product-live/api-key-AbC123';
    expect(load({ apiKeySecret: complete }).apiKeySecret).toEqual({
      kind: 'arn',
      arn: complete,
      complete: true,
    });
    const partial = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:product-live/api-key';
    expect(load({ apiKeySecret: partial }).apiKeySecret).toEqual({
      kind: 'arn',
      arn: partial,
      complete: false,
    });
  });

  it('fails with a message naming the key, the expectation and the value given', () => {
    expect(() => load({ syncPageSize: 'abc' })).toThrow(ConfigError);
    expect(() => load({ syncPageSize: 'abc' })).toThrow(
      'syncPageSize: expected an integer from 1 to 10000, got "abc"',
    );
  });

  it('reports every bad value at once', () => {
    expect(
      problemsOf({
        productLiveApiUrl: 'http://api.product-live.com',
        syncSchedule: 'every 5 minutes',
        syncStartDate: 'yesterday',
        syncTimeoutMinutes: '20',
        alarmEmail: 'ops',
        alertEmails: 'ops@',
        alertStatuses: 'DONE',
        eventBusName: 'a bus',
        logRetentionDays: '42',
        fileAllowedHosts: 'files example.com',
        apiKeySecret: 'arn:aws:s3:::bucket',
        apiKeySecretKmsKeyArn: 'alias/aws/secretsmanager',
        tracing: 'yes',
        logLevel: 'verbose',
      }).map((problem) => problem.split(':')[0]),
    ).toEqual([
      'productLiveApiUrl',
      'apiKeySecret',
      'apiKeySecretKmsKeyArn',
      'syncSchedule',
      'syncStartDate',
      'fileAllowedHosts',
      'alarmEmail',
      'eventBusName',
      'alertStatuses',
      'alertEmails',
      'syncTimeoutMinutes',
      'logRetentionDays',
      'logLevel',
      'tracing',
    ]);
  });

  it('rejects a rate split above the 50 requests/minute of one API key', () => {
    expect(problemsOf({ syncRequestsPerMinute: '45', launchRequestsPerMinute: '10' })).toEqual([
      "syncRequestsPerMinute + launchRequestsPerMinute: 45 + 10 = 55 exceeds Product-Live's 50 requests/minute per API key",
    ]);
    expect(() => load({ syncRequestsPerMinute: '40', launchRequestsPerMinute: '10' })).not.toThrow();
  });

  it('rejects a launch budget too small for the concurrency, and a timeout too short for a batch', () => {
    expect(problemsOf({ launchRequestsPerMinute: '4', launchMaxConcurrency: '3' })[0]).toMatch(
      /^launchRequestsPerMinute: 4 less followRequestsPerMinute 2 cannot be split over launchMaxConcurrency 3/,
    );
    expect(problemsOf({ launchTimeoutSeconds: '60' })[0]).toMatch(
      /^launchTimeoutSeconds: 60 is too short for a batch of 10 at 4 requests\/minute per instance; use at least 185/,
    );
    expect(() => load({ launchTimeoutSeconds: '60', launchBatchSize: '1' })).not.toThrow();
  });

  it('rejects a lag threshold below the normal lag, which would keep the alarm on', () => {
    expect(problemsOf({ syncLagAlarmMinutes: '15' })[0]).toMatch(
      /^syncLagAlarmMinutes: 15 is below the normal lag of syncSchedule \+ syncTimeoutMinutes \(20 minutes\)/,
    );
  });

  it('sizes the lag alarm period to hold at least two runs', () => {
    expect(load().derived.syncLagAlarmPeriod.toMinutes()).toBe(60);
    expect(
      load({ syncSchedule: '1 hour', syncLagAlarmMinutes: '180' }).derived.syncLagAlarmPeriod.toMinutes(),
    ).toBe(150);
    expect(
      load({ syncSchedule: '1 day', syncLagAlarmMinutes: '2000' }).derived.syncLagAlarmPeriod.toMinutes(),
    ).toBe(1440);
  });

  it('stops the app before any construct when the context is bad', () => {
    expect(() => createApp({ context: { syncPageSize: '0' } })).toThrow(
      /Invalid CDK context[\s\S]*syncPageSize: expected an integer from 1 to 10000, got "0"/,
    );
  });
});
