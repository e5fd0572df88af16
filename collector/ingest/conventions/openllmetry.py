"""OpenLLMetry / Traceloop attributes."""

from __future__ import annotations

from typing import Any

from collector.ingest.conventions.rules import PRESENT, Family, Rule
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


def _span_kind(value: Any) -> str:
    return SPAN_KINDS.get(str(value).lower(), str(value).lower())


def _request_kind(value: Any) -> str:
    return REQUEST_KINDS.get(str(value).lower(), "llm")


RULES = (
    Rule(SPAN_KIND, "kind", convert=_span_kind),
    Rule(REQUEST_TYPE, "kind", convert=_request_kind),
    Rule(ENTITY_NAME, "name"),
    Rule(TOTAL_TOKENS, "total_tokens", PRESENT, as_int),
    Rule(CACHE_READ_TOKENS, "cached_tokens", PRESENT, as_int),
    Rule(CACHE_CREATION_TOKENS, "cache_creation_tokens", PRESENT, as_int),
    # Association properties that map to canonical fields rather than metadata.
    Rule(ASSOCIATION_PREFIX + "user_id", "user_id"),
    Rule(ASSOCIATION_PREFIX + "session_id", "session_id"),
    # Messages: built by compose() from these together.
    Rule(ENTITY_INPUT, None),
    Rule(ENTITY_OUTPUT, None),
)
FAMILIES = (
    Family(PROMPT_PREFIX, indexed=True),
    Family(COMPLETION_PREFIX, indexed=True),
    # Every other association property is metadata.
    Family(ASSOCIATION_PREFIX, indexed=False, field="metadata"),
)

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


def compose(attrs: dict[str, Any], kind: str, families: set[str]) -> tuple[str, str]:
    """Input and output as JSON text ("" if none): indexed prompts/completions, else the
    entity input/output (``families``: the prefixes of the families present)."""
    prompts = ([_tool_calls(msg) for msg in indexed_messages(attrs, PROMPT_PREFIX, MESSAGE_FIELDS)[0]]
               if PROMPT_PREFIX in families else [])
    completions = ([_tool_calls(msg) for msg in
                    indexed_messages(attrs, COMPLETION_PREFIX, MESSAGE_FIELDS)[0]]
                   if COMPLETION_PREFIX in families else [])
    entity_in = attrs.get(ENTITY_INPUT)
    entity_out = attrs.get(ENTITY_OUTPUT)
    inp = out = ""
    if prompts:
        inp = to_json_text(prompts)
    elif entity_in is not None:
        inp = _entity(entity_in)
    if completions:
        out = to_json_text(completions)
    elif entity_out is not None:
        out = _entity(entity_out)
    return inp, out
