// The dashboard in a real browser (Debian's headless Chromium, driven by playwright-core) over a store filled by
// a real sync of the emulator and a lake run: every page loads cleanly, the overview's per-job figures are those
// of `history stats --json`, filters live in the URL, a job's two charts span the period it shows, downloads
// return the recorded bytes, user data renders as text, traversal is refused, the keyboard reaches every filter,
// and a sync refreshes the page without a reload. Job health: the overview lists the jobs that need attention first
// (those of `history health --json`, with their reasons), a job page shows its reasons and marks its expected-by
// time on its runs chart, and the sync health draws the kept sync runs.
// Screenshots of each page go to test-output/dashboard/ (not committed) for a person to look at.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HistoryReader } from '#core/history/history-reader';
import type { JobHealthEntry } from '#core/history/job-health-reader';
import { LakeMarks } from '#core/store/lake-marks';
import { SyncRunRepository } from '#core/store/sync-run-repository';
import { SqsLaunchQueue } from '#functions/launch/launch-queue';
import { provisionStore } from '#local/aws/provision';
import { CHARTS_DRAWN_MARK } from '#local/dashboard/client/marks';
import { buildDashboardAssets } from '#local/dashboard/dashboard-assets';
import { DashboardData } from '#local/dashboard/dashboard-data';
import { type DashboardServer, startDashboardServer } from '#local/dashboard/dashboard-server';
import { LakeSnapshots } from '#local/dashboard/lake-snapshots';
import { removeLakeCopies } from '#local/warehouse/lake-cache';
import { ROOT, runHistoryCli } from '../support/history-cli';
import { createSyncHarness, type SyncHarness } from '../support/sync-harness';
import { launchChromium } from './support/chromium';

const HOSTILE_TITLE = '<script>window.__injected = true</script><img src=x onerror="window.__injected=true">';
const SCREENSHOTS = join(ROOT, 'test-output', 'dashboard');

let harness: SyncHarness;
let server: DashboardServer;
let browser: Browser;
let cacheDir: string;
let hostileJobId: string;
let failingJobId: string;
let lakeSnapshots: LakeSnapshots;

beforeAll(async () => {
  const browserStarting = launchChromium();
  harness = await createSyncHarness({
    emulator: { demo: { seed: 7, executions: 120 } },
    // The emulator's clock stands in 2024: kept for 400 days, the runs would expire (DynamoDB Local's TTL) now.
    config: { syncRunRetentionDays: 36_500 },
  });
  const h = harness;
  hostileJobId = h.emulator.addJob({ title: HOSTILE_TITLE }).id;
  h.emulator.createExecution(hostileJobId);
  // A job whose last two runs failed: failing (the learned default is 2 in a row), whatever the demo data.
  failingJobId = h.emulator.addJob({ title: 'Price import', kind: 'no-files' }).id;
  for (let run = 0; run < 2; run++) {
    h.emulator.createExecution(failingJobId, {}, { runTimeMs: 60_000, outcome: 'FAILED' });
  }
  h.clock.advance(10 * 60_000);
  expect((await h.sync()).error).toBeNull();
  expect(await h.lake()).toMatchObject({ complete: true });
  // The launch queues, with one request dead-lettered by the launch function's own adapter.
  const { queues } = await provisionStore(h.clients, h.store, { services: ['sqs'] });
  if (!queues) throw new Error('no queues provisioned');
  await new SqsLaunchQueue(h.clients.sqs, queues.launchUrl, queues.dlqUrl).deadLetter({
    body: '{"jobId":"nope"}',
    kind: 'invalid-message',
    reason: 'invalid message: jobId: expected 24 hexadecimal characters',
    sourceMessageId: 'm-1',
    failedAt: '2024-05-01T00:00:00.000Z',
  });
  cacheDir = await mkdtemp(join(tmpdir(), 'dashboard-lake-'));
  const s3 = async () => h.clients.s3;
  lakeSnapshots = new LakeSnapshots(new LakeMarks(h.clients.doc, h.store.stateTable), {
    bucket: h.store.lakeBucket,
    cacheDir,
    s3,
  });
  const data = new DashboardData({
    reader: new HistoryReader(h.clients.doc, h.store.executionsTable),
    state: { client: h.clients.doc, tableName: h.store.stateTable },
    lake: lakeSnapshots,
    files: { bucket: h.store.filesBucket, s3 },
    launches: { sqs: h.clients.sqs, urls: { launchUrl: queues.launchUrl, dlqUrl: queues.dlqUrl } },
    syncRequestsPerMinute: 40,
  });
  server = await startDashboardServer({ data, assets: await buildDashboardAssets(), port: 0 });
  browser = await browserStarting;
  await mkdir(SCREENSHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  lakeSnapshots?.close();
  await harness?.close();
  if (cacheDir) await removeLakeCopies(cacheDir);
});

/** A page that records every console error, failed request and HTTP error response. */
async function openPage(path: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning')
      problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) =>
    problems.push(`failed: ${request.url()} ${request.failure()?.errorText}`),
  );
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  await page.goto(`${server.url}${path}`);
  return { page, problems };
}

async function waitForCharts(page: Page): Promise<void> {
  await page.waitForFunction((mark) => performance.getEntriesByName(mark).length > 0, CHARTS_DRAWN_MARK);
}

/** The jobs table as figures: job id → the values the page carries for each column. */
async function jobFigures(page: Page): Promise<Array<Record<string, string>>> {
  return page.$$eval('table[data-table="jobs"] tbody tr[data-job-id]', (rows) =>
    rows.map((row) => {
      const figures: Record<string, string> = { jobId: row.getAttribute('data-job-id') ?? '' };
      for (const cell of row.querySelectorAll('td[data-field]')) {
        figures[cell.getAttribute('data-field') ?? ''] = cell.getAttribute('data-value') ?? '';
      }
      return figures;
    }),
  );
}

function cliEnv(): Record<string, string | undefined> {
  const { EXECUTIONS_TABLE_NAME: _t, FILES_BUCKET_NAME: _f, ...rest } = process.env;
  return { ...rest, ...harness.clients.env };
}

/** Every job's health as `npm run history -- health --json` reads it from the state table. */
async function cliHealth(): Promise<JobHealthEntry[]> {
  const cli = await runHistoryCli(
    ['health', '--json', '--table', harness.store.executionsTable, '--state-table', harness.store.stateTable],
    cliEnv(),
  );
  expect(cli.code, cli.stderr).toBe(0);
  return (JSON.parse(cli.stdout) as { jobs: JobHealthEntry[] }).jobs;
}

/** The x range a chart was drawn over (`data-x-from`, `data-x-to`). */
function chartRange(page: Page, chart: string): Promise<Array<string | null>> {
  return page.$eval(`figure[data-chart="${chart}"]`, (figure) => [
    figure.getAttribute('data-x-from'),
    figure.getAttribute('data-x-to'),
  ]);
}

async function copiedExecution(): Promise<{
  id: string;
  files: Array<{ index: number; sha256: string; size: number }>;
}> {
  const item = (await harness.storedItems()).find((stored) =>
    stored.files.some((file) => file.status === 'copied' && (file.size ?? 0) > 0),
  );
  if (!item) throw new Error('the demo data has no execution with a copied file');
  return {
    id: item.id,
    files: item.files.flatMap((file, index) =>
      file.status === 'copied' ? [{ index, sha256: file.sha256 ?? '', size: file.size ?? 0 }] : [],
    ),
  };
}

describe('dashboard in Chromium', () => {
  it('loads each page with no console error and no failed request, and saves a screenshot of each', async () => {
    const execution = await copiedExecution();
    const jobId = (await harness.storedItems())[0]?.jobId ?? '';
    for (const [name, path, charts] of [
      ['overview', '/?since=all', true],
      ['job', `/jobs/${jobId}?since=all`, true],
      ['execution', `/executions/${execution.id}`, false],
    ] as const) {
      const { page, problems } = await openPage(path);
      if (charts) await waitForCharts(page);
      else await page.waitForSelector('table[data-table="files"]');
      await page.waitForLoadState('networkidle');
      if (name === 'overview') await page.waitForSelector('table[data-table="dead-letters"]');
      await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
      expect(problems, name).toEqual([]);
      expect(await page.locator('h1').count(), name).toBe(1);
      await page.close();
    }
  });

  it("shows the overview's per-job figures of `history stats --json` for the same period", async () => {
    const cli = await runHistoryCli(
      ['stats', '--json', '--since', 'all', '--table', harness.store.executionsTable],
      cliEnv(),
    );
    expect(cli.code, cli.stderr).toBe(0);
    const stats = JSON.parse(cli.stdout) as {
      jobs: Array<{
        jobId: string;
        runs: number;
        successRate: number | null;
        durationMs: { p50: number | null; p95: number | null };
        lastRunAt: string | null;
        lastFailureAt: string | null;
      }>;
    };
    const { page } = await openPage('/?since=all');
    await waitForCharts(page);
    // The fast path: the lake's Parquet through DuckDB, fed to the same statistics as the CLI's.
    expect(await page.textContent('p.period')).toContain('read from the lake');
    const text = (value: number | string | null) => (value === null ? 'null' : String(value));
    expect(await jobFigures(page)).toEqual(
      stats.jobs.map((job) => ({
        jobId: job.jobId,
        runs: text(job.runs),
        successRate: text(job.successRate),
        p50: text(job.durationMs.p50),
        p95: text(job.durationMs.p95),
        lastRunAt: text(job.lastRunAt),
        lastFailureAt: text(job.lastFailureAt),
      })),
    );
    expect(stats.jobs.length).toBeGreaterThan(3);
    await page.close();
  });

  it('puts a changed filter in the URL and shows the figures of the new filter', async () => {
    const { page, problems } = await openPage('/?since=all');
    await waitForCharts(page);
    const before = await jobFigures(page);
    const job = before[1];
    if (!job?.jobId) throw new Error('fewer than two jobs');
    await page.selectOption('#filter-job', job.jobId);
    await page.waitForFunction(
      () => document.querySelectorAll('table[data-table="jobs"] tr[data-job-id]').length === 1,
    );
    expect(new URL(page.url()).searchParams.get('job')).toBe(job.jobId);
    expect(await jobFigures(page)).toEqual([job]);
    const totalRuns = await page.getAttribute('tr[data-total] td[data-field="runs"]', 'data-value');
    expect(totalRuns).toBe(job.runs);

    await page.selectOption('#filter-status', 'COMPLETED');
    await page.waitForFunction(() => new URL(location.href).searchParams.get('status') === 'COMPLETED');
    // The executions list follows: only COMPLETED ones once the new figures are in.
    await page.waitForFunction(() => {
      const cells = [...document.querySelectorAll('table[data-table="executions"] tbody .status')];
      return cells.length > 0 && cells.every((cell) => cell.getAttribute('data-status') === 'COMPLETED');
    });
    const statuses = await page.$$eval('table[data-table="executions"] tbody .status', (cells) =>
      cells.map((cell) => cell.getAttribute('data-status')),
    );
    expect(statuses.length).toBeGreaterThan(0);
    expect(new Set(statuses)).toEqual(new Set(['COMPLETED']));

    // The URL alone brings the same view back (a bookmark), and Back returns to the previous filters.
    await page.goBack();
    await page.waitForFunction(() => new URL(location.href).searchParams.get('status') === null);
    expect(new URL(page.url()).searchParams.get('job')).toBe(job.jobId);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("draws a job's durations over the same days as its runs: the period the page shows", async () => {
    const items = await harness.storedItems();
    const ended = items.filter((item) => item.endedAt !== undefined && item.durationMs !== undefined);
    const jobId = ended[0]?.jobId ?? '';
    const created = ended
      .filter((item) => item.jobId === jobId)
      .map((item) => item.createdAt)
      .sort();
    const day = (iso: string, days: number) =>
      new Date(Date.parse(`${iso.slice(0, 10)}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
    // A period that starts well before the job's first ended run and ends after its last one.
    const since = day(created[0] ?? '', -10);
    const until = day(created.at(-1) ?? '', 3);
    const { page, problems } = await openPage(`/jobs/${jobId}?since=${since}&until=${until}`);
    await waitForCharts(page);
    const range = (chart: string) =>
      page.$eval(`figure[data-chart="${chart}"]`, (figure) => [
        figure.getAttribute('data-x-from'),
        figure.getAttribute('data-x-to'),
      ]);
    const period = [`${since}T00:00:00.000Z`, `${until}T00:00:00.000Z`];
    expect(await range('runs-per-day')).toEqual(period);
    expect(await range('durations')).toEqual(period);
    expect(await page.locator('figure[data-chart="durations"] tbody tr').count()).toBe(created.length);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("spans a job's durations over its runs chart's days over an open-ended period too", async () => {
    const jobId = (await harness.storedItems()).find((item) => item.durationMs !== undefined)?.jobId ?? '';
    for (const query of ['since=all', 'since=2023-01-01']) {
      const { page, problems } = await openPage(`/jobs/${jobId}?${query}`);
      await waitForCharts(page);
      const runs = await chartRange(page, 'runs-per-day');
      expect(runs[0], query).not.toBeNull();
      expect(await chartRange(page, 'durations'), query).toEqual(runs);
      expect(problems).toEqual([]);
      await page.close();
    }
  });

  it('lists the jobs that need attention first, with their reasons: those of `history health --json`', async () => {
    const health = await cliHealth();
    const attention = health.filter((job) => ['late', 'failing', 'slow'].includes(job.state));
    expect(attention.find((job) => job.jobId === failingJobId)?.state).toBe('failing');
    const { page, problems } = await openPage('/?since=all');
    await waitForCharts(page);
    // The first section of the overview.
    expect(await page.$eval('main section', (section) => section.id)).toBe('attention');
    const listed = await page.$$eval('[data-list="attention"] > li', (items) =>
      items.map((item) => ({
        jobId: item.getAttribute('data-job-id'),
        state: item.getAttribute('data-health'),
        badge: item.querySelector('.status')?.textContent,
        reasons: [...item.querySelectorAll('[data-list="reasons"] li')].map((li) => li.textContent),
      })),
    );
    expect(listed).toEqual(
      attention.map((job) => ({
        jobId: job.jobId,
        state: job.state,
        badge: job.state,
        reasons: job.reasons,
      })),
    );
    expect(listed.find((job) => job.jobId === failingJobId)?.reasons[0]).toMatch(
      /^its last 2 ended runs did not complete/,
    );
    // Every job's state in the jobs table.
    const states = await page.$$eval('table[data-table="jobs"] tr[data-job-id]', (rows) =>
      rows.map((row) => [
        row.getAttribute('data-job-id'),
        row.querySelector('td[data-health-state]')?.getAttribute('data-health-state'),
      ]),
    );
    const byJob = new Map(health.map((job) => [job.jobId, job.state]));
    expect(states.length).toBeGreaterThan(3);
    for (const [jobId, state] of states) expect(state, String(jobId)).toBe(byJob.get(jobId ?? '') ?? 'null');
    expect(problems).toEqual([]);
    await page.close();
  });

  it("shows a job's state and reasons, and marks its expected-by time on its runs chart", async () => {
    const health = await cliHealth();
    const expected = health.find((job) => job.expectedBy !== null);
    if (!expected?.expectedBy) throw new Error('no job of the demo data has an expected-by time');
    const { page, problems } = await openPage(`/jobs/${expected.jobId}?since=all`);
    await waitForCharts(page);
    expect(await page.getAttribute('#health [data-health]', 'data-health')).toBe(expected.state);
    expect(
      await page.$$eval('#health [data-list="reasons"] li', (items) => items.map((li) => li.textContent)),
    ).toEqual(expected.reasons);
    const figure = 'figure[data-chart="runs-per-day"]';
    expect(await page.getAttribute(figure, 'data-mark-expected-by')).toBe(expected.expectedBy);
    expect(await page.getAttribute(figure, 'data-mark-expected-by-drawn')).toBe('true');
    const [from, to] = await chartRange(page, 'runs-per-day');
    expect(Date.parse(from ?? '')).toBeLessThanOrEqual(Date.parse(expected.expectedBy));
    expect(Date.parse(to ?? '')).toBeGreaterThanOrEqual(Date.parse(expected.expectedBy));
    expect(await chartRange(page, 'durations')).toEqual([from, to]);
    expect(await page.textContent(`${figure} [data-mark="expected-by"]`)).toContain(
      expected.expectedBy.slice(0, 19).replace('T', ' '),
    );
    await page.close();

    // The failing job: its reasons in words.
    const failing = health.find((job) => job.jobId === failingJobId);
    const other = await openPage(`/jobs/${failingJobId}?since=all`);
    await waitForCharts(other.page);
    expect(await other.page.getAttribute('#health [data-health]', 'data-health')).toBe('failing');
    expect(
      await other.page.$$eval('#health [data-list="reasons"] li', (items) =>
        items.map((li) => li.textContent),
      ),
    ).toEqual(failing?.reasons);
    expect([...problems, ...other.problems]).toEqual([]);
    await other.page.close();
  });

  it("draws the sync's kept runs over time (requests, duration, failures) over the overview's days", async () => {
    const runs = (
      await new SyncRunRepository(harness.clients.doc, harness.store.stateTable).listRecent(100)
    ).reverse();
    expect(runs.length).toBeGreaterThan(0);
    const { page, problems } = await openPage('/?since=all');
    await waitForCharts(page);
    const figure = 'figure[data-chart="sync-runs"]';
    expect(await chartRange(page, 'sync-runs')).toEqual(await chartRange(page, 'runs-per-day'));
    expect(await page.locator(`${figure} canvas`).count()).toBeGreaterThan(0);
    const rows = await page.$$eval(`${figure} tbody tr`, (trs) =>
      trs.map((tr) => [...tr.children].map((cell) => cell.textContent)),
    );
    expect(rows.map((row) => [row[0], row[1], row[2]])).toEqual(
      runs.map((run) => [
        `${run.startedAt.slice(0, 19).replace('T', ' ')} UTC`,
        run.result,
        run.apiRequests.toLocaleString('en-US'),
      ]),
    );
    expect(problems).toEqual([]);
    await page.close();
  });

  it('lists the files of an execution, and a download returns the bytes whose SHA-256 is recorded', async () => {
    const execution = await copiedExecution();
    const { page, problems } = await openPage(`/executions/${execution.id}`);
    await page.waitForSelector('table[data-table="files"]');
    const shown = await page.$$eval('table[data-table="files"] td[data-field="sha256"]', (cells) =>
      cells.map((cell) => cell.textContent),
    );
    const stored = await harness.storedItems();
    const item = stored.find((candidate) => candidate.id === execution.id);
    expect(shown).toEqual(item?.files.map((file) => file.sha256 ?? '–'));
    for (const file of execution.files) {
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.click(`a[data-download="${file.index}"]`),
      ]);
      const path = await download.path();
      const { readFile } = await import('node:fs/promises');
      const bytes = await readFile(path);
      expect(bytes.byteLength).toBe(file.size);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(file.sha256);
    }
    expect(problems).toEqual([]);
    await page.close();
  });

  it('renders a job title containing <script> as text, never as markup', async () => {
    const { page, problems } = await openPage('/?since=all');
    await waitForCharts(page);
    const link = page.locator(`table[data-table="jobs"] tr[data-job-id="${hostileJobId}"] th a`);
    expect(await link.textContent()).toBe(HOSTILE_TITLE);
    expect(
      await page.evaluate(() => (window as unknown as { __injected?: boolean }).__injected),
    ).toBeUndefined();
    expect(await page.locator('main script, main img').count()).toBe(0);
    await link.click();
    await waitForCharts(page);
    expect(await page.locator('h1').textContent()).toBe(HOSTILE_TITLE);
    expect(
      await page.evaluate(() => (window as unknown as { __injected?: boolean }).__injected),
    ).toBeUndefined();
    expect(problems).toEqual([]);
    await page.close();
  });

  it('refuses a path-traversal download', async () => {
    const { id } = await copiedExecution();
    const { page } = await openPage(`/executions/${id}`);
    for (const path of [
      `/api/executions/${id}/files/..%2F..%2Fpackage.json`,
      `/api/executions/${id}/files/%2e%2e%2f%2e%2e%2fpackage.json`,
      '/api/executions/..%2F..%2Fetc%2Fpasswd/files/0',
      `/api/executions/${id}/files/999`,
      '/assets/..%2F..%2Fpackage.json',
    ]) {
      const response = await page.request.get(`${server.url}${path}`);
      expect([400, 404], path).toContain(response.status());
      expect(await response.text(), path).not.toContain('"name"');
    }
    await page.close();
  });

  it('reaches every filter with the keyboard alone', async () => {
    const { page } = await openPage('/?since=all');
    await waitForCharts(page);
    const reached = new Set<string>();
    for (let press = 0; press < 15; press++) {
      await page.keyboard.press('Tab');
      reached.add(await page.evaluate(() => document.activeElement?.id ?? ''));
    }
    for (const id of ['filter-since', 'filter-until', 'filter-job', 'filter-status'])
      expect(reached).toContain(id);
    // A filter changed from the keyboard keeps the focus for the next one.
    await page.focus('#filter-status');
    await page.keyboard.press('ArrowDown');
    await page.waitForFunction(() => new URL(location.href).searchParams.has('status'));
    await page.waitForSelector('#filter-status');
    await page.waitForFunction(() => document.activeElement?.id === 'filter-status');
    await page.close();
  });

  it('refreshes its figures after a sync, without reloading the page', async () => {
    const { page, problems } = await openPage(`/?since=all&job=${hostileJobId}`);
    await waitForCharts(page);
    expect(await page.getAttribute('tr[data-total] td[data-field="runs"]', 'data-value')).toBe('1');
    await page.evaluate(() => {
      (window as unknown as { __sameDocument: boolean }).__sameDocument = true;
    });
    harness.emulator.createExecution(hostileJobId);
    harness.clock.advance(60_000);
    expect((await harness.sync()).error).toBeNull();
    await page.waitForFunction(
      () =>
        document.querySelector('tr[data-total] td[data-field="runs"]')?.getAttribute('data-value') === '2',
      undefined,
      { timeout: 15_000 },
    );
    expect(
      await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument),
    ).toBe(true);
    expect(await page.textContent('#refreshed')).toMatch(/^Updated after a sync/);
    expect(problems).toEqual([]);
    await page.close();
  });
});
