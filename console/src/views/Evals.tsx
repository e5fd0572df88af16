// Evaluations: runs grouped by eval, each with its scorer summaries; pick two to compare.
import { useMemo, useState } from "preact/hooks";
import { CodeBlock, EmptyState, ErrorBanner, Loading } from "../components/common";
import { ScoreWithCI } from "../components/scores";
import { useApi } from "../lib/api";
import { isObj, runDataset, runEval, runId, runStarted, runStats, runSummaries, type Obj } from "../lib/evals";
import { VerdictBadge } from "../components/scores";
import { fmtCost, fmtMs, fmtTime } from "../lib/format";
import { Link, navigate } from "../lib/router";

const SUITE_EXAMPLE = `from evals import Eval, dataset
from scorers import exact_match

qa = Eval(name="qa", dataset=dataset("qa-golden:latest"), task=answer_question,
          scorers=[exact_match()])`;

/** {"model": "gpt-4o", "k": 3} -> "model=gpt-4o, k=3" */
export function fmtParams(params: unknown): string {
  if (!isObj(params)) return "";
  return Object.entries(params)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(", ");
}

/** The run's stored verdict against its baseline, linking to the full comparison. */
function baselineCell(r: Obj, q: string) {
  const cmp = isObj(r.comparison) ? r.comparison : null;
  if (!cmp || !cmp.baseline_run_id) return <span class="muted">–</span>;
  return (
    <Link href={`/evals/compare?a=${String(cmp.baseline_run_id)}&b=${runId(r)}${q}`}>
      <VerdictBadge verdict={String(cmp.verdict ?? "unchanged")} />
    </Link>
  );
}

/** A scorer's stored verdict against the run's baseline, with its Holm-adjusted p (the
 * runs of a params grid side by side make the sweep table). */
function scorerVerdict(r: Obj, scorer: string) {
  const cmp = isObj(r.comparison) ? r.comparison : null;
  const s = cmp && isObj(cmp.scorers) && isObj(cmp.scorers[scorer]) ? (cmp.scorers[scorer] as Obj) : null;
  if (!s) return null;
  const verdict = String(s.verdict ?? "");
  if (verdict !== "regressed" && verdict !== "improved") return null;
  const p = s.p_adjusted ?? s.p_value;
  const pText = typeof p === "number" ? (p < 0.001 ? "<0.001" : p.toFixed(3)) : "–";
  return (
    <div class="small scorer-verdict" data-verdict={verdict} title="Against the run's baseline; p adjusted with Holm–Bonferroni over the run's tests">
      <VerdictBadge verdict={verdict} /> <span class="muted">p (Holm) {pText}</span>
    </div>
  );
}

/** The first reason the run failed the gate ("task failed on 20/20 rows"), if any. */
function firstFailure(r: Obj): string {
  const cmp = isObj(r.comparison) ? r.comparison : null;
  return cmp && Array.isArray(cmp.failures) && cmp.failures.length ? String(cmp.failures[0]) : "";
}

export function EvalsView({ project, query }: { project: string; query: URLSearchParams }) {
  const evalFilter = query.get("eval") ?? "";
  const runs = useApi<{ runs: Obj[] }>("/api/evals/runs", { project: project || undefined, eval: evalFilter || undefined, limit: 200 });
  const [picked, setPicked] = useState<string[]>([]);
  const groups = useMemo(() => {
    const m = new Map<string, Obj[]>();
    for (const r of runs.data?.runs ?? []) {
      const k = runEval(r);
      m.set(k, [...(m.get(k) ?? []), r]);
    }
    return [...m.entries()];
  }, [runs.data]);

  const toggle = (id: string) => setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p.slice(-1), id]));
  const q = project ? `&project=${encodeURIComponent(project)}` : "";
  const compare = () => {
    const all = runs.data?.runs ?? [];
    // Older run is the baseline (a), newer the candidate (b).
    const sorted = [...picked].sort((x, y) => runStarted(all.find((r) => runId(r) === x) ?? {}).localeCompare(runStarted(all.find((r) => runId(r) === y) ?? {})));
    navigate(`/evals/compare?a=${encodeURIComponent(sorted[0])}&b=${encodeURIComponent(sorted[1])}${q}`);
  };

  return (
    <div class="view evals-view">
      <div class="view-head">
        <h1>Evaluations</h1>
        <div class="view-actions">
          <span class="muted">{picked.length === 2 ? "2 runs selected" : "Select two runs to compare"}</span>
          <button type="button" class="btn btn-primary" disabled={picked.length !== 2} onClick={compare}>
            Compare
          </button>
        </div>
      </div>
      <ErrorBanner error={runs.error} what="evaluation runs" />
      {runs.loading && !runs.data ? <Loading /> : null}
      {runs.data && groups.length === 0 ? (
        <EmptyState title="No evaluation runs yet">
          <p>Write a suite and run it with <code>evals run suite.py</code>; each run appears here with its scores.</p>
          <CodeBlock text={SUITE_EXAMPLE} />
          <p class="muted">
            Then <code>evals run suite.py</code> again after a change: the run is compared with the last one and a regression exits 1.
          </p>
        </EmptyState>
      ) : null}
      {groups.map(([name, list]) => {
        const scorers = [...new Set(list.flatMap((r) => runSummaries(r).map((s) => s.scorer)))];
        return (
          <section class="eval-group" key={name}>
            <h2>{name}</h2>
            <div class="table-wrap">
              <table class="table runs-table" data-eval={name}>
                <thead>
                  <tr>
                    <th aria-label="Select" />
                    <th>Run</th>
                    <th>Dataset</th>
                    <th>Params</th>
                    {scorers.map((s) => (
                      <th key={s}>{s}</th>
                    ))}
                    <th class="num">Latency p50 / p95</th>
                    <th class="num">Cost</th>
                    <th>vs baseline</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((r) => {
                    const id = runId(r);
                    const sums = runSummaries(r);
                    return (
                      <tr key={id} data-run-id={id}>
                        <td>
                          <input type="checkbox" aria-label={`Select run ${id}`} checked={picked.includes(id)} onChange={() => toggle(id)} />
                        </td>
                        <td class="nowrap">
                          <Link href={`/evals/runs/${encodeURIComponent(id)}${q ? `?${q.slice(1)}` : ""}`}>{id.slice(0, 12)}</Link>
                          {r.status && r.status !== "complete" ? <span class="badge status-unset">{String(r.status)}</span> : null}
                          <div class="muted small">{fmtTime(runStarted(r))}</div>
                        </td>
                        <td class="ellipsis wide" title={runDataset(r)}>
                          {runDataset(r)}
                          {isObj(r.dataset) && r.dataset.rows ? <div class="muted small">{String(r.dataset.rows)} rows</div> : null}
                        </td>
                        <td class="ellipsis wide" title={fmtParams(r.params)}>{fmtParams(r.params)}</td>
                        {scorers.map((s) => {
                          const sum = sums.find((x) => x.scorer === s);
                          return (
                            <td key={s} data-scorer={s}>
                              {sum ? <ScoreWithCI s={sum} stacked /> : "–"}
                              {scorerVerdict(r, s)}
                            </td>
                          );
                        })}
                        <td class="num" data-col="latency">{runStats(r).p50 === null ? "–" : `${fmtMs(runStats(r).p50)} / ${fmtMs(runStats(r).p95)}`}</td>
                        <td class="num">{fmtCost(runStats(r).cost)}</td>
                        <td title={firstFailure(r)}>
                          {baselineCell(r, q)}
                          {firstFailure(r) ? <div class="small error-text gate-failure">{firstFailure(r)}</div> : null}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          </section>
        );
      })}
    </div>
  );
}
