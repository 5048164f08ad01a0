import uPlot from 'uplot';

/** Charts drawn so far; a chart is destroyed once the page holding it is replaced. */
let live: uPlot[] = [];

/** Destroys every chart not inside `page` (all of them without one). */
export function pruneCharts(page?: HTMLElement): void {
  const keep = live.filter((chart) => page?.contains(chart.root) === true);
  for (const chart of live) if (!keep.includes(chart)) chart.destroy();
  live = keep;
}

const seconds = (ms: readonly number[]): number[] => ms.map((t) => t / 1000);

/** Axes and legends in UTC, as every table on the dashboard is. */
const utc = (ts: number): Date => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC');

function draw(options: uPlot.Options, data: uPlot.AlignedData, into: HTMLElement): HTMLElement {
  live.push(new uPlot(options, data, into));
  return into;
}

/** A tiny line without axes: an audience's size over the range, for a table cell. */
export function sparkline(points: { at: number; size: number }[]): HTMLElement {
  const into = document.createElement('div');
  into.className = 'sparkline';
  return draw(
    {
      tzDate: utc,
      width: 140,
      height: 32,
      legend: { show: false },
      cursor: { show: false },
      axes: [{ show: false }, { show: false }],
      scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), Math.max(1, max)] } },
      series: [{}, { stroke: '#3158d4', width: 1.5, fill: 'rgba(49,88,212,0.08)' }],
    },
    [seconds(points.map((p) => p.at)), points.map((p) => p.size)],
    into,
  );
}

/** A titled time series with one or more lines. */
export function lines(
  title: string,
  at: number[],
  series: { label: string; values: number[]; color: string }[],
  width = 560,
): HTMLElement {
  const into = document.createElement('div');
  into.className = 'chart';
  return draw(
    {
      title,
      tzDate: utc,
      width,
      height: 220,
      scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), Math.max(1, max)] } },
      series: [{ label: 'UTC' }, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2 }))],
    },
    [seconds(at), ...series.map((s) => s.values)],
    into,
  );
}

/** Bars per bucket: enters up, exits down, so fill and drain read at a glance. */
export function flow(
  title: string,
  buckets: { at: number; enters: number; exits: number }[],
  width = 560,
): HTMLElement {
  const into = document.createElement('div');
  into.className = 'chart';
  const bars = uPlot.paths.bars!({ size: [0.7, 40] });
  return draw(
    {
      title,
      tzDate: utc,
      width,
      height: 220,
      scales: { x: { time: true } },
      axes: [{}, { values: (_u, splits) => splits.map((v) => String(Math.abs(v))) }],
      series: [
        { label: 'UTC' },
        { label: 'enters', stroke: '#1a7f4b', fill: 'rgba(26,127,75,0.6)', paths: bars },
        {
          label: 'exits',
          stroke: '#a23b3b',
          fill: 'rgba(162,59,59,0.6)',
          paths: bars,
          value: (_u, v) => (v === null ? '—' : String(-v)),
        },
      ],
    },
    [seconds(buckets.map((b) => b.at)), buckets.map((b) => b.enters), buckets.map((b) => -b.exits)],
    into,
  );
}
