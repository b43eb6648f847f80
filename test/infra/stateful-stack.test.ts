import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  EXECUTIONS_TABLE,
  IDEMPOTENCY_TABLE,
  STATE_TABLE,
  type TableDefinition,
} from '#core/store/table-definitions';
import { type Synthesized, synthesize } from './support/synth';
import { TemplateView } from './support/template-view';

let synth: Synthesized;
let view: TemplateView;

// Synthesizing the app once per file takes a few seconds (longer on a busy machine).
beforeAll(() => {
  synth = synthesize();
  view = new TemplateView(synth);
}, 120_000);

type Props = Record<string, unknown>;

describe('stateful stack: tables', () => {
  const cases: [string, () => unknown, TableDefinition][] = [
    ['executions', () => synth.stateful.executionsTable, EXECUTIONS_TABLE],
    ['sync state', () => synth.stateful.stateTable, STATE_TABLE],
    ['launch idempotency', () => synth.stateful.idempotencyTable, IDEMPOTENCY_TABLE],
  ];

  it.each(cases)('builds the %s table from the shared table definition', (_name, table, definition) => {
    const resource = view.statefulResource(table() as never);
    const props = resource.Properties as Props;
    expect(resource.Type).toBe('AWS::DynamoDB::GlobalTable');
    expect(props.KeySchema).toEqual([{ AttributeName: definition.partitionKey.name, KeyType: 'HASH' }]);
    const indexes = (props.GlobalSecondaryIndexes ?? []) as Props[];
    expect(indexes).toEqual(
      definition.indexes.map((index) => ({
        IndexName: index.indexName,
        KeySchema: [
          { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
          { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
    );
    const declared = new Map(
      (props.AttributeDefinitions as { AttributeName: string; AttributeType: string }[]).map((a) => [
        a.AttributeName,
        a.AttributeType,
      ]),
    );
    for (const key of [
      definition.partitionKey,
      ...definition.indexes.flatMap((i) => [i.partitionKey, i.sortKey]),
    ]) {
      expect(declared.get(key.name), key.name).toBe(key.type);
    }
  });

  it.each(cases)(
    'keeps the %s table safe: on-demand, PITR, deletion protection, retained, encrypted',
    (_n, table) => {
      const resource = view.statefulResource(table() as never);
      const props = resource.Properties as Props;
      expect(resource.DeletionPolicy).toBe('Retain');
      expect(props.BillingMode).toBe('PAY_PER_REQUEST');
      expect(props.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
      const replicas = props.Replicas as Props[];
      expect(replicas).toHaveLength(1);
      expect(replicas[0]).toMatchObject({
        DeletionProtectionEnabled: true,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        Region: { Ref: 'AWS::Region' },
      });
    },
  );

  it('streams the old and new image of every executions write (the events function reads it), and only there', () => {
    const stream = (table: unknown) =>
      (view.statefulResource(table as never).Properties as Props).StreamSpecification;
    expect(EXECUTIONS_TABLE.stream).toBe('NEW_AND_OLD_IMAGES');
    expect(stream(synth.stateful.executionsTable)).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(stream(synth.stateful.stateTable)).toBeUndefined();
    expect(stream(synth.stateful.idempotencyTable)).toBeUndefined();
  });

  it('expires idempotency records (the attribute Powertools writes) and sync runs (deleteAfter), never executions', () => {
    const ttl = (table: unknown) =>
      (view.statefulResource(table as never).Properties as Props).TimeToLiveSpecification;
    expect(ttl(synth.stateful.idempotencyTable)).toEqual({
      AttributeName: IDEMPOTENCY_TABLE.timeToLiveAttribute,
      Enabled: true,
    });
    expect(ttl(synth.stateful.stateTable)).toEqual({ AttributeName: 'deleteAfter', Enabled: true });
    expect(ttl(synth.stateful.executionsTable)).toBeUndefined();
  });

  it("lists the state table's sync runs and job health records by a sparse index, kind then sort key", () => {
    const props = view.statefulResource(synth.stateful.stateTable).Properties as Props;
    expect(props.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'byKind',
        KeySchema: [
          { AttributeName: 'kind', KeyType: 'HASH' },
          { AttributeName: 'sortKey', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
  });
});

describe('stateful stack: files bucket', () => {
  const bucketProps = () => view.statefulResource(synth.stateful.filesBucket).Properties as Props;

  it('encrypts, blocks public access, versions and retains the bucket', () => {
    const resource = view.statefulResource(synth.stateful.filesBucket);
    expect(resource.DeletionPolicy).toBe('Retain');
    expect(bucketProps()).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      VersioningConfiguration: { Status: 'Enabled' },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
  });

  // biome-ignore lint/suspicious/useExpect: its assertion is hasResourceProperties, which throws on a mismatch
  it('denies every request not made over TLS', () => {
    synth.statefulTemplate.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: view.logicalId(synth.stateful.filesBucket) },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('aborts stale multipart uploads, expires old versions and tiers old copies', () => {
    const rules = (bucketProps().LifecycleConfiguration as { Rules: Props[] }).Rules;
    expect(rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Status: 'Enabled',
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        }),
        expect.objectContaining({ Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 30 } }),
        expect.objectContaining({
          Status: 'Enabled',
          Transitions: [{ StorageClass: 'INTELLIGENT_TIERING', TransitionInDays: 30 }],
        }),
      ]),
    );
    // Nothing ever expires the current copies: they are the only ones left after Product-Live's 90 days.
    expect(rules.some((rule) => 'ExpirationInDays' in rule || 'ExpirationDate' in rule)).toBe(false);
  });

  it('logs server access to an encrypted, private, TLS-only log bucket', () => {
    const logsId = view.logicalId(synth.stateful.accessLogsBucket);
    expect(bucketProps().LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: logsId },
      LogFilePrefix: 'files-bucket/',
    });
    const logs = view.statefulResource(synth.stateful.accessLogsBucket);
    expect(logs.DeletionPolicy).toBe('Retain');
    expect(logs.Properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: { Rules: [expect.objectContaining({ ExpirationInDays: 365 })] },
    });
    synth.statefulTemplate.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logsId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Allow', Principal: { Service: 'logging.s3.amazonaws.com' } }),
        ]),
      },
    });
  });

  // biome-ignore lint/suspicious/useExpect: its assertion is hasResourceProperties, which throws on a mismatch
  it('applies the noncurrent-version retention from context', () => {
    const custom = synthesize({ context: { filesNoncurrentVersionDays: '7' } });
    custom.statefulTemplate.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 7 } })]),
      },
    });
  });
});

describe('stateful stack: outputs', () => {
  it('outputs the table and bucket names users need for the CLI and the console', () => {
    const outputs = synth.statefulTemplate.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.ExecutionsTableName?.Value).toEqual({
      Ref: view.logicalId(synth.stateful.executionsTable),
    });
    expect(outputs.ExecutionsTableStreamArn?.Value).toEqual({
      'Fn::GetAtt': [view.logicalId(synth.stateful.executionsTable), 'StreamArn'],
    });
    expect(outputs.StateTableName?.Value).toEqual({ Ref: view.logicalId(synth.stateful.stateTable) });
    expect(outputs.IdempotencyTableName?.Value).toEqual({
      Ref: view.logicalId(synth.stateful.idempotencyTable),
    });
    expect(outputs.FilesBucketName?.Value).toEqual({ Ref: view.logicalId(synth.stateful.filesBucket) });
    expect(outputs.AccessLogsBucketName?.Value).toEqual({
      Ref: view.logicalId(synth.stateful.accessLogsBucket),
    });
  });
});
