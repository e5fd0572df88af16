// Normalizes /api/stats answers into aligned series for the charts. The server does the
// aggregation; this only reshapes (bounded: buckets x groups).
import { parseTime } from "./format";

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

export interface StatsTotals {
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

type Obj = Record<string, unknown>;
const num = (v: unknown): number => (v === null || v === undefined || v === "" ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined || v === "" ? null : Number(v));

function pick(o: Obj, ...keys: string[]): unknown {
  for (const k of keys) if (o[k] !== undefined) return o[k];
  return undefined;
}

export function toPoint(o: Obj, group = ""): StatsPoint {
  const t = pick(o, "time", "bucket", "t", "start", "bucket_start", "timestamp");
  const ts = typeof t === "number" ? (t > 1e12 ? t / 1000 : t) : (parseTime(String(t ?? ""))?.getTime() ?? 0) / 1000;
  const input = num(pick(o, "input_tokens"));
  const output = num(pick(o, "output_tokens"));
  const tokens = num(pick(o, "total_tokens", "tokens") ?? input + output) || input + output;
  return {
    t: ts,
    group: String(pick(o, "group", "key", "value") ?? group ?? ""),
    count: num(pick(o, "count", "spans", "requests", "span_count")),
    traces: num(pick(o, "traces", "trace_count")),
    errors: num(pick(o, "errors", "error_count")),
    p50: numOrNull(pick(o, "p50_ms", "p50", "latency_p50_ms")),
    p95: numOrNull(pick(o, "p95_ms", "p95", "latency_p95_ms")),
    p99: numOrNull(pick(o, "p99_ms", "p99", "latency_p99_ms")),
    input_tokens: input,
    output_tokens: output,
    tokens,
    cost: num(pick(o, "cost_usd", "cost")),
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
