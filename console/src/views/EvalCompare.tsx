// Two runs side by side: per-scorer deltas with the paired test's verdict, then the rows
// that changed, flipped pass->fail first, each linking to both traces.
import { ErrorBanner, JsonView, Loading } from "../components/common";
import { fmtScore, ScoreWithCI, VerdictBadge } from "../components/scores";
import { useApi } from "../lib/api";
import { changedRows, compareScorers, isObj, runDataset, runEval, runId, runStarted, runSummaries, type Obj } from "../lib/evals";
import { fmtNum, fmtTime } from "../lib/format";
import { Link } from "../lib/router";

function RunCard({ label, run }: { label: string; run: Obj | undefined }) {
  if (!run) return null;
  return (
    <div class="panel" data-side={label}>
      <h3>
        {label}: {runEval(run)} <span class="muted">{runId(run).slice(0, 12)}</span>
      </h3>
      <p class="muted small">
        {fmtTime(runStarted(run))} · {runDataset(run)}
        {run.params && Object.keys(run.params as Obj).length ? ` · ${JSON.stringify(run.params)}` : ""}
      </p>
      <ul class="list">
        {runSummaries(run).map((s) => (
          <li key={s.scorer}>
            {s.scorer}: <ScoreWithCI s={s} />
          </li>
        ))}
      </ul>
    </div>
  );
}

function val(v: unknown): string {
  if (isObj(v)) return val(v.value ?? v.score ?? v.passed);
  if (typeof v === "boolean") return v ? "pass" : "fail";
  if (typeof v === "number") return fmtScore(v);
  return v === null || v === undefined ? "–" : String(v);
}

export function EvalCompareView({ project, query }: { project: string; query: URLSearchParams }) {
  const a = query.get("a") ?? "";
  const b = query.get("b") ?? "";
  const cmp = useApi<Obj>(a && b ? "/api/evals/compare" : null, { a, b, project: project || undefined });
  const c = cmp.data;
  const runA = c && isObj(c.a) ? (c.a as Obj) : c && isObj(c.baseline) ? (c.baseline as Obj) : undefined;
  const runB = c && isObj(c.b) ? (c.b as Obj) : c && isObj(c.candidate) ? (c.candidate as Obj) : undefined;
  const deltas = c ? compareScorers(c) : [];
  const rows = c ? changedRows(c) : [];
  const regressed = deltas.filter((d) => d.verdict.toLowerCase() === "regressed").length;
  const pq = project ? `?project=${encodeURIComponent(project)}` : "";
  return (
    <div class="view compare-view">
      <div class="breadcrumb">
        <Link href={`/evals${pq}`}>← Evaluations</Link>
      </div>
      <div class="view-head">
        <h1>Compare runs</h1>
        {c ? (
          regressed ? (
            <span class="badge verdict-regressed" role="status">{regressed} scorer{regressed > 1 ? "s" : ""} regressed</span>
          ) : (
            <span class="badge verdict-unchanged" role="status">no regression</span>
          )
        ) : null}
      </div>
      {!a || !b ? <ErrorBanner error={new Error("Pick two runs on the Evaluations page (this page needs ?a=RUN&b=RUN).")} /> : null}
      <ErrorBanner error={cmp.error} what="the comparison" />
      {cmp.loading && !c ? <Loading /> : null}
      {c ? (
        <>
          <div class="side-by-side">
            <RunCard label="A (baseline)" run={runA} />
            <RunCard label="B (candidate)" run={runB} />
          </div>
          <div class="table-wrap">
            <table class="table deltas">
              <thead>
                <tr>
                  <th>Scorer</th>
                  <th class="num">A</th>
                  <th class="num">B</th>
                  <th class="num">Δ (B − A)</th>
                  <th class="num">p-value</th>
                  <th>Test</th>
                  <th>Verdict</th>
                </tr>
              </thead>
              <tbody>
                {deltas.map((d) => (
                  <tr key={d.scorer} data-scorer={d.scorer} data-verdict={d.verdict.toLowerCase()}>
                    <td>{d.scorer}</td>
                    <td class="num">{fmtScore(d.a)}</td>
                    <td class="num">{fmtScore(d.b)}</td>
                    <td class={`num ${d.delta !== null && d.delta < 0 ? "delta-neg" : d.delta ? "delta-pos" : ""}`}>{d.delta === null ? "–" : `${d.delta > 0 ? "+" : ""}${fmtNum(d.delta, 3)}`}</td>
                    <td class="num">{d.pValue === null ? "–" : d.pValue < 0.001 ? "<0.001" : d.pValue.toFixed(3)}</td>
                    <td class="muted">{d.test}</td>
                    <td><VerdictBadge verdict={d.verdict} /></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h2 class="section-title">Changed rows ({rows.length})</h2>
          {rows.length ? (
            <div class="table-wrap">
              <table class="table changed-rows">
                <thead>
                  <tr>
                    <th>Row</th>
                    <th>Scorer</th>
                    <th>Change</th>
                    <th>A</th>
                    <th>B</th>
                    <th>Input</th>
                    <th>Traces</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((r, i) => (
                    <tr key={i} class={r.flip.toLowerCase().replace(/\s/g, "") === "pass->fail" ? "row-error" : ""} data-flip={r.flip}>
                      <td class="num">{r.key}</td>
                      <td>{r.scorer}</td>
                      <td class="flip">{r.flip.replace("->", " → ") || "changed"}</td>
                      <td>{val(r.a)}</td>
                      <td>{val(r.b)}</td>
                      <td class="cell-json">{r.input !== undefined ? <JsonView value={r.input} /> : "–"}</td>
                      <td class="nowrap">
                        {r.aTrace ? <Link href={`/traces/${r.aTrace}${pq}`}>A</Link> : null}
                        {r.aTrace && r.bTrace ? " · " : null}
                        {r.bTrace ? <Link href={`/traces/${r.bTrace}${pq}`}>B</Link> : null}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <p class="muted">No row changed its score.</p>
          )}
        </>
      ) : null}
    </div>
  );
}
