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
  if (isObj(d)) {
    const named = [d.name, d.version].filter(Boolean).join(":");
    // An inline dataset (a list in the suite) has no name: show its content version id.
    return named || (d.version_id ? `@${String(d.version_id).slice(0, 12)}` : "");
  }
  return str(d);
}

export function runStarted(r: Obj): string {
  return str(r.started_at ?? r.start_time ?? r.created_at ?? r.start);
}

export interface ScorerSummary {
  scorer: string;
  mean: number | null;
  passRate: number | null;
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
    passRate: numOrNull(o.pass_rate),
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
  kind: string;
  higherIsBetter: boolean;
  ciLow: number | null;
  ciHigh: number | null;
  nShared: number | null;
  worse: number | null;
  better: number | null;
  a: number | null;
  b: number | null;
  delta: number | null;
  pValue: number | null;
  /** Holm–Bonferroni adjusted over every test of the run (what the verdict used). */
  pAdjusted: number | null;
  /** The practical threshold that applied (absolute). */
  minDelta: number | null;
  test: string;
  verdict: string;
}

export function compareScorers(c: Obj): ScorerDelta[] {
  const s = c.scorers ?? c.deltas ?? c.summaries ?? c.comparisons;
  const entries: Array<[string, unknown]> = Array.isArray(s) ? s.map((x, i) => [String(i), x]) : isObj(s) ? Object.entries(s) : [];
  return entries.map(([k, v]) => {
    const o = isObj(v) ? v : {};
    const a = o.baseline ?? o.a ?? o.a_mean;
    const b = o.current ?? o.b ?? o.candidate ?? o.b_mean;
    const av = isObj(a) ? numOrNull(a.mean ?? a.pass_rate) : numOrNull(a);
    const bv = isObj(b) ? numOrNull(b.mean ?? b.pass_rate) : numOrNull(b);
    const ci = Array.isArray(o.delta_ci) ? o.delta_ci : [null, null];
    return {
      scorer: str(o.scorer ?? o.name ?? k),
      kind: str(o.kind),
      higherIsBetter: o.higher_is_better !== false,
      ciLow: numOrNull(ci[0]),
      ciHigh: numOrNull(ci[1]),
      nShared: numOrNull(o.n_shared),
      worse: numOrNull(o.worse),
      better: numOrNull(o.better),
      a: av,
      b: bv,
      delta: numOrNull(o.delta ?? (av !== null && bv !== null ? bv - av : null)),
      pValue: numOrNull(o.p_value ?? o.pvalue ?? o.p),
      pAdjusted: numOrNull(o.p_adjusted),
      minDelta: numOrNull(o.min_delta),
      test: str(o.test ?? o.method),
      verdict: str(o.verdict ?? o.status ?? "unchanged"),
    };
  });
}

export interface Gate {
  gate: string;
  label: string;
  limit: number | null;
  baseline: number | null;
  current: number | null;
  ratio: number | null;
  nShared: number | null;
  pValue: number | null;
  pAdjusted: number | null;
  test: string;
  verdict: string;
}

/** The latency/cost gates of a comparison (empty unless the run set limits). */
export function compareGates(c: Obj): Gate[] {
  const gates = Array.isArray(c.gates) ? c.gates : [];
  return gates.filter(isObj).map((o) => ({
    gate: str(o.gate),
    label: str(o.label ?? o.gate),
    limit: numOrNull(o.limit),
    baseline: numOrNull(o.baseline),
    current: numOrNull(o.current),
    ratio: numOrNull(o.ratio),
    nShared: numOrNull(o.n_shared),
    pValue: numOrNull(o.p_value),
    pAdjusted: numOrNull(o.p_adjusted),
    test: str(o.test),
    verdict: str(o.verdict ?? "n/a"),
  }));
}

/** Why the current run fails the gate, task failures first (empty when it passes). */
export function compareFailures(c: Obj): string[] {
  return Array.isArray(c.failures) ? c.failures.map((f) => str(f)) : [];
}

export interface RowSide {
  status: string;
  output: unknown;
  error: string | null;
  traceId: string;
  scores: Record<string, { value: unknown; passed: boolean | null }>;
}

export interface ComparedRow {
  rowId: string;
  rowIndex: number | null;
  /** The row's inputs (the current run's, else the baseline's); undefined from older collectors. */
  inputs: unknown;
  /** scorer -> "pass->fail" | "fail->pass" */
  flips: Record<string, string>;
  a: RowSide | null;
  b: RowSide | null;
  /** Any flip, a changed score value, or a changed status. */
  changed: boolean;
  worse: boolean;
}

function side(v: unknown): RowSide | null {
  if (!isObj(v)) return null;
  const scores: RowSide["scores"] = {};
  if (isObj(v.scores)) {
    for (const [k, x] of Object.entries(v.scores)) {
      const o = isObj(x) ? x : { value: x };
      scores[k] = { value: o.value, passed: typeof o.passed === "boolean" ? o.passed : null };
    }
  }
  return { status: str(v.status), output: v.output, error: v.error ? str(v.error) : null, traceId: str(v.trace_id), scores };
}

/** The compare answer's rows (flipped pass->fail first, as the server orders them). */
export function comparedRows(c: Obj): ComparedRow[] {
  const rows = Array.isArray(c.rows) ? (c.rows as unknown[]) : [];
  return rows.map((v) => {
    const o = isObj(v) ? v : {};
    const flips: Record<string, string> = {};
    if (isObj(o.flips)) for (const [k, d] of Object.entries(o.flips)) flips[k] = str(d);
    const a = side(o.a);
    const b = side(o.b);
    const names = new Set([...Object.keys(a?.scores ?? {}), ...Object.keys(b?.scores ?? {})]);
    let changed = Object.keys(flips).length > 0 || !a || !b || a.status !== b.status;
    for (const n of names) {
      if (JSON.stringify(a?.scores[n]?.value) !== JSON.stringify(b?.scores[n]?.value)) changed = true;
    }
    return {
      rowId: str(o.row_id),
      rowIndex: numOrNull(o.row_index),
      inputs: o.inputs,
      flips,
      a,
      b,
      changed,
      worse: Object.values(flips).some((d) => d.replace(/\s/g, "") === "pass->fail"),
    };
  });
}

export interface RunStats {
  ok: number | null;
  errors: number | null;
  timeouts: number | null;
  p50: number | null;
  p95: number | null;
  tokens: number | null;
  cost: number | null;
  scorerCost: number | null;
  durationS: number | null;
}

/** The run-level stats `evals run` stores (latency percentiles, tokens, cost, outcome counts). */
export function runStats(r: Obj): RunStats {
  const st = isObj(r.stats) ? r.stats : {};
  const lat = isObj(st.latency_ms) ? st.latency_ms : {};
  const tok = isObj(st.tokens) ? st.tokens : {};
  return {
    ok: numOrNull(st.ok),
    errors: numOrNull(st.errors),
    timeouts: numOrNull(st.timeouts),
    p50: numOrNull(lat.p50),
    p95: numOrNull(lat.p95),
    tokens: numOrNull(tok.total),
    cost: numOrNull(st.cost_usd),
    scorerCost: numOrNull(st.scorer_cost_usd),
    durationS: numOrNull(st.duration_s),
  };
}
