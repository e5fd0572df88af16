// Accessors over the evals API (issue 7): runs, a run's rows, comparisons, datasets.
// Field names are read through these helpers so the views stay readable.

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (v === null || v === undefined ? "" : String(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined || v === "" || Number.isNaN(Number(v)) ? null : Number(v));

export function runId(r: Obj): string {
  return str(r.id ?? r.run_id);
}

export function runEval(r: Obj): string {
  return str(r.eval ?? r.eval_name ?? r.name);
}

export function runDataset(r: Obj): string {
  const d = r.dataset ?? r.dataset_version ?? r.dataset_ref;
  if (isObj(d)) return [d.name, d.version].filter(Boolean).join(":");
  return str(d);
}

export function runStarted(r: Obj): string {
  return str(r.started_at ?? r.start_time ?? r.created_at ?? r.start);
}

export interface ScorerSummary {
  scorer: string;
  mean: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  n: number | null;
  kind: string;
  extra: Obj;
}

function toSummary(name: string, v: unknown): ScorerSummary {
  const o = isObj(v) ? v : { mean: v };
  const ci = Array.isArray(o.ci) ? o.ci : Array.isArray(o.ci95) ? o.ci95 : null;
  return {
    scorer: str(o.scorer ?? o.name ?? name),
    mean: numOrNull(o.mean ?? o.pass_rate ?? o.value),
    ciLow: numOrNull(o.ci_low ?? o.ci_lower ?? (ci ? ci[0] : null)),
    ciHigh: numOrNull(o.ci_high ?? o.ci_upper ?? (ci ? ci[1] : null)),
    n: numOrNull(o.n ?? o.count),
    kind: str(o.kind ?? o.type ?? (o.pass_rate !== undefined ? "pass_fail" : "")),
    extra: isObj(o.summary) ? o.summary : {},
  };
}

export function runSummaries(r: Obj): ScorerSummary[] {
  const s = r.summaries ?? r.scorers ?? r.scores ?? r.summary;
  if (Array.isArray(s)) return s.map((x, i) => toSummary(String(i), x));
  if (isObj(s)) return Object.entries(s).map(([k, v]) => toSummary(k, v));
  return [];
}

export interface ScorerDelta {
  scorer: string;
  a: number | null;
  b: number | null;
  delta: number | null;
  pValue: number | null;
  test: string;
  verdict: string;
}

export function compareScorers(c: Obj): ScorerDelta[] {
  const s = c.scorers ?? c.deltas ?? c.summaries ?? c.comparisons;
  const entries: Array<[string, unknown]> = Array.isArray(s) ? s.map((x, i) => [String(i), x]) : isObj(s) ? Object.entries(s) : [];
  return entries.map(([k, v]) => {
    const o = isObj(v) ? v : {};
    const a = o.a ?? o.baseline ?? o.a_mean ?? o.baseline_mean;
    const b = o.b ?? o.candidate ?? o.b_mean ?? o.candidate_mean;
    const av = isObj(a) ? numOrNull(a.mean ?? a.pass_rate) : numOrNull(a);
    const bv = isObj(b) ? numOrNull(b.mean ?? b.pass_rate) : numOrNull(b);
    return {
      scorer: str(o.scorer ?? o.name ?? k),
      a: av,
      b: bv,
      delta: numOrNull(o.delta ?? (av !== null && bv !== null ? bv - av : null)),
      pValue: numOrNull(o.p_value ?? o.pvalue ?? o.p),
      test: str(o.test ?? o.method),
      verdict: str(o.verdict ?? o.status ?? "unchanged"),
    };
  });
}

export interface ChangedRow {
  key: string;
  scorer: string;
  flip: string; // "pass->fail", "fail->pass" or ""
  a: unknown;
  b: unknown;
  input: unknown;
  aTrace: string;
  bTrace: string;
  aOutput: unknown;
  bOutput: unknown;
}

export function changedRows(c: Obj): ChangedRow[] {
  const rows = (c.changed_rows ?? c.rows ?? c.changed ?? []) as unknown[];
  const flipped = (c.flipped ?? c.flipped_rows ?? []) as unknown[];
  const toRow = (v: unknown, defaultFlip: string): ChangedRow => {
    const o = isObj(v) ? v : {};
    const a = isObj(o.a) ? o.a : isObj(o.baseline) ? o.baseline : {};
    const b = isObj(o.b) ? o.b : isObj(o.candidate) ? o.candidate : {};
    return {
      key: str(o.row_key ?? o.key ?? o.row_index ?? o.index ?? o.row),
      scorer: str(o.scorer ?? o.name),
      flip: str(o.flip ?? o.change ?? defaultFlip),
      a: o.a_score ?? o.a_value ?? a.score ?? a.value ?? a.scores,
      b: o.b_score ?? o.b_value ?? b.score ?? b.value ?? b.scores,
      input: o.input ?? o.inputs ?? a.input ?? b.input,
      aTrace: str(o.a_trace_id ?? a.trace_id),
      bTrace: str(o.b_trace_id ?? b.trace_id),
      aOutput: o.a_output ?? a.output,
      bOutput: o.b_output ?? b.output,
    };
  };
  const out = [...flipped.map((v) => toRow(v, "pass->fail")), ...rows.map((v) => toRow(v, ""))];
  // Flipped pass->fail first: they are what broke.
  const rank = (r: ChangedRow) => (r.flip.replace(/\s/g, "").toLowerCase() === "pass->fail" ? 0 : r.flip ? 1 : 2);
  const seen = new Set<string>();
  return out
    .filter((r) => {
      const k = `${r.key}|${r.scorer}|${r.flip}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort((x, y) => rank(x) - rank(y));
}
