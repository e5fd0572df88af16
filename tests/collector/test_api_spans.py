"""GET /api/spans: filters, both orders, keyset pagination, and the monitor's walk over
newly arrived spans (sort=ingested). Data goes in through the OTLP exporter."""

from __future__ import annotations

import uuid

import pytest
from test_api_support import MINUTE, MS, S, get, now_ns, send, walk_pages


@pytest.fixture(scope="module")
def seeded(spyglass_server):
    project = f"api-spans-{uuid.uuid4().hex[:8]}"
    base = now_ns() - 10 * MINUTE
    traces = [
        (base, S("agent", kind="agent", user_id="u1", session_id="s1", tags=["t1"], children=[
            S("search", kind="tool", at_ms=1, dur_ms=5),
            S("chat", kind="llm", at_ms=10, dur_ms=50, model="gpt-4o", in_tok=7, out_tok=3),
        ])),
        (base + MINUTE, S("agent", kind="agent", user_id="u2", children=[
            S("chat", kind="llm", at_ms=10, dur_ms=50, model="gpt-4o-mini", status="error",
              error="boom"),
        ])),
    ]
    ids = send(spyglass_server.url, project, traces)
    return spyglass_server.url, project, ids, base


def _names(body) -> list[tuple[str, str]]:
    return [(s["name"], s["kind"]) for s in body["spans"]]


def test_default_order_is_newest_first(seeded) -> None:
    url, project, _, _ = seeded
    body = get(url, "/api/spans", project=project)
    assert _names(body) == [("chat", "llm"), ("agent", "agent"), ("chat", "llm"),
                            ("search", "tool"), ("agent", "agent")]
    asc = get(url, "/api/spans", project=project, order="asc")
    assert _names(asc) == _names(body)[::-1]
    assert body["next_cursor"] is None


@pytest.mark.parametrize(("params", "expected"), [
    ({"name": "chat"}, 2),
    ({"kind": "tool"}, 1),
    ({"model": "gpt-4o"}, 1),
    ({"status": "error"}, 1),
    ({"status": "ok"}, 4),
    ({"user_id": "u1"}, 1),
    ({"session_id": "s1"}, 1),
    ({"tag": "t1"}, 1),
    ({"name": "chat", "model": "gpt-4o-mini"}, 1),
    ({"since": "-30s"}, 0),
])
def test_filters(seeded, params, expected) -> None:
    url, project, _, _ = seeded
    assert len(get(url, "/api/spans", project=project, **params)["spans"]) == expected


def test_trace_filter_and_fields(seeded) -> None:
    url, project, ids, _ = seeded
    spans = get(url, "/api/spans", project=project, trace_id=ids[1], order="asc")["spans"]
    assert [s["name"] for s in spans] == ["agent", "chat"]
    chat = spans[1]
    assert chat["trace_id"] == ids[1] and chat["status"] == "error" and "boom" in chat["error"]
    assert chat["parent_span_id"] == spans[0]["span_id"]
    assert chat["ingested_at"].endswith("Z") and chat["project"] == project


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_pagination_visits_every_span_once(spyglass_server, order) -> None:
    project = f"api-span-pages-{uuid.uuid4().hex[:8]}"
    base = now_ns() - 5 * MINUTE
    # 31 spans; groups of spans share start times to exercise the tie-break.
    roots = [(base + (i // 3) * MS, S("r", children=[S("c", at_ms=0)])) for i in range(15)]
    roots.append((base + 100 * MS, S("lonely")))
    send(spyglass_server.url, project, roots)
    pages = walk_pages(spyglass_server.url, "/api/spans", "spans", project=project, limit=4,
                       order=order)
    spans = [s for p in pages for s in p]
    ids = [s["span_id"] for s in spans]
    assert len(ids) == len(set(ids)) == 31
    if order == "desc":
        assert all(len(p) == 4 for p in pages[:-1])
    starts = [s["start_time"] for s in spans]
    assert starts == sorted(starts, reverse=(order == "desc"))


def test_monitor_walk_sees_late_spans_once(spyglass_server) -> None:
    """A walker over arrival order: spans that arrive later, even with older start times,
    show up after its last cursor, and nothing is seen twice."""
    project = f"api-walk-{uuid.uuid4().hex[:8]}"
    base = now_ns() - 5 * MINUTE
    send(spyglass_server.url, project, [(base + i * MS, S(f"first-{i}")) for i in range(5)])
    seen: list[str] = []
    cursor = None
    while True:
        body = get(spyglass_server.url, "/api/spans", project=project, order="asc",
                   sort="ingested", limit=2, cursor=cursor)
        seen += [s["name"] for s in body["spans"]]
        if not body["spans"]:
            assert body["next_cursor"] is None
            break
        cursor = body["next_cursor"]
        assert cursor is not None  # ascending pages always say where they ended
    assert sorted(seen) == [f"first-{i}" for i in range(5)]
    # Late arrivals that *started* before everything already seen.
    send(spyglass_server.url, project, [(base - MINUTE + i * MS, S(f"late-{i}")) for i in range(3)])
    body = get(spyglass_server.url, "/api/spans", project=project, order="asc", sort="ingested",
               limit=10, cursor=cursor)
    assert sorted(s["name"] for s in body["spans"]) == ["late-0", "late-1", "late-2"]
    again = get(spyglass_server.url, "/api/spans", project=project, order="asc",
                sort="ingested", limit=10, cursor=body["next_cursor"])
    assert again == {"spans": [], "next_cursor": None}


@pytest.mark.parametrize(("params", "name"), [
    ({"order": "sideways"}, "order"),
    ({"sort": "random"}, "sort"),
    ({"status": "fine"}, "status"),
    ({"trace_id": "1234"}, "trace_id"),
    ({"limit": "5000"}, "limit"),
    ({"since": "last week"}, "since"),
])
def test_bad_parameters(seeded, params, name) -> None:
    url, project, _, _ = seeded
    body = get(url, "/api/spans", expect=400, project=project, **params)
    assert f"'{name}'" in body["error"]


def test_cursor_is_tied_to_its_order(seeded) -> None:
    url, project, _, _ = seeded
    desc = get(url, "/api/spans", project=project, limit=1)
    body = get(url, "/api/spans", expect=400, project=project, order="asc",
               cursor=desc["next_cursor"])
    assert "'cursor'" in body["error"]


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_pages_across_distant_times(spyglass_server, order) -> None:
    """Spans minutes, hours and days apart (several search windows, with gaps between)
    page through in order, each once; filters and time bounds hold across windows."""
    project = f"api-span-far-{uuid.uuid4().hex[:8]}"
    now = now_ns()
    offsets = [MINUTE, 5 * 60 * MINUTE, 3 * 24 * 60 * MINUTE, 40 * 24 * 60 * MINUTE]
    roots = [(now - off - i * MS, S(f"s{j}-{i}", kind="tool" if i % 2 else "llm"))
             for j, off in enumerate(offsets) for i in range(5)]
    send(spyglass_server.url, project, roots)
    pages = walk_pages(spyglass_server.url, "/api/spans", "spans", project=project, limit=3,
                       order=order)
    names = [s["name"] for p in pages for s in p]
    expected = [f"s{j}-{i}" for j in range(4) for i in range(5)]  # newest first
    assert names == (expected if order == "desc" else expected[::-1])
    tools = walk_pages(spyglass_server.url, "/api/spans", "spans", project=project, limit=2,
                       order=order, kind="tool", since="-10d", until="-1h")
    assert sorted(s["name"] for p in tools for s in p) == ["s1-1", "s1-3", "s2-1", "s2-3"]
