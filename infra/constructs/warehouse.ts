// Layer flow: stateful stack -> this construct -> the lake bucket (Parquet written by the lake function), the
// Glue database and tables over it (partition projection on `day`: no crawler, no MSCK REPAIR), and an Athena
// workgroup (enforced results bucket, encryption and bytes-scanned cutoff) with the named queries of
// functions/core/warehouse/named-queries.ts. The tables' columns come from lake-tables.ts, the one definition
// the Parquet writer uses too.
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { CfnNamedQuery, CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import {
  type Column,
  Database,
  DataFormat,
  PartitionProjectionConfiguration,
  S3Table,
  S3TableStorage,
  Schema,
  type Type,
} from 'aws-cdk-lib/aws-glue';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  LAKE_TABLES,
  type LakeColumnType,
  type LakeTableName,
  lakeTablePrefix,
  PARTITION_COLUMN,
} from '#core/warehouse/lake-tables';
import { NAMED_QUERIES } from '#core/warehouse/named-queries';
import type { InfraConfig } from '../config';

const GLUE_TYPES: Readonly<Record<LakeColumnType, Type>> = {
  string: Schema.STRING,
  timestamp: Schema.TIMESTAMP,
  bigint: Schema.BIG_INT,
  int: Schema.INTEGER,
  boolean: Schema.BOOLEAN,
};

export interface WarehouseProps {
  readonly config: InfraConfig;
  /** Where the server access logs of the warehouse's buckets go. */
  readonly accessLogsBucket: Bucket;
}

export class Warehouse extends Construct {
  readonly lakeBucket: Bucket;
  readonly resultsBucket: Bucket;
  readonly database: Database;
  readonly tables: Record<LakeTableName, S3Table>;
  readonly workGroup: CfnWorkGroup;

  constructor(scope: Construct, id: string, props: WarehouseProps) {
    super(scope, id);
    const { config, accessLogsBucket } = props;
    const bucketDefaults = {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: accessLogsBucket,
    } as const;

    // Derived data: every object can be rewritten from the executions table, so no versioning. Kept on stack
    // deletion all the same (rebuilding a long history takes a while).
    this.lakeBucket = new Bucket(this, 'LakeBucket', {
      ...bucketDefaults,
      serverAccessLogsPrefix: 'lake-bucket/',
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        { id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });

    this.resultsBucket = new Bucket(this, 'AthenaResultsBucket', {
      ...bucketDefaults,
      serverAccessLogsPrefix: 'athena-results/',
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        { id: 'expire-query-results', expiration: Duration.days(config.athenaResultsExpirationDays) },
        { id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });

    this.database = new Database(this, 'Database', {
      databaseName: config.glueDatabaseName,
      description: 'Product-Live job executions and their files, as Parquet tables (the lake)',
    });

    // Days from the first synced one to today; Athena computes the partitions from the query's `day` filter.
    const projectionStart = config.syncStartDate.slice(0, 10);
    const table = (name: LakeTableName) => {
      const definition = LAKE_TABLES[name];
      const columns: Column[] = definition.columns.map((column) => ({
        name: column.name,
        type: GLUE_TYPES[column.type],
        comment: column.comment,
      }));
      return new S3Table(this, `${name[0]?.toUpperCase()}${name.slice(1)}Table`, {
        database: this.database,
        tableName: name,
        description: definition.comment,
        columns,
        partitionKeys: [
          { name: PARTITION_COLUMN, type: Schema.STRING, comment: definition.partitionComment },
        ],
        partitionProjection: {
          [PARTITION_COLUMN]: PartitionProjectionConfiguration.date({
            min: projectionStart,
            max: 'NOW',
            format: 'yyyy-MM-dd',
          }),
        },
        storage: S3TableStorage.fromBucket(this.lakeBucket),
        s3Prefix: lakeTablePrefix(name),
        dataFormat: DataFormat.PARQUET,
        compressed: true,
      });
    };
    this.tables = { executions: table('executions'), files: table('files'), sync_runs: table('sync_runs') };

    this.workGroup = new CfnWorkGroup(this, 'WorkGroup', {
      name: config.athenaWorkGroupName,
      description: 'SQL over the Product-Live job execution lake',
      state: 'ENABLED',
      // Deleting the stack deletes the workgroup with its saved queries and history.
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: config.athenaBytesScannedCutoffMb * 1024 * 1024,
        engineVersion: { selectedEngineVersion: 'AUTO' },
        resultConfiguration: {
          outputLocation: this.resultsBucket.s3UrlForObject('results/'),
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
          expectedBucketOwner: Stack.of(this).account,
        },
      },
    });

    for (const query of NAMED_QUERIES) {
      const named = new CfnNamedQuery(this, `NamedQuery-${query.name}`, {
        name: query.name,
        description: query.description,
        database: config.glueDatabaseName,
        workGroup: this.workGroup.ref,
        queryString: query.sql,
      });
      named.node.addDependency(this.database);
    }
  }
}
