"""OpenInference (Arize Phoenix instrumentors) attributes."""

from __future__ import annotations

from typing import Any

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
TOKENS_CACHE_WRITE = "llm.token_count.prompt_details.cache_write"
EMBEDDING_MODEL = "embedding.model_name"
EMBEDDINGS = "embedding.embeddings."
EMBEDDING_TEXT = "embedding.text"
EMBEDDING_VECTOR = "embedding.vector"
CONTENTS = "message.contents."
TOOL_CALLS = "message.tool_calls."
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


def _indexed(extra: dict[str, Any], prefix: str) -> dict[int, dict[str, Any]]:
    """Pop ``<prefix>N.<rest>`` keys of ``extra`` into ``{N: {rest: value}}``."""
    found: dict[int, dict[str, Any]] = {}
    for key in [k for k in extra if k.startswith(prefix)]:
        index, _, rest = key[len(prefix):].partition(".")
        if index.isdigit():
            found.setdefault(int(index), {})[rest] = extra.pop(key)
    return found


def _structured(msg: dict[str, Any]) -> dict[str, Any]:
    """Multi-part contents and tool calls (flattened under ``extra``) -> ``content`` and
    OpenAI-form ``tool_calls``: ``message.contents.N.message_content.{type,text,image...}``
    and ``message.tool_calls.N.tool_call.{id,function.name,function.arguments}``."""
    extra = msg.get("extra")
    if not isinstance(extra, dict):
        return msg
    parts = _indexed(extra, CONTENTS)
    if parts and msg.get("content") in (None, ""):
        content: list[dict[str, Any]] = []
        for _, part in sorted(parts.items()):
            kind = part.get("message_content.type") or (
                "text" if "message_content.text" in part else "image")
            if "message_content.text" in part:
                content.append({"type": "text", "text": part["message_content.text"]})
            else:
                url = part.get("message_content.image.image.url")
                content.append({"type": str(kind), **({"image_url": {"url": url}} if url else {})})
        if all(p["type"] == "text" for p in content):
            msg["content"] = "".join(str(p["text"]) for p in content)
        else:
            msg["content"] = content
    calls = _indexed(extra, TOOL_CALLS)
    if calls:
        msg["tool_calls"] = [
            {"id": c.get("tool_call.id"), "type": "function",
             "function": {"name": c.get("tool_call.function.name"),
                          "arguments": json_value(c.get("tool_call.function.arguments"))}}
            for _, c in sorted(calls.items())]
    if not extra:
        msg.pop("extra")
    return msg


def _embeddings(m: Mapped) -> list[str]:
    """Texts of ``embedding.embeddings.N.embedding.text``; the vectors are marked used
    and never stored (they are large and unreadable as text)."""
    texts: dict[int, str] = {}
    for key in [k for k in m.attrs if k.startswith(EMBEDDINGS)]:
        index, _, rest = key[len(EMBEDDINGS):].partition(".")
        m.used.add(key)
        if index.isdigit() and rest == EMBEDDING_TEXT:
            texts[int(index)] = str(m.attrs[key])
    return [texts[i] for i in sorted(texts)]


def _vectors_summary(text: str) -> str:
    """``{"vectors": N, "dimensions": D}`` for an embeddings response (JSON text)."""
    parsed = json_value(text)
    data = parsed.get("data") if isinstance(parsed, dict) else None
    if not isinstance(data, list):
        return ""
    first = data[0].get("embedding") if data and isinstance(data[0], dict) else None
    dims = len(first) if isinstance(first, list) else None
    return _encode({"vectors": len(data), "dimensions": dims}).decode()


def apply(m: Mapped) -> None:
    """Fill ``m`` from OpenInference attributes."""
    kind = m.take(SPAN_KIND)
    if kind and not m.kind:
        m.kind = SPAN_KINDS.get(str(kind).upper(), str(kind).lower())
    model = m.take(MODEL_NAME)
    embedding_model = m.take(EMBEDDING_MODEL)
    if (model or embedding_model) and not m.model:
        m.model = str(model or embedding_model)
    provider = m.take(PROVIDER) or m.take(SYSTEM)
    m.take(SYSTEM)
    if provider and not m.provider:
        m.provider = str(provider)
    for field, key in (
        ("input_tokens", TOKENS_PROMPT),
        ("output_tokens", TOKENS_COMPLETION),
        ("total_tokens", TOKENS_TOTAL),
        ("cached_tokens", TOKENS_CACHE_READ),
        ("cache_creation_tokens", TOKENS_CACHE_WRITE),
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
    in_msgs = [_structured(msg) for msg in in_msgs]
    out_msgs = [_structured(msg) for msg in out_msgs]
    texts = _embeddings(m)
    if texts and not in_msgs:
        in_msgs = [{"role": "user", "content": t} for t in texts]
    in_value = _value(m, INPUT_VALUE, INPUT_MIME)
    out_value = _value(m, OUTPUT_VALUE, OUTPUT_MIME)
    if (m.kind == "embedding" or texts) and out_value:
        # An embeddings response is mostly vectors: keep only their count and size.
        out_value = _vectors_summary(out_value)
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
