// Layer flow: EventBridge Scheduler (rate) -> sync function (functions/sync/handler.ts) -> Product-Live API,
// the executions and state tables, the files bucket, and EventBridge (the job health changes). This construct wires the schedule, the function, its
// environment and exactly the permissions the sync code uses.
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Schedule } from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { FILES_KEY_PREFIX } from '#core/defaults';
import { EVENT_SOURCE } from '#core/events/execution-event';
import { EXECUTION_INDEXES, STATE_INDEXES } from '#core/store/table-definitions';
import type { InfraConfig } from '../config';
import { acknowledgeWildcardResources } from '../nag';
import type { ApiKeySecret } from './api-key-secret';
import { ProjectFunction } from './project-function';
import { scheduledInvoke } from './scheduled-invoke';

/**
 * The indexes the sync queries: the open executions, the executions with file copies due or failed, byStatus
 * (with byOpen: the oldest stored execution, and COUNTs that prove complete a window paged over several
 * runs), byMonth (the audit's COUNTs and the ids of a re-read month; the jobs of a month for the job health's
 * first evaluation), and byJob (a job's recent runs, for its health).
 */
const SYNC_QUERIED_INDEXES = [
  EXECUTION_INDEXES.byOpen,
  EXECUTION_INDEXES.byFilesDue,
  EXECUTION_INDEXES.byFilesFailed,
  EXECUTION_INDEXES.byStatus,
  EXECUTION_INDEXES.byMonth,
  EXECUTION_INDEXES.byJob,
] as const;

export interface SyncServiceProps {
  readonly config: InfraConfig;
  readonly executionsTable: ITableV2;
  readonly stateTable: ITableV2;
  readonly filesBucket: IBucket;
  readonly apiKey: ApiKeySecret;
}

export class SyncService extends Construct {
  readonly handler: ProjectFunction;
  readonly schedule: Schedule;
  /** The role EventBridge Scheduler assumes to invoke the function. */
  readonly schedulerRole: Role;

  constructor(scope: Construct, id: string, props: SyncServiceProps) {
    super(scope, id);
    const { config, executionsTable, stateTable, filesBucket, apiKey } = props;

    this.handler = new ProjectFunction(this, 'SyncFunction', {
      name: 'sync',
      config,
      timeout: config.syncTimeout,
      memorySize: config.syncMemoryMb,
      // One run at a time (the lease in the state table is the other half of invariant 4): a scheduled
      // invocation that arrives while a run is still going is throttled, and dropped after maxEventAge.
      reservedConcurrentExecutions: 1,
      environment: {
        PRODUCT_LIVE_API_KEY_SECRET_ID: apiKey.secretId,
        EXECUTIONS_TABLE_NAME: executionsTable.tableName,
        STATE_TABLE_NAME: stateTable.tableName,
        FILES_BUCKET_NAME: filesBucket.bucketName,
      },
    });
    const fn = this.handler.function;

    // A missed run is not worth retrying: the next scheduled one does the same work from the checkpoint.
    fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(1) });

    const role = this.handler.role;
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ExecutionsTableItems',
        actions: [
          'dynamodb:GetItem',
          'dynamodb:BatchGetItem',
          'dynamodb:BatchWriteItem',
          'dynamodb:UpdateItem',
        ],
        resources: [executionsTable.tableArn],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ExecutionsTableQueriedIndexes',
        actions: ['dynamodb:Query'],
        resources: SYNC_QUERIED_INDEXES.map((index) => `${executionsTable.tableArn}/index/${index}`),
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'SyncStateItems',
        // Lease, checkpoint, API profile, audit, the runs and the job health records (Get/Put/DeleteItem); the
        // lake's day marks and a published health change (UpdateItem).
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
        resources: [stateTable.tableArn],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'JobHealthRecords',
        // Every job's health record, listed by the state table's sparse index (a Query, never a Scan).
        actions: ['dynamodb:Query'],
        resources: [`${stateTable.tableArn}/index/${STATE_INDEXES.byKind}`],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'PublishJobHealthChanges',
        actions: ['events:PutEvents'],
        resources: [
          Stack.of(this).formatArn({
            service: 'events',
            resource: 'event-bus',
            resourceName: config.eventBusName,
            arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
          }),
        ],
        // Only events of this application's source: the role cannot speak for another producer on the bus.
        conditions: { StringEquals: { 'events:source': EVENT_SOURCE } },
      }),
    );
    const fileObjects = filesBucket.arnForObjects(`${FILES_KEY_PREFIX}*`);
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'FileCopies',
        // GetObject also authorizes HeadObject; PutObject covers multipart uploads (lib-storage), and
        // AbortMultipartUpload cleans up a failed one.
        actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
        resources: [fileObjects],
      }),
    );
    acknowledgeWildcardResources(
      role,
      [fileObjects],
      'S3 object permissions name objects by key; the sync creates one object per execution file under ' +
        `${FILES_KEY_PREFIX}<jobId>/<executionId>/..., unknown in advance. The wildcard is limited to that ` +
        'prefix of the one files bucket.',
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'FileCopiesMissingObjects',
        // Without s3:ListBucket, HeadObject on a key not copied yet answers 403 instead of 404, and the
        // file copier would take every first copy for a failure. (No s3:prefix condition: S3 does not
        // document that key for the implicit check behind HeadObject, and a mismatch would deny it.)
        actions: ['s3:ListBucket'],
        resources: [filesBucket.bucketArn],
      }),
    );
    apiKey.grantRead(role);

    const scheduled = scheduledInvoke(this, fn, {
      rate: config.syncSchedule,
      what: 'Product-Live sync function',
      description: `Runs the Product-Live sync every ${config.syncSchedule.toHumanString()}`,
    });
    this.schedule = scheduled.schedule;
    this.schedulerRole = scheduled.role;
  }
}
