"""Every migration upgrades a data dir made by the schema before it (issue 14).

Realistic spans come from the real ingest path once: OTLP/JSON posted to the collector app
(a batch posted twice, as an exporter retrying after a lost answer does, so the table
holds re-stored copies), then read back row by row with every copy. For each migration N,
a fresh data dir gets migrations < N only, those rows (the columns that schema has, in
the batches ingest wrote them), then every remaining migration; the stored spans must be
intact and the query API must answer exactly as on a data dir that had the whole schema
before the spans arrived.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from collector.app import create_app
from collector.settings import Settings
from collector.storage.chdb_engine import ChdbStorage
from collector.storage.migrations import MIGRATIONS_DIR, load_migrations, migrate

PROJECT = "upgrade"
MINUTE_NS = 60 * 10**9
BASE_NS = (1_900_000_000 // 3600 * 3600 - 6 * 3600) * 10**9  # fixed: answers comparable
SINCE, UNTIL = "2030-03-17T00:00:00Z", "2030-03-18T00:00:00Z"  # holds BASE_NS's day

VERSIONS = [m.version for m in load_migrations()]


def _kv(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": str(value)}}


def _request(first: int, count: int) -> dict[str, Any]:
    """OTLP/JSON with ``count`` traces (root agent, an LLM call, a tool) from trace ``first``."""
    spans = []
    for t in range(first, first + count):
        tid = f"{t + 1:032x}"
        start = BASE_NS + t * 7 * MINUTE_NS // 3 + 17_000_000
        root = f"{t * 8 + 1:016x}"
        for j, (name, kind, ms) in enumerate((("agent", "agent", 900 + t), ("chat", "llm", 400 + 3 * t),
                                             ("search", "tool", 20 + t))):
            attrs = [_kv("spyglass.op.kind", kind)]
            if kind == "llm":
                attrs += [_kv("gen_ai.request.model", ("gpt-4o", "claude-3-5-sonnet")[t % 2]),
                          _kv("gen_ai.provider.name", ("openai", "anthropic")[t % 2]),
                          _kv("gen_ai.usage.input_tokens", 100 + t), _kv("gen_ai.usage.output_tokens", 10 + t),
                          _kv("spyglass.cost_usd", (100 + t) / 1e5),
                          _kv("spyglass.inputs", f'{{"question": "Question {t}: configure sso?"}}'),
                          _kv("spyglass.output", '"open Settings"')]
            if j == 0:
                attrs += [_kv("spyglass.user_id", f"user-{t % 3}"), _kv("spyglass.session_id", f"s-{t % 4}")]
            span = {"traceId": tid, "spanId": f"{t * 8 + j + 1:016x}",
                    "parentSpanId": "" if j == 0 else root, "name": name, "kind": 1,
                    "startTimeUnixNano": str(start + j * 5_000_000),
                    "endTimeUnixNano": str(start + j * 5_000_000 + ms * 1_000_000),
                    "attributes": attrs}
            if t % 5 == 0 and kind == "llm":
                span["status"] = {"code": 2, "message": "RateLimitError"}
            spans.append(span)
    return {"resourceSpans": [{"resource": {"attributes": [_kv("spyglass.project", PROJECT)]},
                               "scopeSpans": [{"scope": {"name": "t"}, "spans": spans}]}]}


def _settings(data_dir: Path) -> Settings:
    return Settings.load(env={}, data_dir=data_dir, grpc_port=0, alert_interval_ms=0,
                         workers="off")


def _answers(storage: ChdbStorage, data_dir: Path, trace_ids: list[str]) -> dict[str, Any]:
    """What the query API answers over ``storage``."""
    app = create_app(_settings(data_dir), storage=storage)
    out: dict[str, Any] = {}
    with TestClient(app) as client:
        def get(path: str, **params: Any) -> Any:
            response = client.get(path, params=params)
            assert response.status_code == 200, (path, params, response.text)
            return response.json()
        window = {"since": SINCE, "until": UNTIL}
        out["list"] = get("/api/traces", project=PROJECT, limit=500)
        out["list_page"] = get("/api/traces", project=PROJECT, limit=7)
        out["search"] = get("/api/traces", project=PROJECT, q="question 7: configure")
        out["traces"] = [get(f"/api/traces/{t}") for t in trace_ids]
        for group in (None, "model", "status", "user_id"):
            params = {**window, "project": PROJECT, "bucket": "1h"}
            out[f"stats {group}"] = get("/api/stats", **params, **({"group_by": group} if group else {}))
        out["stats 13m window"] = get("/api/stats", project=PROJECT, since="2030-03-17T18:07:30Z",
                                      until="2030-03-17T18:20:10Z")
        out["projects"] = [p for p in get("/api/projects")["projects"] if p["name"] == PROJECT]
        out["values"] = get("/api/values/model", project=PROJECT)
        out["spans"] = get("/api/spans", project=PROJECT, limit=1000)
    return out


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Spans stored by the real ingest path, every copy, and the API's answers over them
    on a data dir that had the whole schema from the start."""
    data_dir = tmp_path_factory.mktemp("ingested") / "data"
    storage = ChdbStorage(data_dir)
    try:
        migrate(storage)
        app = create_app(_settings(data_dir), storage=storage)
        with TestClient(app) as client:
            for first in range(0, 40, 10):
                body = _request(first, 10)
                assert client.post("/v1/traces", json=body).status_code == 200
                if first == 20:  # a retry of a batch already stored: copies until a merge
                    assert client.post("/v1/traces", json=body).status_code == 200
        rows = storage.query("SELECT *, toString(ingested_at) AS _batch FROM spans "
                             "ORDER BY ingested_at, trace_id, span_id")
        copies = len(rows) - int(storage.query("SELECT count() AS n FROM spans FINAL")[0]["n"])
        assert copies == 30, "the re-posted batch must leave its copies in the table"
        trace_ids = [f"{t + 1:032x}" for t in (0, 7, 21, 39)]
        found = {"rows": rows, "trace_ids": trace_ids,
                 "answers": _answers(storage, data_dir, trace_ids)}
    finally:
        storage.close()  # chDB opens one data dir at a time per process
    return found


def _stored(storage: ChdbStorage, columns: list[str]) -> list[dict[str, Any]]:
    return storage.query(f"SELECT {', '.join(columns)} FROM spans FINAL "
                         "ORDER BY trace_id, span_id")


@pytest.mark.parametrize("version", VERSIONS, ids=[f"{v:04d}" for v in VERSIONS])
def test_migration_upgrades_a_data_dir_of_the_previous_schema(
        version: int, ingested: dict[str, Any], tmp_path: Path) -> None:
    older = tmp_path / "older-migrations"
    older.mkdir()
    for path in MIGRATIONS_DIR.glob("*.sql"):
        if int(path.name[:4]) < version:
            shutil.copy(path, older / path.name)
    data_dir = tmp_path / f"data-{uuid.uuid4().hex[:6]}"
    storage = ChdbStorage(data_dir)
    try:
        migrate(storage, older)
        old_columns = [r["name"] for r in storage.query(
            "SELECT name FROM system.columns WHERE database = currentDatabase() "
            "AND table = 'spans' ORDER BY position")]
        if old_columns:
            # One insert per batch ingest wrote (many parts, the re-stored copies included).
            batches: dict[str, list[dict[str, Any]]] = {}
            for row in ingested["rows"]:
                batches.setdefault(row["_batch"], []).append({c: row[c] for c in old_columns})
            for batch in batches.values():
                storage.insert("spans", batch)
        applied = migrate(storage)
        assert applied == [v for v in VERSIONS if v >= version]
        if old_columns:
            expected = {(r["trace_id"], r["span_id"]): {c: r[c] for c in old_columns}
                        for r in ingested["rows"]}
            stored = _stored(storage, old_columns)
            assert len(stored) == len(expected)
            for row in stored:
                assert row == expected[(row["trace_id"], row["span_id"])]
            answers = _rounded(_answers(storage, data_dir, ingested["trace_ids"]))
            for key, want in _rounded(ingested["answers"]).items():
                assert answers[key] == want, (key, _diff(answers[key], want))
    finally:
        storage.close()


def _diff(got: Any, want: Any, path: str = "") -> list[str]:
    """Where two JSON answers differ (the first few paths), for a readable failure."""
    if isinstance(got, dict) and isinstance(want, dict):
        return [d for k in sorted(set(got) | set(want))
                for d in _diff(got.get(k), want.get(k), f"{path}.{k}")][:10]
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        return [d for i, (g, w) in enumerate(zip(got, want, strict=True))
                for d in _diff(g, w, f"{path}[{i}]")][:10]
    return [] if got == want else [f"{path}: {got!r} != {want!r}"]


def _rounded(value: Any) -> Any:
    """``value`` with floats to 9 significant digits: sums of costs added in another order
    (a backfilled rollup, other batches) differ in the last bits only."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value
