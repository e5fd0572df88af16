// Normalizes /api/stats answers into aligned series for the charts. The server does the
// aggregation; this only reshapes (bounded: buckets x groups).
import { parseTime } from "./format";
import type { Point, TimedPoint } from "./types";

export interface StatsPoint {
  t: number; // bucket start, unix seconds
  group: string;
  count: number;
  traces: number;
  errors: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  input_tokens: number;
  output_tokens: number;
  tokens: number;
  cost: number;
}

/** Totals over the whole range: a point without a bucket or group. */
export type StatsTotals = Omit<StatsPoint, "t" | "group">;

/** One bucket (or the totals, which have no `time`) of a GET /api/stats series. */
export function toPoint(p: Point | TimedPoint, group = ""): StatsPoint {
  const time = "time" in p ? p.time : null;
  return {
    t: time ? (parseTime(time)?.getTime() ?? 0) / 1000 : 0,
    group,
    count: p.count,
    traces: p.traces,
    errors: p.errors,
    p50: p.p50_ms,
    p95: p.p95_ms,
    p99: p.p99_ms,
    input_tokens: p.input_tokens,
    output_tokens: p.output_tokens,
    tokens: p.total_tokens,
    cost: p.cost_usd,
  };
}

export interface AlignedStats {
  x: number[];
  groups: string[];
  /** value[group][i] aligned with x; null where a group had no data in a bucket. */
  get: (group: string, field: keyof StatsPoint) => Array<number | null>;
  points: StatsPoint[];
}

export function align(points: StatsPoint[]): AlignedStats {
  const xs = [...new Set(points.map((p) => p.t))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const groups = [...new Set(points.map((p) => p.group))];
  const byGroup = new Map<string, StatsPoint[]>();
  for (const p of points) {
    const arr = byGroup.get(p.group) ?? [];
    arr.push(p);
    byGroup.set(p.group, arr);
  }
  return {
    x: xs,
    groups,
    points,
    get: (group, field) => {
      const out: Array<number | null> = xs.map(() => null);
      for (const p of byGroup.get(group) ?? []) out[index.get(p.t)!] = p[field] as number | null;
      return out;
    },
  };
}
