// Layer flow: EventBridge Scheduler (rate `followRate`) -> follow function (functions/follow/handler.ts) -> the
// store's open executions that a launch started and something waits on -> Product-Live find -> the executions
// table and the files bucket, under the sync's lease; heartbeats to the task tokens that wait on the executions
// still open. This construct wires the schedule, the function, its environment and exactly the permissions the
// follow code uses.
import { Duration } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Schedule } from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { FILES_KEY_PREFIX } from '#core/defaults';
import { EXECUTION_INDEXES } from '#core/store/table-definitions';
import type { InfraConfig } from '../config';
import { acknowledgeWildcardResources, grantTaskCallbacks, TASK_CALLBACK_ACTIONS } from '../nag';
import type { ApiKeySecret } from './api-key-secret';
import { ProjectFunction } from './project-function';
import { scheduledInvoke } from './scheduled-invoke';

/** A pass re-reads a hundred executions per request and copies their files: a few minutes at most. */
const FOLLOW_TIMEOUT = Duration.minutes(2);

export interface FollowServiceProps {
  readonly config: InfraConfig;
  readonly executionsTable: ITableV2;
  readonly stateTable: ITableV2;
  readonly filesBucket: IBucket;
  /** Where the task tokens waiting on launch requests are kept (heartbeats). */
  readonly idempotencyTable: ITableV2;
  readonly apiKey: ApiKeySecret;
}

export class FollowService extends Construct {
  readonly handler: ProjectFunction;
  readonly schedule: Schedule;
  /** The role EventBridge Scheduler assumes to invoke the function. */
  readonly schedulerRole: Role;

  constructor(scope: Construct, id: string, props: FollowServiceProps) {
    super(scope, id);
    const { config, executionsTable, stateTable, filesBucket, idempotencyTable, apiKey } = props;

    this.handler = new ProjectFunction(this, 'FollowFunction', {
      name: 'follow',
      config,
      timeout: FOLLOW_TIMEOUT,
      memorySize: config.syncMemoryMb,
      // One pass at a time; the sync's lease keeps passes and sync runs apart as well.
      reservedConcurrentExecutions: 1,
      environment: {
        PRODUCT_LIVE_API_KEY_SECRET_ID: apiKey.secretId,
        EXECUTIONS_TABLE_NAME: executionsTable.tableName,
        STATE_TABLE_NAME: stateTable.tableName,
        FILES_BUCKET_NAME: filesBucket.bucketName,
        IDEMPOTENCY_TABLE_NAME: idempotencyTable.tableName,
        FOLLOW_LEASE_SECONDS: String(FOLLOW_TIMEOUT.toSeconds() + 60),
      },
    });
    const fn = this.handler.function;
    // A missed pass is not worth retrying: the next one does the same.
    fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(1) });

    const role = this.handler.role;
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ExecutionsTableItems',
        // The writer's reads and writes (BatchGetItem, BatchWriteItem, UpdateItem) and the files phase's
        // GetItem and UpdateItem.
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
        sid: 'OpenExecutions',
        actions: ['dynamodb:Query'],
        resources: [`${executionsTable.tableArn}/index/${EXECUTION_INDEXES.byOpen}`],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'SyncLeaseAndDayMarks',
        // The sync's lease (PutItem, DeleteItem) and the lake's day marks (UpdateItem).
        actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
        resources: [stateTable.tableArn],
      }),
    );
    const fileObjects = filesBucket.arnForObjects(`${FILES_KEY_PREFIX}*`);
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'FileCopies',
        actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
        resources: [fileObjects],
      }),
    );
    acknowledgeWildcardResources(
      role,
      [fileObjects],
      'S3 object permissions name objects by key; a pass copies the files of the executions it follows under ' +
        `${FILES_KEY_PREFIX}<jobId>/<executionId>/..., unknown in advance. The wildcard is limited to that prefix.`,
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'FileCopiesMissingObjects',
        // Without s3:ListBucket, HeadObject on a key not copied yet answers 403 instead of 404.
        actions: ['s3:ListBucket'],
        resources: [filesBucket.bucketArn],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'TaskTokens',
        // task-token-repository.ts: the tokens waiting on an open execution (GetItem), each heartbeat or
        // refusal recorded (UpdateItem).
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [idempotencyTable.tableArn],
      }),
    );
    grantTaskCallbacks(role, TASK_CALLBACK_ACTIONS.heartbeat, 'TaskHeartbeats');
    apiKey.grantRead(role);

    const scheduled = scheduledInvoke(this, fn, {
      rate: config.followRate,
      what: 'Product-Live follow function',
      description: `Re-reads the awaited launched executions every ${config.followRate.toHumanString()} (no API call when none is open)`,
    });
    this.schedule = scheduled.schedule;
    this.schedulerRole = scheduled.role;
  }
}
