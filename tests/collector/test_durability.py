"""Durability and dedup on a real collector subprocess: a 200 survives kill -9, a re-sent
batch is stored once, SIGTERM flushes, and a data directory has one owner."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from collector.settings import Settings
from collector.storage import DataDirLockedError, open_storage
from tests.conftest import REPO_ROOT, start_server

PROTOBUF = {"content-type": "application/x-protobuf"}


def count(data_dir: Path, project: str) -> tuple[int, int, set[str]]:
    """(deduplicated rows, raw rows, span ids) of ``project``, read after the server is gone."""
    storage = open_storage(Settings.load(env={}, data_dir=data_dir))
    try:
        dedup = storage.query("SELECT span_id FROM spans FINAL WHERE project = {p:String}",
                              {"p": project})
        raw = storage.query("SELECT count() AS n FROM spans WHERE project = {p:String}",
                            {"p": project})[0]["n"]
    finally:
        storage.close()
    return len(dedup), raw, {r["span_id"] for r in dedup}


def test_kill_9_right_after_200_loses_nothing(tmp_path, project, otlp_request):
    server = start_server(tmp_path / "data")
    acked: set[str] = set()
    try:
        bodies = [otlp_request(project, 200, seed=i) for i in range(24)]

        def post(item: tuple[bytes, list[str]]) -> list[str]:
            r = httpx.post(f"{server.url}/v1/traces", content=item[0], headers=PROTOBUF, timeout=30)
            return item[1] if r.status_code == 200 else []

        with ThreadPoolExecutor(6) as pool:
            for ids in pool.map(post, bodies):
                acked.update(ids)
    finally:
        # The very next instant after the last acknowledgement: no flush, no shutdown hook.
        server.stop(sig_kill=True)
    assert server.process.returncode == -9
    assert len(acked) == 24 * 200
    n, _, ids = count(tmp_path / "data", project)
    assert acked <= ids
    assert n == len(acked)


def test_resent_batch_is_stored_once(tmp_path, project, otlp_request):
    server = start_server(tmp_path / "data")
    body, ids = otlp_request(project, 50, seed=7)
    try:
        for _ in range(3):  # an exporter retrying after a lost response
            r = httpx.post(f"{server.url}/v1/traces", content=body, headers=PROTOBUF)
            assert r.status_code == 200
    finally:
        server.stop()
    assert server.process.returncode == 0
    n, raw, stored_ids = count(tmp_path / "data", project)
    assert n == 50 and stored_ids == set(ids)
    assert raw >= 50  # copies may linger until a merge; FINAL reads them as one

    # After a restart the dedup still holds, including once merges have run.
    storage = open_storage(Settings.load(env={}, data_dir=tmp_path / "data"))
    try:
        storage.command("OPTIMIZE TABLE spans FINAL")
        raw = storage.query("SELECT count() AS n FROM spans WHERE project = {p:String}",
                            {"p": project})[0]["n"]
        assert raw == 50
    finally:
        storage.close()


def test_sigterm_flushes_and_exits_cleanly(tmp_path, project, otlp_request):
    server = start_server(tmp_path / "data")
    body, _ = otlp_request(project, 10)
    try:
        assert httpx.post(f"{server.url}/v1/traces", content=body, headers=PROTOBUF).status_code == 200
    finally:
        server.stop()
    assert server.process.returncode == 0
    assert "writer flushed" in server.log()
    assert count(tmp_path / "data", project)[0] == 10


def test_second_process_on_same_data_dir_is_refused(tmp_path):
    data_dir = tmp_path / "data"
    server = start_server(data_dir)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "collector", "serve", "--port", "0", "--data-dir", str(data_dir)],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
            env={k: v for k, v in os.environ.items() if not k.startswith("SPYGLASS_")},
        )
        assert proc.returncode == 1
        err = proc.stderr.strip().splitlines()
        assert len(err) == 1, proc.stderr
        assert str(data_dir.resolve()) in err[0]
        assert f"pid {server.process.pid}" in err[0]
        with pytest.raises(DataDirLockedError, match=f"pid {server.process.pid}"):
            open_storage(Settings.load(env={}, data_dir=data_dir))
    finally:
        server.stop()
    # Released on exit: the next owner opens it.
    open_storage(Settings.load(env={}, data_dir=data_dir)).close()
