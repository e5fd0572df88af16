"""A deterministic corpus of realistic OTLP export requests for the ingest equivalence
test (tests/collector/test_ingest_columnar.py): every convention's attributes, message
families, odd value types, events, links, statuses, stacked duplicate LLM spans.

``requests()`` is a pure function of its seed, so the rows the previous (per-span dict +
JSONEachRow) path stored for it were recorded once (``ingest_golden.json``) and the
columnar path must store the same."""

from __future__ import annotations

import json
import random
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1 import common_pb2

BASE_NS = 1_764_000_000_000_000_000  # 2025-11-24, fixed so stored rows are stable

SCALARS: dict[str, list[Any]] = {
    "spyglass.op.kind": ["llm", "CHAIN", "tool", "", "Retrieval"],
    "spyglass.op.name": ["answer", "", "rerank_step"],
    "spyglass.inputs": ['{"q": "hi"}', "plain text", {"a": 1}, [1, 2], "", 0, '"quoted"'],
    "spyglass.output": ['{"answer": 42}', "done", None, "[1, 2", True],
    "spyglass.cost_usd": [0.25, "0.5", "x", float("nan"), 3],
    "spyglass.usage.cached_tokens": [10, "12", -3, 2.5],
    "spyglass.usage.total_tokens": [300, "7", True],
    "spyglass.usage.cache_creation_tokens": [5, 0],
    "spyglass.user_id": ["u1", "", 7],
    "spyglass.session_id": ["s1", "s2"],
    "spyglass.tags": [["a", "b"], '["x", "y"]', "p, q,", ["a", ""], 5],
    "spyglass.metadata": ['{"env": "prod", "v": 1}', "not json", {"k": "v"}, "[1]"],
    "gen_ai.operation.name": ["chat", "embeddings", "execute_tool", "invoke_agent", "weird", ""],
    "gen_ai.request.model": ["gpt-4o-mini", "claude-3-5-sonnet-20241022", "", "unknown-model"],
    "gen_ai.response.model": ["gpt-4o-mini-2024-07-18", ""],
    "gen_ai.provider.name": ["openai", "anthropic", ""],
    "gen_ai.system": ["openai", "aws.bedrock"],
    "gen_ai.usage.input_tokens": [1200, 0, "55", -1, 10**20],
    "gen_ai.usage.output_tokens": [300, 7, 1.5],
    "gen_ai.usage.prompt_tokens": [99],
    "gen_ai.usage.completion_tokens": [11],
    "gen_ai.usage.cache_read.input_tokens": [100],
    "gen_ai.usage.cache_creation.input_tokens": [20],
    "gen_ai.usage.cache_write.input_tokens": [30],
    "gen_ai.response.id": ["chatcmpl-1", "chatcmpl-2", ""],
    "gen_ai.conversation.id": ["conv-9", ""],
    "gen_ai.request.temperature": [0.2, 1],
    "gen_ai.input.messages": [
        json.dumps([{"role": "user", "parts": [{"type": "text", "content": "Capital?"}]}]),
        json.dumps([{"role": "user", "content": "hi"}]), "null", "not json", "[]",
        json.dumps([{"role": "user", "parts": [{"type": "image", "uri": "x"}]}])],
    "gen_ai.output.messages": [
        json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "Paris."}]}]),
        '{"role": "assistant"}'],
    "gen_ai.system_instructions": [json.dumps([{"type": "text", "content": "Be brief."}]),
                                   "Be kind.", '"quoted"'],
    "openinference.span.kind": ["LLM", "CHAIN", "RETRIEVER", "EMBEDDING", "tool", "Custom", ""],
    "llm.model_name": ["gpt-4o", "text-embedding-3-small", ""],
    "embedding.model_name": ["text-embedding-3-small"],
    "llm.provider": ["openai", ""],
    "llm.system": ["openai"],
    "llm.token_count.prompt": [1000, "9"],
    "llm.token_count.completion": [200],
    "llm.token_count.total": [1200, 0],
    "llm.token_count.prompt_details.cache_read": [64],
    "llm.token_count.prompt_details.cache_write": [32],
    "llm.cost.total": [0.01, "bad"],
    "input.value": ['{"messages": [1]}', "plain question", "[1,", 7, ""],
    "input.mime_type": ["text/plain", "application/json"],
    "output.value": ['{"data": [{"embedding": [0.1, 0.2, 0.3]}, {"embedding": [0.4, 0.5, 0.6]}]}',
                     "plain answer", '{"x": 1}'],
    "output.mime_type": ["text/plain", "application/json"],
    "session.id": ["oi-session", ""],
    "user.id": ["oi-user"],
    "tag.tags": [["t1", "a"], "t2,t3"],
    "metadata": ['{"team": "search", "env": "dev"}', {"nested": {"x": 1}}],
    "traceloop.span.kind": ["workflow", "task", "agent", "tool", "other"],
    "traceloop.entity.name": ["my_workflow", ""],
    "traceloop.entity.input": ['{"inputs": {"q": 1}}', '{"args": [1], "kwargs": {}}', "raw"],
    "traceloop.entity.output": ['{"outputs": "x"}', '{"other": 1}'],
    "llm.request.type": ["chat", "embedding", "rerank", "odd"],
    "llm.usage.total_tokens": [77],
    "gen_ai.usage.cache_read_input_tokens": [4],
    "gen_ai.usage.cache_creation_input_tokens": [6],
    "traceloop.association.properties.user_id": ["tl-user", ""],
    "traceloop.association.properties.session_id": ["tl-session"],
    "traceloop.association.properties.customer": ["acme", 3],
    "traceloop.association.properties.env": ["prod"],
    "http.method": ["GET"],
    "db.statement": ["SELECT 1"],
    "custom.list": [[1, 2, 3], ["a", None]],
    "custom.map": [{"k": {"n": [1, {"d": True}]}}],
    "custom.bytes": [b"\x00\x01\xff"],
    "retrieval.documents.0.document.content": ["doc text " * 5],
    "llm.input_messages.x": ["not indexed"],
    "gen_ai.prompt.foo": ["not indexed"],
}

FAMILIES: list[dict[str, Any]] = [
    {"llm.input_messages.0.message.role": "system", "llm.input_messages.0.message.content": "Be brief.",
     "llm.input_messages.1.message.role": "user", "llm.input_messages.1.message.content": "Hi?",
     "llm.output_messages.0.message.role": "assistant",
     "llm.output_messages.0.message.content": "Hello."},
    {"llm.input_messages.0.message.role": "user",
     "llm.input_messages.0.message.contents.0.message_content.type": "text",
     "llm.input_messages.0.message.contents.0.message_content.text": "look at ",
     "llm.input_messages.0.message.contents.1.message_content.type": "image",
     "llm.input_messages.0.message.contents.1.message_content.image.image.url": "http://x/y.png",
     "llm.output_messages.0.message.role": "assistant",
     "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_1",
     "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "search",
     "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": '{"q": "x"}',
     "llm.output_messages.0.message.extra_field": 1},
    {"embedding.embeddings.0.embedding.text": "first", "embedding.embeddings.1.embedding.text": "second",
     "embedding.embeddings.0.embedding.vector": [0.1, 0.2]},
    {"gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "What?",
     "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": "That.",
     "gen_ai.completion.0.finish_reason": "stop",
     "gen_ai.completion.0.tool_calls.0.id": "t1", "gen_ai.completion.0.tool_calls.0.name": "f",
     "gen_ai.completion.0.tool_calls.0.arguments": '{"a": 1}'},
    {"gen_ai.prompt.1.content": "second only", "gen_ai.prompt.0.role": "system"},
]


def _any(value: Any) -> common_pb2.AnyValue:
    out = common_pb2.AnyValue()
    if value is None:
        return out
    if isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int):
        if -(2**63) <= value < 2**63:
            out.int_value = value
        else:
            out.string_value = str(value)
    elif isinstance(value, float):
        out.double_value = value
    elif isinstance(value, bytes):
        out.bytes_value = value
    elif isinstance(value, list):
        out.array_value.values.extend(_any(v) for v in value)
    elif isinstance(value, dict):
        out.kvlist_value.values.extend(common_pb2.KeyValue(key=k, value=_any(v))
                                       for k, v in value.items())
    else:
        out.string_value = str(value)
    return out


def kvs(attrs: dict[str, Any]) -> list[common_pb2.KeyValue]:
    """OTLP KeyValues of a dict (None -> an empty AnyValue)."""
    return [common_pb2.KeyValue(key=k, value=_any(v)) for k, v in attrs.items()]


def _ids(rnd: random.Random, n: int) -> bytes:
    return rnd.getrandbits(8 * n).to_bytes(n, "big")


def _attrs(rnd: random.Random) -> dict[str, Any]:
    keys = rnd.sample(sorted(SCALARS), rnd.randint(0, 12))
    attrs = {k: rnd.choice(SCALARS[k]) for k in keys}
    if rnd.random() < 0.35:
        attrs.update(rnd.choice(FAMILIES))
    return attrs


def requests(seed: int = 14, count: int = 12) -> list[bytes]:
    """``count`` serialized ExportTraceServiceRequests, a pure function of ``seed``."""
    rnd = random.Random(seed)
    out = []
    for r in range(count):
        req = ExportTraceServiceRequest()
        for _ in range(rnd.randint(1, 2)):
            rs = req.resource_spans.add()
            rs.resource.attributes.extend(kvs(rnd.choice([
                {"service.name": "svc-a"}, {"spyglass.project": f"proj-{r % 3}", "host": "h1"},
                {"openinference.project.name": "oi-proj"}, {"service.name": "unknown_service:py"},
                {}])))
            for _ in range(rnd.randint(1, 2)):
                ss = rs.scope_spans.add()
                ss.scope.name = rnd.choice(["", "openinference.instrumentation.openai",
                                            "opentelemetry.instrumentation.openai_v2"])
                trace = _ids(rnd, 16)
                root = b""
                for _ in range(rnd.randint(1, 12)):
                    sp = ss.spans.add()
                    sp.trace_id = trace
                    sp.span_id = _ids(rnd, 8) if rnd.random() > 0.02 else bytes(8)
                    sp.parent_span_id = root
                    root = root or sp.span_id
                    sp.name = rnd.choice(["", "chat gpt-4o-mini", "step", "embeddings"])
                    start = BASE_NS + rnd.randint(0, 10**12) + r * 10**9
                    sp.start_time_unix_nano = start
                    sp.end_time_unix_nano = rnd.choice([start + rnd.randint(0, 3 * 10**9), start - 5])
                    sp.kind = rnd.randint(0, 5)
                    sp.status.code = rnd.choice([0, 0, 1, 2])
                    if sp.status.code == 2 and rnd.random() < 0.5:
                        sp.status.message = "boom"
                    sp.attributes.extend(kvs(_attrs(rnd)))
                    if rnd.random() < 0.3:
                        ev = sp.events.add()
                        ev.name = rnd.choice(["exception", "log"])
                        ev.time_unix_nano = start + 10
                        ev.attributes.extend(kvs(rnd.choice([
                            {"exception.type": "ValueError", "exception.message": "bad"},
                            {"exception.message": "only message"}, {"k": 1}])))
                    if rnd.random() < 0.15:
                        ln = sp.links.add()
                        ln.trace_id = _ids(rnd, 16)
                        ln.span_id = _ids(rnd, 8)
                        ln.attributes.extend(kvs({"link.kind": "follows"}))
                    if rnd.random() < 0.2:
                        # A stacked instrumentation: an inner copy of this LLM call.
                        dup = ss.spans.add()
                        dup.CopyFrom(sp)
                        dup.span_id = _ids(rnd, 8)
                        dup.parent_span_id = sp.span_id
                        dup.start_time_unix_nano = start + 1
                        dup.end_time_unix_nano = max(start + 2, sp.end_time_unix_nano - 1)
                        del dup.attributes[:]
                        dup.attributes.extend(kvs({
                            "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
                            "gen_ai.usage.input_tokens": 1200, "gen_ai.usage.output_tokens": 300,
                            **({"gen_ai.response.id": "chatcmpl-1"} if rnd.random() < 0.5 else {})}))
        out.append(req.SerializeToString())
    return out
