"""GET /api/console/ttft: p50/p95 time to first token of streaming LLM calls over time."""

from __future__ import annotations

import uuid

import pytest
from test_api_support import MINUTE, S, get, now_ns, send

from common import attributes as A


@pytest.fixture(scope="module")
def seeded(spyglass_server):
    """20 streamed LLM calls (TTFT 10, 20, ... 200 ms; the first ten in one 10-minute
    bucket 30-40 minutes ago, the rest in the bucket 20 minutes later), half of them model
    "fast"; plus a non-streamed LLM call and a tool span."""
    project = f"api-ttft-{uuid.uuid4().hex[:8]}"
    now = now_ns()
    bucket = 10 * MINUTE
    older = (now - 40 * MINUTE) // bucket * bucket + MINUTE  # a minute into a bucket
    traces = []
    for i in range(1, 21):
        at = older + (0 if i <= 10 else 20 * MINUTE) + i * 1_000_000_000
        traces.append((at, S("chat", kind="llm", model="fast" if i % 2 else "slow", in_tok=1,
                             attrs={A.TIME_TO_FIRST_TOKEN_MS: 10.0 * i})))
    traces.append((now - MINUTE, S("chat", kind="llm", model="fast", in_tok=1)))
    traces.append((now - MINUTE, S("lookup", kind="tool")))
    send(spyglass_server.url, project, traces)
    return spyglass_server.url, project


def test_totals_are_percentiles_of_the_streamed_calls(seeded) -> None:
    url, project = seeded
    body = get(url, "/api/console/ttft", project=project, since="-1h")
    totals = body["totals"]
    assert totals["count"] == 20
    assert totals["p50_ms"] == pytest.approx(105, abs=6)
    assert totals["p95_ms"] == pytest.approx(190, abs=11)
    fast = get(url, "/api/console/ttft", project=project, since="-1h", model="fast")["totals"]
    assert fast["count"] == 10 and fast["p50_ms"] == pytest.approx(100, abs=11)


def test_points_cover_the_range_and_split_by_time(seeded) -> None:
    url, project = seeded
    body = get(url, "/api/console/ttft", project=project, since="-1h", bucket="10m")
    assert (body["bucket"], body["bucket_seconds"]) == ("10m", 600)
    points = body["points"]
    assert 6 <= len(points) <= 7
    assert sum(p["count"] for p in points) == 20
    full = [p for p in points if p["count"]]
    assert [p["count"] for p in full] == [10, 10]
    older, newer = full
    assert older["p50_ms"] == pytest.approx(55, abs=6) and newer["p50_ms"] == pytest.approx(155, abs=6)
    assert older["p50_ms"] <= older["p95_ms"] <= 100
    assert all(p["p50_ms"] is None and p["p95_ms"] is None for p in points if not p["count"])


def test_empty_range_and_bad_parameters(seeded) -> None:
    url, project = seeded
    body = get(url, "/api/console/ttft", project=project, since="-2d", until="-1d")
    assert body["totals"] == {"count": 0, "p50_ms": None, "p95_ms": None}
    get(url, "/api/console/ttft", expect=400, project=project, bucket="soon")
    get(url, "/api/console/ttft", expect=400, project=project, kind="llm")
