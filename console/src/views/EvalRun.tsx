// One evaluation run: what it read and ran, per-scorer summaries, and every row with
// its scores and a link to its trace.
import { ErrorBanner, JsonView, Loading } from "../components/common";
import { fmtScore, ScoreWithCI } from "../components/scores";
import { useApi } from "../lib/api";
import { isObj, runDataset, runEval, runId, runStarted, runSummaries, type Obj } from "../lib/evals";
import { fmtCost, fmtMs, fmtTime } from "../lib/format";
import { Link } from "../lib/router";

function scoreCell(v: unknown): string {
  if (isObj(v)) return scoreCell(v.value ?? v.score ?? v.passed);
  if (typeof v === "boolean") return v ? "pass" : "fail";
  if (typeof v === "number") return fmtScore(v);
  return v === null || v === undefined ? "–" : String(v);
}

export function EvalRunView({ project, runId: id }: { project: string; runId: string }) {
  const run = useApi<Obj>(`/api/evals/runs/${encodeURIComponent(id)}`, { project: project || undefined });
  const r = (run.data && isObj(run.data.run) ? { ...run.data, ...(run.data.run as Obj) } : run.data) as Obj | undefined;
  const rows = (r?.rows ?? r?.results ?? []) as Obj[];
  const scorerNames = [...new Set(rows.flatMap((row) => (isObj(row.scores) ? Object.keys(row.scores) : [])))];
  const pq = project ? `?project=${encodeURIComponent(project)}` : "";
  return (
    <div class="view eval-run-view">
      <div class="breadcrumb">
        <Link href={`/evals${pq}`}>← Evaluations</Link>
      </div>
      <ErrorBanner error={run.error} what={`run ${id}`} />
      {run.loading && !run.data ? <Loading /> : null}
      {r ? (
        <>
          <div class="trace-head">
            <h1>
              {runEval(r)} <span class="muted">run {runId(r).slice(0, 12)}</span>
            </h1>
            <dl class="facts inline">
              <div><dt>Started</dt><dd>{fmtTime(runStarted(r))}</dd></div>
              <div><dt>Dataset</dt><dd>{runDataset(r) || "–"}</dd></div>
              {r.suite ? <div><dt>Suite</dt><dd>{String(r.suite)}</dd></div> : null}
              {r.params && Object.keys(r.params as Obj).length ? <div><dt>Params</dt><dd><code>{JSON.stringify(r.params)}</code></dd></div> : null}
              {r.code_version || r.git_commit ? <div><dt>Code</dt><dd><code>{String(r.code_version ?? r.git_commit)}</code>{r.git_dirty ? " (dirty)" : ""}</dd></div> : null}
              <div><dt>Rows</dt><dd>{rows.length}</dd></div>
            </dl>
          </div>
          <div class="cards">
            {runSummaries(r).map((s) => (
              <div class="card" key={s.scorer} data-scorer={s.scorer}>
                <div class="label">{s.scorer}</div>
                <div class="value"><ScoreWithCI s={s} /></div>
              </div>
            ))}
          </div>
          <div class="table-wrap">
            <table class="table run-rows">
              <thead>
                <tr>
                  <th>#</th>
                  <th>Input</th>
                  <th>Output</th>
                  {scorerNames.map((s) => <th key={s}>{s}</th>)}
                  <th class="num">Latency</th>
                  <th class="num">Cost</th>
                  <th>Trace</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((row, i) => {
                  const trace = String(row.trace_id ?? "");
                  return (
                    <tr key={i} class={row.error ? "row-error" : ""}>
                      <td class="num">{String(row.row_index ?? row.index ?? i)}</td>
                      <td class="cell-json"><JsonView value={row.input ?? row.inputs} /></td>
                      <td class="cell-json">{row.error ? <span class="error-text">{String(row.error)}</span> : <JsonView value={row.output} />}</td>
                      {scorerNames.map((s) => <td key={s}>{scoreCell((row.scores as Obj)[s])}</td>)}
                      <td class="num">{fmtMs(Number(row.latency_ms ?? row.duration_ms ?? NaN))}</td>
                      <td class="num">{fmtCost(row.cost_usd === undefined ? null : Number(row.cost_usd))}</td>
                      <td>{trace ? <Link href={`/traces/${trace}${pq}`}>trace</Link> : "–"}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
    </div>
  );
}
