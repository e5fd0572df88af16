"""`spyglass projects ttl`: per-project retention, set on a stopped collector's data dir
and through a running one (its admin route), applied to stored and new spans."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import httpx
from test_api_support import MINUTE, S, now_ns, send
from test_auth import spyglass

from collector.auth import ADMIN_HEADER, read_admin_token
from collector.settings import Settings
from collector.storage import open_storage
from tests.conftest import free_port, start_server


def _stamped_ttls(data_dir: Path, project: str) -> set[int]:
    """Distinct ``ttl_days`` of the project's stored spans once mutations have finished."""
    storage = open_storage(Settings.load(env={}, data_dir=data_dir))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            pending = storage.query("SELECT count() AS n FROM system.mutations "
                                    "WHERE database = currentDatabase() AND NOT is_done")
            if pending[0]["n"] == 0:
                break
            time.sleep(0.2)
        rows = storage.query("SELECT DISTINCT ttl_days FROM spans FINAL WHERE project = {p:String}",
                             {"p": project})
        return {int(r["ttl_days"]) for r in rows}
    finally:
        storage.close()


def test_ttl_on_a_stopped_collectors_data_dir(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    shown = spyglass("projects", "ttl", *data)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == ["default: forever"]

    made = spyglass("projects", "ttl", "demo", "30", *data)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "project 'demo' now keeps spans 30 days"
    one = spyglass("projects", "ttl", "demo", "--json", *data)
    assert json.loads(one.stdout) == {"project": "demo", "ttl_days": 30, "explicit": True}
    other = spyglass("projects", "ttl", "other", *data)
    assert other.stdout.strip() == "project 'other' keeps spans forever (the default)"

    listed = spyglass("projects", "ttl", "--json", *data)
    assert json.loads(listed.stdout) == {
        "default_ttl_days": 0, "projects": [{"project": "demo", "ttl_days": 30, "explicit": True}]}
    table = spyglass("projects", "ttl", *data).stdout.splitlines()
    assert table[0] == "default: forever"
    assert table[1].split() == ["PROJECT", "KEEPS", "SPANS"]
    assert table[2].split() == ["demo", "30", "days"]


def test_bad_days_and_names_are_refused(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    too_many = spyglass("projects", "ttl", "demo", "70000", *data)
    assert too_many.returncode == 2
    assert "70000 is not in the range 0<=x<=65535" in too_many.stderr
    negative = spyglass("projects", "ttl", "demo", "--", "-1", *data)
    assert negative.returncode == 2 and "-1 is not in the range" in negative.stderr
    empty = spyglass("projects", "ttl", " ", "3", *data)
    assert empty.returncode == 1
    assert empty.stderr.strip() == "spyglass: error: the project name must not be empty"


def test_ttl_through_the_running_collector_restamps_stored_and_new_spans(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    project = f"ret-{uuid.uuid4().hex[:6]}"
    server = start_server(data_dir)
    try:
        send(server.url, project, [(now_ns() - 5 * MINUTE, S("before"))])
        data = ["--data-dir", str(data_dir)]
        lost = spyglass("projects", "ttl", project, "7", *data, "--url",
                        f"http://127.0.0.1:{free_port()}")
        assert lost.returncode == 1 and "--url" in lost.stderr
        assert lost.stderr.startswith("spyglass: error:") and len(lost.stderr.splitlines()) == 1

        done = spyglass("projects", "ttl", project, "7", *data, "--url", server.url)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"project '{project}' now keeps spans 7 days"
        listed = json.loads(spyglass("projects", "ttl", "--json", *data, "--url", server.url).stdout)
        assert {"project": project, "ttl_days": 7, "explicit": True} in listed["projects"]

        # The running collector stamps new spans with the new retention at once.
        send(server.url, project, [(now_ns() - MINUTE, S("after"))])
        # Admin routes need the admin token; a bad body names the field.
        refused = httpx.put(f"{server.url}/api/admin/projects/{project}/retention",
                            json={"ttl_days": 1}, timeout=10)
        assert refused.status_code == 401
        admin = {ADMIN_HEADER: read_admin_token(data_dir) or ""}
        bad = httpx.put(f"{server.url}/api/admin/projects/{project}/retention",
                        json={"ttl_days": -3}, headers=admin, timeout=10)
        assert bad.status_code == 400 and "ttl_days" in bad.json()["error"]
    finally:
        server.stop()
    assert _stamped_ttls(data_dir, project) == {7}
