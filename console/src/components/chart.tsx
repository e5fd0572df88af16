// Time-series charts drawn by uPlot (canvas). The data arrive aggregated by the server;
// this only lays them out.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export const PALETTE = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#be185d", "#4d7c0f", "#475569", "#ea580c"];

export interface SeriesSpec {
  label: string;
  values: Array<number | null>;
  color?: string;
  /** Dashed line, for series that would hide one drawn before them. */
  dash?: boolean;
}

export interface ChartProps {
  title: string;
  /** Bucket start times, unix seconds. */
  x: number[];
  series: SeriesSpec[];
  format?: (v: number) => string;
  height?: number;
  stacked?: boolean;
  bars?: boolean;
  /** Counts: ticks on whole numbers only. */
  integer?: boolean;
}

/** Stack series so each value is drawn on top of the previous ones. */
function stack(series: SeriesSpec[]): SeriesSpec[] {
  const acc: number[] = [];
  return series.map((s) => ({
    ...s,
    values: s.values.map((v, i) => {
      acc[i] = (acc[i] ?? 0) + (v ?? 0);
      return acc[i];
    }),
  }));
}

/** Dots only on the buckets that have data, and only for sparse series (else lines). */
function sparsePoints(values: Array<number | null>, bars: boolean): uPlot.Series.Points {
  const idx: number[] = [];
  values.forEach((v, i) => {
    if (v !== null && v !== 0) idx.push(i);
  });
  if (bars || idx.length >= 12) return { show: false };
  return { show: true, size: 6, filter: idx };
}

export function Chart({ title, x, series, format, height = 200, stacked = false, bars = false, integer = false }: ChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const fmt = format ?? ((v: number) => String(v));
    // Stacked series are drawn tallest first so each smaller one stays visible on top.
    const ordered = stacked ? stack(series).reverse() : series;
    const drawn = ordered;
    const source = stacked ? [...series].reverse() : series;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
      axes: [
        { stroke: "#4b5563", grid: { stroke: "#e5e7eb" }, ticks: { stroke: "#d1d5db" } },
        {
          stroke: "#4b5563",
          grid: { stroke: "#e5e7eb" },
          ticks: { stroke: "#d1d5db" },
          size: 64,
          incrs: integer ? [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 50_000, 100_000, 1e6] : undefined,
          values: (_u, vals) => vals.map((v) => (v === null ? "" : fmt(v))),
        },
      ],
      series: [
        { label: "time" },
        ...drawn.map((s, i) => {
          const color = s.color ?? PALETTE[(stacked ? series.length - 1 - i : i) % PALETTE.length];
          return {
            label: s.label,
            stroke: color,
            width: s.dash ? 1.5 : 2,
            dash: s.dash ? [5, 4] : undefined,
            fill: bars ? color + "d9" : stacked ? color + "55" : undefined,
            paths: bars ? uPlot.paths.bars!({ size: [0.7, 40] }) : undefined,
            // Sparse series (a few buckets with data) would be invisible as lines.
            points: sparsePoints(source[i].values, bars),
            // The legend shows a bucket's own value, not the stacked running total.
            value: (_u: uPlot, v: number | null, _s: number, idx: number | null) => {
              const own = idx === null || idx === undefined ? v : source[i].values[idx];
              return own === null || own === undefined ? "–" : fmt(own);
            },
            spanGaps: false,
          } as uPlot.Series;
        }),
      ],
    };
    const data = [x, ...drawn.map((s) => s.values)] as uPlot.AlignedData;
    plot.current = new uPlot(opts, data, el);
    const ro = new ResizeObserver(() => {
      if (plot.current && el.clientWidth > 0) plot.current.setSize({ width: el.clientWidth, height });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [x, series, height, stacked, bars, format, integer]);

  return (
    <figure class="chart" data-chart={title}>
      <figcaption>{title}</figcaption>
      {x.length === 0 ? <div class="chart-empty">No data in this range</div> : <div ref={host} class="chart-host" />}
    </figure>
  );
}
