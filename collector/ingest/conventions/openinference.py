"""OpenInference (Arize Phoenix instrumentors) attributes."""

from __future__ import annotations

import msgspec

from collector.ingest.record import Mapped
from collector.ingest.values import (
    as_float,
    as_int,
    as_str_list,
    indexed_messages,
    json_value,
    to_json_text,
)

_encode = msgspec.json.Encoder().encode

SPAN_KIND = "openinference.span.kind"
PROJECT_NAME = "openinference.project.name"  # resource attribute
MODEL_NAME = "llm.model_name"
PROVIDER = "llm.provider"
SYSTEM = "llm.system"
TOKENS_PROMPT = "llm.token_count.prompt"
TOKENS_COMPLETION = "llm.token_count.completion"
TOKENS_TOTAL = "llm.token_count.total"
TOKENS_CACHE_READ = "llm.token_count.prompt_details.cache_read"
COST_TOTAL = "llm.cost.total"
INPUT_VALUE = "input.value"
INPUT_MIME = "input.mime_type"
OUTPUT_VALUE = "output.value"
OUTPUT_MIME = "output.mime_type"
INPUT_MESSAGES = "llm.input_messages."
OUTPUT_MESSAGES = "llm.output_messages."
SESSION_ID = "session.id"
USER_ID = "user.id"
TAGS = "tag.tags"
METADATA = "metadata"

SPAN_KINDS = {
    "LLM": "llm",
    "CHAIN": "chain",
    "RETRIEVER": "retrieval",
    "EMBEDDING": "embedding",
    "RERANKER": "rerank",
    "TOOL": "tool",
    "AGENT": "agent",
    "GUARDRAIL": "guardrail",
    "EVALUATOR": "evaluator",
}
MESSAGE_FIELDS = {
    "message.role": "role",
    "message.content": "content",
    "message.name": "name",
    "message.tool_call_id": "tool_call_id",
}


def _value(m: Mapped, value_key: str, mime_key: str) -> str:
    """``input.value``/``output.value`` as JSON text (plain text becomes a JSON string)."""
    value = m.take(value_key)
    mime = m.take(mime_key)
    if value is None:
        return ""
    if mime == "text/plain" and isinstance(value, str):
        # Declared plain text stays a JSON string even when it happens to parse as JSON.
        return _encode(value).decode()
    return to_json_text(value)


def apply(m: Mapped) -> None:
    """Fill ``m`` from OpenInference attributes."""
    kind = m.take(SPAN_KIND)
    if kind and not m.kind:
        m.kind = SPAN_KINDS.get(str(kind).upper(), str(kind).lower())
    model = m.take(MODEL_NAME)
    if model and not m.model:
        m.model = str(model)
    provider = m.take(PROVIDER) or m.take(SYSTEM)
    m.take(SYSTEM)
    if provider and not m.provider:
        m.provider = str(provider)
    for field, key in (
        ("input_tokens", TOKENS_PROMPT),
        ("output_tokens", TOKENS_COMPLETION),
        ("total_tokens", TOKENS_TOTAL),
        ("cached_tokens", TOKENS_CACHE_READ),
    ):
        value = m.take(key)
        if value is not None and getattr(m, field) is None:
            setattr(m, field, as_int(value))
    cost = as_float(m.take(COST_TOTAL))
    if cost is not None and m.cost_usd is None:
        m.cost_usd = cost
    # Chat messages read better than the raw request body, so they win over input.value.
    in_msgs, used = indexed_messages(m.attrs, INPUT_MESSAGES, MESSAGE_FIELDS)
    m.used.update(used)
    out_msgs, used = indexed_messages(m.attrs, OUTPUT_MESSAGES, MESSAGE_FIELDS)
    m.used.update(used)
    in_value = _value(m, INPUT_VALUE, INPUT_MIME)
    out_value = _value(m, OUTPUT_VALUE, OUTPUT_MIME)
    if not m.input:
        m.input = to_json_text(in_msgs) if in_msgs else in_value
    if not m.output:
        m.output = to_json_text(out_msgs) if out_msgs else out_value
    value = m.take(SESSION_ID)
    if value and not m.session_id:
        m.session_id = str(value)
    value = m.take(USER_ID)
    if value and not m.user_id:
        m.user_id = str(value)
    tags = m.take(TAGS)
    if tags is not None:
        m.tags.extend(t for t in as_str_list(tags) if t not in m.tags)
    metadata = json_value(m.take(METADATA))
    if isinstance(metadata, dict):
        for k, v in metadata.items():
            m.metadata.setdefault(k, v)
