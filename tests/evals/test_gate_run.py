"""The issue's gate findings, end to end through ``evals run`` (a subprocess) with suite
files: exit codes and what is printed first."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

BROKEN_SUITE = """
    import os
    from evals import Eval
    from scorers import exact_match, scorer

    ROWS = [{"id": i, "question": f"q{i}", "expected": f"a{i}"} for i in range(20)]

    def answer(question: str) -> str:
        if os.environ.get("MODE") == "broken":
            raise RuntimeError("the model endpoint is gone")
        return f"a{question[1:]}"

    @scorer
    def closeness(output, expected) -> float:
        return 1.0 if output == expected else 0.5

    qa = Eval(name="qa", dataset=ROWS, task=answer, scorers=[exact_match(), closeness], key="id")
"""


def _lines(text: str) -> list[str]:
    """The gate's lines on stderr, in order."""
    return [ln for ln in text.splitlines() if ln.startswith("evals: FAILED") or ln.startswith("evals:   also")]


def test_a_task_failing_on_every_row_fails_without_and_with_a_baseline(server_evals) -> None:
    e = server_evals
    e.write("suite.py", BROKEN_SUITE)
    # No baseline: exit 1, and the first thing said about it is the task failure.
    alone = e.run("run", "suite.py", "--json", "alone.json", "--junit", "alone.xml",
                  "--markdown", "alone.md", extra_env={"MODE": "broken"})
    assert alone.returncode == 1, alone.stdout + alone.stderr
    assert _lines(alone.stderr)[0].endswith("task failed on 20/20 rows")
    failed_lines = [ln for ln in alone.stdout.splitlines() if ln.startswith("FAILED:")]
    assert failed_lines[0] == "FAILED: task failed on 20/20 rows"
    # ...printed before the summaries table.
    assert alone.stdout.index("FAILED: task failed") < alone.stdout.index("scorer")
    report = json.loads((e.cwd / "alone.json").read_text())
    assert report["exit_code"] == 1 and report["failures"][0]["failure"] == "task failed on 20/20 rows"
    kinds = {s["scorer"]: (s["kind"], s["mean"]) for s in report["runs"][0]["summaries"]}
    gate_case = next(c for c in ET.parse(e.cwd / "alone.xml").getroot().iter("testcase")
                     if c.get("classname") == "qa.gate")
    assert gate_case.find("failure").get("message") == "task failed on 20/20 rows"
    markdown = (e.cwd / "alone.md").read_text()
    assert "### qa — ❌ failed (no baseline)" in markdown
    assert "**Failed:** task failed on 20/20 rows" in markdown
    # Never a label without a mean: every row failed, so every scorer's pass rate is 0.
    assert kinds == {"exact_match": ("binary", 0.0), "closeness": ("binary", 0.0),
                     "task_success": ("binary", 0.0)}

    good = e.run("run", "suite.py", "--baseline", "none")
    assert good.returncode == 0, good.stderr
    broken = e.run("run", "suite.py", "--json", "broken.json", extra_env={"MODE": "broken"})
    assert broken.returncode == 1
    assert _lines(broken.stderr)[0].endswith("task failed on 20/20 rows")
    comp = json.loads((e.cwd / "broken.json").read_text())["runs"][0]["comparison"]
    assert comp["failures"][0] == "task failed on 20/20 rows"
    by_name = {s["scorer"]: s for s in comp["scorers"]}
    # exact_match is compared (every errored row a fail), not "n/a".
    assert by_name["exact_match"]["verdict"] == "regressed"
    assert by_name["exact_match"]["test"] == "mcnemar-exact" and by_name["exact_match"]["worse"] == 20
    assert by_name["closeness"]["kind"] == "numeric" and by_name["closeness"]["verdict"] == "regressed"
    assert by_name["task_success"]["verdict"] == "regressed"
    assert all(s["p_adjusted"] is not None for s in by_name.values())


PARTLY_BROKEN_SUITE = """
    from evals import Eval

    def answer(n: int) -> str:
        if n % 4 == 0:
            raise ValueError("bad row")
        return str(n)

    rows = Eval(name="rows", dataset=[{"n": i} for i in range(12)], task=answer)
"""


def test_max_error_rate_without_a_baseline(server_evals) -> None:
    e = server_evals
    e.write("suite.py", PARTLY_BROKEN_SUITE)
    ok = e.run("run", "suite.py", "--baseline", "none")  # 3/12 = 25% <= the default 50%
    assert ok.returncode == 0, ok.stderr
    strict = e.run("run", "suite.py", "--baseline", "none", "--max-error-rate", "20%")
    assert strict.returncode == 1
    assert _lines(strict.stderr)[0].endswith(
        "task failed on 3/12 rows (25%, above the maximum error rate of 20%)")
    bad = e.run("run", "suite.py", "--max-error-rate", "lots")
    assert bad.returncode == 2 and "--max-error-rate" in bad.stderr


NEAR_SUITE = """
    import os
    from evals import Eval
    from scorers import scorer

    BASE = [0.8, 0.5, 0.3, 0.9, 0.7] + [0.6] * 15
    ROWS = [{"id": i, "v": v} for i, v in enumerate(BASE)]

    def task(id: int, v: float) -> float:
        # NUDGE: five rows score 0.001 lower, every other row the same.
        return v - 0.001 if os.environ.get("NUDGE") and id < 5 else v

    @scorer
    def quality(output) -> float:
        return output

    # No practical threshold at all: the test alone must not call this a regression.
    near = Eval(name="near", dataset=ROWS, task=task, scorers=[quality], key="id", min_delta=0)
"""


def test_five_rows_off_by_a_thousandth_pass(server_evals) -> None:
    e = server_evals
    e.write("suite.py", NEAR_SUITE)
    assert e.run("run", "suite.py").returncode == 0
    nudged = e.run("run", "suite.py", "--json", "near.json", extra_env={"NUDGE": "1"})
    assert nudged.returncode == 0, nudged.stdout + nudged.stderr
    comp = json.loads((e.cwd / "near.json").read_text())["runs"][0]["comparison"]
    quality = next(s for s in comp["scorers"] if s["scorer"] == "quality")
    assert quality["test"] == "wilcoxon-exact" and quality["p_value"] == pytest.approx(0.0625)
    assert quality["min_delta"] == 0 and quality["verdict"] == "unchanged"
    assert "wilcoxon-exact" in nudged.stdout and "0.062" in nudged.stdout
    # The command line sets min_delta per scorer (and names only scorers that exist).
    again = e.run("run", "suite.py", "--json", "again.json", "--min-delta", "quality=0.5%",
                  extra_env={"NUDGE": "1"})
    assert again.returncode == 0, again.stderr
    comp = json.loads((e.cwd / "again.json").read_text())["runs"][0]["comparison"]
    quality = next(s for s in comp["scorers"] if s["scorer"] == "quality")
    assert quality["min_delta_rule"] == "set: 0.5% of |baseline mean|"
    bad = e.run("run", "suite.py", "--min-delta", "nosuch=0.1")
    assert bad.returncode == 2 and "--min-delta nosuch=0.1" in bad.stderr


SPEED_SUITE = """
    import asyncio, os, re
    from evals import Eval
    from scorers import scorer
    from tracer import op

    SLOW = float(os.environ.get("SLOW", "1"))
    WORDY = int(os.environ.get("WORDY", "1"))

    @op(kind="llm")
    async def chat(prompt: str, model: str = "gpt-4o-mini") -> dict:
        await asyncio.sleep(0.1 * SLOW)
        text = " ".join(["yes"] * 20 * WORDY)
        return {"model": model, "choices": [{"message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": 50, "completion_tokens": 20 * WORDY,
                          "total_tokens": 50 + 20 * WORDY}}

    async def answer(q: str) -> str:
        reply = await chat(q)
        return reply["choices"][0]["message"]["content"]

    @scorer
    def said_yes(output) -> bool:
        return output.startswith("yes")

    speed = Eval(name="speed", dataset=[{"q": f"q{i}"} for i in range(12)], task=answer,
                 scorers=[said_yes], concurrency=12, max_cost_increase="10%")
"""


def test_latency_and_cost_gates(server_evals) -> None:
    e = server_evals
    e.write("suite.py", SPEED_SUITE)
    base = e.run("run", "suite.py", "--json", "base.json")
    assert base.returncode == 0, base.stderr
    rows = json.loads((e.cwd / "base.json").read_text())["runs"][0]["rows"]
    assert all(r["cost_usd"] for r in rows)
    # 4x slower: passes without a latency limit (the suite sets only a cost limit)...
    slow = e.run("run", "suite.py", "--baseline", json.loads((e.cwd / "base.json").read_text())
                 ["runs"][0]["run"]["run_id"], extra_env={"SLOW": "4"})
    assert slow.returncode == 0, slow.stdout + slow.stderr
    # ...and fails with one.
    run_id = json.loads((e.cwd / "base.json").read_text())["runs"][0]["run"]["run_id"]
    gated = e.run("run", "suite.py", "--baseline", run_id, "--max-latency-increase", "20%",
                  "--json", "slow.json", extra_env={"SLOW": "4"})
    assert gated.returncode == 1, gated.stdout + gated.stderr
    assert "latency rose" in _lines(gated.stderr)[0] and "limit +20%" in gated.stderr
    comp = json.loads((e.cwd / "slow.json").read_text())["runs"][0]["comparison"]
    latency = next(g for g in comp["gates"] if g["gate"] == "latency_ms")
    assert latency["ratio"] > 1.5 and latency["verdict"] == "regressed"
    assert latency["test"] == "wilcoxon-exact" and latency["p_value"] == pytest.approx(0.5 ** 12)
    assert "latency / cost gates" in gated.stdout
    # Three times the output tokens: the suite's 10% cost limit fails the run.
    wordy = e.run("run", "suite.py", "--baseline", run_id, "--json", "wordy.json",
                  extra_env={"WORDY": "3"})
    assert wordy.returncode == 1, wordy.stdout + wordy.stderr
    assert "cost rose" in _lines(wordy.stderr)[0]
    comp = json.loads((e.cwd / "wordy.json").read_text())["runs"][0]["comparison"]
    assert next(g for g in comp["gates"] if g["gate"] == "cost_usd")["verdict"] == "regressed"


SWEEP_SUITE = """
    import os
    from evals import Eval
    from scorers import scorer

    WORSE = os.environ.get("MODE") == "worse"

    def answer(n: int, style: str) -> str:
        if WORSE and style == "b" and n % 3 == 0:
            return "?"
        return str(n)

    @scorer
    def digit(output) -> bool:
        return output.isdigit()

    grid = Eval(name="grid", dataset=[{"n": i} for i in range(30)], task=answer, scorers=[digit],
                params={"style": ["a", "b"]})
"""


def test_sweep_table_with_holm_over_every_combination(server_evals) -> None:
    e = server_evals
    e.write("suite.py", SWEEP_SUITE)
    assert e.run("run", "suite.py").returncode == 0
    worse = e.run("run", "suite.py", "--json", "sweep.json", "--markdown", "sweep.md",
                  extra_env={"MODE": "worse"})
    assert worse.returncode == 1, worse.stdout + worse.stderr
    assert "all 2 runs (Holm over" in worse.stdout
    table = worse.stdout[worse.stdout.index("all 2 runs"):]
    assert "style=a" in table and "style=b" in table and "regressed" in table
    report = json.loads((e.cwd / "sweep.json").read_text())
    sweep = {(r["params"]["style"], r["scorer"]): r for r in report["sweep"]}
    assert sweep[("b", "digit")]["verdict"] == "regressed"
    assert sweep[("a", "digit")]["verdict"] == "unchanged"
    b_digit = sweep[("b", "digit")]
    assert b_digit["p_adjusted"] >= b_digit["p_value"] and b_digit["ci"][0] is not None
    markdown = (e.cwd / "sweep.md").read_text()
    assert "### All 2 runs (Holm–Bonferroni over" in markdown and "| grid | style=b | digit |" in markdown
    assert report["failures"][0]["failure"].startswith("digit regressed")
