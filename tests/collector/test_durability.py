"""Durability and dedup on a real collector subprocess: a 200 survives kill -9 (also
mid-stream, under sustained load from several clients), a re-sent batch is stored once,
SIGTERM flushes, and a data directory has one owner."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
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


def test_kill_9_mid_stream_under_load_loses_no_acknowledged_span(tmp_path, project, otlp_request):
    """Six clients post batches back to back; the collector is killed -9 while several
    requests are in flight. Every span of every batch answered 200 is stored.

    Only HTTP and the stored rows are looked at, so this holds whatever the insert path
    does inside (buffering, columnar inserts): a 200 must mean "on disk"."""
    server = start_server(tmp_path / "data")
    clients, per_batch = 6, 150
    acked: set[str] = set()
    progress = threading.Condition()
    state = {"acked_batches": 0, "in_flight": 0, "in_flight_at_kill": 0}
    killed = threading.Event()

    def client(n: int) -> None:
        with httpx.Client(timeout=60) as http:
            for i in itertools.count():
                if killed.is_set():
                    return
                body, ids = otlp_request(project, per_batch, seed=n * 1_000_000 + i)
                with progress:
                    state["in_flight"] += 1
                try:
                    ok = http.post(f"{server.url}/v1/traces", content=body,
                                   headers=PROTOBUF).status_code == 200
                except httpx.HTTPError:
                    ok = False  # the collector died under this request: not acknowledged
                with progress:
                    state["in_flight"] -= 1
                    if ok:
                        acked.update(ids)
                        state["acked_batches"] += 1
                    progress.notify_all()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    try:
        with progress:
            # Mid-stream: plenty acknowledged already, and most clients waiting on an answer.
            reached = progress.wait_for(
                lambda: state["acked_batches"] >= 4 * clients and state["in_flight"] >= clients // 2,
                timeout=240)
            state["in_flight_at_kill"] = state["in_flight"]
            if reached:
                server.process.kill()  # inside the lock: no answer is counted in between
    finally:
        killed.set()
        server.stop(sig_kill=True)
        for t in threads:
            t.join(timeout=120)
    assert reached, f"the load never got going: {state}"
    assert server.process.returncode == -9
    assert state["in_flight_at_kill"] >= clients // 2
    assert not any(t.is_alive() for t in threads)
    n, _, ids = count(tmp_path / "data", project)
    lost = acked - ids
    assert not lost, f"{len(lost)} of {len(acked)} acknowledged spans are not stored"
    assert n >= len(acked)  # batches in flight at the kill may be stored too, never half-acknowledged


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
