"""Reports of a suite run: JSON (everything), JUnit XML (a test case per row × scorer)
and Markdown (a table fit for a pull-request comment)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.session import EvalRunResult
from evals.tables import sweep_rows


def _label(result: EvalRunResult) -> str:
    if not result.params:
        return result.eval_name
    params = ", ".join(f"{k}={v}" for k, v in result.params.items())
    return f"{result.eval_name} [{params}]"


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, int | float) and not isinstance(x, bool):
        return f"{float(x):.{digits}f}"
    return str(x)


def _p(p: Any) -> str:
    if p is None:
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def to_json(results: Sequence[EvalRunResult], *, suite: str, exit_code: int) -> dict[str, Any]:
    """The whole run as JSON: runs with stats, summaries, comparisons and rows."""
    return {
        "suite": suite, "exit_code": exit_code,
        "regressed": any(r.regressed for r in results),
        "interrupted": any(r.interrupted for r in results),
        "failures": [{"eval": r.eval_name, "params": r.params, "run_id": r.run["run_id"],
                      "failure": f} for r in results for f in r.failures],
        "runs": [{
            "eval": r.eval_name, "params": r.params, "run": r.run, "summaries": r.summaries,
            "comparison": r.comparison, "regressed": r.regressed, "failures": r.failures,
            "rows": [row.to_api() for row in r.results],
        } for r in results],
        "sweep": sweep_rows(results),
    }


def write_json(path: Path, results: Sequence[EvalRunResult], *, suite: str, exit_code: int) -> None:
    """Write :func:`to_json` to ``path``."""
    path.write_text(json.dumps(to_json(results, suite=suite, exit_code=exit_code), indent=2,
                               ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def to_junit(results: Sequence[EvalRunResult]) -> ET.ElementTree:
    """A ``<testsuites>`` tree: per run a ``<testsuite>``; per row × scorer a
    ``<testcase>`` (``<failure>`` when the score failed, ``<error>`` when the task or the
    scorer raised); ``row-N::task`` per row when the eval has no scorers; per compared
    scorer a ``compare::NAME`` case failing on regression."""
    root = ET.Element("testsuites", name="evals")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for r in results:
        suite = ET.SubElement(root, "testsuite", name=_label(r))
        props = ET.SubElement(suite, "properties")
        for name, value in (("run_id", r.run.get("run_id")), ("status", r.run.get("status")),
                            ("dataset", r.dataset.label), ("dataset_version_id", r.dataset.version_id),
                            ("baseline_run_id", (r.comparison or {}).get("a", {}).get("run_id")),
                            ("verdict", (r.comparison or {}).get("verdict"))):
            if value is not None:
                ET.SubElement(props, "property", name=name, value=str(value))
        counts = {"tests": 0, "failures": 0, "errors": 0}
        # Without scorers each row is still one case: did the task run?
        scorer_names = [s["scorer"] for s in r.summaries if s["scorer"] != "task_success"] or ["task"]
        for row in r.results:
            by_name = {s.scorer: s for s in row.scores}
            for scorer in scorer_names:
                counts["tests"] += 1
                case = ET.SubElement(suite, "testcase", classname=r.eval_name,
                                     name=f"row-{row.index}::{scorer}", time=f"{row.latency_ms / 1000:.3f}")
                score = by_name.get(scorer)
                if row.status != "ok":
                    counts["errors"] += 1
                    ET.SubElement(case, "error", type=row.error_type or row.status,
                                  message=row.error or row.status).text = row.error
                elif scorer == "task" and not row.scores:
                    ET.SubElement(case, "system-out").text = f"output = {row.output!r}"[:1000]
                elif score is None or score.error:
                    counts["errors"] += 1
                    message = score.error if score else "no score"
                    ET.SubElement(case, "error", type="ScorerError", message=message).text = message
                elif score.passed is False:
                    counts["failures"] += 1
                    message = f"{scorer} = {score.value!r}" + (f": {score.reason}" if score.reason else "")
                    ET.SubElement(case, "failure", message=message).text = message
                else:
                    ET.SubElement(case, "system-out").text = f"{scorer} = {score.value!r}"
        counts["tests"] += 1
        gate_case = ET.SubElement(suite, "testcase", classname=f"{r.eval_name}.gate", name="gate", time="0")
        if r.failures:
            counts["failures"] += 1
            ET.SubElement(gate_case, "failure", message=r.failures[0]).text = "\n".join(r.failures)
        else:
            ET.SubElement(gate_case, "system-out").text = "passed"
        for g in (r.comparison or {}).get("gates", []):
            counts["tests"] += 1
            case = ET.SubElement(suite, "testcase", classname=f"{r.eval_name}.baseline",
                                 name=f"gate::{g['gate']}", time="0")
            ratio = "-" if g["ratio"] is None else f"{g['ratio']:.3f}x"
            detail = (f"ratio {ratio} (limit +{g['limit']:.0%}), {g['test']} one-sided "
                      f"p={_p(g['p_value'])}, Holm {_p(g.get('p_adjusted'))}: {g['verdict']}")
            if g["verdict"] == "regressed":
                counts["failures"] += 1
                ET.SubElement(case, "failure", message=detail).text = detail
            else:
                ET.SubElement(case, "system-out").text = detail
        for comp in (r.comparison or {}).get("scorers", []):
            counts["tests"] += 1
            case = ET.SubElement(suite, "testcase", classname=f"{r.eval_name}.baseline",
                                 name=f"compare::{comp['scorer']}", time="0")
            detail = (f"delta {_fmt(comp['delta'])} (95% CI {_fmt(comp['delta_ci'][0])}.."
                      f"{_fmt(comp['delta_ci'][1])}), {comp['test']} p={_p(comp['p_value'])}, "
                      f"Holm {_p(comp.get('p_adjusted'))}, min_delta {_fmt(comp.get('min_delta'))}: "
                      f"{comp['verdict']}")
            if comp["verdict"] == "regressed":
                counts["failures"] += 1
                ET.SubElement(case, "failure", message=detail).text = detail
            else:
                ET.SubElement(case, "system-out").text = detail
        for k, v in counts.items():
            suite.set(k, str(v))
            totals[k] += v
    for k, v in totals.items():
        root.set(k, str(v))
    return ET.ElementTree(root)


def write_junit(path: Path, results: Sequence[EvalRunResult]) -> None:
    """Write :func:`to_junit` to ``path``."""
    tree = to_junit(results)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)


_ICON = {"regressed": "❌ regressed", "improved": "✅ improved", "unchanged": "➖ unchanged",
         "n/a": "n/a"}


def to_markdown(results: Sequence[EvalRunResult]) -> str:
    """A Markdown report: per run a heading with the verdict, a table of scorers (against
    the baseline when there is one) and the rows that flipped pass -> fail."""
    lines: list[str] = []
    for r in results:
        comp = r.comparison
        verdict = _ICON.get(comp["verdict"], comp["verdict"]) if comp else "no baseline"
        if r.failures and not comp:
            verdict = "❌ failed (no baseline)"
        if r.interrupted:
            verdict += " (partial run)"
        lines.append(f"### {_label(r)} — {verdict}")
        stats = r.run.get("stats") or {}
        lat = stats.get("latency_ms") or {}
        cost = stats.get("cost_usd")
        lines.append("")
        info = (f"Run `{r.run['run_id'][:12]}` · dataset `{r.dataset.label}` · "
                f"{stats.get('ok', 0)}/{stats.get('rows_done', 0)} rows ok · "
                f"latency p50 {_fmt(lat.get('p50'), 1)} ms, p95 {_fmt(lat.get('p95'), 1)} ms · "
                f"tokens {stats.get('tokens', {}).get('total', 0)}" +
                (f" · cost ${cost:.4f}" if cost is not None else ""))
        if comp:
            info += f" · baseline `{comp['a']['run_id'][:12]}`"
        lines += [info, ""]
        if r.failures:
            lines += [f"**Failed:** {f}  " for f in r.failures] + [""]
        if comp:
            lines += ["| scorer | baseline | current | Δ (95% CI) | min Δ | test | p | p (Holm) | verdict |",
                      "|---|---|---|---|---|---|---|---|---|"]
            for s in comp["scorers"]:
                ci = s["delta_ci"]
                delta = (f"{_fmt(s['delta'])} ({_fmt(ci[0])}, {_fmt(ci[1])})"
                         if s["delta"] is not None else "–")
                lines.append(f"| {s['scorer']} | {_fmt(s['baseline']['mean'])} | "
                             f"{_fmt(s['current']['mean'])} | {delta} | {_fmt(s.get('min_delta'))} | "
                             f"{s['test'] or '–'} | {_p(s['p_value'])} | {_p(s.get('p_adjusted'))} | "
                             f"{_ICON.get(s['verdict'], s['verdict'])} |")
            for g in comp.get("gates", []):
                ratio = "–" if g["ratio"] is None else f"{g['ratio']:.2f}×"
                lines.append(f"| {g['label']} (limit +{g['limit']:.0%}) | {_fmt(g['baseline'], 4)} | "
                             f"{_fmt(g['current'], 4)} | {ratio} | +{g['limit']:.0%} | "
                             f"{g['test'] or '–'} (one-sided) | {_p(g['p_value'])} | "
                             f"{_p(g.get('p_adjusted'))} | {_ICON.get(g['verdict'], g['verdict'])} |")
            flips = [(s["scorer"], f) for s in comp["scorers"] for f in s["flipped"]
                     if f["direction"] == "pass->fail"]
            if flips:
                lines += ["", f"<details><summary>Rows that flipped pass → fail ({len(flips)})"
                              "</summary>", "", "| row | scorer |", "|---|---|"]
                lines += [f"| {f.get('row_index')} (`{str(f['row_id'])[:12]}`) | {name} |"
                          for name, f in flips[:100]]
                lines += ["", "</details>"]
        else:
            lines += ["| scorer | kind | mean (95% CI) | pass rate | n |", "|---|---|---|---|---|"]
            for s in r.summaries:
                lines.append(f"| {s['scorer']} | {s['kind']} | {_fmt(s['mean'])} "
                             f"({_fmt(s['ci_low'])}, {_fmt(s['ci_high'])}) | {_fmt(s['pass_rate'])} | "
                             f"{s['n']} |")
        lines.append("")
    if len(results) > 1:
        lines += _sweep_markdown(results)
    return "\n".join(lines)


def _sweep_markdown(results: Sequence[EvalRunResult]) -> list[str]:
    family = next((r.comparison.get("family_size") for r in results if r.comparison), 0)
    lines = [f"### All {len(results)} runs (Holm–Bonferroni over {family} tests)", "",
             "| eval | params | scorer | mean (95% CI) | baseline | Δ | p | p (Holm) | verdict |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in sweep_rows(results):
        params = ", ".join(f"{k}={v}" for k, v in row["params"].items()) or "–"
        lines.append(f"| {row['eval']} | {params} | {row['scorer']} | {_fmt(row['mean'])} "
                     f"({_fmt(row['ci'][0])}, {_fmt(row['ci'][1])}) | {_fmt(row['baseline_mean'])} | "
                     f"{_fmt(row['delta'])} | {_p(row['p_value'])} | {_p(row['p_adjusted'])} | "
                     f"{_ICON.get(row['verdict'] or '', row['verdict'] or '–')} |")
    return [*lines, ""]


def write_markdown(path: Path, results: Sequence[EvalRunResult]) -> None:
    """Write :func:`to_markdown` to ``path``."""
    path.write_text(to_markdown(results), encoding="utf-8")
