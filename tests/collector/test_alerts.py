"""Alerts (issue 15): rules over a project's series, evaluated by the collector's background
worker, notifying a local webhook receiver; CRUD, history and the ``spyglass alerts`` CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from test_api_support import S, now_ns, send

from tests.conftest import REPO_ROOT, ServerHandle, free_port, start_server


class Receiver:
    """A tiny webhook endpoint: records every JSON body; answers ``fail_first`` 500s first."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.fail_first = 0
        self.calls = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.calls += 1
                if receiver.fail_first > 0:
                    receiver.fail_first -= 1
                    self.send_response(500)
                else:
                    receiver.bodies.append(body)
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    handle = start_server(tmp_path_factory.mktemp("alerts") / "data",
                          env={"SPYGLASS_ALERT_INTERVAL_MS": "300", "SPYGLASS_ALERT_RETRY_BACKOFF_MS": "50"})
    yield handle
    handle.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def create(url: str, expect: int = 201, **body) -> dict:
    response = httpx.post(f"{url}/api/alerts", json=body, timeout=30)
    assert response.status_code == expect, response.text
    return response.json()


def history(url: str, alert_id: str) -> list[dict]:
    response = httpx.get(f"{url}/api/alerts/{alert_id}/history", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["events"]


def wait_for(check, timeout_s: float = 30.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def test_error_rate_alert_fires_once_respects_cooldown_and_resolves(server, receiver) -> None:
    url, project = server.url, f"alerts-{uuid.uuid4().hex[:8]}"
    rule = create(url, project=project, name="errors", metric="error_rate", threshold=0.5,
                  window_s=4, cooldown_s=3600, webhook_url=receiver.url)
    assert rule["state"] == "ok" and rule["condition"] == "above" and rule["mode"] == "value"
    time.sleep(1.0)
    assert history(url, rule["id"]) == []  # a quiet project: nothing fires

    send(url, project, [(now_ns(), S("answer", status="error", error="boom")) for _ in range(3)]
         + [(now_ns(), S("answer"))])
    fired = wait_for(lambda: history(url, rule["id"]))
    assert [e["kind"] for e in fired] == ["fired"]
    assert fired[0]["value"] == pytest.approx(0.75) and fired[0]["notification"] == "sent"
    assert fired[0]["attempts"] == 1
    assert httpx.get(f"{url}/api/alerts/{rule['id']}").json()["state"] == "firing"
    time.sleep(1.0)  # more passes while it is firing notify nothing new
    assert len(receiver.bodies) == 1
    body = receiver.bodies[0]
    assert body["event"] == "fired" and body["value"] == pytest.approx(0.75)
    assert body["alert"]["id"] == rule["id"] and body["alert"]["project"] == project
    assert "errors" in body["text"] and "error_rate" in body["text"]

    # The window slides past the errors: resolved, and notified.
    events = wait_for(lambda: [e for e in history(url, rule["id"]) if e["kind"] == "resolved"])
    assert events[0]["value"] == 0 and events[0]["notification"] == "sent"
    assert [b["event"] for b in receiver.bodies] == ["fired", "resolved"]

    # Errors again within the cool-down: no second fire.
    send(url, project, [(now_ns(), S("answer", status="error", error="boom"))])
    time.sleep(2.0)
    assert [e["kind"] for e in history(url, rule["id"])] == ["resolved", "fired"]
    assert len(receiver.bodies) == 2


def test_slack_payload_retries_and_a_dead_webhook_is_recorded(server, receiver) -> None:
    url, project = server.url, f"alerts-{uuid.uuid4().hex[:8]}"
    receiver.fail_first = 2
    slack = create(url, project=project, name="spend", metric="token_volume", threshold=100,
                   window_s=60, webhook_url=receiver.url, webhook_format="slack")
    dead = create(url, project=project, name="spend-dead", metric="token_volume", threshold=100,
                  window_s=60, webhook_url=f"http://127.0.0.1:{free_port()}/nobody")
    send(url, project, [(now_ns(), S("chat", kind="llm", model="m", in_tok=100, out_tok=50))])
    sent = wait_for(lambda: history(url, slack["id"]))
    assert (sent[0]["kind"], sent[0]["notification"], sent[0]["attempts"]) == ("fired", "sent", 3)
    assert receiver.calls == 3 and list(receiver.bodies[0]) == ["text"]
    assert "spend" in receiver.bodies[0]["text"] and "150" in receiver.bodies[0]["text"]
    failed = wait_for(lambda: history(url, dead["id"]))
    assert (failed[0]["notification"], failed[0]["attempts"]) == ("failed", 3)
    assert failed[0]["detail"]


def test_crud_and_validation(server) -> None:
    url, project = server.url, f"alerts-{uuid.uuid4().hex[:8]}"
    assert "metric" in create(url, 400, project=project, name="x", metric="vibes", threshold=1)["error"]
    assert "'filters.score'" in create(url, 400, project=project, name="x", metric="monitor_score",
                                       threshold=0.5)["error"]
    assert "'webhook_url'" in create(url, 400, project=project, name="x", metric="error_rate",
                                     threshold=0.5, webhook_url="ftp://x")["error"]
    made = create(url, project=project, name="scores", metric="monitor_score", threshold=0.5,
                  condition="below", filters={"score": "pii", "monitor": "leaks"})
    listed = httpx.get(f"{url}/api/alerts", params={"project": project}).json()["alerts"]
    assert [a["id"] for a in listed] == [made["id"]] and listed[0]["filters"] == {"score": "pii",
                                                                                 "monitor": "leaks"}
    paused = httpx.put(f"{url}/api/alerts/{made['id']}", json={**{k: made[k] for k in (
        "project", "name", "metric", "threshold", "condition", "filters")}, "enabled": False})
    assert paused.status_code == 200 and paused.json()["enabled"] is False
    assert paused.json()["created_at"] == made["created_at"]
    assert httpx.delete(f"{url}/api/alerts/{made['id']}").status_code == 204
    assert httpx.get(f"{url}/api/alerts/{made['id']}").status_code == 404
    assert httpx.get(f"{url}/api/alerts", params={"project": project}).json()["alerts"] == []


def test_cli_create_list_delete(server) -> None:
    url, project = server.url, f"alerts-{uuid.uuid4().hex[:8]}"

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "collector", "alerts", *args, "--endpoint", url],
                              capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)

    made = cli("create", "--project", project, "--name", "slow", "--metric", "p95_latency_ms",
               "--threshold", "2000", "--window", "600", "--filter", "kind=llm", "--slack",
               "--webhook", "http://127.0.0.1:9/x")
    assert made.returncode == 0, made.stderr
    alert_id = made.stdout.strip()
    listed = cli("list", "--project", project)
    assert listed.returncode == 0 and alert_id in listed.stdout
    assert "p95_latency_ms over 600s above 2000" in listed.stdout and "[ok]" in listed.stdout
    bad = cli("create", "--project", project, "--name", "x", "--metric", "error_rate",
              "--threshold", "1", "--filter", "colour=red")
    assert bad.returncode == 2 and "colour=red" in bad.stderr
    assert cli("delete", alert_id).returncode == 0
    gone = cli("delete", alert_id)
    assert gone.returncode == 2 and "404" in gone.stderr
    assert alert_id not in cli("list", "--project", project).stdout
