"""GET /api/traces (every filter, keyset pagination), GET /api/traces/{id}, /api/projects.

Data goes in through the OpenTelemetry SDK's OTLP exporter to a real collector
subprocess (tests/conftest.py ``spyglass_server``) and comes out through HTTP."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from test_api_support import MINUTE, MS, S, get, now_ns, run_tour, send, walk_pages

DAY = 24 * 60 * MINUTE


@dataclass
class Seeded:
    url: str
    project: str
    ids: dict[str, str]
    specs: dict[str, S]
    starts: dict[str, int]


def _rfc(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture(scope="module")
def seeded(spyglass_server) -> Seeded:
    """Four traces of one project with distinct names, kinds, models, statuses, users,
    sessions, tags and texts, one of them three days old."""
    project = f"api-traces-{uuid.uuid4().hex[:8]}"
    base = now_ns() - 2 * 60 * MINUTE
    specs = {
        "a": S("answer", kind="chain", dur_ms=900, input={"question": "What is the capital of France?"},
               output="Paris", user_id="u1", session_id="s1", tags=["prod", "v1"], children=[
                   S("retrieve", kind="retrieval", at_ms=5, dur_ms=100, input={"k": 3},
                     output=[{"id": "doc-1"}]),
                   S("chat", kind="llm", at_ms=120, dur_ms=700, model="gpt-4o-mini",
                     provider="openai", in_tok=100, out_tok=20, cost=0.001,
                     input=[{"role": "user", "content": "capital of France?"}],
                     output={"role": "assistant", "content": "Paris"}),
               ]),
        "b": S("answer", kind="chain", dur_ms=1500, input={"question": "Weather in OSLO?"},
               user_id="u2", session_id="s1", tags=["prod"], children=[
                   S("chat", kind="llm", at_ms=10, dur_ms=1400, model="claude-3-5-sonnet",
                     provider="anthropic", in_tok=50, out_tok=0, cost=0.002, status="error",
                     error="rate limited"),
               ]),
        "c": S("summarize", kind="chain", dur_ms=300, status="unset", user_id="u1",
               session_id="s2", tags=["dev"], input={"text": "long text"}, children=[
                   S("chat", kind="llm", at_ms=1, dur_ms=250, status="unset",
                     model="gpt-4o-mini", provider="openai", in_tok=300, out_tok=40, cost=0.003),
               ]),
        "old": S("answer", kind="chain", dur_ms=50, user_id="u3", session_id="s9",
                 tags=["prod"], input={"question": "old"}),
    }
    starts = {"a": base, "b": base + MINUTE, "c": base + 2 * MINUTE, "old": base - 3 * DAY}
    ids = send(spyglass_server.url, project, [(starts[k], specs[k]) for k in specs])
    return Seeded(spyglass_server.url, project, dict(zip(specs, ids, strict=True)), specs, starts)


def _ids(seeded: Seeded, **params) -> list[str]:
    body = get(seeded.url, "/api/traces", project=seeded.project, **params)
    by_id = {v: k for k, v in seeded.ids.items()}
    return [by_id[t["trace_id"]] for t in body["traces"]]


def test_list_is_newest_first_with_trace_totals(seeded: Seeded) -> None:
    body = get(seeded.url, "/api/traces", project=seeded.project)
    assert [t["trace_id"] for t in body["traces"]] == [seeded.ids[k] for k in ("c", "b", "a", "old")]
    assert body["next_cursor"] is None
    a = body["traces"][2]
    assert a["root_name"] == "answer"
    assert a["span_count"] == 3
    assert a["status"] == "ok"
    assert a["input_tokens"] == 100 and a["output_tokens"] == 20
    assert a["cost_usd"] == pytest.approx(0.001)
    assert a["user_id"] == "u1" and a["session_id"] == "s1"
    assert a["tags"] == ["prod", "v1"]
    assert a["duration_ms"] == pytest.approx(900.0)
    assert a["start_time"] == _rfc(seeded.starts["a"])
    assert a["project"] == seeded.project
    b = body["traces"][1]
    assert b["status"] == "error" and b["error_count"] == 1 and b["model"] == "claude-3-5-sonnet"
    c = body["traces"][0]
    # Spans that end without error are ok even when their status was left UNSET.
    assert c["status"] == "ok" and c["root_name"] == "summarize"
    assert c["cost_usd"] == pytest.approx(0.003)


@pytest.mark.parametrize(("params", "expected"), [
    ({"name": "retrieve"}, ["a"]),
    ({"name": "summarize"}, ["c"]),
    ({"kind": "retrieval"}, ["a"]),
    ({"kind": "llm"}, ["c", "b", "a"]),
    ({"model": "claude-3-5-sonnet"}, ["b"]),
    ({"model": "gpt-4o-mini"}, ["c", "a"]),
    ({"status": "error"}, ["b"]),
    ({"status": "ok"}, ["c", "a", "old"]),
    ({"status": "unset"}, []),
    ({"user_id": "u1"}, ["c", "a"]),
    ({"session_id": "s1"}, ["b", "a"]),
    ({"tag": "prod"}, ["b", "a", "old"]),
    ({"tag": "dev"}, ["c"]),
    ({"q": "france"}, ["a"]),
    ({"q": "oslo"}, ["b"]),
    ({"q": "Paris"}, ["a"]),
    ({"q": "no such text anywhere"}, []),
    ({"since": "-1d"}, ["c", "b", "a"]),
    ({"until": "-1d"}, ["old"]),
    ({"model": "gpt-4o-mini", "user_id": "u1", "tag": "prod"}, ["a"]),
    ({"name": "nope"}, []),
])
def test_filters(seeded: Seeded, params: dict, expected: list[str]) -> None:
    assert _ids(seeded, **params) == expected


def test_absolute_time_range(seeded: Seeded) -> None:
    since = _rfc(seeded.starts["b"])
    until = _rfc(seeded.starts["c"])
    assert _ids(seeded, since=since, until=until) == ["b"]
    # Offsets other than Z are accepted too.
    since_cet = datetime.fromtimestamp(seeded.starts["b"] / 1e9, UTC).astimezone().isoformat()
    assert "b" in _ids(seeded, since=since_cet)


def test_other_projects_are_not_listed(seeded: Seeded) -> None:
    other = get(seeded.url, "/api/traces", project=f"nothing-{uuid.uuid4().hex[:6]}")
    assert other == {"traces": [], "next_cursor": None}
    # Without a project (and without keys) the list spans every project.
    everywhere = get(seeded.url, "/api/traces", session_id="s9", q="old")
    assert seeded.ids["old"] in [t["trace_id"] for t in everywhere["traces"]]


@pytest.mark.parametrize(("params", "name"), [
    ({"status": "broken"}, "status"),
    ({"since": "yesterday"}, "since"),
    ({"until": "2026-13-45"}, "until"),
    ({"since": "-1h", "until": "-2h"}, "until"),
    ({"limit": "0"}, "limit"),
    ({"limit": "abc"}, "limit"),
    ({"limit": "100000"}, "limit"),
    ({"cursor": "not-a-cursor"}, "cursor"),
])
def test_bad_parameters_are_400_naming_them(seeded: Seeded, params: dict, name: str) -> None:
    body = get(seeded.url, "/api/traces", expect=400, project=seeded.project, **params)
    assert set(body) == {"error"}
    assert f"'{name}'" in body["error"]


def test_trace_detail(seeded: Seeded) -> None:
    body = get(seeded.url, f"/api/traces/{seeded.ids['a']}")
    assert body["trace_id"] == seeded.ids["a"] and body["project"] == seeded.project
    spans = body["spans"]
    assert [s["name"] for s in spans] == ["answer", "retrieve", "chat"]
    root, retrieve, chat = spans
    assert root["parent_span_id"] is None
    assert retrieve["parent_span_id"] == root["span_id"] == chat["parent_span_id"]
    assert len(root["span_id"]) == 16 and root["span_id"] == root["span_id"].lower()
    assert root["input"] == {"question": "What is the capital of France?"}
    assert root["output"] == "Paris"
    assert retrieve["output"] == [{"id": "doc-1"}]
    assert chat["input"] == [{"role": "user", "content": "capital of France?"}]
    assert chat["model"] == "gpt-4o-mini" and chat["provider"] == "openai"
    assert chat["input_tokens"] == 100 and chat["output_tokens"] == 20
    assert chat["cost_usd"] == pytest.approx(0.001)
    assert chat["kind"] == "llm" and chat["status"] == "ok"
    assert chat["duration_ms"] == pytest.approx(700.0)
    assert chat["start_time"] == _rfc(seeded.starts["a"] + 120 * MS)
    assert chat["end_time"] == _rfc(seeded.starts["a"] + 820 * MS)
    assert isinstance(chat["attributes"], dict) and isinstance(chat["events"], list)
    assert root["user_id"] == "u1" and root["tags"] == ["prod", "v1"]


def test_trace_detail_of_error_has_message_and_event(seeded: Seeded) -> None:
    spans = get(seeded.url, f"/api/traces/{seeded.ids['b']}")["spans"]
    chat = next(s for s in spans if s["name"] == "chat")
    assert chat["status"] == "error"
    assert "rate limited" in chat["error"]
    assert any(e.get("name") == "exception" for e in chat["events"])


def test_unknown_trace_is_404_json(seeded: Seeded) -> None:
    body = get(seeded.url, f"/api/traces/{uuid.uuid4().hex}", expect=404)
    assert "no trace" in body["error"]
    body = get(seeded.url, f"/api/traces/{seeded.ids['a']}", expect=404,
               project=f"elsewhere-{uuid.uuid4().hex[:6]}")
    assert "no trace" in body["error"]
    body = get(seeded.url, "/api/traces/xyz", expect=400)
    assert "'trace_id'" in body["error"]
    upper = get(seeded.url, f"/api/traces/{seeded.ids['a'].upper()}")
    assert upper["trace_id"] == seeded.ids["a"]


def test_projects_lists_counts(seeded: Seeded) -> None:
    projects = {p["name"]: p for p in get(seeded.url, "/api/projects")["projects"]}
    mine = projects[seeded.project]
    assert mine["span_count"] == sum(s.count() for s in seeded.specs.values())
    assert mine["trace_count"] == 4
    assert mine["last_seen"] == _rfc(seeded.starts["c"] + MS)  # c's child starts 1 ms in
    assert mine["first_seen"] == _rfc(seeded.starts["old"])


def test_pagination_has_no_gaps_or_duplicates(spyglass_server) -> None:
    project = f"api-pages-{uuid.uuid4().hex[:8]}"
    base = now_ns() - 30 * MINUTE
    # 23 traces; five share one start time so the tie-break (trace id) is exercised.
    starts = [base + i * 1000 * MS for i in range(18)] + [base + 5000 * MS] * 5
    sent = send(spyglass_server.url, project,
                [(t, S("bulk", children=[S("step", at_ms=1)])) for t in starts])
    pages = walk_pages(spyglass_server.url, "/api/traces", "traces", project=project, limit=5)
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    listed = [t["trace_id"] for page in pages for t in page]
    assert len(listed) == len(set(listed)) == 23
    assert set(listed) == set(sent)
    keys = [(t["start_time"], t["trace_id"]) for page in pages for t in page]
    assert keys == sorted(keys, reverse=True)
    # Filters hold across pages too.
    only_ties = walk_pages(spyglass_server.url, "/api/traces", "traces", project=project,
                           limit=2, since=_rfc(base + 5000 * MS), until=_rfc(base + 5001 * MS))
    assert sum(len(p) for p in only_ties) == 6  # the five ties and the 6th regular trace


def test_cursor_of_another_listing_is_rejected(spyglass_server) -> None:
    project = f"api-cur-{uuid.uuid4().hex[:8]}"
    send(spyglass_server.url, project, [(now_ns() - i * MS, S("x")) for i in range(3)])
    spans_page = get(spyglass_server.url, "/api/spans", project=project, limit=1)
    body = get(spyglass_server.url, "/api/traces", expect=400, project=project,
               cursor=spans_page["next_cursor"])
    assert "'cursor'" in body["error"]


def test_openapi_documents_the_routes(spyglass_server) -> None:
    schema = httpx.get(f"{spyglass_server.url}/schema/openapi.json", timeout=30).json()
    for path in ("/api/traces", "/api/traces/{trace_id}", "/api/spans", "/api/stats",
                 "/api/values/{field}", "/api/feedback", "/api/projects"):
        assert path in schema["paths"], path
    list_op = schema["paths"]["/api/traces"]["get"]
    assert "newest first" in list_op["description"]
    detail = schema["paths"]["/api/traces/{trace_id}"]["get"]
    assert {"200", "400", "401", "403", "404"} <= set(detail["responses"])
    assert "no such trace" in detail["responses"]["404"]["description"]
    assert {p["name"] for p in list_op["parameters"]} >= {
        "project", "since", "until", "name", "kind", "model", "status", "user_id",
        "session_id", "tag", "q", "limit", "cursor"}


def _post_otlp_json(url: str, project: str, spans: list[dict]) -> None:
    body = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "spyglass.project", "value": {"stringValue": project}}]},
        "scopeSpans": [{"scope": {"name": "tests"}, "spans": spans}]}]}
    response = httpx.post(f"{url}/v1/traces", json=body, timeout=30)
    assert response.status_code == 200, response.text


def test_long_and_rootless_traces_are_listed_once(spyglass_server) -> None:
    """A trace running for hours (its spans fall in several search windows) and a trace
    whose root never arrived are both listed, once, at their first span's start."""
    project = f"api-long-{uuid.uuid4().hex[:8]}"
    now = now_ns()
    long_id = send(spyglass_server.url, project, [(now - 3 * 60 * MINUTE, S(
        "long-job", dur_ms=3 * 60 * 60_000 - 1000, children=[
            S("late-call", kind="llm", model="slow-model", status="error",
              at_ms=3 * 60 * 60_000 - 60_000, dur_ms=500)]))])[0]
    recent = send(spyglass_server.url, project,
                  [(now - MINUTE - i * 1000 * MS, S(f"recent-{i}")) for i in range(3)])
    orphan_id = uuid.uuid4().hex
    start = now - 30 * MINUTE
    _post_otlp_json(spyglass_server.url, project, [{
        "traceId": orphan_id, "spanId": uuid.uuid4().hex[:16],
        "parentSpanId": uuid.uuid4().hex[:16], "name": "orphan-child", "kind": 1,
        "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 5 * MS)}])
    pages = walk_pages(spyglass_server.url, "/api/traces", "traces", project=project, limit=1)
    listed = [t for page in pages for t in page]
    assert [t["trace_id"] for t in listed] == [*recent, orphan_id, long_id]
    long_row = listed[-1]
    assert long_row["start_time"] == _rfc(now - 3 * 60 * MINUTE)
    assert long_row["span_count"] == 2 and long_row["status"] == "error"
    assert listed[-2]["root_name"] == "orphan-child"
    # Filters see spans hours after the trace began.
    for params in ({"model": "slow-model"}, {"status": "error"}, {"name": "late-call"}):
        found = get(spyglass_server.url, "/api/traces", project=project, **params)["traces"]
        assert [t["trace_id"] for t in found] == [long_id], params
    # A window that starts after the long trace began does not list it.
    since_2h = get(spyglass_server.url, "/api/traces", project=project, since="-2h")["traces"]
    assert long_id not in [t["trace_id"] for t in since_2h]
    until_2h = get(spyglass_server.url, "/api/traces", project=project, until="-2h")["traces"]
    assert [t["trace_id"] for t in until_2h] == [long_id]



def test_readme_tour_shows_model_tokens_and_cost(spyglass_server) -> None:
    project = f"tour-{uuid.uuid4().hex[:8]}"
    run_tour(spyglass_server.url, project)
    [row] = get(spyglass_server.url, "/api/traces", project=project)["traces"]
    assert row["root_name"] == "answer" and row["span_count"] == 2
    assert row["input_tokens"] == 12 and row["output_tokens"] == 2 and row["cost_usd"] > 0
    spans = get(spyglass_server.url, f"/api/traces/{row['trace_id']}")["spans"]
    llm = next(s for s in spans if s["kind"] == "llm")
    assert llm["name"] == "ask" and llm["model"] == "gpt-4o-mini"
    assert llm["input_tokens"] == 12 and llm["output_tokens"] == 2
    assert llm["cost_usd"] == pytest.approx(row["cost_usd"])
    assert llm["input"] == {"question": "What is the capital of France?"}
    assert llm["parent_span_id"] == spans[0]["span_id"] and spans[0]["output"] == "Paris."


@pytest.mark.parametrize(("path", "name"), [
    ("/api/traces", "modle"), ("/api/spans", "limt"), ("/api/stats", "group"),
    ("/api/values/model", "since_"), ("/api/feedback", "trace"), ("/api/projects", "x"),
])
def test_unknown_query_parameters_are_400(spyglass_server, path: str, name: str) -> None:
    body = get(spyglass_server.url, path, expect=400, **{name: "1"})
    assert f"'{name}'" in body["error"] and "unknown parameter" in body["error"]
