"""Issue 15: export of the trace filter (JSONL/CSV, streamed, capped) and cost/tokens per user
and session (``/api/stats?group_by=user_id|session_id``)."""

from __future__ import annotations

import csv
import io
import json
import uuid

import httpx
import pytest
from test_api_support import MINUTE, S, get, now_ns, send


@pytest.fixture(scope="module")
def seeded(spyglass_server):
    project = f"api-export-{uuid.uuid4().hex[:8]}"
    base = now_ns() - 30 * MINUTE
    traces = [(base + i * MINUTE, S("answer", user_id=f"u{i % 2}", session_id=f"s{i % 3}",
                                    children=[S("chat", kind="llm", model="m", in_tok=10, out_tok=5,
                                                cost=0.01, user_id=f"u{i % 2}", session_id=f"s{i % 3}")]))
              for i in range(7)]
    ids = send(spyglass_server.url, project, traces)
    return spyglass_server.url, project, ids


def _export(url: str, expect: int = 200, **params) -> httpx.Response:
    response = httpx.get(f"{url}/api/export/traces", params=params, timeout=30)
    assert response.status_code == expect, response.text
    return response


def test_jsonl_export_is_the_trace_list(seeded) -> None:
    url, project, ids = seeded
    response = _export(url, project=project, since="-2h")
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert "traces.jsonl" in response.headers["content-disposition"]
    rows = [json.loads(line) for line in response.text.splitlines()]
    listed = get(url, "/api/traces", project=project, since="-2h", limit=50)["traces"]
    assert rows == listed and len(rows) == 7 and {r["trace_id"] for r in rows} == set(ids)
    only_u1 = [json.loads(x) for x in _export(url, project=project, since="-2h", user_id="u1").text.splitlines()]
    assert len(only_u1) == 3 and {r["user_id"] for r in only_u1} == {"u1"}


def test_csv_export_and_the_row_cap(seeded) -> None:
    url, project, _ = seeded
    response = _export(url, project=project, since="-2h", format="csv", limit=5)
    assert response.headers["content-type"].startswith("text/csv") and response.headers["x-spyglass-row-cap"] == "5"
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert len(table) == 5 and table[0]["input_tokens"] == "10" and float(table[0]["cost_usd"]) == pytest.approx(0.01)
    assert "'format'" in _export(url, 400, project=project, format="xlsx").json()["error"]
    assert "'limit'" in _export(url, 400, project=project, limit=0).json()["error"]


def test_parquet_export_reads_back_as_the_trace_list(seeded) -> None:
    import pyarrow.parquet as pq

    url, project, ids = seeded
    response = _export(url, project=project, since="-2h", format="parquet")
    assert response.headers["content-type"] == "application/vnd.apache.parquet"
    assert "traces.parquet" in response.headers["content-disposition"]
    table = pq.read_table(io.BytesIO(response.content))
    listed = get(url, "/api/traces", project=project, since="-2h", limit=50)["traces"]
    assert table.num_rows == 7 and set(table.column("trace_id").to_pylist()) == set(ids)
    rows = table.to_pylist()
    assert [r["trace_id"] for r in rows] == [t["trace_id"] for t in listed]
    first, listed_first = rows[0], listed[0]
    assert (first["input_tokens"], first["output_tokens"], first["span_count"]) == (10, 5, 2)
    assert first["cost_usd"] == pytest.approx(0.01) and first["user_id"] == listed_first["user_id"]
    assert first["models"] == ["m"] and first["tags"] == []
    assert str(table.schema.field("start_time").type) == "timestamp[us, tz=UTC]"
    assert first["start_time"].isoformat().replace("+00:00", "Z")[:19] == listed_first["start_time"][:19]


def test_parquet_export_is_streamed_a_row_group_per_page_and_capped(spyglass_server) -> None:
    import pyarrow.parquet as pq

    url, project = spyglass_server.url, f"api-export-{uuid.uuid4().hex[:8]}"
    base = now_ns() - 30 * MINUTE
    send(url, project, [(base + i * 1000, S(f"t{i}")) for i in range(1203)])
    with httpx.stream("GET", f"{url}/api/export/traces", timeout=60,
                      params={"project": project, "since": "-2h", "format": "parquet"}) as response:
        assert response.status_code == 200
        chunks = [c for c in response.iter_raw() if c]
    assert len(chunks) >= 3  # written and sent page by page, not built whole first
    parquet = pq.ParquetFile(io.BytesIO(b"".join(chunks)))
    assert parquet.metadata.num_rows == 1203 and parquet.metadata.num_row_groups == 3
    capped = _export(url, project=project, since="-2h", format="parquet", limit=700)
    assert capped.headers["x-spyglass-row-cap"] == "700"
    assert pq.read_table(io.BytesIO(capped.content)).num_rows == 700


def _export_spans(url: str, expect: int = 200, **params) -> httpx.Response:
    response = httpx.get(f"{url}/api/export/spans", params=params, timeout=30)
    assert response.status_code == expect, response.text
    return response


def _all_spans(url: str, **params) -> list[dict]:
    """Every span the search finds for ``params``, following its cursor."""
    out, cursor = [], None
    while True:
        body = get(url, "/api/spans", **params, limit=3, **({"cursor": cursor} if cursor else {}))
        out += body["spans"]
        cursor = body["next_cursor"]
        if cursor is None:
            return out


def test_span_export_is_the_span_search_in_every_format(seeded) -> None:
    import pyarrow.parquet as pq

    url, project, ids = seeded
    searched = _all_spans(url, project=project, since="-2h", kind="llm")
    assert len(searched) == 7
    lines = _export_spans(url, project=project, since="-2h", kind="llm").text.splitlines()
    assert [json.loads(line) for line in lines] == searched
    # One trace: its spans, every column (chat messages as JSON), named after the trace.
    one = _export_spans(url, project=project, trace_id=ids[2].upper(), order="asc")
    assert f'trace-{ids[2]}.jsonl' in one.headers["content-disposition"]
    spans = [json.loads(line) for line in one.text.splitlines()]
    # The root and its LLM call may start in the same nanosecond: then span ids break the tie.
    assert sorted(s["name"] for s in spans) == ["answer", "chat"]
    assert {s["trace_id"] for s in spans} == {ids[2]}
    assert [(s["start_time"], s["span_id"]) for s in spans] == sorted(
        (s["start_time"], s["span_id"]) for s in spans)
    spans.sort(key=lambda s: s["name"])
    assert spans[1]["model"] == "m" and spans[1]["cost_usd"] == pytest.approx(0.01)

    table = list(csv.DictReader(io.StringIO(
        _export_spans(url, project=project, since="-2h", kind="llm", format="csv", limit=4).text)))
    assert len(table) == 4 and [r["span_id"] for r in table] == [s["span_id"] for s in searched[:4]]
    assert table[0]["input_tokens"] == "10" and table[0]["kind"] == "llm"
    assert json.loads(table[0]["attributes"]) == searched[0]["attributes"]

    parquet = _export_spans(url, project=project, since="-2h", kind="llm", format="parquet")
    rows = pq.read_table(io.BytesIO(parquet.content)).to_pylist()
    assert [r["span_id"] for r in rows] == [s["span_id"] for s in searched]
    assert rows[0]["output_tokens"] == 5 and json.loads(rows[0]["resource"]) == searched[0]["resource"]
    assert rows[0]["start_time"].isoformat().replace("+00:00", "Z")[:19] == searched[0]["start_time"][:19]
    assert "'trace_id'" in _export_spans(url, 400, project=project, trace_id="xyz").json()["error"]
    assert "'order'" in _export_spans(url, 400, project=project, order="up").json()["error"]


def test_span_export_pages_past_one_page(spyglass_server) -> None:
    url, project = spyglass_server.url, f"api-export-{uuid.uuid4().hex[:8]}"
    base = now_ns() - 30 * MINUTE
    send(url, project, [(base + i * 1_000_000_000, S(f"t{i}")) for i in range(1203)])
    rows = [json.loads(x) for x in _export_spans(url, project=project, since="-2h").text.splitlines()]
    assert len(rows) == 1203 and len({r["span_id"] for r in rows}) == 1203
    starts = [r["start_time"] for r in rows]
    assert starts == sorted(starts, reverse=True)
    capped = _export_spans(url, project=project, since="-2h", limit=501).text.splitlines()
    assert len(capped) == 501 and json.loads(capped[-1])["span_id"] == rows[500]["span_id"]


def test_cost_and_tokens_per_user_and_session(seeded) -> None:
    url, project, _ = seeded
    by_user = get(url, "/api/stats", project=project, since="-2h", group_by="user_id")
    totals = {s["group"]: s["totals"] for s in by_user["series"]}
    assert set(totals) == {"u0", "u1"}
    assert totals["u0"]["total_tokens"] == 4 * 15 and totals["u0"]["cost_usd"] == pytest.approx(0.04)
    by_session = get(url, "/api/stats", project=project, since="-2h", group_by="session_id")
    assert {s["group"]: s["totals"]["count"] for s in by_session["series"]} == {"s0": 6, "s1": 4, "s2": 4}
