// Layer flow: the functions' Powertools metrics (namespace ProductLiveSync, dimension service), their Lambda
// metrics, the queues' depth and the alarms -> this construct -> one CloudWatch dashboard page for an operator:
// a row per concern (alarms; sync; sync data; job health; launches; lake; events; the functions). The metric names
// are the ones the handlers publish (functions/*/*-handler.ts).
import { Aws, Duration, Tags } from 'aws-cdk-lib';
import {
  type Alarm,
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type IMetric,
  type IWidget,
  MathExpression,
  type Metric,
  PeriodOverride,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { PRODUCT_LIVE_REQUESTS_PER_MINUTE_LIMIT } from '#core/defaults';
import type { FunctionName } from '#core/function-registry';
import type { InfraConfig } from '../config';
import { serviceMetric } from './monitoring';
import type { ProjectFunction } from './project-function';

export interface OperationsDashboardProps {
  readonly config: InfraConfig;
  readonly functions: Readonly<Record<FunctionName, ProjectFunction>>;
  readonly launchQueue: IQueue;
  readonly launchDeadLetterQueue: IQueue;
  readonly eventsFailureQueue: IQueue;
  /** Shown, in this order, in the alarm status widget at the top. */
  readonly alarms: readonly Alarm[];
}

const FIVE_MINUTES = Duration.minutes(5);
/** The API budget is per minute, but the sync publishes a run's requests when the run ends (up to 15 min). */
const API_BUDGET_PERIOD = Duration.minutes(15);

/** A count a handler publishes, summed per 5 minutes, with its legend label. */
const count = (service: string, metricName: string, label: string): Metric =>
  serviceMetric(service, metricName, 'Sum', FIVE_MINUTES).with({ label });

export class OperationsDashboard extends Construct {
  readonly dashboard: Dashboard;
  /** The dashboard's name, as the stack output and the console URL give it. */
  readonly dashboardName: string;

  constructor(scope: Construct, id: string, props: OperationsDashboardProps) {
    super(scope, id);
    const { config, functions } = props;
    // CloudWatch dashboards belong to the account, not to a region: the region keeps two deployments apart.
    this.dashboardName = `${config.stackPrefix}-${Aws.REGION}`;

    const graph = (
      title: string,
      left: IMetric[],
      extra: Partial<ConstructorParameters<typeof GraphWidget>[0]> = {},
    ) => new GraphWidget({ title, left, width: 6, height: 6, ...extra });
    const allFunctions = (metric: (fn: ProjectFunction, name: string) => IMetric) =>
      (Object.entries(functions) as Array<[string, ProjectFunction]>).map(([name, fn]) => metric(fn, name));

    const header = new TextWidget({
      width: 24,
      height: 2,
      markdown:
        '## Product-Live job execution sync\n' +
        'Alarms first (red: see the alarm description and docs/operations.md), then one row per part: ' +
        `the sync (runs, lag, the ${PRODUCT_LIVE_REQUESTS_PER_MINUTE_LIMIT} requests/minute API budget), what it ` +
        'stored, the health of the jobs (late, failing, slow), launches, the lake, the ' +
        'status-change events, and the four functions.',
    });
    const alarms = new AlarmStatusWidget({
      title: 'Alarms',
      alarms: [...props.alarms],
      width: 24,
      height: 3,
    });

    const syncRequests = serviceMetric('sync', 'ApiRequests', 'Sum', API_BUDGET_PERIOD);
    const launchRequests = serviceMetric('launch', 'ApiRequests', 'Sum', API_BUDGET_PERIOD);
    // FILL: a function that made no request publishes nothing, which must count as 0, not hide the sum.
    const perMinute = (expression: string, label: string) =>
      new MathExpression({
        expression: `(${expression}) / ${API_BUDGET_PERIOD.toMinutes()}`,
        usingMetrics: { sync: syncRequests, launch: launchRequests },
        period: API_BUDGET_PERIOD,
        label,
      });
    const syncRow: IWidget[] = [
      graph('Sync runs', [
        functions.sync.function.metricInvocations({ period: FIVE_MINUTES, statistic: 'Sum', label: 'Runs' }),
        count('sync', 'RunsFailed', 'Stopped on an error'),
        count('sync', 'RunsSkipped', 'Skipped (another run holds the lease)'),
        count('sync', 'MoreRemaining', 'Ended with more to do'),
      ]),
      graph(
        'Sync lag (seconds behind Product-Live)',
        [
          serviceMetric('sync', 'LagSeconds', 'Minimum', FIVE_MINUTES).with({ label: 'Freshest run' }),
          serviceMetric('sync', 'LagSeconds', 'Maximum', FIVE_MINUTES).with({ label: 'Stalest run' }),
        ],
        {
          leftAnnotations: [
            {
              value: config.syncLagAlarmMinutes * 60,
              label: `Lag alarm (${config.syncLagAlarmMinutes} min)`,
            },
          ],
        },
      ),
      graph(
        'Product-Live API requests per minute (15-minute average)',
        [
          perMinute('FILL(sync, 0) + FILL(launch, 0)', 'Both functions'),
          perMinute('sync', 'Sync'),
          perMinute('launch', 'Launch'),
        ],
        {
          leftAnnotations: [
            {
              value: PRODUCT_LIVE_REQUESTS_PER_MINUTE_LIMIT,
              label: `Budget: ${PRODUCT_LIVE_REQUESTS_PER_MINUTE_LIMIT}/min per API key`,
            },
            { value: config.syncRequestsPerMinute, label: 'Sync share' },
          ],
          leftYAxis: { min: 0 },
        },
      ),
      graph('429 responses waited out (Throttled)', [
        count('sync', 'Throttled', 'Sync'),
        count('launch', 'Throttled', 'Launch'),
      ]),
    ];

    const syncDataRow: IWidget[] = [
      graph(
        'Executions stored',
        [
          count('sync', 'ExecutionsNew', 'New'),
          count('sync', 'ExecutionsUpdated', 'Updated'),
          count('sync', 'OpenExecutionsRefreshed', 'Open ones re-read'),
        ],
        { width: 8 },
      ),
      graph(
        'Completeness audits',
        [
          count('sync', 'AuditRuns', 'Audits'),
          count('sync', 'AuditMonthsDiffering', 'Months differing'),
          count('sync', 'AuditExecutionsRecovered', 'Executions recovered'),
          count('sync', 'AuditExecutionsRemovedFromApi', 'Gone from the API'),
        ],
        { width: 8 },
      ),
      graph(
        'File copies',
        [
          count('sync', 'FilesCopied', 'Copied'),
          count('sync', 'FilesPending', 'Pending (retried later)'),
          count('sync', 'FilesFailed', 'Failed for good'),
        ],
        { width: 8 },
      ),
    ];

    // The sync publishes how many jobs are in each state after each run: a level, read with Maximum.
    const jobs = (state: string, label: string) =>
      serviceMetric('sync', `Jobs${state}`, 'Maximum', FIVE_MINUTES).with({ label });
    const healthRow: IWidget[] = [
      graph(
        'Jobs per health state (after each sync run)',
        [
          jobs('Late', 'Late (no run within the expected interval)'),
          jobs('Failing', 'Failing (runs in a row not completed)'),
          jobs('Slow', 'Slow (last run too long)'),
          jobs('Unknown', 'Unknown (too few runs to learn)'),
          jobs('Healthy', 'Healthy'),
        ],
        { width: 12, leftYAxis: { min: 0 } },
      ),
      graph(
        'Job health changes',
        [
          count('sync', 'HealthChanges', 'State changes'),
          count('sync', 'HealthEventsPublished', 'Job Health Change events published'),
          serviceMetric('sync', 'HealthEventsPending', 'Maximum', FIVE_MINUTES).with({
            label: 'Events pending (published again by the next run)',
          }),
          count('sync', 'HealthEvaluationsFailed', 'Evaluations failed'),
        ],
        { width: 12 },
      ),
    ];

    const launchOutcomes = {
      started: count('launch', 'LaunchesStarted', 'Launched'),
      adopted: count('launch', 'LaunchesAdopted', 'Adopted (launched by an earlier try)'),
      duplicate: count('launch', 'LaunchDuplicates', 'Duplicates'),
      retry: count('launch', 'LaunchRetries', 'Retried later'),
      deadLettered: count('launch', 'LaunchesDeadLettered', 'Dead-lettered'),
    };
    const depth = (queue: IQueue, label: string) =>
      queue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: 'Maximum', label });
    const launchRow: IWidget[] = [
      graph(
        'Launch requests',
        [
          new MathExpression({
            expression: Object.keys(launchOutcomes)
              .map((id) => `FILL(${id}, 0)`)
              .join(' + '),
            usingMetrics: launchOutcomes,
            period: FIVE_MINUTES,
            label: 'Messages handled',
          }),
          ...Object.values(launchOutcomes),
        ],
        { width: 12 },
      ),
      graph(
        'Launch queues',
        [depth(props.launchQueue, 'Waiting'), depth(props.launchDeadLetterQueue, 'Dead-letter queue')],
        { width: 12 },
      ),
    ];

    const lakeRow: IWidget[] = [
      graph(
        'Lake days',
        [
          count('lake', 'LakeDaysWritten', 'Rewritten'),
          count('lake', 'LakeDaysFailed', 'Failed'),
          serviceMetric('lake', 'LakeDaysLeft', 'Minimum', FIVE_MINUTES).with({
            label: 'Left for later runs',
          }),
        ],
        { width: 12 },
      ),
      graph('Lake output', [count('lake', 'LakeRowsWritten', 'Rows')], {
        width: 12,
        right: [count('lake', 'LakeBytesWritten', 'Bytes')],
      }),
    ];

    const eventsRow: IWidget[] = [
      graph(
        'Status-change events',
        [
          count('events', 'EventsPublished', 'Published'),
          count('events', 'EventsUnchanged', 'Writes without a status change'),
          count('events', 'EventsRetried', 'Retried in place'),
          count('events', 'EventsFailed', 'Failed (stream delivers again)'),
        ],
        { width: 12 },
      ),
      graph('Event delivery', [depth(props.eventsFailureQueue, 'Failure queue (lost batches)')], {
        width: 12,
        right: [
          functions.events.function.metric('IteratorAge', {
            period: FIVE_MINUTES,
            statistic: 'Maximum',
            label: 'Stream iterator age (ms)',
          }),
        ],
      }),
    ];

    const functionsRow: IWidget[] = [
      graph(
        'Function errors',
        allFunctions((fn, name) => fn.metricErrors(FIVE_MINUTES).with({ label: name })),
        { width: 8 },
      ),
      graph(
        'Function duration p95 (ms)',
        allFunctions((fn, name) =>
          fn.function.metricDuration({ period: FIVE_MINUTES, statistic: 'p95', label: name }),
        ),
        { width: 8 },
      ),
      graph(
        'Function throttles',
        allFunctions((fn, name) =>
          fn.function.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum', label: name }),
        ),
        { width: 8 },
      ),
    ];

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: this.dashboardName,
      defaultInterval: Duration.days(1),
      periodOverride: PeriodOverride.AUTO,
      widgets: [
        [header],
        [alarms],
        syncRow,
        syncDataRow,
        healthRow,
        launchRow,
        lakeRow,
        eventsRow,
        functionsRow,
      ],
    });
    // Dashboard tags are recent in CloudFormation's schema (cfn-lint still rejects them): the app-wide
    // `application` tag stays off this one resource, which holds no data.
    Tags.of(this.dashboard).remove('application');
  }

  /** The dashboard in the CloudWatch console of the stack's region. */
  get url(): string {
    return `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards/dashboard/${this.dashboardName}`;
  }
}
