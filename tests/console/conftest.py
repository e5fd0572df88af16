"""Fixtures for the console tests: a built console, Debian's chromium driven by Playwright,
and a project seeded with real traces, feedback, datasets and evaluation runs."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from console import is_built
from tests.conftest import REPO_ROOT, ServerHandle
from tests.console.eval_seed import seed_evals
from tests.console.otel_seed import seed_traces
from tests.console.seeded_project import SeededProject

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CONSOLE_DIR = REPO_ROOT / "console"


@pytest.fixture(scope="session")
def console_dist() -> Path:
    """console/dist, built with npm when a checkout has not built it yet (make does)."""
    dist = CONSOLE_DIR / "dist"
    if not is_built(dist):
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("console/dist is not built and npm is missing: install Node.js 20.19+ "
                        "and run `make console`")
        for cmd in ([npm, "ci", "--no-audit", "--no-fund"], [npm, "run", "build"]):
            done = subprocess.run(cmd, cwd=CONSOLE_DIR, capture_output=True, text=True,
                                  timeout=240, check=False)
            if done.returncode != 0:
                pytest.fail(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return dist


# Module scope, not session: a live sync Playwright keeps an asyncio loop marked as running
# in the main thread, which breaks asyncio.run() in every later test (package scope does
# not help: tests/ folders are not packages, so it acts as session scope).
@pytest.fixture(scope="module")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One headless chromium with a fresh profile per test module (skipped without it)."""
    if not CHROMIUM.exists():
        pytest.skip(f"Debian chromium is not installed at {CHROMIUM} "
                    "(apt-get install chromium; .ci/run does this)")
    from playwright.sync_api import expect, sync_playwright

    # A loaded CI machine can be slow to answer; a broken page still fails, only later.
    expect.set_options(timeout=15_000)

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        yield context
        context.close()


@pytest.fixture
def page(browser_context, console_dist: Path) -> Iterator[object]:
    """A new tab; page errors fail the test (a console that throws is broken)."""
    tab = browser_context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    tab.close()
    assert not errors, f"uncaught errors in the console: {errors}"


@pytest.fixture(scope="session")
def seeded(spyglass_server: ServerHandle) -> SeededProject:
    """Four traces (two users, three models, a failing tool, a blocked guardrail), monitor
    scores on them, two dataset versions and two runs of one eval, the second regressed."""
    name = f"console-{uuid.uuid4().hex[:10]}"
    traces = seed_traces(spyglass_server.url, name)
    # Monitor scores, as an online monitor stores them: feedback from a scorer and a judge.
    for i, trace_id in enumerate(traces.traces.values()):
        for body in ({"name": "toxicity", "value": 0.1 * (i + 1), "source": "scorer"},
                     {"name": "correct", "value": i % 2 == 0, "source": "judge"}):
            resp = httpx.post(f"{spyglass_server.url}/api/feedback",
                              json={"trace_id": trace_id, **body}, timeout=30)
            assert resp.status_code == 201, resp.text
    # Evaluations get their own project so their row traces do not crowd the trace list.
    evals = seed_evals(spyglass_server.url, f"{name}-evals")
    return SeededProject(name=name, evals_project=f"{name}-evals", server=spyglass_server,
                         traces=traces, evals=evals)
