"""``evals run`` through the real CLI as a subprocess, against real storage: a regression
reported with statistics and exit 1, reports parsed back, failing/hanging/retried rows,
Ctrl-C partial saves and usage errors."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import xml.etree.ElementTree as ET

import httpx
from scipy.stats import binomtest

REGRESSION_SUITE = """
    import os
    from evals import Eval
    from scorers import scorer

    ROWS = [{"id": i, "question": f"q{i}", "expected": f"a{i}"} for i in range(40)]
    WORSE = os.environ.get("MODE") == "worse"

    async def answer(question: str) -> str:
        i = int(question[1:])
        if WORSE and i % 10 in (1, 4, 7):   # 12 of 40 rows go wrong
            return "I am not sure"
        return f"a{i}"

    @scorer
    def exact(output, expected) -> bool:
        return output == expected

    @scorer
    def brevity(output) -> float:
        return 1.0 / len(output)

    qa = Eval(name="qa", dataset=ROWS, task=answer, scorers=[exact, brevity], key="id")
"""


def _flipped_rows() -> set[int]:
    return {i for i in range(40) if i % 10 in (1, 4, 7)}


def test_worse_task_is_a_regression_with_statistics(server_evals) -> None:
    # test_example.py walks the same regression through the in-process store.
    e = server_evals
    e.write("suite.py", REGRESSION_SUITE)
    first = e.run("run", "suite.py", "--json", "first.json")
    assert first.returncode == 0, first.stderr
    assert "no baseline to compare with" in first.stdout
    base = json.loads((e.cwd / "first.json").read_text())["runs"][0]
    assert base["run"]["status"] == "complete" and base["comparison"] is None

    worse = e.run("run", "suite.py", "--json", "worse.json", "--junit", "worse.xml",
                  "--markdown", "worse.md", extra_env={"MODE": "worse"})
    assert worse.returncode == 1, worse.stderr
    assert "evals: FAILED qa (run " in worse.stderr and "exact regressed" in worse.stderr
    link = next(ln for ln in worse.stdout.splitlines() if ln.startswith("console: "))[9:]
    page = httpx.get(link, timeout=30)
    # A console route (its page; 503 "not built" when console/dist is missing), not a 404.
    assert page.status_code in (200, 503) and "text/html" in page.headers["content-type"]
    assert f"/evals/compare?a={base['run']['run_id']}&b=" in link
    report = json.loads((e.cwd / "worse.json").read_text())
    assert report["exit_code"] == 1 and report["regressed"] is True
    run = report["runs"][0]
    comp = run["comparison"]
    assert comp["a"]["run_id"] == base["run"]["run_id"]  # default baseline: last complete run
    assert comp["verdict"] == "regressed" and set(comp["regressed"]) == {"exact", "brevity"}
    exact = next(s for s in comp["scorers"] if s["scorer"] == "exact")
    assert exact["test"] == "mcnemar-exact" and exact["n_shared"] == 40
    assert (exact["worse"], exact["better"]) == (12, 0)
    assert abs(exact["delta"] - (-12 / 40)) < 1e-12
    assert abs(exact["p_value"] - binomtest(12, 12, 0.5).pvalue) < 1e-12
    assert exact["delta_ci"][0] < exact["delta"] < exact["delta_ci"][1] < 0
    assert {f["row_index"] for f in exact["flipped"]} == _flipped_rows()
    assert all(f["direction"] == "pass->fail" for f in exact["flipped"])
    assert {r["row_index"] for r in comp["rows"][:12]} == _flipped_rows()  # flipped rows first
    brevity = next(s for s in comp["scorers"] if s["scorer"] == "brevity")
    # 12 non-zero differences: the exact signed-rank test (Pratt), 2 / 2^12 two-sided.
    assert brevity["test"] == "wilcoxon-exact" and brevity["verdict"] == "regressed"
    assert abs(brevity["p_value"] - 2 / 2**12) < 1e-12 and brevity["p_adjusted"] >= brevity["p_value"]
    summary = next(s for s in run["summaries"] if s["scorer"] == "exact")
    assert summary["kind"] == "binary" and abs(summary["mean"] - 28 / 40) < 1e-12
    assert summary["ci_low"] < summary["mean"] < summary["ci_high"]
    assert run["run"]["stats"]["latency_ms"]["p50"] is not None

    # JUnit: one case per row x scorer, failures exactly where exact failed.
    root = ET.parse(e.cwd / "worse.xml").getroot()
    cases = [c for c in root.iter("testcase") if c.get("classname") == "qa"]
    assert len(cases) == 40 * 2
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    assert failed == {f"row-{i}::exact" for i in _flipped_rows()}
    compare_cases = {c.get("name"): c for c in root.iter("testcase") if c.get("classname") == "qa.baseline"}
    assert compare_cases["compare::exact"].find("failure") is not None
    assert compare_cases["compare::task_success"].find("failure") is None
    markdown = (e.cwd / "worse.md").read_text()
    assert "### qa — ❌ regressed" in markdown
    row = next(ln for ln in markdown.splitlines() if ln.startswith("| exact |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1:3] == ["1.000", "0.700"] and cells[5] == "mcnemar-exact" and "regressed" in cells[8]
    assert "Rows that flipped pass → fail (12)" in markdown

    # Fixing the task is an improvement over the (worse) last run; "none" compares nothing.
    fixed = e.run("run", "suite.py", "--json", "fixed.json")
    assert fixed.returncode == 0, fixed.stderr
    fixed_comp = json.loads((e.cwd / "fixed.json").read_text())["runs"][0]["comparison"]
    assert fixed_comp["a"]["run_id"] == run["run"]["run_id"] and fixed_comp["verdict"] == "improved"
    alone = e.run("run", "suite.py", "--baseline", "none", "--json", "alone.json",
                  extra_env={"MODE": "worse"})
    assert alone.returncode == 0
    assert json.loads((e.cwd / "alone.json").read_text())["runs"][0]["comparison"] is None

    # The same data through the runs / compare commands.
    listing = e.run("runs", "list", "--eval", "qa")
    assert listing.returncode == 0
    assert sum(1 for ln in listing.stdout.splitlines() if " qa " in ln) == 4
    compared = e.run("compare", base["run"]["run_id"], run["run"]["run_id"][:10])
    assert compared.returncode == 1 and "REGRESSED" in compared.stdout
    shown = e.run("runs", "show", run["run"]["run_id"], "--json")
    detail = json.loads(shown.stdout)
    assert detail["rows_total"] == 40
    failing = {r["row_index"] for r in detail["rows"]
               for s in r["scores"] if s["scorer"] == "exact" and s["passed"] is False}
    assert failing == _flipped_rows()


FAILING_SUITE = """
    import threading, time
    from evals import Eval, Retryable
    from scorers import scorer

    ATTEMPTS = {}
    LOCK = threading.Lock()

    def flaky(n: int) -> str:
        if n == 2:
            time.sleep(60)               # hangs past the timeout
        if n % 4 == 1:
            raise ValueError(f"bad row {n}")
        if n % 4 == 3:
            with LOCK:
                ATTEMPTS[n] = ATTEMPTS.get(n, 0) + 1
                first = ATTEMPTS[n] == 1
            if first:
                raise Retryable("rate limited")
        return str(n)

    @scorer
    def is_digit(output) -> bool:
        return output.isdigit()

    @scorer
    def picky(output) -> bool:
        if output == "0":
            raise ValueError("no zero")
        return True

    rows = Eval(name="rows", dataset=[{"n": i} for i in range(12)], task=flaky,
                scorers=[is_digit, picky], retries=2)
"""


def test_errors_timeouts_and_retries_are_recorded_per_row(server_evals) -> None:
    e = server_evals
    e.write("suite.py", FAILING_SUITE)
    # The hanging row sleeps 60 s: the subprocess timeout proves the run does not wait.
    result = e.run("run", "suite.py", "--timeout", "1", "--concurrency", "4", timeout=40)
    assert result.returncode == 0, result.stderr
    runs = e.api("/api/evals/runs", eval="rows")["runs"]
    assert len(runs) == 1 and runs[0]["status"] == "complete"
    detail = e.api(f"/api/evals/runs/{runs[0]['run_id']}")
    rows = {r["row_index"]: r for r in detail["rows"]}
    assert len(rows) == 12
    for n in (1, 5, 9):
        assert rows[n]["status"] == "error" and rows[n]["error"] == f"ValueError: bad row {n}"
        assert rows[n]["attempts"] == 1 and rows[n]["scores"] == []
    assert rows[2]["status"] == "timeout" and rows[2]["error"] == "timed out after 1s"
    for n in (3, 7, 11):
        assert rows[n]["status"] == "ok" and rows[n]["attempts"] == 2 and rows[n]["output"] == str(n)
    assert rows[0]["status"] == "ok" and rows[0]["scores"][0]["value"] is True
    assert rows[0]["scores"][1] == {"scorer": "picky", "value": None, "passed": None, "reason": None,
                                    "metadata": None, "error": "ValueError: no zero"}
    picky = next(s for s in detail["summaries"] if s["scorer"] == "picky")
    assert picky["errors"] == 1 and abs(picky["pass_rate"] - 7 / 12) < 1e-12
    stats = detail["run"]["stats"]
    assert (stats["ok"], stats["errors"], stats["timeouts"], stats["retried_rows"]) == (8, 3, 1, 3)
    success = next(s for s in detail["summaries"] if s["scorer"] == "task_success")
    assert abs(success["mean"] - 8 / 12) < 1e-12
    digit = next(s for s in detail["summaries"] if s["scorer"] == "is_digit")
    assert abs(digit["pass_rate"] - 8 / 12) < 1e-12  # failed rows count as fails


SLOW_SUITE = """
    import asyncio, os
    from pathlib import Path
    from evals import Eval
    from scorers import scorer

    MARK = Path(os.environ["MARK"])

    async def slow(n: int) -> int:
        await asyncio.sleep(0.05)
        if n == 12:
            MARK.write_text("started")
        return n

    @scorer
    def even(output) -> bool:
        return output % 2 == 0

    slow_eval = Eval(name="slow", dataset=[{"n": i} for i in range(2000)], task=slow,
                     scorers=[even], concurrency=2)
"""


def _interrupt_when_marked(e, sig: int) -> tuple[subprocess.Popen, str]:
    """Start the slow suite, send ``sig`` once row 12 finished, return (process, stderr)."""
    e.write("suite.py", SLOW_SUITE)
    mark = e.cwd / "mark"
    proc = e.popen("run", "suite.py", "--json", "partial.json", extra_env={"MARK": str(mark)})
    try:
        deadline = time.monotonic() + 60
        while not mark.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never reached row 12"
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc, err


def test_sigterm_saves_finished_rows_as_partial(server_evals) -> None:
    e = server_evals
    proc, err = _interrupt_when_marked(e, signal.SIGTERM)
    assert proc.returncode == 143, err
    run = json.loads((e.cwd / "partial.json").read_text())["runs"][0]
    stored = e.api(f"/api/evals/runs/{run['run']['run_id']}", limit=5000)
    assert stored["run"]["status"] == "partial" and 12 < stored["rows_total"] < 2000


def test_ctrl_c_saves_finished_rows_as_partial(evals_cli) -> None:
    e = evals_cli
    mark = e.cwd / "mark"
    proc, err = _interrupt_when_marked(e, signal.SIGINT)
    assert proc.returncode == 130, err
    assert "interrupted; saved" in err and "marked partial" in err
    report = json.loads((e.cwd / "partial.json").read_text())
    run = report["runs"][0]
    assert report["interrupted"] is True and run["run"]["status"] == "partial"
    done = len(run["rows"])
    assert 12 < done < 2000
    assert run["run"]["stats"]["rows_done"] == done and run["run"]["stats"]["rows_total"] == 2000
    if e.url:  # the stored run holds exactly the rows that finished
        stored = e.api(f"/api/evals/runs/{run['run']['run_id']}", limit=5000)
        assert stored["run"]["status"] == "partial" and stored["rows_total"] == done
        assert sorted(r["row_index"] for r in stored["rows"]) == sorted(r["row_index"] for r in run["rows"])
    # A partial run is never a default baseline.
    again = e.run("run", "suite.py", "--limit", "4", "--json", "again.json", extra_env={"MARK": str(mark)})
    assert again.returncode == 0, again.stderr
    assert json.loads((e.cwd / "again.json").read_text())["runs"][0]["comparison"] is None


def test_usage_errors_exit_2_with_one_line(embedded_evals) -> None:
    e = embedded_evals
    e.write("suite.py", REGRESSION_SUITE)
    e.write("broken.py", "from evals import Eval\nqa = Eval(\n")
    e.write("empty.py", "x = 1\n")
    e.write("mismatch.py", """
        from evals import Eval
        def task(prompt, style): return prompt
        m = Eval(name="m", dataset=[{"question": "q"}], task=task)
    """)
    cases = [
        (("run", "missing.py"), "suite file missing.py does not exist"),
        (("run", "broken.py"), "broken.py:2: syntax error"),
        (("run", "empty.py"), "no Eval(...) defined"),
        (("run", "suite.py", "-k", "nope"), "-k nope: no eval of that name (have: qa)"),
        (("run", "suite.py", "--param", "model=gpt"), "--param model: eval 'qa' has no param 'model'"),
        (("run", "suite.py", "--param", "oops"), "expected NAME=VALUE"),
        (("run", "suite.py", "--concurrency", "0"), "--concurrency"),
        (("run", "suite.py", "--baseline", "abcdef123456"), "no evaluation run with id abcdef123456"),
        (("run", "mismatch.py"), "needs 'prompt', 'style'"),
    ]
    for args, message in cases:
        result = e.run(*args)
        errors = [ln for ln in result.stderr.splitlines() if ln.startswith("evals: error:")]
        assert result.returncode == 2, (args, result.stderr)
        assert len(errors) == 1 and message in errors[0], (args, result.stderr)
        assert "Traceback" not in result.stderr


GRID_SUITE = """
    from evals import Eval
    from scorers import scorer

    def pick(x: int, model: str, bonus: int) -> int:
        return x + bonus if model == "big" else x

    @scorer
    def big(output) -> bool:
        return output >= 10

    grid = Eval(name="grid", dataset=[{"x": i} for i in range(12)], task=pick, scorers=[big],
                params={"model": ["small", "big"], "bonus": 10})
"""


def test_params_grid_makes_one_run_per_combination(embedded_evals) -> None:
    e = embedded_evals
    e.write("suite.py", GRID_SUITE)
    first = e.run("run", "suite.py", "--json", "grid.json")
    assert first.returncode == 0, first.stderr
    runs = json.loads((e.cwd / "grid.json").read_text())["runs"]
    assert [r["params"] for r in runs] == [{"model": "small", "bonus": 10}, {"model": "big", "bonus": 10}]
    means = [next(s for s in r["summaries"] if s["scorer"] == "big")["mean"] for r in runs]
    assert means == [2 / 12, 1.0]
    # --param pins one value; the baseline is the earlier run with the same params.
    pinned = e.run("run", "suite.py", "--param", "model=big", "--json", "pinned.json")
    assert pinned.returncode == 0, pinned.stderr
    (run,) = json.loads((e.cwd / "pinned.json").read_text())["runs"]
    assert run["params"] == {"model": "big", "bonus": 10}
    assert run["comparison"]["a"]["run_id"] == runs[1]["run"]["run_id"]
    # An explicit baseline (by prefix) across params: the small model is a regression.
    versus = e.run("run", "suite.py", "--param", "model=small", "--baseline",
                   runs[1]["run"]["run_id"][:10], "--json", "versus.json")
    assert versus.returncode == 1, versus.stderr
    comp = json.loads((e.cwd / "versus.json").read_text())["runs"][0]["comparison"]
    assert comp["a"]["run_id"] == runs[1]["run"]["run_id"] and comp["regressed"] == ["big"]
    # --limit runs a prefix of the rows but records the whole dataset version it read.
    limited = e.run("run", "suite.py", "--param", "model=big", "--limit", "3", "--json", "lim.json")
    assert limited.returncode == 0, limited.stderr
    (lim,) = json.loads((e.cwd / "lim.json").read_text())["runs"]
    assert [r["row_index"] for r in lim["rows"]] == [0, 1, 2]
    assert lim["run"]["row_limit"] == 3 and lim["run"]["dataset"]["rows"] == 12
    assert lim["run"]["dataset"]["version_id"] == runs[1]["run"]["dataset"]["version_id"]
    assert lim["comparison"]["scorers"][0]["n_shared"] == 3


PROGRESS_SUITE = """
    import asyncio
    from evals import Eval

    async def slow(n: int) -> int:
        await asyncio.sleep(0.03)
        return n

    bar = Eval(name="bar", dataset=[{"n": i} for i in range(40)], task=slow, concurrency=2)
"""


def test_progress_bar_only_on_a_terminal(server_evals) -> None:
    import os
    import pty
    import subprocess
    import sys
    import threading

    e = server_evals
    e.write("suite.py", PROGRESS_SUITE)
    piped = e.run("run", "suite.py")
    assert piped.returncode == 0 and "━" not in piped.stderr and "40/40" not in piped.stderr

    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    proc = subprocess.Popen([sys.executable, "-m", "evals", "run", "suite.py"], cwd=e.cwd,
                            env={**e.env, "COLUMNS": "120", "TERM": "xterm"},
                            stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    proc.communicate(timeout=60)
    reader.join(timeout=10)
    os.close(master)
    shown = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0
    assert "bar" in shown and "━" in shown and "/40" in shown and "errors" in shown
