"""Issue 15: monitors stored through /api/monitors and run by the collector's monitors worker
(loaded by name, never imported by the collector); a collector killed mid-scoring that loses
its state stores exactly one score per (monitor, span, scorer) after restart."""

from __future__ import annotations

import shutil
import time
import uuid
from collections import Counter

import httpx
import pytest
from test_monitors import feedback, send_spans, wait_for_spans

from tests.conftest import start_server

ENV = {"SPYGLASS_WORKERS": "scorers.monitors.service:start_service", "SPYGLASS_MONITORS_POLL_MS": "300"}


def wait_for_feedback(url: str, project: str, n: int, timeout_s: float = 60.0) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    items: list[dict] = []
    while time.monotonic() < deadline:
        items = feedback(url, project)
        if len(items) >= n:
            return items
        time.sleep(0.3)
    raise AssertionError(f"only {len(items)} of {n} scores stored")


def test_stored_monitor_scores_once_across_a_kill_and_lost_state(tmp_path) -> None:
    data_dir = tmp_path / "data"
    server = start_server(data_dir, env=ENV)
    project = f"svc-{uuid.uuid4().hex[:8]}"
    try:
        made = httpx.post(f"{server.url}/api/monitors", json={
            "project": project, "name": "leaks", "scorers": ["pii", {"type": "regex", "pattern": "secret",
                                                                      "must_match": False, "name": "secret"}]})
        assert made.status_code == 201, made.text
        assert made.json()["enabled"] is True and made.json()["created_at"].endswith("Z")
        time.sleep(0.5)  # spans must start after the monitor was created
        send_spans(server.url, project, [("answer", "chain", f"mail {i}@example.com") for i in range(20)])
        wait_for_spans(server.url, project, 20)
        wait_for_feedback(server.url, project, 1)
    finally:
        server.stop(sig_kill=True)  # mid-scoring, without a clean shutdown
    shutil.rmtree(data_dir / "workers", ignore_errors=True)  # and the runner's position is lost

    server = start_server(data_dir, env=ENV)
    try:
        send_spans(server.url, project, [("answer", "chain", "nothing here")])
        items = wait_for_feedback(server.url, project, 2 * 21)
        time.sleep(1.5)  # a few more polls: nothing more may arrive
        items = feedback(server.url, project)
        per_key = Counter((f["span_id"], f["name"]) for f in items)
        assert len(per_key) == 42 and set(per_key.values()) == {1}
        assert {f["author"] for f in items} == {"monitor:leaks"}
    finally:
        server.stop()


def test_monitor_crud(spyglass_server) -> None:
    url, project = spyglass_server.url, f"svc-{uuid.uuid4().hex[:8]}"
    body = {"project": project, "name": "tox", "scorers": ["pii"], "filter": {"kind": "llm"}, "sample_rate": 0.5}
    made = httpx.post(f"{url}/api/monitors", json=body)
    assert made.status_code == 201, made.text
    assert httpx.post(f"{url}/api/monitors", json=body).status_code == 409
    bad = httpx.post(f"{url}/api/monitors", json={**body, "name": "x", "filter": {"colour": "red"}})
    assert bad.status_code == 400 and "'filter'" in bad.json()["error"]
    assert httpx.post(f"{url}/api/monitors", json={**body, "sample_rate": 2}).status_code == 400
    mid = made.json()["id"]
    paused = httpx.put(f"{url}/api/monitors/{mid}", json={**body, "enabled": False})
    assert paused.status_code == 200 and paused.json()["enabled"] is False
    listed = httpx.get(f"{url}/api/monitors", params={"project": project}).json()["monitors"]
    assert [(m["id"], m["sample_rate"], m["enabled"]) for m in listed] == [(mid, 0.5, False)]
    assert httpx.delete(f"{url}/api/monitors/{mid}").status_code == 204
    assert httpx.get(f"{url}/api/monitors/{mid}").status_code == 404


@pytest.mark.parametrize("setting", ["off"])
def test_workers_setting_off_runs_none(setting: str) -> None:
    from collector.settings import Settings
    from collector.workers import load_workers

    assert load_workers(Settings.load(env={"SPYGLASS_WORKERS": setting})) == []
    loaded = load_workers(Settings.load(env={"SPYGLASS_WORKERS": "scorers.monitors.service:start_service"}))
    assert [type(w).__name__ for w in loaded] == ["MonitorService"]
    for w in loaded:
        w.stop()
