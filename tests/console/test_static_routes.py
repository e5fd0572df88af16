"""The collector serving the console: caching headers, client routes, reserved prefixes,
and the page that explains how to build a missing console."""

from __future__ import annotations

import html
import re
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerHandle, start_server
from tests.console.seeded_project import SeededProject


def test_index_assets_and_client_routes(spyglass_server: ServerHandle, console_dist: Path) -> None:
    index = httpx.get(f"{spyglass_server.url}/")
    assert index.status_code == 200
    assert index.headers["content-type"].startswith("text/html")
    assert index.headers["cache-control"] == "no-cache"
    assert '<div id="app">' in index.text
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', index.text)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        resp = httpx.get(f"{spyglass_server.url}{asset}")
        assert resp.status_code == 200, asset
        # Hashed names change with content, so browsers may keep them forever.
        assert resp.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert resp.content == (console_dist / asset.lstrip("/")).read_bytes()
    js = next(a for a in assets if a.endswith(".js"))
    assert "javascript" in httpx.get(f"{spyglass_server.url}{js}").headers["content-type"]

    # Deep links of the single-page app get index.html so a reload works.
    for route in ("/traces", "/traces/0123456789abcdef0123456789abcdef", "/monitoring",
                  "/evals/compare", "/datasets/qa-golden.v2"):
        resp = httpx.get(f"{spyglass_server.url}{route}?project=x")
        assert resp.status_code == 200, route
        assert resp.text == index.text
        assert resp.headers["cache-control"] == "no-cache"


def test_reserved_prefixes_never_get_the_console(spyglass_server: ServerHandle) -> None:
    for path in ("/api/no-such-route", "/api/traces/x/y/z", "/v1/nothing", "/healthz/extra"):
        resp = httpx.get(f"{spyglass_server.url}{path}")
        assert resp.status_code == 404, path
        assert resp.headers["content-type"].startswith("application/json"), path
        assert "error" in resp.json(), path
    # /schema/* belongs to the OpenAPI pages (their own 404), never to the console.
    resp = httpx.get(f"{spyglass_server.url}/schema/nothing-here")
    assert resp.status_code == 404
    assert '<div id="app">' not in resp.text
    # The collector's own routes still answer.
    assert httpx.get(f"{spyglass_server.url}/healthz").json()["status"] == "ok"
    assert "paths" in httpx.get(f"{spyglass_server.url}/schema/openapi.json").json()


def test_missing_files_and_traversal_are_404(spyglass_server: ServerHandle) -> None:
    for path in ("/assets/index-00000000.js", "/favicon.ico", "/robots.txt",
                 "/%2e%2e/pyproject.toml", "/..%2f..%2fpyproject.toml"):
        resp = httpx.get(f"{spyglass_server.url}{path}")
        assert resp.status_code == 404, path
        assert "[project]" not in resp.text


def test_missing_build_explains_how_to_build(tmp_path: Path) -> None:
    empty = tmp_path / "no-console"
    empty.mkdir()
    server = start_server(tmp_path / "data", env={"SPYGLASS_CONSOLE_DIR": str(empty)})
    try:
        for path in ("/", "/traces", "/monitoring?project=p"):
            resp = httpx.get(f"{server.url}{path}")
            assert resp.status_code == 503, path
            assert resp.headers["content-type"].startswith("text/html")
            text = html.unescape(resp.text)
            assert "The Spyglass console is not built" in text
            assert "make console" in text
            assert "cd console && npm ci && npm run build" in text
            assert str(empty) in text
        # The API keeps working without the console.
        assert httpx.get(f"{server.url}/api/projects").status_code == 200
    finally:
        server.stop()


@pytest.mark.parametrize(("path", "param"), [
    ("/api/console/guardrails?bucket=soon", "bucket"),
    ("/api/console/guardrails?since=yesterday", "since"),
    ("/api/console/scores?source=robot", "source"),
    ("/api/console/scores?since=-1h&until=-2h", "until"),
])
def test_aggregates_reject_bad_parameters(spyglass_server: ServerHandle, path: str, param: str) -> None:
    resp = httpx.get(f"{spyglass_server.url}{path}")
    assert resp.status_code == 400
    assert f"'{param}'" in resp.json()["error"]


def test_guardrail_and_score_aggregates(seeded: SeededProject) -> None:
    base = seeded.server.url
    guard = httpx.get(f"{base}/api/console/guardrails",
                      params={"project": seeded.name, "since": "-2h", "bucket": "5m"}).json()
    assert guard["bucket"] == "5m" and guard["bucket_seconds"] == 300
    assert guard["totals"] == {"name": "", "checks": 2, "passed": 1, "failed": 1}
    assert guard["guardrails"] == [{"name": "pii_guardrail", "checks": 2, "passed": 1, "failed": 1}]
    assert len(guard["points"]) in (24, 25)  # every bucket of the range, zero-filled
    assert sum(p["checks"] for p in guard["points"]) == 2
    assert [p["actions"] for p in guard["points"] if p["failed"]] == [{"block": 1}]

    scores = httpx.get(f"{base}/api/console/scores",
                       params={"project": seeded.name, "since": "-1h"}).json()
    assert scores["sources"] == ["scorer", "judge"]
    by_name = {s["name"]: s for s in scores["series"]}
    assert set(by_name) == {"toxicity", "correct"}
    assert by_name["toxicity"]["count"] == 4
    assert by_name["toxicity"]["mean"] == pytest.approx(0.25)
    assert by_name["correct"]["mean"] == pytest.approx(0.5)  # booleans as 0/1: a pass rate
    assert sum(p["count"] for p in by_name["toxicity"]["points"]) == 4
    # Human feedback is another source, not counted unless asked for.
    human = httpx.get(f"{base}/api/console/scores",
                      params={"project": seeded.name, "since": "-1h", "source": "human"}).json()
    assert all(s["name"] not in ("toxicity", "correct") for s in human["series"])
    # Another project sees none of it.
    other = httpx.get(f"{base}/api/console/guardrails",
                      params={"project": seeded.evals_project, "since": "-1h"}).json()
    assert other["totals"]["checks"] == 0
