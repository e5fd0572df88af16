"""Terminal tables (rich) for runs, comparisons and datasets."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table


def console() -> Console:
    """stdout; wide and plain when it is not a terminal (CI logs, pipes)."""
    if sys.stdout.isatty():
        return Console()
    return Console(width=200, no_color=True, highlight=False, soft_wrap=False)


def _f(x: Any, digits: int = 3) -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "pass" if x else "fail"
    if isinstance(x, int | float):
        return f"{float(x):.{digits}f}"
    return str(x)


def _p(p: Any) -> str:
    return "-" if p is None else ("<0.001" if p < 0.001 else f"{p:.3f}")


def _params(params: dict[str, Any] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (params or {}).items()) or "-"


def _short(text: Any, n: int = 60) -> str:
    s = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False, default=str)
    s = s.replace("\n", " ")
    return s if len(s) <= n else s[: n - 1] + "…"


def summaries_table(summaries: Sequence[dict[str, Any]], title: str | None = None) -> Table:
    """Per scorer: kind, mean with its 95% CI, pass rate, n, errors."""
    t = Table(title=title, title_justify="left")
    for col in ("scorer", "kind", "mean", "95% CI", "pass rate", "n", "errors"):
        t.add_column(col, justify="left" if col in ("scorer", "kind") else "right")
    for s in summaries:
        t.add_row(s["scorer"], s["kind"], _f(s["mean"]), f"{_f(s['ci_low'])} .. {_f(s['ci_high'])}",
                  _f(s["pass_rate"]), str(s["n"]), str(s.get("errors", 0)))
    return t


def comparison_table(comp: dict[str, Any]) -> Table:
    """Per scorer: baseline and current means, paired delta with CI, the practical
    threshold, test, raw and Holm-adjusted p, verdict."""
    t = Table(title=f"vs baseline {comp['a']['run_id'][:12]}: {comp['verdict'].upper()}",
              title_justify="left")
    for col in ("scorer", "baseline", "current", "delta", "95% CI", "min delta", "test", "p",
                "p (Holm)", "shared", "worse/better", "verdict"):
        t.add_column(col, justify="left" if col in ("scorer", "test", "verdict") else "right")
    for s in comp["scorers"]:
        ci = s["delta_ci"]
        t.add_row(s["scorer"], _f(s["baseline"]["mean"]), _f(s["current"]["mean"]), _f(s["delta"]),
                  f"{_f(ci[0])} .. {_f(ci[1])}", _f(s.get("min_delta")), s["test"] or "-",
                  _p(s["p_value"]), _p(s.get("p_adjusted")), str(s["n_shared"]),
                  f"{s['worse']}/{s['better']}", s["verdict"])
    return t


def gates_table(comp: dict[str, Any]) -> Table | None:
    """The latency/cost gates of a comparison (None when the run set none)."""
    gates = comp.get("gates") or []
    if not gates:
        return None
    t = Table(title="latency / cost gates", title_justify="left")
    for col in ("gate", "baseline mean", "current mean", "ratio", "limit", "test (one-sided)", "p",
                "p (Holm)", "shared", "verdict"):
        t.add_column(col, justify="left" if col in ("gate", "test (one-sided)", "verdict") else "right")
    for g in gates:
        t.add_row(g["label"], _f(g["baseline"], 4), _f(g["current"], 4),
                  "-" if g["ratio"] is None else f"{g['ratio']:.2f}x", f"+{g['limit']:.0%}",
                  g["test"] or "-", _p(g["p_value"]), _p(g.get("p_adjusted")), str(g["n_shared"]),
                  g["verdict"])
    return t


def sweep_rows(results: Sequence[Any]) -> list[dict[str, Any]]:
    """One line per (eval, params combination, scorer) of a suite run: the run's mean with
    its 95% CI and, against its baseline, the delta, raw and Holm-adjusted p and the
    verdict. Shared by the terminal table, JSON and Markdown."""
    out = []
    for r in results:
        by_name = {s["scorer"]: s for s in (r.comparison or {}).get("scorers", [])}
        for s in r.summaries:
            comp = by_name.get(s["scorer"], {})
            out.append({
                "eval": r.eval_name, "params": r.params, "run_id": r.run["run_id"],
                "scorer": s["scorer"], "kind": s["kind"], "mean": s["mean"],
                "ci": [s["ci_low"], s["ci_high"]], "n": s["n"],
                "baseline_mean": (comp.get("baseline") or {}).get("mean"),
                "delta": comp.get("delta"), "test": comp.get("test"),
                "p_value": comp.get("p_value"), "p_adjusted": comp.get("p_adjusted"),
                "verdict": comp.get("verdict") if r.comparison else "no baseline",
                "failed": bool(r.failures),
            })
    return out


def sweep_table(results: Sequence[Any]) -> Table:
    """Every eval × params combination of the suite run side by side (see :func:`sweep_rows`)."""
    family = next((r.comparison.get("family_size") for r in results if r.comparison), 0)
    t = Table(title=f"all {len(results)} runs (Holm over {family} tests)", title_justify="left")
    for col in ("eval", "params", "scorer", "mean", "95% CI", "baseline", "delta", "p", "p (Holm)",
                "verdict"):
        t.add_column(col, justify="left" if col in ("eval", "params", "scorer", "verdict") else "right")
    for row in sweep_rows(results):
        t.add_row(row["eval"], _params(row["params"]), row["scorer"], _f(row["mean"]),
                  f"{_f(row['ci'][0])} .. {_f(row['ci'][1])}", _f(row["baseline_mean"]),
                  _f(row["delta"]), _p(row["p_value"]), _p(row["p_adjusted"]), row["verdict"] or "-")
    return t


def flipped_table(comp: dict[str, Any], limit: int = 20) -> Table | None:
    """Rows whose verdict flipped pass -> fail, with both outputs."""
    rows = [r for r in comp.get("rows", []) if "pass->fail" in r["flips"].values()]
    if not rows:
        return None
    t = Table(title=f"rows that flipped pass -> fail ({len(rows)})", title_justify="left")
    for col in ("row", "scorers", "baseline output", "current output"):
        t.add_column(col)
    for r in rows[:limit]:
        names = ", ".join(k for k, v in r["flips"].items() if v == "pass->fail")
        t.add_row(str(r["row_index"]), names, _short((r["a"] or {}).get("output")),
                  _short((r["b"] or {}).get("error") or (r["b"] or {}).get("output")))
    return t


def runs_table(runs: Sequence[dict[str, Any]]) -> Table:
    """One line per run, newest first."""
    t = Table()
    for col in ("run", "project", "eval", "params", "dataset", "status", "started", "rows ok", "scores",
                "vs baseline"):
        t.add_column(col)
    for r in runs:
        ds = r["dataset"]
        label = f"{ds['name']}:{ds['version']}" if ds.get("version") else (ds.get("name") or ds["version_id"][:12])
        stats = r.get("stats") or {}
        scores = ", ".join(f"{s['scorer']}={_f(s['mean'])}" for s in r.get("summaries", []))
        verdict = (r.get("comparison") or {}).get("verdict", "-")
        t.add_row(r["run_id"][:12], r["project"], r["eval_name"], _params(r["params"]), label, r["status"],
                  (r["started_at"] or "")[:19], f"{stats.get('ok', '-')}/{stats.get('rows_done', '-')}",
                  scores, verdict)
    return t


def run_rows_table(rows: Sequence[dict[str, Any]], limit: int) -> Table:
    """The first ``limit`` rows of a run: status, latency, scores, output or error."""
    t = Table(title=f"rows (first {min(limit, len(rows))} of {len(rows)})", title_justify="left")
    for col in ("row", "status", "latency ms", "scores", "output / error", "trace"):
        t.add_column(col)
    for r in rows[:limit]:
        scores = ", ".join(f"{s['scorer']}={_f(s['value']) if s['error'] is None else 'ERR'}"
                           for s in r["scores"])
        t.add_row(str(r["row_index"]), r["status"], _f(r["latency_ms"], 1), scores,
                  _short(r["error"] or r["output"]), (r["trace_id"] or "-")[:16])
    return t


def print_run_header(c: Console, run: dict[str, Any]) -> None:
    """Id, eval, params, dataset, code, status and run-level stats of a run."""
    ds, code, stats = run["dataset"], run["code"], run.get("stats") or {}
    lat = stats.get("latency_ms") or {}
    c.print(f"run {run['run_id']}  eval {run['eval_name']}  params {_params(run['params'])}  "
            f"status {run['status']}")
    c.print(f"dataset {ds.get('name') or '-'}:{ds.get('version') or '-'} ({ds['version_id'][:12]}, "
            f"{ds['rows']} rows)  code {(code.get('git_commit') or '-')[:12]}"
            f"{' (dirty)' if code.get('git_dirty') else ''}  started {run['started_at']}")
    if stats:
        cost = stats.get("cost_usd")
        c.print(f"rows {stats.get('ok', 0)} ok / {stats.get('errors', 0)} errors / "
                f"{stats.get('timeouts', 0)} timeouts of {stats.get('rows_done', 0)}  "
                f"latency p50 {_f(lat.get('p50'), 1)} ms p95 {_f(lat.get('p95'), 1)} ms  "
                f"tokens {stats.get('tokens', {}).get('total', 0)}  "
                f"cost {(f'${cost:.4f}') if cost is not None else '-'}")


def datasets_table(datasets: Sequence[dict[str, Any]]) -> Table:
    """Datasets with their latest version."""
    t = Table()
    for col in ("name", "project", "latest", "rows", "versions", "version id", "updated"):
        t.add_column(col)
    for d in datasets:
        t.add_row(d["name"], d["project"], d["latest"], str(d["row_count"]), str(d["versions"]),
                  d["version_id"][:12], d["updated_at"][:19])
    return t


def versions_table(versions: Sequence[dict[str, Any]]) -> Table:
    """Versions of one dataset."""
    t = Table()
    for col in ("version", "version id", "rows", "key", "created", "description"):
        t.add_column(col)
    for v in versions:
        t.add_row(v["version"], v["version_id"][:12], str(v["row_count"]), v["key"] or "-",
                  v["created_at"][:19], v["description"] or "")
    return t
