"""GET /api/stats (totals equal what was sent, sane percentiles, buckets, group_by) and
GET /api/values/{field}. Data goes in through the OTLP exporter."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime

import pytest
from test_api_support import MINUTE, MS, S, get, now_ns, send, walk_pages

N = 100


@pytest.fixture(scope="module")
def seeded(spyglass_server):
    """100 LLM spans in the last hour: span i lasts i ms, uses i input and 2i output tokens,
    costs i/10000 USD, alternates two models; every 10th fails. Plus one two-span trace
    with a tool span, tagged, to check kinds and grouping."""
    project = f"api-stats-{uuid.uuid4().hex[:8]}"
    base = now_ns() - 50 * MINUTE
    traces = []
    for i in range(1, N + 1):
        traces.append((base + i * 10_000 * MS, S(
            "chat", kind="llm", dur_ms=i, model="gpt-4o" if i % 2 == 0 else "gpt-4o-mini",
            provider="openai", in_tok=i, out_tok=2 * i, cost=i / 10_000,
            status="error" if i % 10 == 0 else "ok", user_id=f"user-{i % 3}",
            tags=["bulk"] if i % 4 == 0 else None)))
    traces.append((base + 5 * MINUTE, S("agent", kind="agent", dur_ms=3000, tags=["special"],
                                        children=[S("lookup", kind="tool", at_ms=1, dur_ms=2)])))
    send(spyglass_server.url, project, traces)
    return spyglass_server.url, project


def _stats(seeded, expect=200, **params):
    url, project = seeded
    return get(url, "/api/stats", expect=expect, project=project, **params)


def test_totals_equal_what_was_sent(seeded) -> None:
    body = _stats(seeded, since="-1h", kind="llm")
    totals = body["totals"]
    assert totals["count"] == N
    assert totals["traces"] == N
    assert totals["errors"] == N // 10
    assert totals["input_tokens"] == sum(range(1, N + 1))
    assert totals["output_tokens"] == 2 * sum(range(1, N + 1))
    assert totals["total_tokens"] == 3 * sum(range(1, N + 1))
    assert totals["cost_usd"] == pytest.approx(sum(range(1, N + 1)) / 10_000)
    everything = _stats(seeded, since="-1h")["totals"]
    assert everything["count"] == N + 2 and everything["traces"] == N + 1


def test_percentiles_are_sane(seeded) -> None:
    totals = _stats(seeded, since="-1h", kind="llm")["totals"]
    assert totals["p50_ms"] == pytest.approx(50.5, abs=1.5)
    assert totals["p95_ms"] == pytest.approx(95, abs=1.5)
    assert totals["p99_ms"] == pytest.approx(99, abs=1.5)
    assert 1 <= totals["p50_ms"] <= totals["p95_ms"] <= totals["p99_ms"] <= N


def test_series_buckets_cover_the_range_and_add_up(seeded) -> None:
    body = _stats(seeded, since="-1h", kind="llm")
    assert body["bucket"] == "1m" and body["bucket_seconds"] == 60
    assert body["group_by"] is None
    [series] = body["series"]
    assert series["group"] is None
    points = series["points"]
    assert 60 <= len(points) <= 61
    times = [datetime.fromisoformat(p["time"]).timestamp() for p in points]
    assert all(b - a == 60 for a, b in itertools.pairwise(times))
    assert sum(p["count"] for p in points) == N
    assert sum(p["cost_usd"] for p in points) == pytest.approx(body["totals"]["cost_usd"])
    assert sum(p["errors"] for p in points) == N // 10
    empty = [p for p in points if p["count"] == 0]
    assert empty and all(p["p50_ms"] is None for p in empty)
    full = [p for p in points if p["count"] > 0]
    assert all(p["p50_ms"] <= p["p95_ms"] <= p["p99_ms"] for p in full)


def test_explicit_and_automatic_buckets(seeded) -> None:
    body = _stats(seeded, since="-1h", bucket="10m")
    assert body["bucket_seconds"] == 600 and body["bucket"] == "10m"
    assert sum(p["count"] for p in body["series"][0]["points"]) == N + 2
    assert _stats(seeded, since="-24h")["bucket"] == "15m"
    assert _stats(seeded, since="-7d")["bucket"] == "3h"
    assert _stats(seeded)["since"] < _stats(seeded)["until"]  # default: the last 24 h


def test_until_alone_means_the_day_before_it(seeded) -> None:
    body = _stats(seeded, until="-2d")
    since = datetime.fromisoformat(body["since"]).timestamp()
    until = datetime.fromisoformat(body["until"]).timestamp()
    assert until - since == pytest.approx(86400)
    assert body["totals"]["count"] == 0  # everything was sent within the last hour
    assert _stats(seeded, until="now", since="-1h", kind="llm")["totals"]["count"] == N


def test_group_by_model(seeded) -> None:
    body = _stats(seeded, since="-1h", kind="llm", group_by="model")
    assert body["group_by"] == "model"
    groups = {s["group"]: s for s in body["series"]}
    assert set(groups) == {"gpt-4o", "gpt-4o-mini"}
    even = groups["gpt-4o"]["totals"]
    assert even["count"] == N // 2
    assert even["input_tokens"] == sum(range(2, N + 1, 2))
    assert even["errors"] == N // 10  # every 10th span is even
    assert sum(s["totals"]["count"] for s in body["series"]) == body["totals"]["count"]
    for s in body["series"]:
        assert sum(p["count"] for p in s["points"]) == s["totals"]["count"]


def test_group_by_kind_includes_non_llm_spans(seeded) -> None:
    body = _stats(seeded, since="-1h", group_by="kind")
    counts = {s["group"]: s["totals"]["count"] for s in body["series"]}
    assert counts == {"llm": N, "agent": 1, "tool": 1}
    assert body["series"][0]["group"] == "llm"  # largest first


def test_group_limit_keeps_the_largest_series_and_counts_every_group(seeded) -> None:
    """user-0/1/2 get 33/34/33 of the LLM spans; limit=1 keeps only user-1's series, the
    totals still cover every group, and group_count says how many there are."""
    full = _stats(seeded, since="-1h", kind="llm", group_by="user_id")
    assert full["group_count"] == 3 and len(full["series"]) == 3
    assert [s["totals"]["count"] for s in full["series"]] == [34, 33, 33]
    assert [s["group"] for s in full["series"]] == ["user-1", "user-0", "user-2"]
    cut = _stats(seeded, since="-1h", kind="llm", group_by="user_id", limit=1)
    assert cut["group_count"] == 3
    assert cut["series"] == full["series"][:1]
    assert cut["totals"] == full["totals"] and cut["totals"]["count"] == N
    assert _stats(seeded, since="-1h")["group_count"] == 1


def test_rollup_minutes_and_raw_edges_add_up_to_the_raw_spans(seeded) -> None:
    """A range cutting minutes in half reads whole minutes from the rollup and the halves
    from spans: every count and token must match what was sent in that range."""
    url, project = seeded
    spans = [s for page in walk_pages(url, "/api/spans", "spans", project=project, kind="llm",
                                      limit=1000) for s in page]
    ordered = sorted(spans, key=lambda s: s["start_time"])
    lo, hi = ordered[10]["start_time"], ordered[70]["start_time"]  # mid-minute times
    inside = [s for s in spans if lo <= s["start_time"] < hi]
    for group in (None, "model", "user_id"):
        extra = {"group_by": group} if group else {}
        body = _stats(seeded, since=lo, until=hi, kind="llm", **extra)
        assert body["totals"]["count"] == len(inside) == 60
        assert body["totals"]["input_tokens"] == sum(s["input_tokens"] for s in inside)
        assert body["totals"]["errors"] == sum(s["status"] == "error" for s in inside)
        assert body["totals"]["traces"] == len({s["trace_id"] for s in inside})


@pytest.mark.parametrize(("params", "name"), [
    ({"bucket": "fast"}, "bucket"),
    ({"limit": 0, "group_by": "model"}, "limit"),
    ({"bucket": "1s", "since": "-30d"}, "bucket"),
    ({"group_by": "user"}, "group_by"),
    ({"since": "tomorrow"}, "since"),
    ({"since": "-1h", "until": "-2h"}, "until"),
    ({"since": "2999-01-01T00:00:00Z"}, "since"),
])
def test_bad_parameters(seeded, params, name) -> None:
    body = _stats(seeded, expect=400, **params)
    assert f"'{name}'" in body["error"]


def test_values_for_pickers(seeded) -> None:
    url, project = seeded
    models = get(url, "/api/values/model", project=project)
    assert models["field"] == "model"
    assert {v["value"]: v["count"] for v in models["values"]} == {"gpt-4o": 50, "gpt-4o-mini": 50}
    names = [v["value"] for v in get(url, "/api/values/name", project=project)["values"]]
    assert names == ["chat", "agent", "lookup"]  # most frequent first, then by name
    kinds = {v["value"] for v in get(url, "/api/values/kind", project=project)["values"]}
    assert kinds == {"llm", "agent", "tool"}
    statuses = {v["value"]: v["count"] for v in get(url, "/api/values/status", project=project)["values"]}
    assert statuses == {"ok": N - N // 10 + 2, "error": N // 10}
    tags = {v["value"]: v["count"] for v in get(url, "/api/values/tag", project=project)["values"]}
    assert tags == {"bulk": N // 4, "special": 1}
    users = get(url, "/api/values/user_id", project=project, q="USER-1")["values"]
    assert [v["value"] for v in users] == ["user-1"]
    assert len(get(url, "/api/values/user_id", project=project, limit=2)["values"]) == 2
    assert get(url, "/api/values/session_id", project=project)["values"] == []


def test_values_of_unknown_field_is_400(seeded) -> None:
    url, project = seeded
    body = get(url, "/api/values/password", expect=400, project=project)
    assert "'field'" in body["error"]


def test_a_resent_batch_counts_once(spyglass_server) -> None:
    """An exporter retrying a batch the collector already stored must not double anything
    the API reports (the spans table keeps both copies until a merge)."""
    import httpx

    project = f"api-dedup-{uuid.uuid4().hex[:8]}"
    trace_id = uuid.uuid4().hex
    start = now_ns() - 5 * MINUTE
    spans = [{"traceId": trace_id, "spanId": f"{i + 1:016x}", "parentSpanId": "" if i == 0 else f"{1:016x}",
              "name": "root" if i == 0 else "chat", "kind": 1,
              "startTimeUnixNano": str(start + i * MS), "endTimeUnixNano": str(start + (i + 10) * MS),
              "attributes": [{"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
                             {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "5"}}]}
             for i in range(3)]
    body = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "spyglass.project", "value": {"stringValue": project}}]},
        "scopeSpans": [{"scope": {"name": "t"}, "spans": spans}]}]}
    for _ in range(2):
        assert httpx.post(f"{spyglass_server.url}/v1/traces", json=body, timeout=30).status_code == 200
    url = spyglass_server.url
    [row] = get(url, "/api/traces", project=project)["traces"]
    assert row["span_count"] == 3 and row["input_tokens"] == 15
    assert len(get(url, f"/api/traces/{trace_id}")["spans"]) == 3
    totals = get(url, "/api/stats", project=project, since="-1h")["totals"]
    assert totals["count"] == 3 and totals["input_tokens"] == 15 and totals["traces"] == 1
    assert get(url, "/api/values/model", project=project)["values"] == [{"value": "gpt-4o", "count": 3}]
    assert len(get(url, "/api/spans", project=project)["spans"]) == 3
    [project_row] = [p for p in get(url, "/api/projects")["projects"] if p["name"] == project]
    assert project_row["span_count"] == 3 and project_row["trace_count"] == 1
