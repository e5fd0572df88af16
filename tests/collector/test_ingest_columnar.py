"""The columnar ingest path (table-driven conventions -> columns -> Arrow insert) stores
exactly what the per-span dict + JSONEachRow path stored.

``data/ingest_golden.json`` holds the answers and the stored rows (``spans FINAL``) the
previous path produced for ``ingest_corpus.requests()`` (recorded at commit 1233087 by
posting the corpus to that collector). Runs on both engines (tests/conftest.py)."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from collector.ingest import dedup
from collector.ingest.columns import NAMES, SpanBatch
from collector.ingest.conventions import TABLE
from collector.ingest.normalize import map_attributes
from collector.ingest.writer import BatchWriter
from tests.collector import ingest_corpus

GOLDEN = json.loads((Path(__file__).parent / "data" / "ingest_golden.json").read_text())
PROTOBUF = {"content-type": "application/x-protobuf"}


def _stored(server: Any) -> list[dict[str, Any]]:
    keys = set(GOLDEN["rows"][0])
    rows = server.storage.query(
        "SELECT * EXCEPT (ingested_at) FROM spans FINAL ORDER BY project, trace_id, span_id")
    # Columns later migrations add are not the path's business: compare the golden ones.
    return [{k: v for k, v in row.items() if k in keys} for row in rows]


def _to_otlp_json(body: bytes) -> bytes:
    """The same request as OTLP/JSON (hex ids, as exporters send it)."""
    doc = json_format.MessageToDict(ExportTraceServiceRequest.FromString(body))

    def hexify(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                    node[key] = base64.b64decode(value).hex()
                else:
                    hexify(value)
        elif isinstance(node, list):
            for item in node:
                hexify(item)

    hexify(doc)
    return json.dumps(doc).encode()


def _answer(response: httpx.Response) -> dict[str, Any]:
    if response.headers["content-type"].startswith("application/json"):
        body = response.json().get("partialSuccess", {})
        return {"status": response.status_code, "rejected": int(body.get("rejectedSpans", 0)),
                "message": body.get("errorMessage", "")}
    resp = ExportTraceServiceResponse.FromString(response.content)
    return {"status": response.status_code, "rejected": resp.partial_success.rejected_spans,
            "message": resp.partial_success.error_message}


def test_stored_rows_equal_the_previous_path(collector: Any) -> None:
    answers = [_answer(httpx.post(f"{collector.url}/v1/traces", content=body, headers=PROTOBUF,
                                  timeout=60))
               for body in ingest_corpus.requests()]
    assert answers == GOLDEN["answers"]
    stored = _stored(collector)
    assert len(stored) == len(GOLDEN["rows"])
    for row, want in zip(stored, GOLDEN["rows"], strict=True):
        assert row == want, {k: (row[k], want[k]) for k in want if row[k] != want[k]}


def test_otlp_json_bodies_store_the_same_rows(collector: Any) -> None:
    # Re-sent as JSON (same span ids): the newest copy of every span must still equal
    # what the protobuf path stored.
    for body in ingest_corpus.requests():
        response = httpx.post(f"{collector.url}/v1/traces", content=_to_otlp_json(body),
                              headers={"content-type": "application/json"}, timeout=60)
        assert response.status_code == 200
    assert _stored(collector) == GOLDEN["rows"]


# ------------------------------------------------------------------ table-driven mapping

def test_every_convention_attribute_is_one_table_lookup() -> None:
    attrs = {"gen_ai.request.model": "gpt-4o-mini", "llm.model_name": "ignored",
             "gen_ai.usage.input_tokens": 5, "llm.token_count.prompt": 9,
             "openinference.span.kind": "LLM", "gen_ai.response.id": "r1", "http.method": "GET"}
    vals, remaining = map_attributes(attrs)
    fields = dict(zip(("kind", "name", "model"), vals[:3], strict=True))
    assert fields == {"kind": "llm", "name": "", "model": "gpt-4o-mini"}  # GenAI ranks first
    assert vals[6] == 5  # input_tokens: GenAI's, not OpenInference's
    # Consumed attributes leave `attributes`; the response id is read, not consumed.
    assert remaining == {"gen_ai.response.id": "r1", "http.method": "GET"}
    assert "gen_ai.request.model" in TABLE.exact and "llm.input_messages." in TABLE.prefixes


def test_batch_columns_are_the_insert_columns() -> None:
    batch = SpanBatch()
    assert tuple(batch.to_arrow().schema.names) == NAMES
    assert "ingested_at" not in NAMES  # a default of the table, never sent


# ------------------------------------------------------- stored duplicates, in memory

class CountingStorage:
    """Answers the watermark query and counts every query."""

    def __init__(self, watermark_ns: int | None) -> None:
        self.watermark_ns = watermark_ns
        self.queries: list[str] = []

    def query(self, sql: str, params: Any = None) -> list[dict[str, Any]]:
        self.queries.append(sql)
        if "max(end_time)" in sql:
            return [{"e": self.watermark_ns or 0, "n": 1 if self.watermark_ns else 0}]
        return []


def _llm_row(span_id: str, parent: str, start: int, end: int, rid: str = "") -> dict[str, Any]:
    return {"project": "p", "trace_id": "t" * 32, "span_id": span_id, "parent_span_id": parent,
            "kind": "llm", "model": "gpt-4o-mini", "input_tokens": 10, "output_tokens": 5,
            "total_tokens": 15, "cached_tokens": 0, "cost_usd": 0.1, "attributes": "{}",
            "duplicate_of": "", "_start_ns": start, "_end_ns": end, "_response_id": rid}


def test_a_duplicate_of_a_call_stored_earlier_is_found_without_a_query() -> None:
    storage = CountingStorage(watermark_ns=None)  # empty store
    recent = dedup.RecentCalls(storage)
    inner = _llm_row("a" * 16, "b" * 16, 1_000, 2_000)
    assert dedup.mark_against_stored([inner], storage, recent) == 0
    assert len(storage.queries) == 1  # the watermark, once
    outer = _llm_row("b" * 16, "", 900, 2_100)
    assert not dedup.needs_lookup([outer], recent)
    assert dedup.mark_against_stored([outer], storage, recent) == 1
    assert outer["duplicate_of"] == "a" * 16 and outer["input_tokens"] == 0
    assert outer["cost_usd"] is None and len(storage.queries) == 1


@pytest.mark.parametrize(("start", "queried"), [(4_000, True), (6_000, False)])
def test_spans_older_than_the_watermark_are_looked_up_in_storage(start: int, queried: bool) -> None:
    storage = CountingStorage(watermark_ns=5_000)  # calls stored before this process
    recent = dedup.RecentCalls(storage)
    recent.load_watermark()
    row = _llm_row("c" * 16, "", start, start + 100)
    assert dedup.needs_lookup([row], recent) is queried
    dedup.mark_against_stored([row], storage, recent)
    assert any("FROM spans FINAL" in q for q in storage.queries) is queried


def test_eviction_raises_the_watermark() -> None:
    storage = CountingStorage(watermark_ns=None)
    recent = dedup.RecentCalls(storage, max_calls=4)
    recent.load_watermark()
    rows = [{**_llm_row(f"{i:016x}", "", i * 100, i * 100 + 50), "trace_id": f"{i:032x}"}
            for i in range(6)]
    recent.add(rows)
    # The oldest-ending calls left the index; the watermark covers them.
    assert recent.watermark_ns is not None and recent.watermark_ns >= 150
    assert not recent.has_trace("p", f"{0:032x}") and recent.has_trace("p", f"{5:032x}")


# ------------------------------------------------------------ the writer gathers requests

class RecordingStorage:
    """Records the row count of every insert."""

    def __init__(self) -> None:
        self.inserts: list[int] = []

    def insert_arrow(self, table: str, data: Any) -> None:
        self.inserts.append(data.num_rows)


def _rows(n: int) -> pa.Table:
    return pa.table({"n": list(range(n))})


async def test_an_announced_request_joins_the_coming_insert() -> None:
    storage = RecordingStorage()
    writer = BatchWriter(storage, linger_s=30)  # type: ignore[arg-type]
    writer.start()
    with writer.announce() as first, writer.announce() as second:
        one = asyncio.ensure_future(writer.write(_rows(3), 3, first))
        await asyncio.sleep(0.05)
        assert storage.inserts == []  # waiting for the second, still being prepared
        two = asyncio.ensure_future(writer.write(_rows(4), 4, second))
        await asyncio.gather(one, two)
    assert storage.inserts == [7]
    await writer.close()


async def test_a_lone_request_is_inserted_at_once() -> None:
    storage = RecordingStorage()
    writer = BatchWriter(storage, linger_s=30)  # type: ignore[arg-type]
    writer.start()
    for n in (2, 5):  # one client, one request at a time: no wait, however long linger_s
        with writer.announce() as announced:
            await writer.write(_rows(n), n, announced)
    assert storage.inserts == [2, 5]
    await writer.close()


async def test_a_request_given_up_is_not_waited_for() -> None:
    storage = RecordingStorage()
    writer = BatchWriter(storage, linger_s=30)  # type: ignore[arg-type]
    writer.start()
    gone = writer.announce()
    with writer.announce() as announced:
        pending = asyncio.ensure_future(writer.write(_rows(1), 1, announced))
        await asyncio.sleep(0.05)
        assert storage.inserts == []
        gone.withdraw()  # e.g. its body was refused (413): the insert goes now
        await pending
    assert storage.inserts == [1]
    await writer.close()
