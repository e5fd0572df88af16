// One evaluation run: what it read and ran, per-scorer summaries, and every row with
// its scores and a link to its trace.
import { ErrorBanner, Loading, OffsetPager, Value } from "../components/common";
import { fmtScore, ScoreWithCI } from "../components/scores";
import { SealBadge, SealPanel } from "../components/seal";
import { useApi } from "../lib/api";
import { isObj, runDataset, runEval, runId, runStarted, runStats, runSummaries, type Obj } from "../lib/evals";
import { fmtCost, fmtInt, fmtMs, fmtTime } from "../lib/format";
import { Link, setQuery } from "../lib/router";
import { fmtParams } from "./Evals";

function scoreCell(v: unknown): string {
  if (isObj(v)) {
    if (v.error) return `error: ${String(v.error)}`;
    const value = v.value ?? v.score;
    if (typeof v.passed === "boolean" && typeof value === "number") return `${fmtScore(value)} · ${v.passed ? "pass" : "fail"}`;
    return scoreCell(value ?? v.passed);
  }
  if (typeof v === "boolean") return v ? "pass" : "fail";
  if (typeof v === "number") return fmtScore(v);
  return v === null || v === undefined ? "–" : String(v);
}

const ROWS_PAGE = 200;

export function EvalRunView({ project, runId: id, query }: { project: string; runId: string; query: URLSearchParams }) {
  const offset = Math.max(0, Number(query.get("offset") ?? 0) || 0);
  const run = useApi<Obj>(`/api/evals/runs/${encodeURIComponent(id)}`, { project: project || undefined, limit: ROWS_PAGE, offset });
  const r = (run.data && isObj(run.data.run) ? { ...run.data, ...(run.data.run as Obj) } : run.data) as Obj | undefined;
  const rows = (r?.rows ?? r?.results ?? []) as Obj[];
  const st = runStats(r ?? {});
  const scoresOf = (row: Obj): Record<string, unknown> => {
    // The API lists a row's scores as [{scorer, value, passed, reason}].
    if (Array.isArray(row.scores)) return Object.fromEntries((row.scores as Obj[]).map((s) => [String(s.scorer), s]));
    return isObj(row.scores) ? row.scores : {};
  };
  const scorerNames = [...new Set(rows.flatMap((row) => Object.keys(scoresOf(row))))];
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
              {runEval(r)} <span class="muted">run {runId(r).slice(0, 12)}</span>{" "}
              <SealBadge runId={runId(r)} project={project} />
            </h1>
            <dl class="facts inline">
              <div><dt>Started</dt><dd>{fmtTime(runStarted(r))}</dd></div>
              <div><dt>Dataset</dt><dd>{runDataset(r) || "–"}</dd></div>
              {r.suite ? <div><dt>Suite</dt><dd>{String(r.suite)}</dd></div> : null}
              {fmtParams(r.params) ? <div><dt>Params</dt><dd>{fmtParams(r.params)}</dd></div> : null}
              {isObj(r.code) && r.code.git_commit ? <div><dt>Code</dt><dd><code>{String(r.code.git_commit).slice(0, 12)}</code>{r.code.git_dirty ? " (dirty)" : ""}</dd></div> : null}
              <div><dt>Rows</dt><dd>{String(r.rows_total ?? rows.length)}</dd></div>
              {r.status ? <div><dt>Status</dt><dd>{String(r.status)}</dd></div> : null}
              {st.ok !== null ? <div><dt>Outcome</dt><dd>{st.ok} ok{st.errors ? <span class="error-text"> · {st.errors} errors</span> : null}{st.timeouts ? <span class="error-text"> · {st.timeouts} timeouts</span> : null}</dd></div> : null}
              {st.p50 !== null ? <div><dt>Latency</dt><dd>p50 {fmtMs(st.p50)} · p95 {fmtMs(st.p95)}</dd></div> : null}
              {st.tokens ? <div><dt>Tokens</dt><dd>{fmtInt(st.tokens)}</dd></div> : null}
              {st.cost !== null || st.scorerCost !== null ? <div><dt>Cost</dt><dd>{fmtCost(st.cost)}{st.scorerCost ? ` (+ ${fmtCost(st.scorerCost)} scoring)` : ""}</dd></div> : null}
              {st.durationS !== null ? <div><dt>Took</dt><dd>{fmtMs(st.durationS * 1000)}</dd></div> : null}
            </dl>
          </div>
          <SealPanel runId={runId(r)} project={project} />
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
                      <td class="cell-json"><Value value={row.inputs ?? row.row ?? row.input} /></td>
                      <td class="cell-json">{row.error ? <span class="error-text">{String(row.error)}</span> : <Value value={row.output} />}</td>
                      {scorerNames.map((s) => {
                        const sc = scoresOf(row)[s];
                        const reason = isObj(sc) && sc.reason ? String(sc.reason) : undefined;
                        return <td key={s} title={reason} class={isObj(sc) && sc.passed === false ? "error-text" : ""}>{scoreCell(sc)}</td>;
                      })}
                      <td class="num">{fmtMs(Number(row.latency_ms ?? row.duration_ms ?? NaN))}</td>
                      <td class="num">{fmtCost(row.cost_usd === undefined || row.cost_usd === null ? null : Number(row.cost_usd))}</td>
                      <td>{trace ? <Link href={`/traces/${trace}${pq}`}>trace</Link> : "–"}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <OffsetPager offset={offset} limit={ROWS_PAGE} total={Number(r.rows_total ?? rows.length)} onChange={(o) => setQuery({ offset: o ? String(o) : null })} />
        </>
      ) : null}
    </div>
  );
}
