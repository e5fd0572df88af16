"""The test ClickHouse server (tests/chserver/server.py) as something tests can start.

``start_clickhouse(tmp_dir)`` runs ``python -m tests.chserver.server`` in a subprocess and
returns a :class:`ClickHouseHandle` with the URL clickhouse-connect (and Spyglass's
``--clickhouse-url``) take. The session fixture ``clickhouse`` in tests/conftest.py uses
it unless ``SPYGLASS_TEST_CLICKHOUSE_URL`` names a real server.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

REPO_ROOT = Path(__file__).resolve().parents[2]
# A password on the test server so the URL's credentials are exercised, as on a real one.
TEST_USER = "spyglass"
TEST_PASSWORD = "test-pass"


class _EngineState:
    """The ClickHouse server URL that ``tests.conftest.start_server`` adds (with a database
    per data dir) while a test runs on the "server" engine; None on chDB. Kept here, not in
    conftest, because pytest imports conftest twice (as ``conftest`` and ``tests.conftest``)."""

    url: str | None = None
    # Databases tests created on the server, dropped at session end on a real server.
    databases: set[str] = set()


engine_state = _EngineState()


@dataclass
class ClickHouseHandle:
    """A running test server: ``url`` is ``http://user:password@127.0.0.1:PORT``."""

    url: str
    process: subprocess.Popen | None
    log_path: Path | None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def database_url(self, database: str) -> str:
        """The URL of ``database`` on this server (created on first use by Spyglass)."""
        return with_database(self.url, database)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def drop_databases(url: str, names: set[str]) -> None:
    """Drop ``names`` on the server at ``url`` (test databases left on a real server)."""
    import clickhouse_connect

    u = urlparse(url)
    client = clickhouse_connect.get_client(host=u.hostname, port=u.port or 8123,
                                           username=u.username or "default",
                                           password=u.password or "",
                                           secure=u.scheme == "https")
    try:
        for name in sorted(names):
            client.command(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        client.close()


def with_database(url: str, database: str) -> str:
    """``url`` (a server URL, with or without a database) pointing at ``database``."""
    return urlparse(url)._replace(path=f"/{database}").geturl()


def start_clickhouse(tmp_dir: Path, timeout_s: float = 60.0) -> ClickHouseHandle:
    """Start the test server over a chDB data dir in ``tmp_dir``; wait until it listens."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    log_path = tmp_dir / "chserver.log"
    log = open(log_path, "wb")  # noqa: SIM115 - owned by the child process
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT),
                                                       os.environ.get("PYTHONPATH", "")]))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.chserver.server", "--path", str(tmp_dir / "chdb"),
         "--user", TEST_USER, "--password", TEST_PASSWORD],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=log)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    line = proc.stdout.readline().decode().strip() if ready else ""
    if not line.startswith("listening on http://"):
        proc.kill()
        raise RuntimeError(f"test ClickHouse server did not start: {line!r}\n"
                           f"{log_path.read_text(errors='replace')}")
    address = line.removeprefix("listening on http://")
    return ClickHouseHandle(url=f"http://{TEST_USER}:{TEST_PASSWORD}@{address}",
                            process=proc, log_path=log_path)
