"""Shared fixtures: a real Spyglass collector on a real socket over a temporary chDB store."""

from __future__ import annotations

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


@pytest.fixture(scope="session")
def spyglass_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    """One collector for the whole test session; tests isolate themselves by project."""
    data_dir = tmp_path_factory.mktemp("spyglass-session") / "data"
    handle = start_server(data_dir)
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
