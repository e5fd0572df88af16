"""The walk-through of docs/evals.md, as a newcomer runs it: push the example dataset,
run the example suite, make the documented change, run again, read the regression."""

from __future__ import annotations

import json
import shutil

from tests.evals.conftest import REPO


def test_docs_walkthrough_reports_the_regression(embedded_evals) -> None:
    e = embedded_evals
    shutil.copytree(REPO / "examples" / "data", e.cwd / "examples" / "data")
    suite = e.cwd / "examples" / "evals_suite.py"
    shutil.copy(REPO / "examples" / "evals_suite.py", suite)
    pushed = e.run("datasets", "push", "examples/data/capitals.jsonl", "--name", "capitals", "--key", "id")
    assert pushed.returncode == 0 and "capitals:v1" in pushed.stdout, pushed.stderr

    first = e.run("run", "examples/evals_suite.py")
    assert first.returncode == 0, first.stderr
    assert "no baseline to compare with" in first.stdout

    text = suite.read_text()
    assert 'STYLE = "short"' in text  # the line docs/evals.md tells the reader to change
    suite.write_text(text.replace('STYLE = "short"', 'STYLE = "chatty"'))
    second = e.run("run", "examples/evals_suite.py", "--json", "second.json", "--markdown", "pr.md")
    assert second.returncode == 1, second.stderr
    assert "evals: FAILED capitals [model=gpt-4o-mini] (run " in second.stderr
    comp = json.loads((e.cwd / "second.json").read_text())["runs"][0]["comparison"]
    verdicts = {s["scorer"]: s["verdict"] for s in comp["scorers"]}
    assert verdicts == {"concise": "regressed", "exact_match": "regressed", "rouge_l": "regressed",
                        "task_success": "unchanged"}
    exact = next(s for s in comp["scorers"] if s["scorer"] == "exact_match")
    assert (exact["baseline"]["mean"], exact["current"]["mean"], exact["worse"]) == (0.9, 0.0, 18)
    run = json.loads((e.cwd / "second.json").read_text())["runs"][0]
    assert run["run"]["dataset"]["name"] == "capitals" and run["run"]["dataset"]["version"] == "v1"
    assert run["run"]["stats"]["tokens"]["total"] > 0 and run["run"]["stats"]["cost_usd"] > 0
    assert "### capitals [model=gpt-4o-mini] — ❌ regressed" in (e.cwd / "pr.md").read_text()
