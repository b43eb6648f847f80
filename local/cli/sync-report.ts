// Human output of a sync run: a progress line while it runs (a bar once totalElements gives the total) and
// an aligned summary table at the end. `--json` prints the summary object instead.
import type { LakeSummary } from '#functions/lake/lake-summary';
import type { SyncProgress } from '#functions/sync/run-sync';
import type { SyncSummary } from '#functions/sync/sync-summary';

/** Renders progress events to a stream: one rewritten line on a terminal, one line per page otherwise. */
export class ProgressReporter {
  private window = { page: 0, executions: 0, totalElements: 0 };
  private files = { copied: 0, failed: 0 };
  private drawn = false;

  constructor(private readonly out: NodeJS.WriteStream) {}

  update(progress: SyncProgress): void {
    if (progress.phase === 'window') this.window = progress;
    if (progress.phase === 'files') this.files = { copied: progress.copied, failed: progress.failed };
    const line = this.render(progress);
    if (this.out.isTTY) {
      this.out.write(`\r\x1b[2K${line}`);
      this.drawn = true;
    } else if (progress.phase !== 'files') {
      this.out.write(`${line}\n`);
    }
  }

  /** Clears the progress line before the summary is printed. */
  finish(): void {
    if (this.drawn) this.out.write('\r\x1b[2K');
    this.drawn = false;
  }

  private render(progress: SyncProgress): string {
    if (progress.phase === 'open')
      return `refreshing open executions ${progress.refreshed}/${progress.total}`;
    const { page, executions, totalElements } = this.window;
    const ratio = totalElements > 0 ? Math.min(1, executions / totalElements) : 0;
    const bar = totalElements > 0 ? `${progressBar(ratio, 24)} ${Math.round(ratio * 100)}% ` : '';
    return `${bar}page ${page} · ${executions}/${totalElements} executions · files ${this.files.copied} copied, ${this.files.failed} failed`;
  }
}

function progressBar(ratio: number, width: number): string {
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

/** The summary as an aligned table. */
export function formatSummary(summary: SyncSummary): string {
  const rows: Array<[string, string]> = [
    [
      'result',
      summary.skipped
        ? 'skipped (another run holds the lease)'
        : summary.error
          ? `failed: ${summary.error}`
          : 'ok',
    ],
    [
      'executions',
      `${summary.executions.new} new, ${summary.executions.updated} updated, ${summary.executions.unchanged} unchanged, ${summary.executions.openRefreshed} open re-read`,
    ],
    [
      'files',
      `${summary.files.copied} copied, ${summary.files.skipped} already copied, ${summary.files.pending} left for a later run, ${summary.files.failed} failed`,
    ],
    ['API requests', `${summary.apiRequests} (${summary.throttled} throttled)`],
    ['watermark', summary.watermark ?? '(first window not complete yet)'],
    ['audit', describeAudit(summary)],
    ['job health', describeHealth(summary)],
    ['more remaining', summary.moreRemaining ? 'yes: the next run continues' : 'no'],
    ['duration', `${(summary.durationMs / 1000).toFixed(1)} s`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`).join('\n');
}

/** The job health line: the jobs per state, the changes and their events (`npm run history -- health`). */
function describeHealth(summary: SyncSummary): string {
  const health = summary.health;
  if (!health) return 'not evaluated';
  if (health.error) return `not evaluated: ${health.error}`;
  const states = Object.entries(health.byState)
    .filter(([, count]) => count > 0)
    .map(([state, count]) => `${count} ${state}`);
  const changes =
    `${health.changed} changed (${health.eventsPublished} event${health.eventsPublished === 1 ? '' : 's'} published` +
    `${health.eventsPending > 0 ? `, ${health.eventsPending} pending` : ''})`;
  return `${health.jobs} job${health.jobs === 1 ? '' : 's'}${states.length > 0 ? `: ${states.join(', ')}` : ''}; ${changes}`;
}

/** The audit line: not due, or what it found. */
function describeAudit(summary: SyncSummary): string {
  const audit = summary.audit;
  if (!audit) return 'not due';
  const found =
    `${audit.monthsChecked} months checked, ${audit.monthsDiffering} differing, ` +
    `${audit.executionsRecovered} recovered, ${audit.executionsRemovedFromApi} no longer in the API, ` +
    `${audit.apiRequests} API requests`;
  return `${found}${audit.complete ? '' : ' (cut short: the next run resumes it)'}`;
}

/** The lake run after a sync, as one line aligned with the summary table. */
export function formatLakeLine(lake: LakeSummary): string {
  const label = '  lake            ';
  if (lake.skipped) return `${label}skipped (another lake run holds the lease)`;
  const written =
    `${lake.daysWritten} day${lake.daysWritten === 1 ? '' : 's'} rewritten ` +
    `(${lake.executionRows} executions, ${lake.fileRows} files, ${formatBytes(lake.bytesWritten)})`;
  const problems = [
    ...(lake.daysFailed > 0 ? [`${lake.daysFailed} failed`] : []),
    ...(lake.daysLeft > 0 ? [`${lake.daysLeft} left for the next run`] : []),
    ...(lake.error ? [`stopped: ${lake.error}`] : []),
  ];
  return `${label}${written}${problems.length > 0 ? `; ${problems.join(', ')}` : ''}`;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
