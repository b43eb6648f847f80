// Layer flow: the events function's status-change events and the sync's job health changes on the bus -> two
// EventBridge rules (the configured alert statuses; the health states of `alertHealthStates`) -> input
// transformers (plain-text messages) -> an encrypted, TLS-only SNS topic -> one e-mail subscription per address of
// `alertEmails`. Built only when there is someone to alert.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { EventBus, EventField, type IEventBus, Rule, RuleTargetInput } from 'aws-cdk-lib/aws-events';
import { SnsTopic } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { FILES_KEY_PREFIX } from '#core/defaults';
import { EVENT_DETAIL_TYPE, EVENT_SOURCE } from '#core/events/execution-event';
import { JOB_HEALTH_DETAIL_TYPE } from '#core/events/job-health-event';
import type { InfraConfig } from '../config';

export interface ExecutionAlertsProps {
  readonly config: InfraConfig;
  /** Where the execution's files are copied: the message names their S3 prefix. */
  readonly filesBucket: IBucket;
}

/** The alert e-mail: one line per fact, each filled in by EventBridge from the event. */
function alertMessage(filesBucketName: string): RuleTargetInput {
  const detail = (field: string) => EventField.fromPath(`$.detail.${field}`);
  // The prefix of an execution's objects (executionS3Prefix in functions/core/executions/execution-record.ts);
  // Product-Live's ids are hex, which that function keeps as they are.
  const prefix = `${FILES_KEY_PREFIX}${detail('jobId')}/${detail('executionId')}/`;
  return RuleTargetInput.fromMultilineText(
    [
      `Product-Live job execution ${detail('status')} (was ${detail('previousStatus')})`,
      `Job: ${detail('title')} (${detail('jobId')})`,
      `Execution: ${detail('executionId')}`,
      `Ended at: ${detail('endedAt')} (event time ${EventField.time})`,
      `Duration: ${detail('durationMs')} ms`,
      `Files: s3://${filesBucketName}/${prefix}`,
    ].join('\n'),
  );
}

/** The job health alert e-mail: what the job is now and why, when it last ran and succeeded, what is expected. */
function healthAlertMessage(): RuleTargetInput {
  const detail = (field: string) => EventField.fromPath(`$.detail.${field}`);
  return RuleTargetInput.fromMultilineText(
    [
      `Product-Live job ${detail('title')} is ${detail('state')} (was ${detail('previousState')})`,
      `Job: ${detail('title')} (${detail('jobId')})`,
      `Why: ${detail('reason')}`,
      `Last run: ${detail('lastRunAt')}; last success: ${detail('lastSuccessAt')}`,
      `Expected by: ${detail('expectedBy')}; failures in a row: ${detail('consecutiveFailures')}`,
      `Since: ${detail('stateSince')} (npm run history -- health --job ${detail('jobId')} --stack ...)`,
    ].join('\n'),
  );
}

export class ExecutionAlerts extends Construct {
  readonly topic: Topic;
  readonly rule: Rule;
  /** The rule on job health changes (absent when `alertHealthStates` is empty). */
  readonly healthRule: Rule | undefined;
  readonly key: Key;

  constructor(scope: Construct, id: string, props: ExecutionAlertsProps) {
    super(scope, id);
    const { config, filesBucket } = props;

    // EventBridge cannot publish to a topic encrypted with the AWS-managed aws/sns key, hence a customer
    // managed key; the SNS target grants events.amazonaws.com kms:Decrypt and kms:GenerateDataKey* on it in
    // the key policy, together with sns:Publish on the topic.
    this.key = new Key(this, 'TopicKey', {
      description: 'Encrypts the Product-Live execution alert topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    this.topic = new Topic(this, 'AlertTopic', {
      displayName: 'Product-Live execution alerts',
      masterKey: this.key,
      enforceSSL: true,
    });
    for (const address of config.alertEmails) this.topic.addSubscription(new EmailSubscription(address));

    const bus: IEventBus | undefined =
      config.eventBusName === 'default'
        ? undefined
        : EventBus.fromEventBusName(this, 'Bus', config.eventBusName);
    this.rule = new Rule(this, 'AlertRule', {
      description: `Alerts by e-mail on Product-Live executions that reach ${config.alertStatuses.join(', ')}`,
      ...(bus ? { eventBus: bus } : {}),
      eventPattern: {
        source: [EVENT_SOURCE],
        detailType: [EVENT_DETAIL_TYPE],
        detail: { status: [...config.alertStatuses] },
      },
      targets: [new SnsTopic(this.topic, { message: alertMessage(filesBucket.bucketName) })],
    });
    // Entering one of the alerting health states: a job that stopped (late), keeps failing, or slowed down.
    this.healthRule =
      config.alertHealthStates.length > 0
        ? new Rule(this, 'HealthAlertRule', {
            description: `Alerts by e-mail on Product-Live jobs that become ${config.alertHealthStates.join(', ')}`,
            ...(bus ? { eventBus: bus } : {}),
            eventPattern: {
              source: [EVENT_SOURCE],
              detailType: [JOB_HEALTH_DETAIL_TYPE],
              detail: { state: [...config.alertHealthStates] },
            },
            targets: [new SnsTopic(this.topic, { message: healthAlertMessage() })],
          })
        : undefined;

    // The targets' grants let EventBridge publish; this keeps any other rule (another account's too) out, when
    // EventBridge names the rule it publishes for (a negated condition with several values: none of them).
    const rules = [this.rule, ...(this.healthRule ? [this.healthRule] : [])];
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OnlyTheAlertRulesPublish',
        effect: Effect.DENY,
        principals: [new ServicePrincipal('events.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          ArnNotEqualsIfExists: {
            'aws:SourceArn': rules.length === 1 ? this.rule.ruleArn : rules.map((rule) => rule.ruleArn),
          },
        },
      }),
    );
  }
}
