"""POST /api/feedback validation and round trip; GET /api/feedback by trace and over time."""

from __future__ import annotations

import uuid

import httpx
import pytest
from test_api_support import MINUTE, S, get, now_ns, send


@pytest.fixture(scope="module")
def seeded(spyglass_server):
    project = f"api-feedback-{uuid.uuid4().hex[:8]}"
    ids = send(spyglass_server.url, project, [
        (now_ns() - 2 * MINUTE, S("answer", children=[S("chat", kind="llm", model="gpt-4o")])),
        (now_ns() - MINUTE, S("answer")),
    ])
    detail = get(spyglass_server.url, f"/api/traces/{ids[0]}")
    chat_span = next(s["span_id"] for s in detail["spans"] if s["name"] == "chat")
    return spyglass_server.url, project, ids, chat_span


def _post(url: str, body, expect: int):
    response = httpx.post(f"{url}/api/feedback", json=body, timeout=30)
    assert response.status_code == expect, response.text
    return response.json()


def test_round_trip_of_number_bool_and_label(seeded) -> None:
    url, project, ids, chat_span = seeded
    made = [
        _post(url, {"trace_id": ids[0], "name": "correctness", "value": 0.75, "source": "judge",
                    "author": "gpt-4o-judge", "comment": "mostly right",
                    "metadata": {"reason": "missed a detail"}}, 201),
        _post(url, {"trace_id": ids[0], "span_id": chat_span, "name": "thumbs", "value": True,
                    "author": "ana"}, 201),
        _post(url, {"trace_id": ids[0].upper(), "name": "category", "value": "geography",
                    "source": "scorer"}, 201),
        _post(url, {"trace_id": ids[1], "name": "correctness", "value": 1, "source": "judge"}, 201),
    ]
    first = made[0]
    assert first["project"] == project and first["value"] == 0.75 and first["source"] == "judge"
    assert first["metadata"] == {"reason": "missed a detail"} and first["comment"] == "mostly right"
    assert len(first["id"]) == 32 and first["created_at"].endswith("Z")
    assert made[1]["span_id"] == chat_span and made[1]["value"] is True
    assert made[1]["source"] == "human"  # the default
    assert made[2]["trace_id"] == ids[0] and made[2]["value"] == "geography"
    listed = get(url, "/api/feedback", trace_id=ids[0])["feedback"]
    assert [f["id"] for f in listed] == [m["id"] for m in made[:3]]
    assert listed == made[:3]
    by_span = get(url, "/api/feedback", trace_id=ids[0], span_id=chat_span)["feedback"]
    assert [f["name"] for f in by_span] == ["thumbs"]
    # An integer stays an integer (a 1-5 rating is 4, not 4.0); a float stays a float.
    assert type(made[3]["value"]) is int and made[3]["value"] == 1
    stars = _post(url, {"trace_id": ids[1], "name": "stars", "value": 4}, 201)
    rounded = _post(url, {"trace_id": ids[1], "name": "stars", "value": 4.0}, 201)
    raw = httpx.get(f"{url}/api/feedback", params={"trace_id": ids[1], "name": "stars"},
                    timeout=30).text
    assert '"value":4,' in raw and '"value":4.0,' in raw
    assert stars["value"] == 4 and type(rounded["value"]) is float
    huge = httpx.post(f"{url}/api/feedback", timeout=30,
                      json={"trace_id": ids[1], "name": "stars", "value": 2**60})
    assert huge.status_code == 400 and "value" in huge.json()["error"]


def test_scores_over_time_by_project_and_name(seeded) -> None:
    url, project, ids, _ = seeded
    for value in (0.1, 0.2, 0.3):
        _post(url, {"trace_id": ids[1], "name": "latency_score", "value": value,
                    "source": "scorer"}, 201)
    series = get(url, "/api/feedback", project=project, name="latency_score", since="-1h")
    assert [f["value"] for f in series["feedback"]] == [0.1, 0.2, 0.3]
    times = [f["created_at"] for f in series["feedback"]]
    assert times == sorted(times)
    assert get(url, "/api/feedback", project=project, name="latency_score",
               since="now")["feedback"] == []
    judged = get(url, "/api/feedback", project=project, source="judge")["feedback"]
    assert judged and all(f["source"] == "judge" for f in judged)
    pages = []
    cursor = None
    while True:
        body = get(url, "/api/feedback", project=project, name="latency_score", limit=2,
                   cursor=cursor)
        pages.append([f["value"] for f in body["feedback"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == [[0.1, 0.2], [0.3]]


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "x", "value": 1}, "trace_id"),
    ({"trace_id": "abc", "name": "x", "value": 1}, "trace_id"),
    ({"trace_id": "T", "value": 1}, "name"),
    ({"trace_id": "T", "name": "  ", "value": 1}, "name"),
    ({"trace_id": "T", "name": 5, "value": 1}, "name"),
    ({"trace_id": "T", "name": "x"}, "value"),
    ({"trace_id": "T", "name": "x", "value": None}, "value"),
    ({"trace_id": "T", "name": "x", "value": [1, 2]}, "value"),
    ({"trace_id": "T", "name": "x", "value": {"a": 1}}, "value"),
    ({"trace_id": "T", "name": "x", "value": 1, "source": "robot"}, "source"),
    ({"trace_id": "T", "name": "x", "value": 1, "span_id": "12"}, "span_id"),
    ({"trace_id": "T", "name": "x", "value": 1, "metadata": [1]}, "metadata"),
    ({"trace_id": "T", "name": "x", "value": 1, "author": 7}, "author"),
    ({"trace_id": "T", "name": "x", "value": 1, "score": 3}, "score"),
])
def test_validation_names_the_bad_field(seeded, body, field) -> None:
    url, _, ids, _ = seeded
    body = {k: (ids[0] if v == "T" else v) for k, v in body.items()}
    error = _post(url, body, 400)
    assert set(error) == {"error"} and f"'{field}'" in error["error"], error


def test_non_object_and_invalid_json_bodies(seeded) -> None:
    url = seeded[0]
    assert "error" in _post(url, [1, 2], 400)
    response = httpx.post(f"{url}/api/feedback", content=b"{not json",
                          headers={"content-type": "application/json"}, timeout=30)
    assert response.status_code == 400 and "error" in response.json()


def test_unknown_trace_needs_a_project(seeded) -> None:
    url, project, _, _ = seeded
    missing = uuid.uuid4().hex
    error = _post(url, {"trace_id": missing, "name": "x", "value": 1}, 404)
    assert missing in error["error"] and "project" in error["error"]
    made = _post(url, {"trace_id": missing, "name": "x", "value": 1, "project": project}, 201)
    assert made["project"] == project
    assert [f["id"] for f in get(url, "/api/feedback", trace_id=missing)["feedback"]] == [made["id"]]


def test_bad_query_parameters(seeded) -> None:
    url = seeded[0]
    assert "'trace_id'" in get(url, "/api/feedback", expect=400, trace_id="zz")["error"]
    assert "'source'" in get(url, "/api/feedback", expect=400, source="robot")["error"]
    assert "'cursor'" in get(url, "/api/feedback", expect=400, cursor="AAAA")["error"]


def test_a_list_body_stores_a_batch_and_client_ids_are_idempotent(seeded) -> None:
    url, project, ids, chat_span = seeded
    batch = [{"id": f"batch-{i}", "trace_id": ids[0], "span_id": chat_span, "name": "batch_score",
              "value": i / 10, "source": "scorer"} for i in range(5)]
    assert _post(url, batch, 201) == {"stored": 5, "duplicates": 0, "ids": [f"batch-{i}" for i in range(5)]}
    # A replay (a restarted monitor) plus one new item, and an id repeated inside one body.
    again = [*batch, {**batch[0], "id": "batch-5"}, {**batch[0], "id": "batch-5"}]
    assert _post(url, again, 201)["stored"] == 1
    stored = get(url, "/api/feedback", project=project, name="batch_score")["feedback"]
    assert sorted(f["id"] for f in stored) == [f"batch-{i}" for i in range(6)]
    # A single item with a stored id answers the stored item, not a second row.
    single = _post(url, {**batch[2], "value": 0.99}, 201)
    assert single["id"] == "batch-2" and single["value"] == 0.2
    assert len(get(url, "/api/feedback", project=project, name="batch_score")["feedback"]) == 6
    series = get(url, "/api/console/scores", project=project, since="-1h")["series"]
    assert next(s for s in series if s["name"] == "batch_score")["count"] == 6


def test_bad_batches_name_the_item(seeded) -> None:
    url, _, ids, _ = seeded
    good = {"trace_id": ids[0], "name": "x", "value": 1}
    error = _post(url, [good, {**good, "name": "  "}], 400)
    assert "'[1].name'" in error["error"], error
    assert "'[0].id'" in _post(url, [{**good, "id": "has space"}], 400)["error"]
    assert "error" in _post(url, [], 400)
    assert "error" in _post(url, [good] * 1001, 400)
