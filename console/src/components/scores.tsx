// Rendering of scorer summaries (mean or pass rate with a 95% confidence interval).
import { fmtNum } from "../lib/format";
import type { ScorerSummary } from "../lib/evals";

export function fmtScore(v: number | null, kind = ""): string {
  if (v === null) return "–";
  if (kind.includes("pass") || kind === "bool" || kind === "binary") return `${(v * 100).toFixed(1)}%`;
  return fmtNum(v, 3);
}

/** Mean (or pass rate) with its 95% CI; `stacked` puts the CI on its own line (tables). */
export function ScoreWithCI({ s, stacked = false }: { s: ScorerSummary; stacked?: boolean }) {
  return (
    <span class="score">
      <b>{fmtScore(s.mean, s.kind)}</b>
      {s.ciLow !== null && s.ciHigh !== null ? (
        <span class={`ci ${stacked ? "ci-block" : ""}`} title="95% bootstrap confidence interval">
          {stacked ? "" : " "}[{fmtScore(s.ciLow, s.kind)}, {fmtScore(s.ciHigh, s.kind)}]
        </span>
      ) : null}
    </span>
  );
}

export function VerdictBadge({ verdict }: { verdict: string }) {
  const v = verdict.toLowerCase();
  return <span class={`badge verdict verdict-${v}`}>{v || "unchanged"}</span>;
}
