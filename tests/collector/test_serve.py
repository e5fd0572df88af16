"""`spyglass serve` / `python -m collector serve`, settings, health, OpenAPI, the in-process
server, and backpressure, on real sockets."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from collector.settings import Settings, SettingsError
from collector.storage import open_storage
from tests.conftest import REPO_ROOT, free_port, start_server

PROTOBUF = {"content-type": "application/x-protobuf"}


def test_settings_precedence_args_then_env_then_defaults(tmp_path: Path):
    defaults = Settings.load(env={})
    assert (defaults.host, defaults.port, defaults.clickhouse_url) == ("127.0.0.1", 4318, "")
    assert defaults.data_dir == Path("~/.spyglass/data").expanduser()
    assert defaults.max_body_bytes == 16 * 1024 * 1024
    env = {"SPYGLASS_PORT": "5000", "SPYGLASS_DATA_DIR": str(tmp_path),
           "SPYGLASS_INSECURE_NO_AUTH": "true", "SPYGLASS_MAX_BODY_BYTES": "1024"}
    from_env = Settings.load(env=env)
    assert (from_env.port, from_env.data_dir, from_env.insecure_no_auth, from_env.max_body_bytes) == (
        5000, tmp_path, True, 1024)
    assert Settings.load(env=env, port=6000, data_dir=None).port == 6000
    with pytest.raises(SettingsError, match="SPYGLASS_PORT must be an integer"):
        Settings.load(env={"SPYGLASS_PORT": "http"})
    with pytest.raises(SettingsError, match="--port is out of range"):
        Settings.load(env={}, port=70000)


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SPYGLASS_")}
    return subprocess.run([sys.executable, "-m", "collector", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60, env={**clean, **(env or {})})


def test_serve_bad_settings_fail_with_one_line(tmp_path: Path):
    proc = run_cli("serve", "--data-dir", str(tmp_path / "d"), env={"SPYGLASS_PORT": "abc"})
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "spyglass: error: SPYGLASS_PORT must be an integer, got 'abc'"]


def test_serve_unreachable_clickhouse_fails_naming_it(tmp_path: Path):
    port = free_port()
    proc = run_cli("serve", "--port", "0", "--clickhouse-url", f"http://127.0.0.1:{port}/db")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert f"cannot connect to ClickHouse at http://127.0.0.1:{port}/db" in lines[-1]
    # One error line, no third-party retry warnings or traceback around it.
    assert lines == [lines[-1]], lines


def test_serve_port_in_use_fails_naming_it(tmp_path: Path, spyglass_server):
    proc = run_cli("serve", "--port", str(spyglass_server.port), "--data-dir", str(tmp_path / "d"))
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith(f"spyglass: error: cannot listen on 127.0.0.1:{spyglass_server.port}")
    # Before it only the storage's INFO lines (migrations applied), never a traceback.
    assert all(" INFO " in line for line in lines[:-1]), lines


def test_serve_prints_url_health_and_openapi(spyglass_server):
    assert f"Spyglass listening on {spyglass_server.url}" in spyglass_server.log()
    health = httpx.get(f"{spyglass_server.url}/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok" and health.json()["storage"] == "chdb"
    doc = httpx.get(f"{spyglass_server.url}/schema/openapi.json").json()
    assert "/v1/traces" in doc["paths"] and "/healthz" in doc["paths"]
    assert doc["paths"]["/v1/traces"]["post"]["summary"] == "OTLP/HTTP trace export"


def test_start_in_thread_port_zero_and_health_503_when_storage_is_gone(tmp_path: Path):
    from collector.server import start_in_thread

    running = start_in_thread(Settings.load(env={}, port=0, data_dir=tmp_path / "d",
                                            log_level="warning"))
    try:
        assert not running.url.endswith(":0")
        assert httpx.get(f"{running.url}/healthz").status_code == 200
        running.storage.close()  # type: ignore[attr-defined]
        r = httpx.get(f"{running.url}/healthz")
        assert r.status_code == 503 and "storage is closed" in r.json()["error"]
    finally:
        running.stop()
    # The data-dir lock is released: another owner can open it now.
    open_storage(Settings.load(env={}, data_dir=tmp_path / "d")).close()


def test_backpressure_answers_429_with_retry_after_and_keeps_every_acked_span(
        tmp_path: Path, project: str, otlp_request):
    server = start_server(tmp_path / "data", env={"SPYGLASS_WRITER_MAX_PENDING_SPANS": "1",
                                                  "SPYGLASS_RETRY_AFTER_S": "2"})
    bodies = [otlp_request(project, 50, seed=i) for i in range(40)]

    async def blast() -> list[tuple[httpx.Response, list[str]]]:
        async with httpx.AsyncClient(timeout=30) as client:
            async def one(item):
                return await client.post(f"{server.url}/v1/traces", content=item[0],
                                         headers=PROTOBUF), item[1]
            return await asyncio.gather(*(one(b) for b in bodies))

    try:
        results = asyncio.run(blast())
    finally:
        server.stop()
    codes = [r.status_code for r, _ in results]
    assert set(codes) <= {200, 429}
    assert codes.count(429) > 0 and codes.count(200) > 0
    refused = next(r for r, _ in results if r.status_code == 429)
    assert refused.headers["retry-after"] == "2"
    from google.rpc import status_pb2
    assert "queue is full" in status_pb2.Status.FromString(refused.content).message
    acked = {i for r, ids in results if r.status_code == 200 for i in ids}
    storage = open_storage(Settings.load(env={}, data_dir=tmp_path / "data"))
    try:
        rows = storage.query("SELECT span_id FROM spans FINAL WHERE project = {p:String}",
                             {"p": project})
    finally:
        storage.close()
    assert {r["span_id"] for r in rows} == acked
