"""Helpers for the evals tests: the real ``evals`` CLI as a subprocess, against either a
real collector subprocess (``SPYGLASS_ENDPOINT``) or its own in-process store
(``SPYGLASS_DATA_DIR`` with nothing listening at the endpoint)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.chserver import engine_state
from tests.conftest import engine_database_url

REPO = Path(__file__).resolve().parents[2]


def _dead_endpoint() -> str:
    """A loopback URL where nothing listens (the port is released before use)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass
class Evals:
    """Runs ``python -m evals`` with a fixed environment; ``url`` is where results can
    be read over HTTP (None for the embedded store, which exists only during a command)."""

    env: dict[str, str]
    cwd: Path
    project: str
    url: str | None
    data_dir: Path | None

    def run(self, *args: str, timeout: float = 120, extra_env: dict[str, str] | None = None,
            ) -> subprocess.CompletedProcess[str]:
        """Run the CLI to completion and return its result (stdout/stderr as text)."""
        return subprocess.run([sys.executable, "-m", "evals", *args], cwd=self.cwd,
                              env={**self.env, **(extra_env or {})}, capture_output=True,
                              text=True, timeout=timeout)

    def popen(self, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """Start the CLI and return the process (for interrupting it)."""
        return subprocess.Popen([sys.executable, "-m", "evals", *args], cwd=self.cwd,
                                env={**self.env, **(extra_env or {})}, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def write(self, name: str, text: str) -> Path:
        """Write a file (dedented) into the working folder."""
        path = self.cwd / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def api(self, path: str, **params: Any) -> Any:
        """GET from the collector's API (server backend only)."""
        assert self.url is not None, "the embedded store has no URL between commands"
        resp = httpx.get(f"{self.url}{path}", params={"project": self.project, **params}, timeout=30)
        assert resp.status_code == 200, f"{path} -> {resp.status_code}: {resp.text}"
        return resp.json()


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SPYGLASS_", "OTEL_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def server_evals(spyglass_server: Any, project: str, tmp_path: Path) -> Evals:
    """The CLI talking to the session's real collector subprocess."""
    # The data dir here only holds the client's signing keys (the store is the server's).
    env = {**_base_env(), "SPYGLASS_ENDPOINT": spyglass_server.url, "SPYGLASS_PROJECT": project,
           "SPYGLASS_DATA_DIR": str(tmp_path / "client-data")}
    return Evals(env, tmp_path, project, spyglass_server.url, None)


@pytest.fixture
def embedded_evals(project: str, tmp_path: Path) -> Evals:
    """The CLI with no collector listening: it starts its own over a temp data dir."""
    data_dir = tmp_path / "data"
    env = {**_base_env(), "SPYGLASS_ENDPOINT": _dead_endpoint(),
           "SPYGLASS_DATA_DIR": str(data_dir), "SPYGLASS_PROJECT": project}
    if engine_state.url:  # the "server" storage engine (tests/conftest.py)
        env["SPYGLASS_CLICKHOUSE_URL"] = engine_database_url(engine_state.url, data_dir)
    return Evals(env, tmp_path, project, None, data_dir)


@pytest.fixture(params=["server", "embedded"])
def evals_cli(request: pytest.FixtureRequest) -> Evals:
    """Both backends, one after the other."""
    return request.getfixturevalue(f"{request.param}_evals")
