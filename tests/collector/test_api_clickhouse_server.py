"""The query API and keys on a ClickHouse server (the compose / cluster path): the same
routes, SQL and answers as on chDB. On SPYGLASS_TEST_CLICKHOUSE_URL when it names a server
(e.g. http://default:@127.0.0.1:8123), else on the test server (tests/chserver); each run
uses its own database, dropped after."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from urllib.parse import urlparse

import httpx
import pytest
from test_api_support import MINUTE, S, get, now_ns, send

from tests.conftest import REPO_ROOT, start_server

pytestmark = [pytest.mark.clickhouse_server]


@pytest.fixture(scope="module")
def server(tmp_path_factory, clickhouse):
    database = f"spyglass_api_{uuid.uuid4().hex[:10]}"
    url = urlparse(clickhouse.url)._replace(path=f"/{database}").geturl()
    handle = start_server(tmp_path_factory.mktemp("ch") / "data", "--clickhouse-url", url)
    yield handle, url
    handle.stop()
    import clickhouse_connect

    from collector.storage.clickhouse_engine import parse_clickhouse_url

    kwargs = parse_clickhouse_url(url)
    kwargs.pop("database", None)
    client = clickhouse_connect.get_client(**kwargs)
    client.command(f"DROP DATABASE IF EXISTS `{database}`")
    client.close()


def test_routes_answer_alike_on_a_server(server) -> None:
    handle, _ = server
    project = f"ch-{uuid.uuid4().hex[:6]}"
    base = now_ns() - 10 * MINUTE
    ids = send(handle.url, project, [
        (base + i * 1000, S("answer", children=[
            S("chat", kind="llm", at_ms=1, model="gpt-4o-mini", in_tok=10 * (i + 1), out_tok=2,
              cost=0.001,
              status="error" if i == 0 else "ok")])) for i in range(3)])
    traces = get(handle.url, "/api/traces", project=project, limit=2)
    assert [t["trace_id"] for t in traces["traces"]] == ids[::-1][:2]
    rest = get(handle.url, "/api/traces", project=project, limit=2, cursor=traces["next_cursor"])
    assert [t["trace_id"] for t in rest["traces"]] == [ids[0]] and rest["next_cursor"] is None
    assert get(handle.url, "/api/traces", project=project, status="error")["traces"][0][
        "trace_id"] == ids[0]
    detail = get(handle.url, f"/api/traces/{ids[1]}")
    assert [s["name"] for s in detail["spans"]] == ["answer", "chat"]
    assert detail["spans"][1]["input_tokens"] == 20
    stats = get(handle.url, "/api/stats", project=project, since="-1h", kind="llm")
    assert stats["totals"]["count"] == 3 and stats["totals"]["input_tokens"] == 60
    assert stats["totals"]["cost_usd"] == pytest.approx(0.003)
    assert get(handle.url, "/api/values/model", project=project)["values"] == [
        {"value": "gpt-4o-mini", "count": 3}]
    walked = get(handle.url, "/api/spans", project=project, order="asc", sort="ingested")
    assert len(walked["spans"]) == 6
    made = httpx.post(f"{handle.url}/api/feedback", json={"trace_id": ids[0], "name": "ok",
                                                          "value": False}, timeout=30)
    assert made.status_code == 201
    assert get(handle.url, "/api/feedback", trace_id=ids[0])["feedback"][0]["value"] is False


def test_keys_apply_to_a_running_collector(server) -> None:
    """With a server, keys are managed while the collector runs, and it notices them."""
    handle, url = server
    project = f"ch-keys-{uuid.uuid4().hex[:6]}"
    done = subprocess.run([sys.executable, "-m", "collector", "keys", "create", "--project",
                           project, "--clickhouse-url", url], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip()
    deadline = time.monotonic() + 15
    while httpx.get(f"{handle.url}/api/projects", timeout=30).status_code != 401:
        assert time.monotonic() < deadline, "the collector did not start requiring keys"
        time.sleep(0.5)
    answer = httpx.get(f"{handle.url}/api/projects", timeout=30,
                       headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200
    assert [p["name"] for p in answer.json()["projects"]] == [project]
    key_id = key.split("_")[1]
    revoked = subprocess.run([sys.executable, "-m", "collector", "keys", "revoke", key_id,
                              "--clickhouse-url", url], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=120)
    assert revoked.returncode == 0, revoked.stderr
    deadline = time.monotonic() + 15
    while httpx.get(f"{handle.url}/api/projects", timeout=30).status_code != 200:
        assert time.monotonic() < deadline, "the collector kept requiring a revoked key"
        time.sleep(0.5)
