"""OpenInference (Arize Phoenix instrumentors) attributes."""

from __future__ import annotations

from typing import Any

import msgspec

from collector.ingest.conventions.rules import CONVERTED, MULTI, PRESENT, Family, Rule, identity
from collector.ingest.values import as_float, as_int, indexed_messages, json_value, to_json_text

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


def _span_kind(value: Any) -> str:
    return SPAN_KINDS.get(str(value).upper(), str(value).lower())


RULES = (
    Rule(SPAN_KIND, "kind", convert=_span_kind),
    Rule(MODEL_NAME, "model"),
    Rule(EMBEDDING_MODEL, "model"),
    Rule(PROVIDER, "provider"),
    Rule(SYSTEM, "provider"),
    Rule(TOKENS_PROMPT, "input_tokens", PRESENT, as_int),
    Rule(TOKENS_COMPLETION, "output_tokens", PRESENT, as_int),
    Rule(TOKENS_TOTAL, "total_tokens", PRESENT, as_int),
    Rule(TOKENS_CACHE_READ, "cached_tokens", PRESENT, as_int),
    Rule(TOKENS_CACHE_WRITE, "cache_creation_tokens", PRESENT, as_int),
    Rule(COST_TOTAL, "cost_usd", CONVERTED, as_float),
    Rule(SESSION_ID, "session_id"),
    Rule(USER_ID, "user_id"),
    Rule(TAGS, "tags", MULTI, identity),
    Rule(METADATA, "metadata", MULTI, identity),
    # Messages: built by compose() from these together.
    Rule(INPUT_VALUE, None),
    Rule(INPUT_MIME, None),
    Rule(OUTPUT_VALUE, None),
    Rule(OUTPUT_MIME, None),
)
FAMILIES = (
    Family(INPUT_MESSAGES, indexed=True),
    Family(OUTPUT_MESSAGES, indexed=True),
    # Every key of the family is consumed (vectors included), indexed or not.
    Family(EMBEDDINGS, indexed=False),
)


def _value(attrs: dict[str, Any], value_key: str, mime_key: str) -> str:
    """``input.value``/``output.value`` as JSON text (plain text becomes a JSON string)."""
    value = attrs.get(value_key)
    mime = attrs.get(mime_key)
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


def _embeddings(attrs: dict[str, Any]) -> list[str]:
    """Texts of ``embedding.embeddings.N.embedding.text``; the vectors (the rest of the
    family, consumed) are never stored (they are large and unreadable as text)."""
    texts: dict[int, str] = {}
    for key in [k for k in attrs if k.startswith(EMBEDDINGS)]:
        index, _, rest = key[len(EMBEDDINGS):].partition(".")
        if index.isdigit() and rest == EMBEDDING_TEXT:
            texts[int(index)] = str(attrs[key])
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


def compose(attrs: dict[str, Any], kind: str, families: set[str]) -> tuple[str, str]:
    """Input and output as JSON text ("" if none): chat messages read better than the
    raw request body, so they win over ``input.value``; embedding texts stand in for
    input messages; an embeddings response keeps only its vectors' count and size.
    ``kind`` is the span kind as known before OpenLLMetry; ``families`` the prefixes of
    the families present."""
    in_msgs: list[dict[str, Any]] = []
    out_msgs: list[dict[str, Any]] = []
    texts: list[str] = []
    if families:
        if INPUT_MESSAGES in families:
            in_msgs = [_structured(msg) for msg in
                       indexed_messages(attrs, INPUT_MESSAGES, MESSAGE_FIELDS)[0]]
        if OUTPUT_MESSAGES in families:
            out_msgs = [_structured(msg) for msg in
                        indexed_messages(attrs, OUTPUT_MESSAGES, MESSAGE_FIELDS)[0]]
        if EMBEDDINGS in families:
            texts = _embeddings(attrs)
    if texts and not in_msgs:
        in_msgs = [{"role": "user", "content": t} for t in texts]
    in_value = _value(attrs, INPUT_VALUE, INPUT_MIME)
    out_value = _value(attrs, OUTPUT_VALUE, OUTPUT_MIME)
    if (kind == "embedding" or texts) and out_value:
        # An embeddings response is mostly vectors: keep only their count and size.
        out_value = _vectors_summary(out_value)
    return (to_json_text(in_msgs) if in_msgs else in_value,
            to_json_text(out_msgs) if out_msgs else out_value)
