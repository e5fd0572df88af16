"""The newcomer's path (issue 12): `spyglass serve` on a non-default port and data dir,
and every client follows it without settings — the tracer, `evals`, the monitors and
`spyglass keys` — through the endpoint file it publishes (common/endpoint.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from common.endpoint import DEFAULT_ENDPOINT, resolve_endpoint
from tests.conftest import REPO_ROOT, free_port, start_server

TRACED_APP = """
import tracer
from tracer import op
tracer.init(project="{project}")
@op
def answer(q):
    return "Paris"
answer("capital of France?")
assert tracer.flush(30)
print(tracer.settings().endpoint)
"""


def client_env(home: Path) -> dict[str, str]:
    """A client's environment with no Spyglass setting but the (shared) home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPYGLASS_", "OTEL_"))}
    return {**env, "SPYGLASS_HOME": str(home), "PYTHONPATH": str(REPO_ROOT)}


def run(args: list[str], home: Path, cwd: Path, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=180, env={**client_env(home), **extra})


def test_every_client_follows_serve_on_another_port_and_data_dir(tmp_path, monkeypatch):
    home = tmp_path / "home"
    data_dir = tmp_path / "elsewhere" / "data"
    port = free_port()
    assert port != 4318
    server = start_server(data_dir, port=port, env={"SPYGLASS_HOME": str(home)})
    try:
        published = json.loads((home / "endpoint").read_text())
        assert published["url"] == server.url
        assert Path(published["data_dir"]).resolve() == data_dir.resolve()

        # The tracer.
        app = tmp_path / "app.py"
        app.write_text(TRACED_APP.format(project="newcomer"))
        done = run([str(app)], home, tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == server.url
        traces = httpx.get(f"{server.url}/api/traces", params={"project": "newcomer"}).json()
        assert [t["root_name"] for t in traces["traces"]] == ["answer"]

        # evals: talks to this server, does not start an embedded one.
        (tmp_path / "rows.jsonl").write_text('{"id": 1, "q": "a"}\n{"id": 2, "q": "b"}\n')
        done = run(["-m", "evals.cli", "datasets", "push", "rows.jsonl", "--name", "nc",
                    "--key", "id"], home, tmp_path, SPYGLASS_PROJECT="newcomer")
        assert done.returncode == 0, done.stderr
        assert "in-process" not in done.stderr
        names = [d["name"] for d in httpx.get(f"{server.url}/api/datasets",
                                              params={"project": "newcomer"}).json()["datasets"]]
        assert names == ["nc"]

        # The monitors' runner.
        monkeypatch.setenv("SPYGLASS_HOME", str(home))
        monkeypatch.delenv("SPYGLASS_ENDPOINT", raising=False)
        from scorers import exact_match
        from scorers.monitors.config import Monitor, MonitorsConfig
        from scorers.monitors.runner import MonitorRunner

        config = MonitorsConfig(monitors=[Monitor(name="m", project="newcomer", scorers=[exact_match()])])
        runner = MonitorRunner(config)
        try:
            assert runner.endpoint == server.url
        finally:
            runner.close()
        assert resolve_endpoint() == server.url

        # spyglass keys: the running server's data dir, through its admin routes.
        done = run(["-m", "collector", "keys", "create", "--project", "newcomer"], home, tmp_path)
        assert done.returncode == 0, done.stderr
        key = done.stdout.strip()
        assert httpx.get(f"{server.url}/api/traces").status_code == 401
        assert httpx.get(f"{server.url}/api/traces", params={"project": "newcomer"},
                         headers={"Authorization": f"Bearer {key}"}).status_code == 200
        listed = run(["-m", "collector", "keys", "list"], home, tmp_path)
        assert listed.returncode == 0 and "newcomer" in listed.stdout
    finally:
        server.stop()
    # Stopped: the file is withdrawn and clients fall back to the default.
    assert not (home / "endpoint").exists()
    assert resolve_endpoint() == DEFAULT_ENDPOINT


def test_a_stale_endpoint_file_is_ignored(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    (home / "endpoint").write_text(json.dumps(
        {"url": "http://127.0.0.1:1", "data_dir": "", "pid": int(dead.stdout)}))
    monkeypatch.setenv("SPYGLASS_HOME", str(home))
    monkeypatch.delenv("SPYGLASS_ENDPOINT", raising=False)
    assert resolve_endpoint() == DEFAULT_ENDPOINT
    monkeypatch.setenv("SPYGLASS_ENDPOINT", "http://example.test:9999/")
    assert resolve_endpoint() == "http://example.test:9999"
