"""OpenLLMetry / Traceloop attributes."""

from __future__ import annotations

from typing import Any

from collector.ingest.record import Mapped
from collector.ingest.values import as_int, indexed_messages, json_value, to_json_text

SPAN_KIND = "traceloop.span.kind"
ENTITY_NAME = "traceloop.entity.name"
ENTITY_INPUT = "traceloop.entity.input"
ENTITY_OUTPUT = "traceloop.entity.output"
ASSOCIATION_PREFIX = "traceloop.association.properties."
PROMPT_PREFIX = "gen_ai.prompt."
COMPLETION_PREFIX = "gen_ai.completion."
REQUEST_TYPE = "llm.request.type"
TOTAL_TOKENS = "llm.usage.total_tokens"
CACHE_READ_TOKENS = "gen_ai.usage.cache_read_input_tokens"
CACHE_CREATION_TOKENS = "gen_ai.usage.cache_creation_input_tokens"
TOOL_CALLS = "tool_calls."

SPAN_KINDS = {"workflow": "chain", "task": "chain", "agent": "agent", "tool": "tool"}
REQUEST_KINDS = {"chat": "llm", "completion": "llm", "embedding": "embedding", "rerank": "rerank"}
MESSAGE_FIELDS = {"role": "role", "content": "content", "finish_reason": "finish_reason"}
# Association properties that map to canonical fields rather than metadata.
ASSOCIATION_FIELDS = {"user_id": "user_id", "session_id": "session_id"}


def _entity(value: object) -> str:
    """``traceloop.entity.input/output`` is JSON such as ``{"inputs": …}``; unwrap it."""
    parsed = json_value(value)
    if isinstance(parsed, dict) and set(parsed) <= {"inputs", "outputs", "args", "kwargs"}:
        for key in ("inputs", "outputs"):
            if key in parsed:
                return to_json_text(parsed[key])
    return to_json_text(parsed)


def _tool_calls(msg: dict[str, Any]) -> dict[str, Any]:
    """``tool_calls.N.{id,name,arguments}`` (left in ``extra``) -> OpenAI-form tool calls."""
    extra = msg.get("extra")
    if not isinstance(extra, dict):
        return msg
    calls: dict[int, dict[str, Any]] = {}
    for key in [k for k in extra if k.startswith(TOOL_CALLS)]:
        index, _, field = key[len(TOOL_CALLS):].partition(".")
        if index.isdigit():
            calls.setdefault(int(index), {})[field] = extra.pop(key)
    if calls:
        msg["tool_calls"] = [
            {"id": c.get("id"), "type": "function",
             "function": {"name": c.get("name"), "arguments": json_value(c.get("arguments"))}}
            for _, c in sorted(calls.items())]
    if not extra:
        msg.pop("extra")
    return msg


def apply(m: Mapped) -> None:
    """Fill ``m`` from Traceloop attributes."""
    kind = m.take(SPAN_KIND)
    request_type = m.take(REQUEST_TYPE)
    if not m.kind:
        if kind:
            m.kind = SPAN_KINDS.get(str(kind).lower(), str(kind).lower())
        elif request_type:
            m.kind = REQUEST_KINDS.get(str(request_type).lower(), "llm")
    name = m.take(ENTITY_NAME)
    if name and not m.name:
        m.name = str(name)
    prompts, used = indexed_messages(m.attrs, PROMPT_PREFIX, MESSAGE_FIELDS)
    m.used.update(used)
    completions, used = indexed_messages(m.attrs, COMPLETION_PREFIX, MESSAGE_FIELDS)
    m.used.update(used)
    prompts = [_tool_calls(msg) for msg in prompts]
    completions = [_tool_calls(msg) for msg in completions]
    entity_in = m.take(ENTITY_INPUT)
    entity_out = m.take(ENTITY_OUTPUT)
    if not m.input:
        if prompts:
            m.input = to_json_text(prompts)
        elif entity_in is not None:
            m.input = _entity(entity_in)
    if not m.output:
        if completions:
            m.output = to_json_text(completions)
        elif entity_out is not None:
            m.output = _entity(entity_out)
    for field, key in (("total_tokens", TOTAL_TOKENS), ("cached_tokens", CACHE_READ_TOKENS),
                       ("cache_creation_tokens", CACHE_CREATION_TOKENS)):
        value = m.take(key)
        if value is not None and getattr(m, field) is None:
            setattr(m, field, as_int(value))
    for key in [k for k in m.attrs if k.startswith(ASSOCIATION_PREFIX)]:
        prop = key[len(ASSOCIATION_PREFIX):]
        value = m.take(key)
        field = ASSOCIATION_FIELDS.get(prop)
        if field is not None:
            if value and not getattr(m, field):
                setattr(m, field, str(value))
        else:
            m.metadata.setdefault(prop, value)
