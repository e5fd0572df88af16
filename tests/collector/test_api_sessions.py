"""GET /api/sessions and /api/sessions/{id}: a project's sessions with totals over every
span of their traces, and one session's traces as a conversation, in time order."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest
from test_api_support import MINUTE, S, get, now_ns, send, walk_pages


def _turn(i: int, session: str | None, *, root_only: bool = False, user: str = "u-1",
          fail: bool = False) -> S:
    """A turn: a root op with the question and answer and an LLM call under it that spent
    10*(i+1) input and 5*(i+1) output tokens at (i+1)/1000 USD. With ``root_only`` the
    session id is on the root span alone (as an OpenTelemetry app may set it)."""
    n = i + 1
    llm = S("chat", kind="llm", at_ms=1, dur_ms=20 * n, model="gpt-4o-mini", in_tok=10 * n,
            out_tok=5 * n, cost=n / 1000, session_id=None if root_only else session,
            user_id=None if root_only else user, status="error" if fail else "ok")
    return S("answer", kind="chain", dur_ms=30 * n, input={"question": f"question {n}?"},
             output=f"answer {n}", session_id=session, user_id=user, children=[llm])


ODD_ID = "team/42 #1?x=é"  # slashes, spaces and query characters in a session id


@pytest.fixture(scope="module")
def seeded(spyglass_server):
    """Session "chat-a" of three turns (1, 2 and 3 minutes ago; the first carries the
    session id on its root only, the second's LLM call fails), session "chat-b" of one
    turn by another user 20 minutes ago, a trace without a session, and "chat-a" again
    in another project (which must never be counted here)."""
    project = f"api-sessions-{uuid.uuid4().hex[:8]}"
    other = f"{project}-other"
    now = now_ns()
    ids = send(spyglass_server.url, project, [
        (now - 3 * MINUTE, _turn(0, "chat-a", root_only=True)),
        (now - 2 * MINUTE, _turn(1, "chat-a", fail=True)),
        (now - 1 * MINUTE, _turn(2, "chat-a")),
        (now - 20 * MINUTE, _turn(4, "chat-b", user="u-2")),
        (now - 5 * MINUTE, _turn(6, None)),
        (now - 30 * MINUTE, _turn(0, ODD_ID)),
    ])
    send(spyglass_server.url, other, [(now - 2 * MINUTE, _turn(8, "chat-a"))])
    return spyglass_server.url, project, ids


def test_list_has_each_session_with_totals_of_all_its_spans(seeded) -> None:
    url, project, _ = seeded
    body = get(url, "/api/sessions", project=project, since="-1h")
    assert [s["session_id"] for s in body["sessions"]] == ["chat-a", "chat-b", ODD_ID]
    assert body["next_cursor"] is None
    a, b, _ = body["sessions"]
    # Every span of the three traces, including the first trace's LLM call without the id.
    assert (a["project"], a["trace_count"], a["span_count"], a["error_count"]) == (project, 3, 6, 1)
    assert (a["input_tokens"], a["output_tokens"], a["total_tokens"]) == (60, 30, 90)
    assert a["cost_usd"] == pytest.approx(0.006)
    assert a["user_id"] == "u-1"
    assert a["first_time"] < a["last_time"]
    assert (b["trace_count"], b["input_tokens"], b["output_tokens"], b["user_id"]) == (1, 50, 25, "u-2")
    assert b["cost_usd"] == pytest.approx(0.005)
    assert b["last_time"] < a["first_time"]


def test_list_filters_by_range_and_user_and_pages(seeded) -> None:
    url, project, _ = seeded
    recent = get(url, "/api/sessions", project=project, since="-10m")["sessions"]
    assert [s["session_id"] for s in recent] == ["chat-a"]
    by_user = get(url, "/api/sessions", project=project, since="-1h", user_id="u-2")["sessions"]
    assert [s["session_id"] for s in by_user] == ["chat-b"]
    pages = walk_pages(url, "/api/sessions", "sessions", project=project, since="-1h", limit=1)
    assert [[s["session_id"] for s in p] for p in pages] == [["chat-a"], ["chat-b"], [ODD_ID]]
    get(url, "/api/sessions", expect=400, project=project, limit=0)
    get(url, "/api/sessions", expect=400, project=project, cursor="nonsense")


def test_a_session_is_its_traces_in_time_order_with_input_and_output(seeded) -> None:
    url, project, ids = seeded
    body = get(url, "/api/sessions/chat-a", project=project)
    assert (body["session_id"], body["project"], body["turns_total"], body["offset"]) == (
        "chat-a", project, 3, 0)
    turns = body["turns"]
    assert [t["trace_id"] for t in turns] == ids[:3]
    assert [t["input"] for t in turns] == [{"question": f"question {n}?"} for n in (1, 2, 3)]
    assert [t["output"] for t in turns] == ["answer 1", "answer 2", "answer 3"]
    assert [t["root_name"] for t in turns] == ["answer"] * 3
    assert [(t["input_tokens"], t["output_tokens"], t["total_tokens"]) for t in turns] == [
        (10, 5, 15), (20, 10, 30), (30, 15, 45)]
    assert [t["cost_usd"] for t in turns] == pytest.approx([0.001, 0.002, 0.003])
    assert [t["duration_ms"] for t in turns] == pytest.approx([30, 60, 90])
    assert [t["status"] for t in turns] == ["ok", "error", "ok"]
    assert turns[1]["error"] == "failed" and turns[0]["error"] is None
    assert [t["model"] for t in turns] == ["gpt-4o-mini"] * 3
    assert [t["span_count"] for t in turns] == [2, 2, 2]
    totals = body["totals"]
    assert (totals["trace_count"], totals["total_tokens"], totals["error_count"]) == (3, 90, 1)
    assert totals["cost_usd"] == pytest.approx(0.006)


def test_session_pages_and_errors(seeded) -> None:
    url, project, ids = seeded
    page = get(url, "/api/sessions/chat-a", project=project, offset=1, limit=1)
    assert [t["trace_id"] for t in page["turns"]] == [ids[1]]
    assert (page["turns_total"], page["offset"]) == (3, 1)
    assert page["totals"]["trace_count"] == 3  # totals cover the whole session
    narrowed = get(url, "/api/sessions/chat-a", project=project, since="-150s")
    assert [t["trace_id"] for t in narrowed["turns"]] == ids[1:3]
    missing = get(url, "/api/sessions/no-such-session", expect=404, project=project)
    assert "no-such-session" in missing["error"]
    get(url, "/api/sessions/chat-a", expect=400, project=project, limit=5000)
    get(url, "/api/sessions/chat-a", expect=400, project=project, offset=-1)
    get(url, "/api/sessions/chat-a", expect=400, project=project, bogus=1)


def test_a_session_id_with_slashes_and_spaces_is_addressable(seeded) -> None:
    url, project, ids = seeded
    body = get(url, f"/api/sessions/{quote(ODD_ID, safe='')}", project=project)
    assert body["session_id"] == ODD_ID and [t["trace_id"] for t in body["turns"]] == [ids[5]]


def test_another_projects_session_of_the_same_id_is_separate(seeded) -> None:
    url, project, _ = seeded
    other = get(url, "/api/sessions/chat-a", project=f"{project}-other")
    assert other["turns_total"] == 1 and other["totals"]["input_tokens"] == 90
    assert get(url, "/api/sessions/chat-a", project=project)["totals"]["input_tokens"] == 60
