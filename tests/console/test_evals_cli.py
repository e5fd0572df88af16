"""Evaluation runs made by the real ``evals run`` CLI against the real collector, then
compared in the console: the second run (a deliberately broken task) is a regression."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import REPO_ROOT, ServerHandle

pytestmark = pytest.mark.browser

SUITE = '''
import os

from evals import Eval
from scorers import exact_match
from tracer import op

ROWS = [{"id": i, "question": f"{i} + {i}", "expected": str(2 * i)} for i in range(12)]


@op
def solve(question: str) -> str:
    a, _, b = question.split()
    if os.environ.get("BROKEN") and int(a) % 2 == 0:
        return "I do not know"
    return str(int(a) + int(b))


arith = Eval(name="arith", dataset=ROWS, task=solve, scorers=[exact_match()], key="id")
'''


def run_suite(suite: Path, url: str, project: str, broken: bool) -> subprocess.CompletedProcess:
    # The data dir only holds the run's signing key here: keep it out of the real HOME.
    env = {**os.environ, "SPYGLASS_ENDPOINT": url, "SPYGLASS_PROJECT": project,
           "SPYGLASS_DATA_DIR": str(suite.parent / "client-data")}
    env.pop("BROKEN", None)
    if broken:
        env["BROKEN"] = "1"
    return subprocess.run([sys.executable, "-m", "evals", "run", str(suite), "--no-progress"],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=180,
                          check=False)


def test_cli_runs_compared_in_the_console(page: Page, spyglass_server: ServerHandle,
                                          tmp_path: Path, artifacts_dir: Path) -> None:
    project = f"evals-cli-{uuid.uuid4().hex[:8]}"
    suite = tmp_path / "suite.py"
    suite.write_text(SUITE)
    good = run_suite(suite, spyglass_server.url, project, broken=False)
    assert good.returncode == 0, good.stdout + good.stderr
    bad = run_suite(suite, spyglass_server.url, project, broken=True)
    assert bad.returncode == 1, bad.stdout + bad.stderr  # a regression fails CI

    # The link `evals run` prints opens this run's comparison in the console.
    link = next(ln for ln in bad.stdout.splitlines() if ln.startswith("console: "))[len("console: "):]
    page.goto(link)
    expect(page.locator(".overall-verdict")).to_have_attribute("data-verdict", "regressed")

    page.goto(f"{spyglass_server.url}/evals?project={project}")
    runs = page.locator("table.runs-table tbody tr")
    expect(runs).to_have_count(2)
    expect(runs.nth(1)).to_contain_text("100.0%")  # the good run's exact_match
    expect(runs.first).to_contain_text("50.0%")
    # The runner's run stats: outcome counts and latency percentiles.
    expect(runs.first.locator("td[data-col=latency]")).to_contain_text(" / ")
    runs.first.locator("td").nth(1).get_by_role("link").click()
    facts = page.locator(".trace-head .facts")
    expect(facts).to_contain_text("12 ok")
    expect(facts).to_contain_text("p50")
    expect(page.locator("table.run-rows tbody tr")).to_have_count(12)
    page.go_back()

    # The newest run carries its verdict against the baseline; it links to the comparison.
    runs.first.get_by_role("link", name="regressed").click()
    expect(page).to_have_url(re.compile(r"/evals/compare\?a=[0-9a-f]{32}&b=[0-9a-f]{32}"))
    expect(page.locator(".overall-verdict")).to_have_attribute("data-verdict", "regressed")
    expect(page.locator("table.deltas tr[data-scorer=exact_match]")).to_have_attribute(
        "data-verdict", "regressed")
    changed = page.locator("table.changed-rows tbody tr")
    expect(changed).to_have_count(6)
    expect(changed.first).to_have_attribute("data-flip", "pass->fail")
    page.screenshot(path=str(artifacts_dir / "console-compare-cli.png"), full_page=True)

    # A flipped row's trace is the task call the runner recorded.
    changed.first.get_by_role("link", name="B trace").click()
    tree = page.get_by_role("tree")
    expect(tree).to_contain_text("solve")
    page.get_by_role("treeitem").filter(has_text="solve").click()
    expect(page.locator(".span-detail")).to_contain_text("I do not know")
