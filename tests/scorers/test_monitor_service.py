"""Issue 15: monitors stored through /api/monitors and run by the collector's monitors worker
(loaded by name, never imported by the collector); a collector killed mid-scoring that loses
its state stores exactly one score per (monitor, span, scorer) after restart."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter

import httpx
import pytest
from stubs.openai_server import OpenAIStub, Scripted, chat_completion
from test_monitors import feedback, send_spans, wait_for_spans

from tests.conftest import REPO_ROOT, start_server

ENV = {"SPYGLASS_WORKERS": "scorers.monitors.service:start_service", "SPYGLASS_MONITORS_POLL_MS": "300"}


def wait_for_feedback(url: str, project: str, n: int, timeout_s: float = 60.0,
                      headers: dict[str, str] | None = None) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    items: list[dict] = []
    while time.monotonic() < deadline:
        items = feedback(url, project, headers)
        if len(items) >= n:
            return items
        time.sleep(0.3)
    raise AssertionError(f"only {len(items)} of {n} scores stored")


SLOW_SCORER = """
import time
from scorers import Scorer

class SlowLength(Scorer):
    default_name = "slow_length"

    def _score(self, **fields):
        # Slow enough that the kill lands mid-scoring even when the worker keeps pace with
        # ingest (~99 sampled spans: ~10 s of scoring, the kill comes after 20 scores).
        time.sleep(0.1)
        return self.make_score(float(len(str(fields.get("output")))))

slow_length = SlowLength()
"""


def stored_rows(data_dir, project: str) -> Counter:
    """(span_id, score name) -> stored feedback rows, read from the data directory itself
    (no FINAL: duplicates the store has not folded yet would show)."""
    from collector.settings import Settings
    from collector.storage import open_storage

    storage = open_storage(Settings.load(env={}, data_dir=data_dir))
    try:
        rows = storage.query("SELECT span_id, name, count() AS n FROM feedback WHERE project = {p:String} "
                             "GROUP BY span_id, name", {"p": project})
    finally:
        storage.close()
    return Counter({(r["span_id"], r["name"]): int(r["n"]) for r in rows})


def test_stored_monitor_scores_once_across_a_kill_and_lost_state(tmp_path) -> None:
    """The "Done when" line: SIGKILL the collector while its worker is scoring, delete the
    worker's state, restart: every sampled span has exactly one stored score per scorer."""
    from scorers.monitors import sampled

    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "slow_scorers.py").write_text(SLOW_SCORER)
    env = {**ENV, "SPYGLASS_MONITORS_BATCH": "10",
           "PYTHONPATH": os.pathsep.join([str(tmp_path / "mods"), str(REPO_ROOT)])}
    data_dir = tmp_path / "data"
    server = start_server(data_dir, env=env)
    project = f"svc-{uuid.uuid4().hex[:8]}"
    scorers = ["pii", "slow_scorers:slow_length"]
    try:
        made = httpx.post(f"{server.url}/api/monitors", json={
            "project": project, "name": "leaks", "scorers": scorers, "sample_rate": 0.5})
        assert made.status_code == 201, made.text
        assert made.json()["enabled"] is True and made.json()["created_at"].endswith("Z")
        time.sleep(0.5)  # spans must start after the monitor was created
        send_spans(server.url, project, [("answer", "chain", f"mail {i}@example.com") for i in range(200)])
        spans = wait_for_spans(server.url, project, 200)
        chosen = {s["span_id"] for s in spans if sampled(s["span_id"], 0.5)}
        assert 60 < len(chosen) < 140
        at_kill = len(wait_for_feedback(server.url, project, 20))
    finally:
        server.stop(sig_kill=True)  # mid-scoring, without a clean shutdown
    assert at_kill < 2 * len(chosen), "the kill came after scoring had finished"
    assert (data_dir / "workers").is_dir()
    shutil.rmtree(data_dir / "workers")  # and the runner's position is lost

    server = start_server(data_dir, env=env)
    try:
        send_spans(server.url, project, [("answer", "chain", "nothing here")])
        late = [s["span_id"] for s in wait_for_spans(server.url, project, 201)
                if s["output"] == "nothing here"]
        chosen |= {sid for sid in late if sampled(sid, 0.5)}
        wait_for_feedback(server.url, project, 2 * len(chosen))
        time.sleep(1.5)  # a few more polls: nothing more may arrive
        items = feedback(server.url, project)
        assert {f["author"] for f in items} == {"monitor:leaks"}
    finally:
        server.stop()
    rows = stored_rows(data_dir, project)
    assert set(rows) == {(sid, name) for sid in chosen for name in ("pii", "slow_length")}
    assert set(rows.values()) == {1}
    assert len(items) == len(rows) == 2 * len(chosen)


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


def _create_key(data_dir, project: str) -> str:
    done = subprocess.run([sys.executable, "-m", "collector", "keys", "create", "--project", project,
                           "--data-dir", str(data_dir)], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_worker_scores_with_api_keys_and_reports_status_with_the_judge_budget(
        tmp_path, openai_stub: OpenAIStub) -> None:
    """Issue 15's 401: with an API key the in-collector worker still reads and scores (its
    internal credential), and its counters reach GET /api/monitors/{id}/status; a $0.60 day
    budget stops the judge after three $0.25 calls while the rule scorer keeps scoring."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    project = f"svc-{uuid.uuid4().hex[:8]}"
    auth = {"Authorization": f"Bearer {_create_key(data_dir, project)}"}
    traced = f"{project}-own"
    traced_auth = {"Authorization": f"Bearer {_create_key(data_dir, traced)}"}
    openai_stub.chat_responder = lambda body: Scripted(200, chat_completion(
        '{"reasoning": "fine", "score": false}', model="gpt-4o", usage=(100_000, 0)))
    server = start_server(data_dir, env={**ENV, "SPYGLASS_MONITORS_TRACE_PROJECT": traced})
    try:
        url = server.url
        assert httpx.get(f"{url}/api/monitors").status_code == 401
        judge = {"type": "llm_judge.toxicity", "base_url": openai_stub.base_url, "model": "gpt-4o",
                 "cache": False}
        made = httpx.post(f"{url}/api/monitors", headers=auth, json={
            "project": project, "name": "budgeted", "scorers": ["pii", judge],
            "judge_budget_usd_per_day": 0.6})
        assert made.status_code == 201, made.text
        mid = made.json()["id"]
        assert made.json()["judge_budget_usd_per_day"] == 0.6
        pending = httpx.get(f"{url}/api/monitors/{mid}/status", headers=auth)
        assert pending.status_code == 200 and pending.json()["state"] in ("pending", "running")
        time.sleep(0.5)
        send_spans(url, project, [("answer", "chain", f"mail {i}@example.com") for i in range(6)], headers=auth)
        wait_for_spans(url, project, 6, headers=auth)
        items = wait_for_feedback(url, project, 9, headers=auth)
        assert sorted(Counter(f["name"] for f in items).items()) == [("pii", 6), ("toxicity", 3)]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status = httpx.get(f"{url}/api/monitors/{mid}/status", headers=auth).json()
            if status["sampled"] == 6 and status["posted"] == 9:
                break
            time.sleep(0.3)
        assert (status["sampled"], status["scored"], status["judge_calls"], status["judge_skipped_budget"],
                status["dropped_backlog"], status["errors"]) == (6, 9, 3, 3, 0, 0), status
        assert status["state"] == "budget_exceeded" and status["budget_exceeded"] is True
        assert status["judge_cost_usd_today"] == pytest.approx(0.75)
        assert status["judge_budget_usd_per_day"] == 0.6 and status["last_run"].endswith("Z")
        assert status["budget_day"] == time.strftime("%Y-%m-%d", time.gmtime())
        # Only the collector's own worker reports status: a project key may not forge it.
        forged = httpx.put(f"{url}/api/monitors/{mid}/status", headers=auth, json={"sampled": 0})
        assert forged.status_code == 403
        assert "HTTP 401" not in server.log()
    finally:
        server.stop()
    assert len(openai_stub.chat_requests()) == 3
    # The judge calls were traced into the trace project with the cost the budget counted.
    server = start_server(data_dir)
    try:
        llm = [s for s in wait_for_spans(server.url, traced, 3, headers=traced_auth) if s["kind"] == "llm"]
        assert len(llm) == 3 and all(s["cost_usd"] == pytest.approx(0.25) for s in llm)
    finally:
        server.stop()

    # A restart does not reset the day's budget: the spend resumes from the stored status.
    server = start_server(data_dir, env=ENV)
    try:
        url = server.url
        send_spans(url, project, [("answer", "chain", f"later {i}@example.com") for i in range(2)], headers=auth)
        wait_for_feedback(url, project, 11, headers=auth)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status = httpx.get(f"{url}/api/monitors/{mid}/status", headers=auth).json()
            if status["judge_skipped_budget"] >= 5:
                break
            time.sleep(0.3)
        assert (status["sampled"], status["judge_calls"], status["judge_skipped_budget"]) == (8, 3, 5), status
        assert status["state"] == "budget_exceeded"
    finally:
        server.stop()
    assert len(openai_stub.chat_requests()) == 3
