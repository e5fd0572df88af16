// Two runs side by side: per-scorer deltas with the paired test's verdict, then the rows
// that changed, flipped pass->fail first, each linking to both traces.
import { useState } from "preact/hooks";
import { ErrorBanner, Loading, Value } from "../components/common";
import { fmtScore, VerdictBadge } from "../components/scores";
import { SealPanel } from "../components/seal";
import { useApi } from "../lib/api";
import { comparedRows, compareFailures, compareGates, compareScorers, isObj, runDataset, runEval, runId, runStarted, type ComparedRow, type Obj, type RowSide, type ScorerDelta } from "../lib/evals";
import { fmtNum, fmtTime } from "../lib/format";
import { Link } from "../lib/router";
import { fmtParams } from "./Evals";

/** Red when the change is bad for this scorer (lower-is-better scorers invert), green when good. */
function fmtP(p: number | null): string {
  return p === null ? "–" : p < 0.001 ? "<0.001" : p.toFixed(3);
}

function deltaClass(d: ScorerDelta): string {
  if (!d.delta) return "";
  const good = d.higherIsBetter ? d.delta > 0 : d.delta < 0;
  return good ? "delta-pos" : "delta-neg";
}

function RunCard({ label, run, pq, project }: { label: string; run: Obj | undefined; pq: string; project: string }) {
  if (!run) return null;
  const id = runId(run);
  return (
    <div class="panel" data-side={label}>
      <h3>
        {label}: {runEval(run)}{" "}
        <Link href={`/evals/runs/${id}${pq}`}>
          <code>{id.slice(0, 12)}</code>
        </Link>
      </h3>
      <p class="muted small">
        {fmtTime(runStarted(run))} · dataset {runDataset(run) || "–"}
        {run.status ? ` · ${String(run.status)}` : ""}
        {fmtParams(run.params) ? ` · ${fmtParams(run.params)}` : ""}
      </p>
      <SealPanel runId={id} project={project} />
    </div>
  );
}

function scoreText(s: RowSide | null, scorer: string): string {
  if (!s) return "(absent)";
  const v = s.scores[scorer];
  if (!v) return s.status !== "ok" ? s.status : "–";
  const verdict = v.passed === null ? "" : v.passed ? "pass" : "fail";
  if (typeof v.value === "boolean") return v.value ? "pass" : "fail";
  const value = typeof v.value === "number" ? fmtScore(v.value) : v.value === null || v.value === undefined ? "" : String(v.value);
  return [value, verdict].filter(Boolean).join(" · ") || "–";
}

/** What one run answered for a row: its output, its error, or that it lacks the row. */
function SideOutput({ side }: { side: RowSide | null }) {
  if (!side) return <span class="muted">(not in this run)</span>;
  if (side.error) return <span class="error-text">{side.error}</span>;
  return <Value value={side.output} />;
}

function RowLine({ r, scorers, pq }: { r: ComparedRow; scorers: string[]; pq: string }) {
  const flipped = Object.entries(r.flips);
  return (
    <tr class={r.worse ? "row-error" : ""} data-flip={r.worse ? "pass->fail" : flipped.length ? "fail->pass" : ""}>
      <td class="num">{r.rowIndex ?? "–"}</td>
      <td class="flip">
        {flipped.length
          ? flipped.map(([s, d]) => (
              <div key={s} class={d.replace(/\s/g, "") === "pass->fail" ? "error-text" : "ok-text"}>
                {s}: {d.replace("->", " → ")}
              </div>
            ))
          : r.a && r.b && r.a.status !== r.b.status
            ? `status ${r.a.status} → ${r.b.status}`
            : "score changed"}
      </td>
      {scorers.map((s) => (
        <td key={s} class="nowrap">
          {scoreText(r.a, s)} → <b>{scoreText(r.b, s)}</b>
        </td>
      ))}
      <td class="cell-json row-inputs">
        <Value value={r.inputs} />
      </td>
      <td class="cell-json output-a">
        <SideOutput side={r.a} />
      </td>
      <td class="cell-json output-b">
        <SideOutput side={r.b} />
      </td>
      <td class="nowrap">
        {r.a?.traceId ? <Link href={`/traces/${r.a.traceId}${pq}`}>A trace</Link> : null}
        {r.a?.traceId && r.b?.traceId ? " · " : null}
        {r.b?.traceId ? <Link href={`/traces/${r.b.traceId}${pq}`}>B trace</Link> : null}
      </td>
    </tr>
  );
}

export function EvalCompareView({ project, query }: { project: string; query: URLSearchParams }) {
  const a = query.get("a") ?? "";
  const b = query.get("b") ?? "";
  const [showAll, setShowAll] = useState(false);
  const cmp = useApi<Obj>(a && b ? "/api/evals/compare" : null, { a, b, project: project || undefined });
  const c = cmp.data;
  const runA = c && isObj(c.a) ? (c.a as Obj) : undefined;
  const runB = c && isObj(c.b) ? (c.b as Obj) : undefined;
  const deltas = c ? compareScorers(c) : [];
  const gates = c ? compareGates(c) : [];
  const failures = c ? compareFailures(c) : [];
  const rows = c ? comparedRows(c) : [];
  const changed = rows.filter((r) => r.changed);
  const shown = showAll ? rows : changed;
  const regressed = Array.isArray(c?.regressed) ? (c!.regressed as string[]) : [];
  const improved = Array.isArray(c?.improved) ? (c!.improved as string[]) : [];
  const scorerNames = deltas.map((d) => d.scorer).filter((s) => rows.some((r) => r.a?.scores[s] || r.b?.scores[s]));
  const pq = project ? `?project=${encodeURIComponent(project)}` : "";
  return (
    <div class="view compare-view">
      <div class="breadcrumb">
        <Link href={`/evals${pq}`}>← Evaluations</Link>
      </div>
      <div class="view-head">
        <h1>Compare runs</h1>
        {c ? (
          <span class="overall-verdict" role="status" data-verdict={String(c.verdict ?? "")}>
            <VerdictBadge verdict={String(c.verdict ?? "unchanged")} />{" "}
            {regressed.length ? <span class="error-text">regressed: {regressed.join(", ")}</span> : null}
            {improved.length ? <span class="ok-text"> improved: {improved.join(", ")}</span> : null}
          </span>
        ) : null}
      </div>
      {failures.length ? (
        <div class="error-banner gate-failures" role="alert">
          <strong>Gate failed:</strong>
          <ul>
            {failures.map((f) => (
              <li key={f}>{f}</li>
            ))}
          </ul>
        </div>
      ) : null}
      {!a || !b ? <ErrorBanner error={new Error("Pick two runs on the Evaluations page (this page needs ?a=RUN&b=RUN).")} /> : null}
      <ErrorBanner error={cmp.error} what="the comparison" />
      {cmp.loading && !c ? <Loading /> : null}
      {c ? (
        <>
          {c.same_dataset === false ? <div class="error-banner">The runs read different dataset versions: only the rows they share are paired.</div> : null}
          <div class="side-by-side">
            <RunCard label="A (baseline)" run={runA} pq={pq} project={project} />
            <RunCard label="B (current)" run={runB} pq={pq} project={project} />
          </div>
          <div class="table-wrap">
            <table class="table deltas">
              <thead>
                <tr>
                  <th>Scorer</th>
                  <th class="num">A</th>
                  <th class="num">B</th>
                  <th class="num">Δ (B − A)</th>
                  <th class="num">95% CI of Δ</th>
                  <th class="num">Rows worse / better</th>
                  <th class="num">min Δ</th>
                  <th class="num">p-value</th>
                  <th class="num" title="Holm–Bonferroni adjusted over every test of the run">p (Holm)</th>
                  <th>Test</th>
                  <th>Verdict</th>
                </tr>
              </thead>
              <tbody>
                {deltas.map((d) => (
                  <tr key={d.scorer} data-scorer={d.scorer} data-verdict={d.verdict.toLowerCase()} class={d.verdict.toLowerCase() === "regressed" ? "row-error" : ""}>
                    <td>{d.scorer}</td>
                    <td class="num">{fmtScore(d.a, d.kind)}</td>
                    <td class="num">{fmtScore(d.b, d.kind)}</td>
                    <td class={`num ${deltaClass(d)}`}>{d.delta === null ? "–" : `${d.delta > 0 ? "+" : ""}${fmtNum(d.delta, 3)}`}</td>
                    <td class="num ci">{d.ciLow === null || d.ciHigh === null ? "–" : `[${fmtNum(d.ciLow, 3)}, ${fmtNum(d.ciHigh, 3)}]`}</td>
                    <td class="num">{d.worse === null ? "–" : `${d.worse} / ${d.better ?? 0}`}</td>
                    <td class="num">{d.minDelta === null ? "–" : fmtNum(d.minDelta, 3)}</td>
                    <td class="num">{fmtP(d.pValue)}</td>
                    <td class="num p-adjusted">{fmtP(d.pAdjusted)}</td>
                    <td class="muted">{d.test || "–"}</td>
                    <td><VerdictBadge verdict={d.verdict} /></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {gates.length ? (
            <div class="table-wrap">
              <table class="table gates">
                <thead>
                  <tr>
                    <th>Gate</th>
                    <th class="num">A mean</th>
                    <th class="num">B mean</th>
                    <th class="num">B / A</th>
                    <th class="num">Limit</th>
                    <th class="num">p-value (one-sided)</th>
                    <th class="num">p (Holm)</th>
                    <th>Test</th>
                    <th>Verdict</th>
                  </tr>
                </thead>
                <tbody>
                  {gates.map((g) => (
                    <tr key={g.gate} data-gate={g.gate} data-verdict={g.verdict.toLowerCase()} class={g.verdict.toLowerCase() === "regressed" ? "row-error" : ""}>
                      <td>{g.label}</td>
                      <td class="num">{g.baseline === null ? "–" : fmtNum(g.baseline, 4)}</td>
                      <td class="num">{g.current === null ? "–" : fmtNum(g.current, 4)}</td>
                      <td class="num">{g.ratio === null ? "–" : `${fmtNum(g.ratio, 2)}×`}</td>
                      <td class="num">{g.limit === null ? "–" : `+${Math.round(g.limit * 100)}%`}</td>
                      <td class="num">{fmtP(g.pValue)}</td>
                      <td class="num">{fmtP(g.pAdjusted)}</td>
                      <td class="muted">{g.test || "–"}</td>
                      <td><VerdictBadge verdict={g.verdict} /></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
          <div class="view-head">
            <h2 class="section-title">
              {showAll ? `All rows (${rows.length}${Number(c.rows_total) > rows.length ? ` of ${String(c.rows_total)}` : ""})` : `Changed rows (${changed.length})`}
            </h2>
            <label class="toggle">
              <input type="checkbox" checked={showAll} onChange={(e) => setShowAll((e.target as HTMLInputElement).checked)} />
              Show unchanged rows too
            </label>
          </div>
          {shown.length ? (
            <div class="table-wrap">
              <table class="table changed-rows">
                <thead>
                  <tr>
                    <th>Row</th>
                    <th>Change</th>
                    {scorerNames.map((s) => (
                      <th key={s}>{s} (A → B)</th>
                    ))}
                    <th>Input</th>
                    <th>Output A (baseline)</th>
                    <th>Output B (current)</th>
                    <th>Traces</th>
                  </tr>
                </thead>
                <tbody>
                  {shown.map((r) => (
                    <RowLine key={r.rowId} r={r} scorers={scorerNames} pq={pq} />
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <p class="muted">No row changed its scores.</p>
          )}
        </>
      ) : null}
    </div>
  );
}
