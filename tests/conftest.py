"""Shared fixtures: a real Spyglass collector on a real socket over a temporary chDB store."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.chserver import (
    ClickHouseHandle,
    drop_databases,
    engine_state,
    start_clickhouse,
    with_database,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
# pytest puts tests/ on sys.path to import this file; keep the repo root ahead of it so
# `import console` (or tracer, ...) is the real package, never a tests/<part>/ folder.
if sys.path[:1] != [str(REPO_ROOT)]:
    sys.path.insert(0, str(REPO_ROOT))
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts"
# `spyglass serve` publishes its URL in $SPYGLASS_HOME/endpoint and clients follow it
# (common/endpoint.py). Tests must neither find a developer's running collector through
# ~/.spyglass nor see each other's servers: the session gets an empty home, and every
# server start_server launches publishes into a home of its own (pass SPYGLASS_HOME in
# ``env`` to share one with the clients under test).
os.environ["SPYGLASS_HOME"] = tempfile.mkdtemp(prefix="spyglass-home-")

# Storage engines the shared collector fixtures run on. "server" is a ClickHouse server:
# SPYGLASS_TEST_CLICKHOUSE_URL when set, else the test server over chDB (tests/chserver).
ENGINES = ("chdb", "server")
# Test modules that run once per engine (every test using spyglass_server/start_server/
# the evals CLI fixtures); the others run on chDB only. Keep this list to the suites that
# exercise storage through the HTTP API: the collector API, evals and monitors.
ENGINE_MODULES = frozenset({
    "tests/collector/test_api_traces.py",
    "tests/collector/test_api_spans.py",
    "tests/collector/test_api_stats.py",
    "tests/collector/test_api_sessions.py",
    "tests/collector/test_api_console_ttft.py",
    "tests/collector/test_api_feedback.py",
    "tests/collector/test_ingest.py",
    "tests/collector/test_ingest_columnar.py",
    "tests/evals/test_api.py",
    "tests/evals/test_run.py",
    "tests/evals/test_datasets.py",
    "tests/evals/test_sealing.py",
    "tests/scorers/test_monitors.py",
})


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ServerHandle:
    """A collector started as a subprocess (``python -m collector serve``)."""

    url: str
    port: int
    data_dir: Path
    process: subprocess.Popen
    log_path: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig_kill: bool = False) -> None:
        if self.process.poll() is None:
            if sig_kill:
                self.process.kill()
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_server(
    data_dir: Path,
    *args: str,
    port: int | None = None,
    env: dict[str, str] | None = None,
    timeout_s: float = 60.0,
) -> ServerHandle:
    """Start ``python -m collector serve`` on loopback and wait until /healthz answers 200."""
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    if engine_state.url and "--clickhouse-url" not in args and not (
            env and env.get("SPYGLASS_CLICKHOUSE_URL")):
        args = (*args, "--clickhouse-url", engine_database_url(engine_state.url, data_dir))
    log_path = data_dir.parent / f"server-{port}.log"
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    # A developer's own settings must not leak into the server under test.
    for key in ("SPYGLASS_CLICKHOUSE_URL", "SPYGLASS_PORT", "SPYGLASS_HOST", "SPYGLASS_DATA_DIR"):
        if not env or key not in env:
            full_env.pop(key, None)
    if not env or "SPYGLASS_HOME" not in env:
        full_env["SPYGLASS_HOME"] = str(data_dir.parent / f"home-{port}")
    log = open(log_path, "ab")  # noqa: SIM115 - owned by the child process
    proc = subprocess.Popen(
        [sys.executable, "-m", "collector", "serve", "--host", "127.0.0.1",
         "--port", str(port), "--data-dir", str(data_dir), *args],
        cwd=REPO_ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    handle = ServerHandle(url=url, port=port, data_dir=data_dir, process=proc,
                          log_path=log_path, extra_env=env or {})
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"collector exited with {proc.returncode}:\n{handle.log()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return handle
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    handle.stop(sig_kill=True)
    raise RuntimeError(f"collector did not become healthy in {timeout_s}s:\n{handle.log()}")


def engine_database_url(server_url: str, data_dir: Path) -> str:
    """The database standing in for ``data_dir`` on a ClickHouse server: one per data dir,
    so a collector restarted over the same dir finds its data, as with chDB."""
    digest = hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:16]
    engine_state.databases.add(f"spyglass_{digest}")
    return with_database(server_url, f"spyglass_{digest}")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run the tests of ENGINE_MODULES once per storage engine."""
    path = Path(metafunc.definition.path).resolve()
    try:
        rel = path.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return
    if rel in ENGINE_MODULES and "engine" in metafunc.fixturenames:
        metafunc.parametrize("engine", ENGINES, indirect=True, scope="session")


@pytest.fixture(scope="session")
def clickhouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseHandle]:
    """A ClickHouse server for the whole session: SPYGLASS_TEST_CLICKHOUSE_URL if set,
    else the test server over chDB (tests/chserver), so server-engine tests always run."""
    url = os.environ.get("SPYGLASS_TEST_CLICKHOUSE_URL", "")
    if url:
        yield ClickHouseHandle(url=url, process=None, log_path=None)
        if engine_state.databases:  # a real server: leave no test databases behind
            drop_databases(url, engine_state.databases)
        return
    handle = start_clickhouse(tmp_path_factory.mktemp("clickhouse"))
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def engine(request: pytest.FixtureRequest) -> str:
    """The storage engine of this test: "chdb" unless its module is in ENGINE_MODULES."""
    return getattr(request, "param", "chdb")


@pytest.fixture(autouse=True)
def _storage_engine(request: pytest.FixtureRequest, engine: str) -> Iterator[None]:
    """On the "server" engine, make start_server (and so spyglass_server) use ClickHouse."""
    if engine != "server":
        yield
        return
    engine_state.url = request.getfixturevalue("clickhouse").url
    try:
        yield
    finally:
        engine_state.url = None


@pytest.fixture(scope="session")
def spyglass_server(tmp_path_factory: pytest.TempPathFactory, engine: str,
                    request: pytest.FixtureRequest) -> Iterator[ServerHandle]:
    """One collector per engine for the whole test session; tests isolate themselves by
    project. On the "server" engine it stores in a ClickHouse server."""
    data_dir = tmp_path_factory.mktemp(f"spyglass-session-{engine}") / "data"
    args: tuple[str, ...] = ()
    if engine == "server":
        server_url = request.getfixturevalue("clickhouse").url
        args = ("--clickhouse-url", engine_database_url(server_url, data_dir))
    handle = start_server(data_dir, *args)
    yield handle
    handle.stop()


@pytest.fixture
def project() -> str:
    """A project name no other test uses, so tests can share one server."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests save screenshots and reports (kept out of git)."""
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    return ARTIFACTS_DIR
