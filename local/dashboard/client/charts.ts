/// <reference lib="dom" />
// Charts drawn with uPlot (canvas), each with its numbers as a table for screen readers and keyboard users
// (a <details> right under the chart), a legend in words, and colours read from the page's light or dark
// theme. The canvas itself is hidden from assistive technology: the table is the accessible chart. Every chart
// of a page spans the same days (a ChartSpan), whatever its data, so charts drawn one above the other line up.
// An instant can be marked on a chart (a job's expected-by time): a dashed vertical line, named in the legend.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { DayTimeline, JobView } from '../dashboard-data';
import type { SyncRunsView } from '../sync-health';
import { append, h, table } from './dom';
import { formatCount, formatDuration, formatInstant } from './format';
import { CHARTS_DRAWN_MARK } from './marks';
import { statusBadge, statusColour } from './status';

const DAY_SECONDS = 86_400;

/** The x range of a page's charts, in seconds: from the start of its first UTC day to the end of its last. */
export interface ChartSpan {
  from: number;
  to: number;
}

/** The span of a timeline's days (the period the page shows, in whole UTC days); null when it has none. */
export function timelineSpan(timeline: DayTimeline): ChartSpan | null {
  const first = timeline.days[0];
  const last = timeline.days.at(-1);
  if (first === undefined || last === undefined) return null;
  return { from: daySeconds(first), to: daySeconds(last) + DAY_SECONDS };
}

/**
 * The span extended to the end of the UTC day of `iso` when that instant is after it (an open-ended period whose
 * job is expected to run after today); the span itself otherwise.
 */
export function spanThrough(span: ChartSpan | null, iso: string | null): ChartSpan | null {
  if (span === null || iso === null) return span;
  const seconds = Date.parse(iso) / 1000;
  if (!(seconds >= span.to)) return span;
  return { from: span.from, to: daySeconds(iso.slice(0, 10)) + DAY_SECONDS };
}

/** The span of whole UTC days from the first to the last of `instants` (ISO); null when there is none. */
function instantsSpan(instants: readonly string[]): ChartSpan | null {
  const first = instants[0];
  const last = instants.at(-1);
  if (first === undefined || last === undefined) return null;
  return { from: daySeconds(first.slice(0, 10)), to: daySeconds(last.slice(0, 10)) + DAY_SECONDS };
}

/** An instant marked on a chart: a dashed vertical line, named in the legend (`id`: the figure's data-mark-ID). */
export interface ChartMark {
  id: string;
  at: string;
  label: string;
}

function daySeconds(day: string): number {
  return Date.parse(`${day}T00:00:00Z`) / 1000;
}

/**
 * A callback for each of a page's `count` charts: once all have drawn, sets the CHARTS_DRAWN_MARK performance
 * mark (the benchmark and the browser tests wait for it).
 */
export function markChartsDrawn(count: number): () => void {
  let remaining = count;
  return () => {
    remaining -= 1;
    if (remaining === 0) {
      performance.clearMarks(CHARTS_DRAWN_MARK);
      performance.mark(CHARTS_DRAWN_MARK);
      document.body.setAttribute('data-charts-drawn', String(Date.now()));
    }
  };
}

const charts = new Set<uPlot>();

/** Destroys every chart (before a view is rendered again). */
export function destroyCharts(): void {
  for (const chart of charts) chart.destroy();
  charts.clear();
}

function themeColour(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

function axes(yLabel: string, yValues?: uPlot.Axis['values']): uPlot.Axis[] {
  const stroke = themeColour('--fg-muted');
  const grid = { stroke: themeColour('--grid'), width: 1 };
  return [
    { stroke, grid, ticks: grid },
    { stroke, grid, ticks: grid, label: yLabel, size: 60, ...(yValues ? { values: yValues } : {}) },
  ];
}

const utc = (seconds: number) => uPlot.tzDate(new Date(seconds * 1e3), 'Etc/UTC');

function chartWidth(container: HTMLElement): number {
  return Math.max(280, Math.floor(container.getBoundingClientRect().width || 800));
}

/**
 * Draws the chart over `span`; calls `drawn` once, after its first draw on the canvas. The figure carries the x
 * range as drawn (`data-x-from`, `data-x-to`), for the tests.
 */
function mount(
  container: HTMLElement,
  span: ChartSpan,
  options: uPlot.Options,
  data: uPlot.AlignedData,
  drawn?: () => void,
  marks: readonly ChartMark[] = [],
): uPlot {
  let first = true;
  const chart = new uPlot(
    {
      ...options,
      scales: { ...options.scales, x: { time: true, range: () => [span.from, span.to] } },
      hooks: {
        draw: [
          (self) => {
            const figure = container.closest('figure');
            const { min, max } = self.scales.x ?? {};
            if (figure && min !== undefined && max !== undefined) {
              figure.setAttribute('data-x-from', new Date(min * 1000).toISOString());
              figure.setAttribute('data-x-to', new Date(max * 1000).toISOString());
            }
            for (const mark of marks) {
              const shown = drawMark(self, mark);
              figure?.setAttribute(`data-mark-${mark.id}-drawn`, String(shown));
            }
            if (first) {
              first = false;
              drawn?.();
            }
          },
        ],
      },
    },
    data,
    container,
  );
  chart.root.setAttribute('aria-hidden', 'true');
  charts.add(chart);
  return chart;
}

/** Draws a mark's dashed line if its instant is on the x range; says whether it was drawn. */
function drawMark(chart: uPlot, mark: ChartMark): boolean {
  const seconds = Date.parse(mark.at) / 1000;
  const { min, max } = chart.scales.x ?? {};
  if (min === undefined || max === undefined || !(seconds >= min && seconds <= max)) return false;
  const { ctx, bbox } = chart;
  const x = Math.round(chart.valToPos(seconds, 'x', true));
  const ratio = window.devicePixelRatio || 1;
  ctx.save();
  ctx.strokeStyle = themeColour('--fg');
  ctx.fillStyle = themeColour('--fg');
  ctx.lineWidth = 2 * ratio;
  ctx.setLineDash([6 * ratio, 4 * ratio]);
  ctx.beginPath();
  ctx.moveTo(x, bbox.top);
  ctx.lineTo(x, bbox.top + bbox.height);
  ctx.stroke();
  ctx.font = `${12 * ratio}px system-ui, sans-serif`;
  const width = ctx.measureText(mark.label).width;
  // The label on the side of the line with room for it.
  const left = x + 4 * ratio + width > bbox.left + bbox.width ? x - 4 * ratio - width : x + 4 * ratio;
  ctx.fillText(mark.label, left, bbox.top + 14 * ratio);
  ctx.restore();
  return true;
}

/** Keeps every chart as wide as its container. */
export function watchChartWidths(): void {
  let pending = 0;
  window.addEventListener('resize', () => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(() => {
      for (const chart of charts) {
        const container = chart.root.parentElement;
        if (container) chart.setSize({ width: chartWidth(container), height: chart.height });
      }
    });
  });
}

function legend(statuses: readonly string[], marks: readonly ChartMark[] = []): HTMLElement {
  return h(
    'ul',
    { class: 'legend', 'aria-hidden': 'true' },
    ...statuses.map((status) => h('li', {}, statusBadge(status))),
    ...marks.map((mark) =>
      h(
        'li',
        { 'data-mark': mark.id },
        h(
          'span',
          { class: 'status' },
          h('span', { class: 'swatch mark' }),
          `${mark.label}: ${formatInstant(mark.at)}`,
        ),
      ),
    ),
  );
}

/**
 * Runs per day, stacked by status (each day's bar within its day), with its table of numbers; `marks` are drawn
 * over it (the figure carries each one's instant in `data-mark-ID`).
 */
export function runsPerDayChart(
  title: string,
  timeline: DayTimeline,
  span: ChartSpan | null,
  drawn?: () => void,
  marks: readonly ChartMark[] = [],
): HTMLElement {
  const section = h('figure', { class: 'chart', 'data-chart': 'runs-per-day', 'aria-label': title });
  for (const mark of marks) section.setAttribute(`data-mark-${mark.id}`, mark.at);
  const caption = h('figcaption', {}, title);
  const canvas = h('div', { class: 'chart-canvas' });
  const statuses = timeline.series.map((series) => series.status);
  const totals = timeline.days.map((_, index) =>
    timeline.series.reduce((sum, series) => sum + (series.counts[index] ?? 0), 0),
  );
  append(
    section,
    caption,
    timeline.days.length === 0 || statuses.length === 0
      ? h('p', { class: 'empty' }, 'No runs in this period.')
      : canvas,
    legend(statuses, marks),
    dataTable(
      `${title}: runs per UTC day and status`,
      ['Day', ...statuses, 'Total'],
      timeline.days.map((day, index) => [
        { content: day, header: true },
        ...timeline.series.map((series) => formatCount(series.counts[index] ?? 0)),
        formatCount(totals[index] ?? 0),
      ]),
    ),
  );
  // Drawn once the caller has put the figure in the page (the chart takes its container's width).
  queueMicrotask(() =>
    span && statuses.length > 0 ? drawStackedBars(canvas, span, timeline, drawn, marks) : drawn?.(),
  );
  return section;
}

function drawStackedBars(
  container: HTMLElement,
  span: ChartSpan,
  timeline: DayTimeline,
  drawn?: () => void,
  marks: readonly ChartMark[] = [],
): void {
  // Each bar is centred on its day's noon, so that it stands within its day.
  const x = timeline.days.map((day) => daySeconds(day) + DAY_SECONDS / 2);
  // Cumulative values, drawn from the top of the stack down, so each status shows as its own band.
  const cumulative: number[][] = [];
  let running = new Array<number>(x.length).fill(0);
  for (const series of timeline.series) {
    running = running.map((value, index) => value + (series.counts[index] ?? 0));
    cumulative.push(running);
  }
  const order = timeline.series.map((_, index) => index).reverse();
  const bars = uPlot.paths.bars?.({ size: [0.8, 40], align: 0 });
  mount(
    container,
    span,
    {
      width: chartWidth(container),
      height: 240,
      tzDate: utc,
      legend: { show: false },
      cursor: { show: false },
      select: { show: false, left: 0, top: 0, width: 0, height: 0 },
      scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      axes: axes('runs'),
      series: [
        {},
        ...order.map((index) => {
          const colour = statusColour(timeline.series[index]?.status ?? '');
          return {
            label: timeline.series[index]?.status ?? '',
            fill: colour,
            stroke: colour,
            width: 0,
            ...(bars ? { paths: bars } : {}),
            points: { show: false },
          };
        }),
      ],
    },
    [x, ...order.map((index) => cumulative[index] ?? [])],
    drawn,
    marks,
  );
}

/** The ended runs' durations over `span`, one colour per status, with its table of numbers. */
export function durationsChart(
  durations: JobView['durations'],
  span: ChartSpan | null,
  drawn?: () => void,
): HTMLElement {
  const section = h('figure', {
    class: 'chart',
    'data-chart': 'durations',
    'aria-label': 'Durations of ended runs',
  });
  const statuses = [...new Set(durations.status)];
  const canvas = h('div', { class: 'chart-canvas' });
  append(
    section,
    h('figcaption', {}, 'Durations of ended runs'),
    durations.createdAt.length === 0 ? h('p', { class: 'empty' }, 'No ended run in this period.') : canvas,
    legend(statuses),
    dataTable(
      'Durations of ended runs: created, status, duration',
      ['Created', 'Status', 'Duration'],
      durations.createdAt.map((createdAt, index) => [
        { content: formatInstant(createdAt), header: true },
        durations.status[index] ?? '',
        formatDuration(durations.durationMs[index]),
      ]),
    ),
  );
  if (durations.createdAt.length === 0 || span === null) {
    queueMicrotask(() => drawn?.());
    return section;
  }
  queueMicrotask(() => {
    const x = durations.createdAt.map((iso) => Date.parse(iso) / 1000);
    const ys = statuses.map((status) =>
      durations.durationMs.map((ms, index) => (durations.status[index] === status ? ms / 1000 : null)),
    );
    mount(
      canvas,
      span,
      {
        width: chartWidth(canvas),
        height: 240,
        tzDate: utc,
        legend: { show: false },
        cursor: { show: false },
        select: { show: false, left: 0, top: 0, width: 0, height: 0 },
        scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.05)] } },
        axes: axes('seconds'),
        series: [
          {},
          ...statuses.map((status) => ({
            label: status,
            stroke: statusColour(status),
            paths: () => null,
            points: { show: true, size: 5, fill: statusColour(status), stroke: statusColour(status) },
          })),
        ],
      },
      [x, ...ys] as uPlot.AlignedData,
      drawn,
    );
  });
  return section;
}

const SYNC_RUN_COLOURS = { requests: '#0072B2', duration: '#E69F00', failed: '#D55E00' } as const;

/**
 * The sync's runs over `span` (the period of the page; the runs' own days without one): API requests and
 * duration of each run, failed runs marked, with its table of numbers.
 */
export function syncRunsChart(runs: SyncRunsView, span: ChartSpan | null, drawn?: () => void): HTMLElement {
  const title = 'Sync runs: API requests and duration of each run, failed runs marked';
  const section = h('figure', { class: 'chart', 'data-chart': 'sync-runs', 'aria-label': title });
  const canvas = h('div', { class: 'chart-canvas' });
  const failed = runs.result.filter((result) => result === 'failed').length;
  append(
    section,
    h('figcaption', {}, title),
    runs.startedAt.length === 0 ? h('p', { class: 'empty' }, 'No sync run kept in this period.') : canvas,
    h(
      'ul',
      { class: 'legend', 'aria-hidden': 'true' },
      ...(
        [
          ['requests', 'API requests (left axis)'],
          ['duration', 'duration in seconds (right axis)'],
          ['failed', `failed runs (${formatCount(failed)})`],
        ] as const
      ).map(([key, label]) =>
        h(
          'li',
          {},
          h('span', { class: 'status' }, h('span', { class: 'swatch', 'data-series': key }), label),
        ),
      ),
    ),
    runs.more
      ? h(
          'p',
          { class: 'note' },
          `The newest ${formatCount(runs.startedAt.length)} runs of the period are drawn.`,
        )
      : null,
    dataTable(
      'Sync runs: started, result, API requests, throttled, duration, error',
      ['Started', 'Result', 'Requests', 'Throttled', 'Duration', 'Error'],
      runs.startedAt.map((startedAt, index) => [
        { content: formatInstant(startedAt), header: true },
        runs.result[index] ?? '',
        formatCount(runs.apiRequests[index] ?? 0),
        formatCount(runs.throttled[index] ?? 0),
        formatDuration(runs.durationMs[index]),
        runs.error[index] ?? '–',
      ]),
    ),
  );
  const chartSpan = span ?? instantsSpan(runs.startedAt);
  if (runs.startedAt.length === 0 || chartSpan === null) {
    queueMicrotask(() => drawn?.());
    return section;
  }
  queueMicrotask(() => {
    const x = runs.startedAt.map((iso) => Date.parse(iso) / 1000);
    const stroke = themeColour('--fg-muted');
    const grid = { stroke: themeColour('--grid'), width: 1 };
    const points = (colour: string, size: number) => ({ show: true, size, fill: colour, stroke: colour });
    mount(
      canvas,
      chartSpan,
      {
        width: chartWidth(canvas),
        height: 240,
        tzDate: utc,
        legend: { show: false },
        cursor: { show: false },
        select: { show: false, left: 0, top: 0, width: 0, height: 0 },
        scales: {
          requests: { range: (_u, _min, max) => [0, Math.max(1, max * 1.05)] },
          seconds: { range: (_u, _min, max) => [0, Math.max(1, max * 1.05)] },
        },
        axes: [
          { stroke, grid, ticks: grid },
          { stroke, grid, ticks: grid, scale: 'requests', label: 'requests', size: 60 },
          {
            stroke,
            grid: { show: false },
            ticks: grid,
            scale: 'seconds',
            label: 'seconds',
            side: 1,
            size: 60,
          },
        ],
        series: [
          {},
          {
            label: 'requests',
            scale: 'requests',
            stroke: SYNC_RUN_COLOURS.requests,
            width: 1,
            points: points(SYNC_RUN_COLOURS.requests, 4),
          },
          {
            label: 'duration',
            scale: 'seconds',
            stroke: SYNC_RUN_COLOURS.duration,
            width: 1,
            points: points(SYNC_RUN_COLOURS.duration, 4),
          },
          {
            label: 'failed',
            scale: 'requests',
            stroke: SYNC_RUN_COLOURS.failed,
            paths: () => null,
            points: points(SYNC_RUN_COLOURS.failed, 10),
          },
        ],
      },
      [
        x,
        runs.apiRequests,
        runs.durationMs.map((ms) => ms / 1000),
        runs.apiRequests.map((requests, index) => (runs.result[index] === 'failed' ? requests : null)),
      ] as uPlot.AlignedData,
      drawn,
    );
  });
  return section;
}

function dataTable(
  caption: string,
  headers: readonly string[],
  rows: Parameters<typeof table>[2],
): HTMLElement {
  return h(
    'details',
    { class: 'chart-data' },
    h('summary', {}, 'Show the numbers as a table'),
    h('div', { class: 'table-scroll' }, table(caption, headers, rows)),
  );
}
