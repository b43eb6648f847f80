// dashboard: the overview of 100,000 synced executions in a real browser (Debian's headless Chromium, driven by
// playwright-core): the time until its charts are drawn (a performance mark the client sets after uPlot's first
// draw, read in the page; median of 5 loads, each in a fresh browser context), and the page's weight as served.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLakeConfig } from '#core/config';
import { HistoryReader } from '#core/history/history-reader';
import { resolvePeriod } from '#core/history/period';
import { RecordingMetrics } from '#core/observability';
import { LakeMarks } from '#core/store/lake-marks';
import { createLakeHandler } from '#functions/lake/lake-handler';
import type { LakeSummary } from '#functions/lake/lake-summary';
import { storeEnvironment } from '#local/aws/provision';
import { CHARTS_DRAWN_MARK } from '#local/dashboard/client/marks';
import { buildDashboardAssets } from '#local/dashboard/dashboard-assets';
import { DashboardData, type OverviewView } from '#local/dashboard/dashboard-data';
import { startDashboardServer } from '#local/dashboard/dashboard-server';
import { LakeSnapshots } from '#local/dashboard/lake-snapshots';
import { createSeededRandom } from '#local/emulator/seeded-random';
import { queryStats } from '#local/history/history-queries';
import { lambdaContext } from '#local/stack/local-stack';
import { removeLakeCopies } from '#local/warehouse/lake-cache';
import { launchChromium } from '#test/browser/support/chromium';
import { history } from './analytics.bench';
import { parseBenchArgs } from './support/bench-args';
import type { Benchmark, BenchReport } from './support/bench-report';
import { formatDuration } from './support/bench-report';
import { BenchResources } from './support/bench-resources';
import { batchWriteRaw, createStore, ProblemLogger, startLocalAws } from './support/bench-stack';
import { median, timed } from './support/measures';

const DAY = 86_400_000;
const END = Date.UTC(2024, 5, 30);

export const benchmark: Benchmark = {
  name: 'dashboard',
  title:
    "the dashboard's overview of 100,000 executions in Chromium: time until its charts are drawn, page weight",
  async run(args): Promise<BenchReport> {
    const { mode, values } = parseBenchArgs(args, {
      executions: { full: 100_000, quick: 10_000, description: 'executions stored (DynamoDB and the lake)' },
      days: { full: 365, quick: 60, description: 'days the history spans' },
      loads: { full: 5, quick: 3, description: 'measured loads of the overview (the median is reported)' },
    });
    const count = values.executions;
    const resources = new BenchResources();
    const scratch = await mkdtemp(join(tmpdir(), 'plsync-bench-dashboard-'));
    resources.defer('scratch directory', () => removeLakeCopies(scratch));
    try {
      const aws = await startLocalAws(resources, ['dynamodb', 's3']);
      const store = await createStore(aws, 'dashboard');
      const items = [...history(count, values.days, createSeededRandom('bench-dashboard'))];
      const loaded = await timed(() => batchWriteRaw(aws.doc, store.executionsTable, items));
      const lake = createLakeHandler({
        config: loadLakeConfig(storeEnvironment(store)),
        clients: aws,
        logger: new ProblemLogger(),
        metrics: new RecordingMetrics({ namespace: 'Bench', serviceName: 'lake' }),
        now: () => lakeNow,
      });
      // The first build marks every day; a mark clears once it has settled, so a second run a day later
      // leaves the lake unmarked, as a steady deployment's lake is between syncs.
      let lakeNow = END + 2 * DAY;
      const built = (await lake({}, lambdaContext('lake', 15 * 60_000))) as LakeSummary;
      lakeNow += DAY;
      await lake({}, lambdaContext('lake', 15 * 60_000));

      const reader = new HistoryReader(aws.doc, store.executionsTable);
      const snapshots = new LakeSnapshots(new LakeMarks(aws.doc, store.stateTable), {
        bucket: store.lakeBucket,
        cacheDir: join(scratch, 'lake-cache'),
        s3: async () => aws.s3,
      });
      resources.defer('lake snapshots', async () => snapshots.close());
      const data = new DashboardData({
        reader,
        state: { client: aws.doc, tableName: store.stateTable },
        lake: snapshots,
        files: { bucket: store.filesBucket, s3: async () => aws.s3 },
        syncRequestsPerMinute: 40,
      });
      const assets = await buildDashboardAssets();
      const server = await startDashboardServer({ data, assets, port: 0 });
      resources.defer('dashboard server', () => server.close());
      const browser = await launchChromium();
      resources.defer('Chromium', () => browser.close());

      const url = `${server.url}/?since=all`;
      const load = async () => {
        const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
        try {
          const page = await context.newPage();
          const errors: string[] = [];
          page.on('console', (message) => {
            if (message.type() === 'error') errors.push(message.text());
          });
          const bytes = { gzipped: 0, json: 0 };
          page.on('response', async (response) => {
            const length = Number((await response.allHeaders())['content-length'] ?? 0);
            if (response.url().includes('/api/')) bytes.json += length;
            else bytes.gzipped += length;
          });
          await page.goto(url);
          await page.waitForFunction(
            (mark) => performance.getEntriesByName(mark).length > 0,
            CHARTS_DRAWN_MARK,
            {
              timeout: 120_000,
            },
          );
          const drawnMs = await page.evaluate(
            (mark) => performance.getEntriesByName(mark)[0]?.startTime ?? Number.NaN,
            CHARTS_DRAWN_MARK,
          );
          await page.waitForLoadState('networkidle');
          return { drawnMs, errors, bytes };
        } finally {
          await context.close();
        }
      };

      // The first load after a lake change copies the lake and opens DuckDB on it (once per sync).
      const first = await load();
      const loads: Array<Awaited<ReturnType<typeof load>>> = [];
      for (let round = 0; round < values.loads; round++) loads.push(await load());
      const drawn = median(loads.map((measured) => measured.drawnMs));

      // The same view over the table alone (no lake), and the figures of `history stats --since all`.
      const period = resolvePeriod({ since: 'all' }, END + DAY);
      const filters = { since: 'all', until: null, job: null, status: null };
      const viaLake = await timed(() => data.overview({ filters, period }));
      const tableOnly = new DashboardData({ reader, syncRequestsPerMinute: 40 });
      const viaTable = await timed(() => tableOnly.overview({ filters, period }));
      const stats = await queryStats(reader, { period });
      const same = (view: OverviewView) => JSON.stringify(view.stats) === JSON.stringify(stats);

      const page = assets.page.gzip.byteLength;
      const script = assets.files.get('app.js');
      const style = assets.files.get('app.css');
      const gzipped = page + (script?.gzip.byteLength ?? 0) + (style?.gzip.byteLength ?? 0);
      const raw =
        assets.page.body.byteLength + (script?.body.byteLength ?? 0) + (style?.body.byteLength ?? 0);
      return {
        title: benchmark.title,
        mode,
        parameters: { executions: count, days: values.days, jobs: 20, loads: values.loads, period: 'all' },
        figures: [
          {
            key: 'chartsDrawnMs',
            label: `overview of ${count} executions: charts drawn (median of ${values.loads} loads)`,
            value: drawn,
            unit: 'ms',
            goal: { comparison: '<=', target: 1_000 },
          },
          {
            key: 'firstLoadAfterSyncMs',
            label: 'the first load after a lake change (copies the lake, opens DuckDB)',
            value: first.drawnMs,
            unit: 'ms',
          },
          {
            key: 'assetsGzipBytes',
            label: 'page weight as served: HTML + script + styles, gzipped',
            value: gzipped,
            unit: 'B',
            goal: { comparison: '<=', target: 300 * 1024 },
          },
          { key: 'assetsBytes', label: 'the same, uncompressed', value: raw, unit: 'B' },
          {
            key: 'overviewJsonBytes',
            label: 'JSON of the overview (every view it loads)',
            value: median(loads.map((m) => m.bytes.json)),
            unit: 'B',
          },
          {
            key: 'tableOnlyMs',
            label: 'the overview view over the table alone (no lake), server side',
            value: viaTable.ms,
            unit: 'ms',
          },
        ],
        checks: [
          {
            label: 'the lake holds every stored execution',
            ok: built.complete && built.executionRows === count,
            detail: `${built.executionRows} rows, complete: ${built.complete}`,
          },
          {
            label:
              "the overview's per-job figures equal history stats --since all, via the lake and via the table",
            ok: same(viaLake.value) && same(viaTable.value) && viaLake.value.source.kind === 'lake',
            detail: `${stats.jobs.length} jobs, ${stats.total.runs} runs; lake: ${same(viaLake.value)}, table: ${same(viaTable.value)}`,
          },
          {
            label: 'no console error on any load',
            ok: [first, ...loads].every((measured) => measured.errors.length === 0),
            detail:
              [first, ...loads]
                .flatMap((measured) => measured.errors)
                .slice(0, 3)
                .join('; ') || 'none',
          },
        ],
        details: {
          'DynamoDB load (raw batch writes)': formatDuration(loaded.ms),
          'lake first build': `${built.daysWritten} days`,
          'loads (ms)': loads.map((measured) => Math.round(measured.drawnMs)).join(', '),
          'overview view via the lake, server side': formatDuration(viaLake.ms),
          'bytes received by the browser for the assets (gzip)': median(loads.map((m) => m.bytes.gzipped)),
        },
        notes: [
          'Each load opens a fresh browser context (no cache) on /?since=all and reads the performance mark ' +
            `${CHARTS_DRAWN_MARK}, which the client sets after uPlot's first draw of the runs-per-day chart; its ` +
            'startTime counts from the navigation start. The JSON views are fetched in parallel; the chart waits ' +
            'for /api/overview only.',
          "The overview reads the period's executions from the lake (DuckDB over a local copy of the Parquet " +
            'objects) for the days the lake holds, and from the table for the days marked since its last run, ' +
            'then computes the per-job figures with the same code as `history stats` (checked here, and in the ' +
            'browser tests against the CLI).',
          'The first load after a lake change refreshes the copy and opens DuckDB: once per sync, not per view.',
        ],
      };
    } finally {
      await resources.close();
    }
  },
};
