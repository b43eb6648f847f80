// The warehouse in AWS: the lake function (schedule, environment, exact permissions), the lake and Athena
// results buckets, the Glue tables over the lake (columns from the one definition, partition projection on
// `day`), the Athena workgroup (enforced settings) and its named queries.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadLakeConfig } from '#core/config';
import { LAKE_TABLES, type LakeTableName } from '#core/warehouse/lake-tables';
import { NAMED_QUERIES } from '#core/warehouse/named-queries';
import { commonEnvironment, type Synthesized, synthesize } from './support/synth';
import { sortStatements, TemplateView } from './support/template-view';

let synth: Synthesized;
let view: TemplateView;
type Props = Record<string, unknown>;

beforeAll(() => {
  synth = synthesize({ context: { syncStartDate: '2023-01-01', athenaBytesScannedCutoffMb: '2048' } });
  view = new TemplateView(synth);
}, 120_000);

const statefulOfType = (type: string) =>
  Object.values(
    synth.statefulTemplate.toJSON().Resources as Record<string, { Type: string; Properties: Props }>,
  )
    .filter((resource) => resource.Type === type)
    .map((resource) => resource.Properties);

describe('lake function', () => {
  it('runs one at a time on its own schedule, sized by the context', () => {
    expect(view.statelessResource(synth.stateless.lake.handler.function).Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Timeout: 900,
      MemorySize: 1024,
      ReservedConcurrentExecutions: 1,
    });
    const schedule = view.statelessResource(synth.stateless.lake.schedule).Properties as Props;
    expect(schedule.ScheduleExpression).toBe('rate(5 minutes)');
  });

  it('gets exactly the configuration the lake reads, and passes its own check', () => {
    const environment = view.environmentOf(synth.stateless.lake.handler.function);
    expect(environment).toEqual({
      EXECUTIONS_TABLE_NAME: 'ExecutionsTable',
      STATE_TABLE_NAME: 'StateTable',
      FILES_BUCKET_NAME: 'FilesBucket',
      LAKE_BUCKET_NAME: 'LakeBucket',
      LAKE_TIME_MARGIN_SECONDS: '180',
      ...commonEnvironment('lake'),
    });
    expect(loadLakeConfig(environment)).toMatchObject({
      lakeBucketName: 'LakeBucket',
      timeMarginMs: 180_000,
    });
  });

  it('grants exactly the table, index and bucket actions the lake code uses', () => {
    expect(view.statementsOf(synth.stateless.lake.handler.role)).toEqual(
      sortStatements([
        { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: ['LakeLogGroup.Arn'] },
        // Active tracing (on by default): X-Ray has no resource-level permissions.
        { actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], resources: ['*'] },
        {
          actions: ['dynamodb:Query'],
          resources: [
            'ExecutionsTable.Arn/index/byMonth',
            'ExecutionsTable.Arn/index/byOpen',
            'ExecutionsTable.Arn/index/byStatus',
          ],
        },
        {
          actions: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
          resources: ['StateTable.Arn'],
        },
        // The sync runs of a day (table sync_runs), by the state table's sparse index.
        { actions: ['dynamodb:Query'], resources: ['StateTable.Arn/index/byKind'] },
        { actions: ['s3:GetObject'], resources: ['FilesBucket.Arn/executions/*/execution.json'] },
        { actions: ['s3:DeleteObject', 's3:PutObject'], resources: ['LakeBucket.Arn/lake/*'] },
      ]),
    );
  });
});

describe('lake and Athena results buckets', () => {
  it('keeps the lake private, encrypted, TLS-only and logged, and kept when the stack goes', () => {
    const lake = view.statefulResource(synth.stateful.lakeBucket);
    expect(lake.DeletionPolicy).toBe('Retain');
    expect(lake.Properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: { LogFilePrefix: 'lake-bucket/' },
    });
  });

  it('expires query results after athenaResultsExpirationDays', () => {
    const results = view.statefulResource(synth.stateful.warehouse.resultsBucket).Properties as Props;
    expect(results).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      LoggingConfiguration: { LogFilePrefix: 'athena-results/' },
    });
    expect((results.LifecycleConfiguration as { Rules: Props[] }).Rules).toContainEqual(
      expect.objectContaining({ Id: 'expire-query-results', ExpirationInDays: 30, Status: 'Enabled' }),
    );
  });
});

describe('Glue tables over the lake', () => {
  const tableInput = (name: LakeTableName) => {
    const tables = statefulOfType('AWS::Glue::Table').map((props) => props.TableInput as Props);
    const input = tables.find((table) => table.Name === name);
    if (!input) throw new Error(`no Glue table ${name}`);
    return input;
  };

  it.each(['executions', 'files', 'sync_runs'] as const)(
    '%s: the columns of the lake definition, Parquet, under lake/%s/',
    (name) => {
      const input = tableInput(name);
      const storage = input.StorageDescriptor as Props;
      expect(storage.Columns).toEqual(
        LAKE_TABLES[name].columns.map((column) => ({
          Name: column.name,
          Type: {
            string: 'string',
            timestamp: 'timestamp',
            bigint: 'bigint',
            int: 'int',
            boolean: 'boolean',
          }[column.type],
          Comment: column.comment,
        })),
      );
      expect(input.PartitionKeys).toEqual([
        {
          Name: 'day',
          Type: 'string',
          Comment: name === 'sync_runs' ? 'UTC day the run started' : "UTC day of the execution's createdAt",
        },
      ]);
      expect(storage.InputFormat).toBe('org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat');
      expect(JSON.stringify(storage.Location)).toContain(`/lake/${name}/`);
    },
  );

  it.each(['executions', 'files', 'sync_runs'] as const)(
    '%s: partition projection on day, from the sync start date (no crawler)',
    (name) => {
      expect(tableInput(name).Parameters).toMatchObject({
        'projection.enabled': 'true',
        'projection.day.type': 'date',
        'projection.day.format': 'yyyy-MM-dd',
        'projection.day.range': '2023-01-01,NOW',
      });
      expect(statefulOfType('AWS::Glue::Crawler')).toEqual([]);
    },
  );
});

describe('Athena workgroup', () => {
  it('enforces its results location, encryption and bytes-scanned cutoff', () => {
    const [workgroup] = statefulOfType('AWS::Athena::WorkGroup');
    expect(workgroup).toMatchObject({
      Name: 'product-live-sync',
      RecursiveDeleteOption: true,
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        PublishCloudWatchMetricsEnabled: true,
        BytesScannedCutoffPerQuery: 2048 * 1024 * 1024,
        ResultConfiguration: { EncryptionConfiguration: { EncryptionOption: 'SSE_S3' } },
      },
    });
    const configuration = workgroup?.WorkGroupConfiguration as
      | { ResultConfiguration: { OutputLocation: unknown } }
      | undefined;
    const location = configuration?.ResultConfiguration.OutputLocation;
    expect(view.describe(location as never, 'stateful')).toBe('s3://AthenaResultsBucket/results/');
  });

  it('saves every named query, with the SQL the history CLI runs', () => {
    const saved = statefulOfType('AWS::Athena::NamedQuery').map((query) => ({
      name: query.Name,
      database: query.Database,
      sql: query.QueryString,
    }));
    expect(saved).toEqual(
      NAMED_QUERIES.map((query) => ({ name: query.name, database: 'product_live_sync', sql: query.sql })),
    );
  });

  it('names the warehouse in the stack outputs', () => {
    const outputs = synth.statefulTemplate.toJSON().Outputs as Record<string, unknown>;
    for (const name of [
      'LakeBucketName',
      'GlueDatabaseName',
      'AthenaWorkGroupName',
      'AthenaResultsBucketName',
    ]) {
      expect(outputs, name).toHaveProperty(name);
    }
  });
});
