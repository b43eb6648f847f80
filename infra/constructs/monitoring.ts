// Layer flow: the functions' Lambda metrics (sync, launch, lake, events, follow, callbacks), their Powertools
// metrics (namespace ProductLiveSync), the launch DLQ's and the stream failure queues' depth -> CloudWatch alarms
// (this construct) -> an encrypted, TLS-only SNS topic -> the operators.
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { InfraConfig } from '../config';
import { EVENTS_MAX_RECORD_AGE, EVENTS_RETRY_ATTEMPTS } from './events-service';
import { METRICS_NAMESPACE, type ProjectFunction } from './project-function';

export interface MonitoringProps {
  readonly config: InfraConfig;
  readonly syncFunction: ProjectFunction;
  readonly launchFunction: ProjectFunction;
  readonly lakeFunction: ProjectFunction;
  readonly eventsFunction: ProjectFunction;
  readonly followFunction: ProjectFunction;
  readonly callbacksFunction: ProjectFunction;
  readonly deadLetterQueue: IQueue;
  /** Where the events' stream source describes the batches it gave up on. */
  readonly eventsFailureQueue: IQueue;
  /** Where the callbacks' stream source describes the batches it gave up on (results not sent). */
  readonly callbacksFailureQueue: IQueue;
}

/** A metric a handler publishes with Powertools (dimension service=sync, launch, lake or events). */
export function serviceMetric(
  service: string,
  metricName: string,
  statistic: string,
  period: Duration,
): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service },
    statistic,
    period,
  });
}

const syncMetric = (metricName: string, statistic: string, period: Duration) =>
  serviceMetric('sync', metricName, statistic, period);

export class Monitoring extends Construct {
  readonly topic: Topic;
  readonly alarms: Record<
    | 'syncErrors'
    | 'syncRunsFailed'
    | 'syncLag'
    | 'auditRecoveredExecutions'
    | 'deadLetterQueueNotEmpty'
    | 'launchErrors'
    | 'lakeErrors'
    | 'lakeBehind'
    | 'eventsErrors'
    | 'eventsFailureQueueNotEmpty'
    | 'followErrors'
    | 'followPassesFailed'
    | 'callbacksErrors'
    | 'callbacksFailureQueueNotEmpty',
    Alarm
  >;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { config } = props;
    const stack = Stack.of(this);
    // Confused-deputy guard on both grants: CloudWatch may act only for alarms of this account and region.
    const fromOwnAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: {
        'aws:SourceArn': stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: '*',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    };

    // CloudWatch cannot publish to a topic encrypted with the AWS-managed aws/sns key, hence a customer
    // managed key whose policy lets CloudWatch use it.
    const key = new Key(this, 'TopicKey', {
      description: 'Encrypts the Product-Live sync alarm topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublishEncrypted',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        // In a key policy, "*" is the key itself.
        resources: ['*'],
        conditions: fromOwnAlarms,
      }),
    );
    this.topic = new Topic(this, 'AlarmTopic', {
      displayName: 'Product-Live sync alarms',
      masterKey: key,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: fromOwnAlarms,
      }),
    );
    if (config.alarmEmail) this.topic.addSubscription(new EmailSubscription(config.alarmEmail));

    const fiveMinutes = Duration.minutes(5);
    const atLeastOnce = (id: string, metric: IMetric, description: string) =>
      new Alarm(this, id, {
        alarmDescription: description,
        metric,
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });

    const lagPeriod = config.derived.syncLagAlarmPeriod;
    const followAndCallbacks = {
      followErrors: atLeastOnce(
        'FollowErrors',
        props.followFunction.metricErrors(fiveMinutes),
        'The follow function failed as a whole (crash, timeout, invalid configuration, unreadable secret): ' +
          'awaited launches are not re-read until it runs again (the sync still stores them, more slowly). ' +
          'See its log group.',
      ),
      followPassesFailed: new Alarm(this, 'FollowPassesFailed', {
        alarmDescription:
          'Follow passes stopped on an error (API, DynamoDB or S3) three times in a row: awaited launches get ' +
          'their results only from the sync until it recovers. See the "follow pass stopped on an error" log line.',
        metric: serviceMetric('follow', 'PassesFailed', 'Sum', config.followRate),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      callbacksErrors: atLeastOnce(
        'CallbacksErrors',
        props.callbacksFunction.metricErrors(fiveMinutes),
        'The callbacks function failed as a whole (crash, timeout, invalid configuration). The stream ' +
          'delivers the batch again before giving up on it; see its log group.',
      ),
      callbacksFailureQueueNotEmpty: new Alarm(this, 'CallbacksFailureQueueNotEmpty', {
        alarmDescription:
          'The executions stream gave up on a batch of the callbacks function: results of awaited launches ' +
          'were not sent to their Step Functions tasks, which wait until their timeout. Each message names the ' +
          'shard and sequence numbers; see docs/operations.md.',
        metric: props.callbacksFailureQueue.metricApproximateNumberOfMessagesVisible({
          period: fiveMinutes,
          statistic: 'Maximum',
        }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    };
    this.alarms = {
      ...followAndCallbacks,
      syncErrors: atLeastOnce(
        'SyncErrors',
        props.syncFunction.metricErrors(fiveMinutes),
        'The sync function failed (crash, timeout, or invalid configuration at cold start). See its log group.',
      ),
      syncRunsFailed: atLeastOnce(
        'SyncRunsFailed',
        syncMetric('RunsFailed', 'Sum', fiveMinutes),
        'A sync run stopped on an error (API, DynamoDB or S3); progress up to its last checkpoint is kept and ' +
          'the next run resumes. See the "sync run stopped on an error" log line.',
      ),
      syncLag: new Alarm(this, 'SyncLag', {
        alarmDescription:
          `No sync run in the last ${lagPeriod.toHumanString()} left the store less than ` +
          `${config.syncLagAlarmMinutes} minutes behind Product-Live, or no run reported at all (missing ` +
          'data is breaching). Expected during the first backfill of a large account.',
        // The freshest run of the period: one good run is enough to be "not behind".
        metric: syncMetric('LagSeconds', 'Minimum', lagPeriod),
        threshold: config.syncLagAlarmMinutes * 60,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.BREACHING,
      }),
      auditRecoveredExecutions: atLeastOnce(
        'AuditRecoveredExecutions',
        syncMetric('AuditExecutionsRecovered', 'Sum', Duration.hours(1)),
        'The completeness audit stored executions that ordinary sync runs had missed (nothing is lost: they ' +
          'are stored now, with their files). They became visible in the Product-Live API later than the ' +
          `lookback of each run (SYNC_LOOKBACK_SECONDS, ${config.syncLookbackSeconds} s): raise the CDK context ` +
          'value syncLookbackSeconds (for example to 3600) and redeploy, so that ordinary runs catch them.',
      ),
      deadLetterQueueNotEmpty: new Alarm(this, 'DeadLetterQueueNotEmpty', {
        alarmDescription:
          'Launch requests are waiting in the dead-letter queue (each has a FailureReason attribute when the ' +
          'launcher put it there). Fix the cause, then replay them with `aws sqs start-message-move-task`.',
        metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: fiveMinutes,
          statistic: 'Maximum',
        }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      launchErrors: atLeastOnce(
        'LaunchErrors',
        props.launchFunction.metricErrors(fiveMinutes),
        'The launch function failed as a whole (crash, timeout, invalid configuration, unreadable secret); ' +
          'its batch returns to the queue. See its log group.',
      ),
      lakeErrors: atLeastOnce(
        'LakeErrors',
        props.lakeFunction.metricErrors(fiveMinutes),
        'The lake function failed as a whole (crash, timeout, invalid configuration). The marked days stay ' +
          'marked and the next run rewrites them; ingestion is not affected. See its log group.',
      ),
      lakeBehind: new Alarm(this, 'LakeBehind', {
        alarmDescription:
          'For three hours, no lake run rewrote every marked day (metric LakeDaysLeft): days fail (see the ' +
          '"lake: a day could not be rewritten" log lines), or the function runs out of time. Expected during ' +
          'the first build of a long history; otherwise the warehouse is falling behind the store.',
        // The best run of each hour: one run that caught up is enough.
        metric: serviceMetric('lake', 'LakeDaysLeft', 'Minimum', Duration.hours(1)),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      eventsErrors: atLeastOnce(
        'EventsErrors',
        props.eventsFunction.metricErrors(fiveMinutes),
        'The events function failed as a whole (crash, timeout, invalid configuration). The stream delivers ' +
          `the batch again (halved, up to ${EVENTS_RETRY_ATTEMPTS} times) before giving up on it; see its log group.`,
      ),
      eventsFailureQueueNotEmpty: new Alarm(this, 'EventsFailureQueueNotEmpty', {
        alarmDescription:
          'The executions stream gave up on a batch: its status-change events were not published (EventBridge ' +
          `refused them for too long, or the records were older than ${EVENTS_MAX_RECORD_AGE.toHumanString()}). ` +
          'Each message of the events ' +
          'failure queue names the shard and sequence numbers; see docs/operations.md to publish them again.',
        metric: props.eventsFailureQueue.metricApproximateNumberOfMessagesVisible({
          period: fiveMinutes,
          statistic: 'Maximum',
        }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    };
    const action = new SnsAction(this.topic);
    for (const alarm of Object.values(this.alarms)) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
  }
}
