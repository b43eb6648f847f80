/// <reference lib="dom" />
// The sync's health and the launches, as the overview shows them (docs/dashboard.md, "Sync health and launches").
import type { HealthView } from '../dashboard-data';
import { type ChartSpan, syncRunsChart } from './charts';
import { h, table } from './dom';
import { formatCount, formatDuration, formatInstant, formatRate } from './format';
import { facts } from './page-parts';

/**
 * The last run, the lease, the lag, the budget, the audit, the file copies, the lake; the sync's runs of the period
 * over `span` (the page's other charts' days; `drawn` once drawn); the launch queues.
 */
export function healthPanel(health: HealthView, span: ChartSpan | null, drawn?: () => void): HTMLElement {
  const { sync, launches } = health;
  const last = sync.lastRun;
  const syncFacts = facts([
    [
      'Last run',
      last
        ? `${formatInstant(last.finishedAt)}: ${last.executions.new} new, ${last.executions.updated} updated, ${last.executions.unchanged} unchanged; files ${last.files.copied} copied, ${last.files.pending} pending, ${last.files.failed} failed; ${formatDuration(last.durationMs)}${last.error ? `; failed: ${last.error}` : ''}${last.moreRemaining ? '; more remaining' : ''}`
        : sync.checkpoint.updatedAt
          ? `checkpoint saved ${formatInstant(sync.checkpoint.updatedAt)} (the run's summary is in its log)`
          : 'no run yet',
    ],
    ['Running now', sync.running ? 'yes' : 'no'],
    [
      'Lag behind the API',
      sync.lagMs === null
        ? '–'
        : `${formatDuration(sync.lagMs)} (watermark ${formatInstant(sync.checkpoint.watermark)})`,
    ],
    [
      'Budget used',
      sync.budget
        ? `${sync.budget.requests} requests (${sync.budget.throttled} throttled)${sync.budget.used === null ? '' : `, ${formatRate(sync.budget.used)} of ${sync.budget.requestsPerMinute}/min`}`
        : '–',
    ],
    [
      'Audit',
      sync.audit.lastCompletedAt
        ? `last completed ${formatInstant(sync.audit.lastCompletedAt)}${sync.audit.monthsChecked !== null ? `: ${sync.audit.monthsChecked} months checked, ${sync.audit.monthsDiffering ?? 0} differing, ${sync.audit.executionsRecovered ?? 0} recovered` : ''}`
        : sync.audit.inProgress
          ? 'in progress'
          : 'not run yet',
    ],
    ['File copies', `${formatCount(sync.files.pending)} pending, ${formatCount(sync.files.failed)} failed`],
    ['Lake', sync.lake.built ? `${sync.lake.markedDays} day(s) waiting for a rewrite` : 'not built yet'],
  ]);
  const launchFacts = launches
    ? [
        facts([
          [
            'Launch queue',
            `${launches.queue.visible} waiting, ${launches.queue.inFlight} in flight, ${launches.queue.delayed} delayed`,
          ],
          ['Dead-letter queue', `${launches.deadLetter.visible + launches.deadLetter.inFlight} request(s)`],
        ]),
        launches.deadLetters.length > 0
          ? h(
              'div',
              { class: 'table-scroll' },
              table(
                'Dead-lettered launch requests (a sample of up to 10) with their reasons',
                ['Failed', 'Kind', 'Reason', 'Request'],
                launches.deadLetters.map((letter) => [
                  { content: formatInstant(letter.failedAt ?? letter.sentAt), header: true },
                  letter.kind ?? '–',
                  letter.reason ?? 'moved by the redrive policy (no reason recorded)',
                  h('code', {}, letter.body),
                ]),
                { 'data-table': 'dead-letters' },
              ),
            )
          : null,
      ]
    : [
        h(
          'p',
          { class: 'empty' },
          health.launchesError
            ? `Launch queues unavailable: ${health.launchesError}`
            : 'No launch queue configured (--queue-url and --dlq-url).',
        ),
      ];
  return h(
    'div',
    { class: 'health' },
    h('h3', {}, 'Sync'),
    syncFacts,
    h('h3', {}, 'Sync runs over time'),
    syncRunsChart(sync.runs, span, drawn),
    h('h3', {}, 'Launches'),
    ...launchFacts,
  );
}
