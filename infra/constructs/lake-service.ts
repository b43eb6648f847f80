// Layer flow: EventBridge Scheduler (rate) -> lake function (functions/lake/handler.ts) -> the executions and
// state tables, the files bucket (execution JSON too large for DynamoDB), the lake bucket. This construct wires
// the schedule, the function, its environment and exactly the permissions the lake code uses.
import { Duration } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Schedule } from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { FILES_KEY_PREFIX } from '#core/defaults';
import { EVERY_EXECUTION_PARTITIONS, EXECUTION_INDEXES, STATE_INDEXES } from '#core/store/table-definitions';
import { LAKE_KEY_PREFIX } from '#core/warehouse/lake-tables';
import type { InfraConfig } from '../config';
import { acknowledgeWildcardResources } from '../nag';
import { ProjectFunction } from './project-function';
import { scheduledInvoke } from './scheduled-invoke';

/**
 * The indexes the lake queries: byMonth (the executions of a day), and the partitions that give the oldest and
 * newest stored execution (the first build marks every day between them).
 */
const LAKE_QUERIED_INDEXES = [
  ...new Set([EXECUTION_INDEXES.byMonth, ...EVERY_EXECUTION_PARTITIONS.map((partition) => partition.index)]),
];

export interface LakeServiceProps {
  readonly config: InfraConfig;
  readonly executionsTable: ITableV2;
  readonly stateTable: ITableV2;
  readonly filesBucket: IBucket;
  readonly lakeBucket: IBucket;
}

export class LakeService extends Construct {
  readonly handler: ProjectFunction;
  readonly schedule: Schedule;
  readonly schedulerRole: Role;

  constructor(scope: Construct, id: string, props: LakeServiceProps) {
    super(scope, id);
    const { config, executionsTable, stateTable, filesBucket, lakeBucket } = props;

    this.handler = new ProjectFunction(this, 'LakeFunction', {
      name: 'lake',
      config,
      timeout: config.lakeTimeout,
      memorySize: config.lakeMemoryMb,
      // One run at a time (its lease in the state table is the other half).
      reservedConcurrentExecutions: 1,
      environment: {
        EXECUTIONS_TABLE_NAME: executionsTable.tableName,
        STATE_TABLE_NAME: stateTable.tableName,
        FILES_BUCKET_NAME: filesBucket.bucketName,
        LAKE_BUCKET_NAME: lakeBucket.bucketName,
        // A fifth of the timeout, at least 30 s: time for the days already being written to finish.
        LAKE_TIME_MARGIN_SECONDS: String(Math.max(30, Math.ceil(config.lakeTimeout.toSeconds() / 5))),
      },
    });
    const fn = this.handler.function;
    // A missed run is not worth retrying: the next scheduled one finds the same marks.
    fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(1) });

    const role = this.handler.role;
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ExecutionsOfADay',
        actions: ['dynamodb:Query'],
        resources: LAKE_QUERIED_INDEXES.map((index) => `${executionsTable.tableArn}/index/${index}`),
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'SyncRunsOfADay',
        // The sync runs of a day (table sync_runs), and the oldest and newest for a first build.
        actions: ['dynamodb:Query'],
        resources: [`${stateTable.tableArn}/index/${STATE_INDEXES.byKind}`],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'LakeMarksAndLease',
        // The marks (GetItem, UpdateItem: read, clear, set initialized) and the lake's lease (Put/DeleteItem).
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
        resources: [stateTable.tableArn],
      }),
    );
    const largeExecutions = filesBucket.arnForObjects(`${FILES_KEY_PREFIX}*/execution.json`);
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'LargeExecutionJson',
        actions: ['s3:GetObject'],
        resources: [largeExecutions],
      }),
    );
    const lakeObjects = lakeBucket.arnForObjects(`${LAKE_KEY_PREFIX}*`);
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'LakeObjects',
        // One object per table and day, replaced whole (PutObject) or removed when the day is empty.
        actions: ['s3:PutObject', 's3:DeleteObject'],
        resources: [lakeObjects],
      }),
    );
    acknowledgeWildcardResources(
      role,
      [largeExecutions, lakeObjects],
      'S3 object permissions name objects by key: the lake reads the offloaded JSON of large executions ' +
        `(${FILES_KEY_PREFIX}<jobId>/<executionId>/execution.json) and writes one object per table and day ` +
        `under ${LAKE_KEY_PREFIX}; the keys are not known in advance, and each wildcard is limited to its prefix.`,
    );

    const scheduled = scheduledInvoke(this, fn, {
      rate: config.lakeSchedule,
      what: 'Product-Live lake function',
      description: `Rewrites the Product-Live lake's changed days every ${config.lakeSchedule.toHumanString()}`,
    });
    this.schedule = scheduled.schedule;
    this.schedulerRole = scheduled.role;
  }
}
