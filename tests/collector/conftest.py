"""Collector test helpers: an in-process collector (real uvicorn on a real socket, real
chDB) whose storage tests read directly, and OTLP request builders.

chDB allows one data directory per process at a time, so in-process collectors are
module-scoped and closed at module end; durability tests use subprocess servers.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1 import common_pb2

from collector.server import RunningServer, start_in_thread
from collector.settings import Settings


def open_collector(data_dir: Path, **settings: Any) -> RunningServer:
    """An in-process collector on a free loopback port over ``data_dir``."""
    return start_in_thread(Settings.load(env={}, host="127.0.0.1", port=0, data_dir=data_dir,
                                         log_level="warning", **settings))


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory, engine: str,
              request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    """One in-process collector per test module (small body limit to test 413 cheaply);
    on the "server" engine (tests/conftest.py) it stores in a ClickHouse server."""
    data_dir = tmp_path_factory.mktemp("collector") / "data"
    extra = {}
    if engine == "server":
        from tests.conftest import engine_database_url

        extra["clickhouse_url"] = engine_database_url(request.getfixturevalue("clickhouse").url,
                                                      data_dir)
    server = open_collector(data_dir, max_body_bytes=2 * 1024 * 1024, **extra)
    yield server
    server.stop()


@pytest.fixture
def stored() -> Any:
    """``stored(server, project, where="1", **params)``: deduplicated rows of a project."""
    return stored_rows


@pytest.fixture
def otlp_request() -> Any:
    """``otlp_request(project, n, seed=None, attrs=None) -> (body, span_ids)``."""
    return build_otlp_request


def stored_rows(server: RunningServer, project: str, where: str = "1", **params: Any) -> list[dict]:
    """Deduplicated rows of ``project`` in ``spans`` (FINAL), ordered by start time."""
    return server.storage.query(  # type: ignore[attr-defined]
        f"SELECT * FROM spans FINAL WHERE project = {{project:String}} AND ({where}) "
        "ORDER BY start_time, span_id",
        {"project": project, **params},
    )


def kv(key: str, value: Any) -> common_pb2.KeyValue:
    """An OTLP attribute."""
    v = common_pb2.AnyValue()
    if isinstance(value, bool):
        v.bool_value = value
    elif isinstance(value, int):
        v.int_value = value
    elif isinstance(value, float):
        v.double_value = value
    elif isinstance(value, list):
        for item in value:
            v.array_value.values.add().string_value = str(item)
    else:
        v.string_value = str(value)
    return common_pb2.KeyValue(key=key, value=v)


def build_otlp_request(project: str, n: int, seed: int | None = None,
                 attrs: dict[str, Any] | None = None) -> tuple[bytes, list[str]]:
    """A protobuf export request with ``n`` spans of one trace; returns the body and the
    hex span ids."""
    rnd = random.Random(seed)
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.extend([kv("service.name", "tests"), kv("spyglass.project", project)])
    ss = rs.scope_spans.add()
    ss.scope.name = "tests"
    trace_id = rnd.getrandbits(128).to_bytes(16, "big")
    now = time.time_ns()
    ids = []
    for i in range(n):
        sp = ss.spans.add()
        sp.trace_id = trace_id
        sp.span_id = rnd.getrandbits(64).to_bytes(8, "big")
        sp.name = f"step-{i}"
        sp.start_time_unix_nano = now + i * 1000
        sp.end_time_unix_nano = now + i * 1000 + 5_000_000
        sp.attributes.extend(kv(k, v) for k, v in (attrs or {}).items())
        ids.append(sp.span_id.hex())
    return req.SerializeToString(), ids
