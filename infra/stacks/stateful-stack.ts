// Layer flow: app -> this stack (the data: tables and files, kept when stacks are deleted) -> its resources
// are handed to the stateless stack as typed props (StatefulResources).
//
// The tables are built from functions/core/store/table-definitions.ts, the one definition the local stack
// and the tests use too, so keys and indexes cannot drift between local and deployed runs.
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import {
  AttributeType,
  Billing,
  type GlobalSecondaryIndexPropsV2,
  type ITableV2,
  ProjectionType,
  StreamViewType,
  TableEncryptionV2,
  TableV2,
} from 'aws-cdk-lib/aws-dynamodb';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type CfnBucket,
  type IBucket,
  ObjectOwnership,
  StorageClass,
} from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import {
  EXECUTIONS_TABLE,
  IDEMPOTENCY_TABLE,
  type KeyAttribute,
  STATE_TABLE,
  type TableDefinition,
} from '#core/store/table-definitions';
import type { InfraConfig } from '../config';
import { Warehouse } from '../constructs/warehouse';

/** What the stateless stack needs from this one. */
export interface StatefulResources {
  readonly executionsTable: ITableV2;
  readonly stateTable: ITableV2;
  readonly idempotencyTable: ITableV2;
  readonly filesBucket: IBucket;
  readonly lakeBucket: IBucket;
  /** Objects created here launch jobs by the `launchInbox` rules (S3's events go to EventBridge). */
  readonly inboxBucket: IBucket;
}

export interface StatefulStackProps extends StackProps {
  readonly config: InfraConfig;
}

export class StatefulStack extends Stack implements StatefulResources {
  readonly executionsTable: TableV2;
  readonly stateTable: TableV2;
  readonly idempotencyTable: TableV2;
  readonly filesBucket: Bucket;
  readonly accessLogsBucket: Bucket;
  readonly warehouse: Warehouse;
  readonly lakeBucket: Bucket;
  readonly inboxBucket: Bucket;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.executionsTable = tableFromDefinition(this, EXECUTIONS_TABLE);
    this.stateTable = tableFromDefinition(this, STATE_TABLE);
    this.idempotencyTable = tableFromDefinition(this, IDEMPOTENCY_TABLE);

    this.accessLogsBucket = new Bucket(this, 'AccessLogsBucket', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        { id: 'expire-access-logs', expiration: Duration.days(config.accessLogsExpirationDays) },
      ],
    });
    Validations.of(this.accessLogsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This bucket receives the files bucket server access logs; logging it into itself would loop, and a ' +
        'second log bucket would only move the finding.',
    });

    this.filesBucket = new Bucket(this, 'FilesBucket', {
      // SSE-S3: every object encrypted at rest without a KMS call per copied file, and readers of the
      // copies (history CLI, exports) need no key grant.
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Product-Live deletes its files after 90 days: these copies are the only ones left, so an overwrite
      // or a deletion keeps the previous version for filesNoncurrentVersionDays.
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'files-bucket/',
      lifecycleRules: [
        {
          id: 'abort-incomplete-multipart-uploads',
          // A sync killed mid-copy leaves parts behind; the next run copies the file again from the start.
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(config.filesNoncurrentVersionDays),
        },
        {
          id: 'intelligent-tiering',
          // Copies are read rarely after the first days; Intelligent-Tiering moves them to cheaper tiers
          // without retrieval fees or delays when they are read again.
          transitions: [
            { storageClass: StorageClass.INTELLIGENT_TIERING, transitionAfter: Duration.days(30) },
          ],
        },
      ],
    });

    this.inboxBucket = new Bucket(this, 'InboxBucket', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // An object written twice launches once per version: the version id is part of the launch key.
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'inbox-bucket/',
      lifecycleRules: [
        {
          // Once launched, an object is in Product-Live and in the files bucket (its copy in the input).
          id: 'expire-processed-objects',
          expiration: Duration.days(config.launchInboxRetentionDays),
          noncurrentVersionExpiration: Duration.days(config.launchInboxRetentionDays),
        },
        { id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
    // S3 sends its events to the account's default EventBridge bus; the stateless stack's rule routes the inbox's
    // "Object Created" events to the launch queue. Set on the bucket itself (no notification custom resource).
    (this.inboxBucket.node.defaultChild as CfnBucket).notificationConfiguration = {
      eventBridgeConfiguration: { eventBridgeEnabled: true },
    };

    this.warehouse = new Warehouse(this, 'Warehouse', { config, accessLogsBucket: this.accessLogsBucket });
    this.lakeBucket = this.warehouse.lakeBucket;

    new CfnOutput(this, 'ExecutionsTableName', {
      value: this.executionsTable.tableName,
      description: 'DynamoDB table of the synced job executions (history CLI: --table)',
    });
    if (this.executionsTable.tableStreamArn) {
      new CfnOutput(this, 'ExecutionsTableStreamArn', {
        value: this.executionsTable.tableStreamArn,
        description: 'DynamoDB stream of the executions table (read by the events function)',
      });
    }
    new CfnOutput(this, 'StateTableName', {
      value: this.stateTable.tableName,
      description: 'DynamoDB table of the sync checkpoint and lease',
    });
    new CfnOutput(this, 'IdempotencyTableName', {
      value: this.idempotencyTable.tableName,
      description: 'DynamoDB table of the launch idempotency records',
    });
    new CfnOutput(this, 'FilesBucketName', {
      value: this.filesBucket.bucketName,
      description:
        'S3 bucket holding the copies of every execution file (executions/<jobId>/<executionId>/...)',
    });
    new CfnOutput(this, 'LakeBucketName', {
      value: this.lakeBucket.bucketName,
      description:
        'S3 bucket of the warehouse tables (lake/executions/day=.../, lake/files/day=.../; history sql --bucket)',
    });
    new CfnOutput(this, 'GlueDatabaseName', {
      value: this.warehouse.database.databaseName,
      description: 'Glue database of the tables executions and files (Athena, BI tools)',
    });
    new CfnOutput(this, 'AthenaWorkGroupName', {
      value: this.warehouse.workGroup.ref,
      description: 'Athena workgroup with the named queries (history sql --engine athena --workgroup)',
    });
    new CfnOutput(this, 'AthenaResultsBucketName', {
      value: this.warehouse.resultsBucket.bucketName,
      description: 'S3 bucket of Athena query results (expire after athenaResultsExpirationDays)',
    });
    new CfnOutput(this, 'InboxBucketName', {
      value: this.inboxBucket.bucketName,
      description: 'S3 bucket whose new objects launch jobs by the launchInbox rules (docs/launches.md)',
    });
    new CfnOutput(this, 'AccessLogsBucketName', {
      value: this.accessLogsBucket.bucketName,
      description: 'S3 bucket receiving the server access logs of the files, lake and Athena results buckets',
    });
  }
}

const attribute = (key: KeyAttribute) => ({
  name: key.name,
  type: key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER,
});

const STREAM_VIEW_TYPES: Readonly<Record<NonNullable<TableDefinition['stream']>, StreamViewType>> = {
  NEW_AND_OLD_IMAGES: StreamViewType.NEW_AND_OLD_IMAGES,
};

/**
 * A table exactly as the shared definition describes it: on-demand, point-in-time recovery, deletion
 * protection, kept on stack deletion, encrypted with the AWS-managed key (aws/dynamodb: usage is visible in
 * CloudTrail, and readers such as the history CLI need no key policy changes), and its stream when the
 * definition has one (24 hours of changes; the stateless stack's events function reads the executions one).
 */
function tableFromDefinition(scope: Construct, definition: TableDefinition): TableV2 {
  const globalSecondaryIndexes: GlobalSecondaryIndexPropsV2[] = definition.indexes.map((index) => ({
    indexName: index.indexName,
    partitionKey: attribute(index.partitionKey),
    sortKey: attribute(index.sortKey),
    projectionType: ProjectionType.ALL,
  }));
  return new TableV2(scope, `${definition.logicalName}Table`, {
    partitionKey: attribute(definition.partitionKey),
    ...(globalSecondaryIndexes.length > 0 ? { globalSecondaryIndexes } : {}),
    ...(definition.timeToLiveAttribute ? { timeToLiveAttribute: definition.timeToLiveAttribute } : {}),
    ...(definition.stream ? { dynamoStream: STREAM_VIEW_TYPES[definition.stream] } : {}),
    billing: Billing.onDemand(),
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: true,
    removalPolicy: RemovalPolicy.RETAIN,
    encryption: TableEncryptionV2.awsManagedKey(),
  });
}
