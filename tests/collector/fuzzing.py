"""Seeded fuzzing of a running collector: ingest bodies and the ``/api/*`` routes.

Used by ``tests/collector/test_fuzz.py`` (a bounded run in the suite) and by
``benchmarks/fuzz.py`` (20,000 bodies). Every answer must be below 500, and every JSON
error must be ``{"error": one line}``; :func:`fuzz` returns the failures it saw."""

from __future__ import annotations

import base64
import copy
import gzip
import json
import random
import time
import urllib.parse
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1 import common_pb2

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
CONTENT_TYPES = [PROTOBUF, JSON, "application/json; charset=utf-8", "application/x-protobuf; x=1",
                 "APPLICATION/JSON", "text/plain", "", "application/grpc", "multipart/form-data",
                 "application/x-www-form-urlencoded", "*/*", "application/json\x00", "é/é"]
ENCODINGS = ["gzip", "identity", "", "deflate", "br", "gzip, gzip", "GZIP", "x-gzip", "zstd"]

NASTY_TEXT = [
    "", " ", "0", "-1", "1", "99999999999999999999999999", "-9223372036854775809",
    "18446744073709551616", "1e400", "nan", "inf", "-inf", "NaN", "0x10", "1.5", "true", "null",
    "[]", "{}", "'", "\"", "\\", "%", "%00", "\x00", "\udcff"[:0] + "\u0000x", "é", "日本",
    "\u202e", "a" * 10_000, "../../etc/passwd", "' OR 1=1 --", "1; DROP TABLE spans",
    "{name:String}", "{{x}}", "$(id)", "<script>", "-99999999d", "-100000w", "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z", "0999-01-01", "2026-02-30T00:00:00Z", "2026-01-01T00:00:00+99:00",
    "2262-04-12T00:00:00Z", "1900-01-01T00:00:00Z", "now", "-24h", "9223372036854775807s",
    "0s", "-1s", "1.5e9s", "5m", "0" * 32, "f" * 32, "0" * 16, "F" * 16, "zz" * 16,
    "gpt-4o", "llm", "error", "ok", "asc", "desc", "start_time", "duration_ms", "model",
    "eyJ0IjoxfQ", "!!!!", base64.b64encode(b'{"a":1}').decode(), "default",
]


def nasty(rnd: random.Random) -> str:
    """One hostile query/path value."""
    value = rnd.choice(NASTY_TEXT)
    if rnd.random() < 0.15:
        value = value + rnd.choice(NASTY_TEXT)
    if rnd.random() < 0.1:
        value = "".join(chr(rnd.randrange(1, 0x3000)) for _ in range(rnd.randrange(1, 30)))
    return value


# ----------------------------------------------------------------------- ingest bodies

def _kv(key: str, value: Any) -> common_pb2.KeyValue:
    v = common_pb2.AnyValue()
    if isinstance(value, bool):
        v.bool_value = value
    elif isinstance(value, int):
        v.int_value = value
    elif isinstance(value, float):
        v.double_value = value
    else:
        v.string_value = str(value)
    return common_pb2.KeyValue(key=key, value=v)


ATTRIBUTES = [
    ("spyglass.op.kind", "llm"), ("gen_ai.usage.input_tokens", 12),
    ("gen_ai.usage.output_tokens", 9_223_372_036_854_775_807), ("gen_ai.request.model", "gpt-4o"),
    ("spyglass.cost_usd", float("inf")), ("spyglass.cost_usd", "nan"),
    ("spyglass.inputs", "[" * 3000), ("spyglass.output", '{"a": ' * 500),
    ("spyglass.tags", '["a", 1, null]'), ("spyglass.metadata", "{bad json"),
    ("llm.token_count.prompt", "1e30"), ("llm.token_count.completion", "-5"),
    ("gen_ai.input.messages", '[{"role": 5}]'), ("llm.input_messages.0.message.content", 7),
    ("openinference.span.kind", "LLM"), ("spyglass.user_id", "\u0000"),
    ("x", "y" * 100_000),
]
TIMES = [0, 1, 2**63 - 1, 2**63, 2**64 - 1, 10**19, None]


def valid_request(rnd: random.Random, project: str, spans: int = 3) -> ExportTraceServiceRequest:
    """A well-formed export request, sometimes with hostile (but well-typed) values."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.append(_kv("spyglass.project", project))
    ss = rs.scope_spans.add()
    ss.scope.name = "fuzz"
    now = time.time_ns()
    for i in range(spans):
        sp = ss.spans.add()
        sp.trace_id = rnd.getrandbits(128).to_bytes(16, "big")
        sp.span_id = rnd.getrandbits(64).to_bytes(8, "big")
        if rnd.random() < 0.3:
            sp.parent_span_id = rnd.getrandbits(64).to_bytes(8, "big")
        sp.name = f"fuzz-{i}"
        start = rnd.choice(TIMES) if rnd.random() < 0.2 else now
        sp.start_time_unix_nano = now if start is None else start
        end = rnd.choice(TIMES) if rnd.random() < 0.2 else now + 1000
        sp.end_time_unix_nano = now if end is None else end
        sp.kind = rnd.randrange(0, 7)
        sp.status.code = rnd.randrange(0, 4)
        for key, value in rnd.sample(ATTRIBUTES, rnd.randrange(0, 4)):
            sp.attributes.append(_kv(key, value))
        if rnd.random() < 0.2:
            ev = sp.events.add()
            ev.name = "exception"
            ev.time_unix_nano = rnd.choice([now, 2**64 - 1])
            ev.attributes.append(_kv("exception.type", "E"))
        if rnd.random() < 0.1:
            ln = sp.links.add()
            ln.trace_id = rnd.randbytes(rnd.choice([0, 3, 16]))
            ln.span_id = rnd.randbytes(rnd.choice([0, 8, 9]))
        if rnd.random() < 0.1:  # malformed ids
            sp.trace_id = rnd.randbytes(rnd.choice([0, 1, 15, 17]))
        if rnd.random() < 0.05:
            sp.span_id = b"\0" * 8
    return req


def to_otlp_json(req: ExportTraceServiceRequest) -> dict[str, Any]:
    """OTLP JSON (hex ids, 64-bit ints as strings) of a request."""
    from google.protobuf import json_format

    doc = json_format.MessageToDict(req)

    def hexify(obj: Any) -> None:
        if isinstance(obj, dict):
            for key, value in list(obj.items()):
                if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                    obj[key] = base64.b64decode(value).hex()
                else:
                    hexify(value)
        elif isinstance(obj, list):
            for item in obj:
                hexify(item)

    hexify(doc)
    return doc


RANDOM_VALUES: list[Callable[[random.Random], Any]] = [
    lambda r: r.randrange(-(2**70), 2**70), lambda r: r.random() * 1e308, lambda r: None,
    lambda r: True, lambda r: "x" * r.randrange(0, 50), lambda r: [], lambda r: {},
    lambda r: [1, "a", None], lambda r: {"stringValue": 5}, lambda r: "-1", lambda r: "1e30",
    lambda r: str(2**64), lambda r: "zz", lambda r: {"arrayValue": 5}, lambda r: [[[[]]]],
    lambda r: "\ud800", lambda r: -0.0,
]


def _nodes(doc: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    yield path, doc
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _nodes(value, (*path, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _nodes(value, (*path, i))


def mutate_json(rnd: random.Random, doc: dict[str, Any]) -> Any:
    """``doc`` with a few nodes replaced by values of the wrong type."""
    doc = copy.deepcopy(doc)
    for _ in range(rnd.randrange(1, 4)):
        nodes = list(_nodes(doc))
        path, _ = rnd.choice(nodes)
        if not path:
            return rnd.choice(RANDOM_VALUES)(rnd)
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = rnd.choice(RANDOM_VALUES)(rnd)
    return doc


def deep_json(rnd: random.Random) -> bytes:
    depth = rnd.choice([50, 129, 500, 2000, 50_000])
    kind = rnd.randrange(3)
    if kind == 0:
        return b"[" * depth + b"]" * depth
    if kind == 1:
        return b'{"resourceSpans":' + b"[" * depth
    value = '{"arrayValue":{"values":[' * (depth // 4) + '{"intValue":"1"}' + "]}}" * (depth // 4)
    return ('{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"' + "1" * 32 + '","spanId":"'
            + "2" * 16 + '","attributes":[{"key":"d","value":' + value + "}]}]}]}]}").encode()


def flip_bits(rnd: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    buf = bytearray(data)
    for _ in range(rnd.randrange(1, 8)):
        i = rnd.randrange(len(buf))
        buf[i] ^= 1 << rnd.randrange(8)
    return bytes(buf)


@dataclass
class Body:
    """One ingest request to send."""

    kind: str
    content: bytes
    content_type: str
    encoding: str = ""


def ingest_body(rnd: random.Random, project: str) -> Body:
    """One random ingest request (of many kinds, see ``kind``)."""
    kind = rnd.choice(["proto", "proto-truncated", "proto-flipped", "random", "json",
                       "json-mutated", "json-deep", "json-bad-utf8", "json-huge", "headers"])
    req = valid_request(rnd, project, rnd.randrange(1, 6))
    ctype, encoding = PROTOBUF, ""
    if kind == "proto":
        content = req.SerializeToString()
    elif kind == "proto-truncated":
        data = req.SerializeToString()
        content = data[: rnd.randrange(0, len(data))]
    elif kind == "proto-flipped":
        content = flip_bits(rnd, req.SerializeToString())
    elif kind == "random":
        content = rnd.randbytes(rnd.randrange(0, 2000))
        ctype = rnd.choice([PROTOBUF, JSON])
    elif kind == "json":
        content, ctype = json.dumps(to_otlp_json(req)).encode(), JSON
    elif kind == "json-mutated":
        content, ctype = json.dumps(mutate_json(rnd, to_otlp_json(req))).encode(), JSON
    elif kind == "json-deep":
        content, ctype = deep_json(rnd), JSON
    elif kind == "json-bad-utf8":
        data = bytearray(json.dumps(to_otlp_json(req)).encode())
        for _ in range(rnd.randrange(1, 4)):
            data.insert(rnd.randrange(len(data)), rnd.choice([0xFF, 0xC0, 0xED, 0x80]))
        content, ctype = bytes(data), JSON
    elif kind == "json-huge":
        doc = to_otlp_json(req)
        doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"] = "n" * rnd.choice([10**5, 10**6])
        doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["startTimeUnixNano"] = rnd.choice(
            ["1" * 400, str(2**64), "-1", 1e300, "0x1", "", True])
        content, ctype = json.dumps(doc).encode(), JSON
    else:  # every content type and encoding
        content = req.SerializeToString() if rnd.random() < 0.5 else json.dumps(to_otlp_json(req)).encode()
        ctype = rnd.choice(CONTENT_TYPES)
        encoding = rnd.choice(ENCODINGS)
    if kind != "headers" and rnd.random() < 0.25:
        encoding = "gzip"
    if encoding.lower() == "gzip":
        mode = rnd.randrange(4)
        if mode == 0:
            content = gzip.compress(content)
        elif mode == 1:
            content = gzip.compress(content)[: rnd.randrange(1, 40)]
        elif mode == 2:
            content = flip_bits(rnd, gzip.compress(content))
        # mode 3: claims gzip, is not
    elif encoding == "deflate":
        content = zlib.compress(content)
    return Body(kind, content, ctype, encoding)


# ------------------------------------------------------------------------- the /api routes

@dataclass
class Route:
    method: str
    path: str
    query: list[str]
    has_body: bool


def api_routes(client: httpx.Client) -> list[Route]:
    """Every ``/api/*`` operation the OpenAPI document at ``/schema`` lists."""
    schema = client.get("/schema/openapi.json").json()
    routes = []
    for path, item in schema["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            params = op.get("parameters", [])
            routes.append(Route(method.upper(), path,
                                [p["name"] for p in params if p["in"] == "query"],
                                "requestBody" in op))
    return routes


def _fill_path(rnd: random.Random, path: str) -> str:
    out = path
    while "{" in out:
        start, end = out.index("{"), out.index("}")
        value = urllib.parse.quote(nasty(rnd).encode("utf-8", "surrogatepass"), safe="")
        out = out[:start] + (value or "x") + out[end + 1:]
    return out


def random_json_body(rnd: random.Random) -> Any:
    base = {"trace_id": rnd.choice(["0" * 32, "1" * 32, "x", 5, None]),
            "span_id": rnd.choice(["0" * 16, "2" * 16, "", None, [1]]),
            "name": rnd.choice(["score", "", None, 5, "n" * 1000]),
            "value": rnd.choice([1, 0.5, True, "good", None, {"a": 1}, [1], 1e308, -(2**70)]),
            "project": rnd.choice(["p", "", None, "a" * 300, "../x"]),
            "rows": rnd.choice([[], [{}], [{"input": 1}], 5, None]),
            "eval": rnd.choice(["e", None, 5]), "suite": rnd.choice(["s", None]),
            "key": rnd.choice(["id", None, 5]), "params": rnd.choice([{}, [], "x", None]),
            "created_at": rnd.choice(["9999-12-31T23:59:59Z", "-99999999d", "x", None])}
    doc = {k: v for k, v in base.items() if rnd.random() < 0.6}
    if rnd.random() < 0.1:
        return rnd.choice([[], 5, "x", None, [doc]])
    return doc


@dataclass
class Report:
    """What a fuzz run saw: answers by status, and every failure (a 5xx or a bad body)."""

    sent: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def check(self, what: str, response: httpx.Response) -> None:
        self.sent += 1
        self.statuses[response.status_code] += 1
        problem = _problem(response)
        if problem:
            self.failures.append(f"{what}: {problem}")

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def _problem(response: httpx.Response) -> str:
    status = response.status_code
    if status >= 500:
        return f"{status} {response.text[:300]!r}"
    if status < 400:
        return ""
    ctype = response.headers.get("content-type", "")
    if ctype.startswith(PROTOBUF):
        try:
            message = status_pb2.Status.FromString(response.content).message
        except Exception:
            return f"{status} with an undecodable protobuf Status"
    else:
        try:
            message = response.json()["error"]
        except Exception:
            return f"{status} without a JSON error body: {response.text[:200]!r}"
    if not isinstance(message, str) or "\n" in message or "Traceback" in message \
            or "DB::Exception" in message:
        return f"{status} error is not one clean line: {message!r:.300}"
    return ""


def fuzz_ingest(client: httpx.Client, rnd: random.Random, n: int, report: Report,
                project: str = "fuzz") -> None:
    """Send ``n`` random ingest bodies."""
    for _ in range(n):
        body = ingest_body(rnd, project)
        headers = {"content-type": body.content_type.encode()}
        if body.encoding:
            headers["content-encoding"] = body.encoding.encode()
        try:
            response = client.post("/v1/traces", content=body.content, headers=headers)
        except httpx.LocalProtocolError:
            continue  # a header the HTTP client refuses to send: nothing reached the server
        except httpx.HTTPError as exc:
            report.sent += 1
            report.failures.append(f"ingest {body.kind}: transport error {exc!r}")
            continue
        report.check(f"ingest {body.kind} {body.content_type!r} {body.encoding!r}", response)


def fuzz_api(client: httpx.Client, rnd: random.Random, n: int, report: Report) -> None:
    """``n`` requests to random ``/api/*`` routes with hostile parameters, path segments and
    bodies (admin routes answer 401/403 without their token, which is checked too)."""
    routes = api_routes(client)
    for i in range(n):
        route = routes[i % len(routes)] if i < len(routes) * 2 else rnd.choice(routes)
        path = _fill_path(rnd, route.path)
        params = {name: nasty(rnd) for name in route.query if rnd.random() < 0.5}
        if rnd.random() < 0.1:
            params[nasty(rnd)[:20] or "x"] = nasty(rnd)
        kwargs: dict[str, Any] = {"params": params}
        if route.has_body or route.method == "POST":
            if rnd.random() < 0.2:
                kwargs["content"] = rnd.choice([b"{", b"[" * 5000, b"\xff\xfe", b"", b"null"])
                kwargs["headers"] = {"content-type": "application/json"}
            else:
                kwargs["json"] = random_json_body(rnd)
        try:
            response = client.request(route.method, path, **kwargs)
        except httpx.LocalProtocolError:
            continue
        except httpx.HTTPError as exc:
            report.sent += 1
            report.failures.append(f"{route.method} {path}: transport error {exc!r}")
            continue
        except (UnicodeEncodeError, httpx.InvalidURL):
            continue  # httpx cannot send it; nothing reached the server
        report.check(f"{route.method} {path} {params!r:.200}", response)


def fuzz(url: str, ingest: int, api: int, seed: int = 12) -> Report:
    """Fuzz the collector at ``url`` with ``ingest`` bodies and ``api`` queries."""
    rnd = random.Random(seed)
    report = Report()
    with httpx.Client(base_url=url, timeout=120) as client:
        fuzz_ingest(client, rnd, ingest, report)
        fuzz_api(client, rnd, api, report)
    return report
