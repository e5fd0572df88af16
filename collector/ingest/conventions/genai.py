"""OpenTelemetry GenAI semantic conventions (``gen_ai.*``)."""

from __future__ import annotations

from typing import Any

from collector.ingest.record import Mapped
from collector.ingest.values import as_int, json_value, to_json_text
from common import attributes as A

# Older names some instrumentations still send.
USAGE_PROMPT_TOKENS = "gen_ai.usage.prompt_tokens"
USAGE_COMPLETION_TOKENS = "gen_ai.usage.completion_tokens"
CONVERSATION_ID = "gen_ai.conversation.id"
USAGE_CACHE_READ_TOKENS = "gen_ai.usage.cache_read.input_tokens"

# gen_ai.operation.name -> Spyglass op kind.
OPERATION_KINDS = {
    "chat": "llm",
    "text_completion": "llm",
    "generate_content": "llm",
    "embeddings": "embedding",
    "execute_tool": "tool",
    "invoke_agent": "agent",
    "create_agent": "agent",
}


def messages(value: Any) -> Any:
    """GenAI messages -> ``[{role, content, ...}]``; ``parts`` made only of text are
    joined into ``content`` so they read like every other convention's messages."""
    parsed = json_value(value)
    if not isinstance(parsed, list):
        return parsed
    out = []
    for msg in parsed:
        if isinstance(msg, dict) and "parts" in msg and "content" not in msg:
            parts = msg.get("parts") or []
            texts = [p.get("content") for p in parts if isinstance(p, dict) and p.get("type") == "text"]
            if len(texts) == len(parts):
                msg = {k: v for k, v in msg.items() if k != "parts"}
                msg["content"] = "".join(str(t) for t in texts)
        out.append(msg)
    return out


def apply(m: Mapped) -> None:
    """Fill ``m`` from ``gen_ai.*`` attributes."""
    op = m.take(A.GEN_AI_OPERATION_NAME)
    if op and not m.kind:
        m.kind = OPERATION_KINDS.get(str(op), "llm")
    response_model = m.take(A.GEN_AI_RESPONSE_MODEL)
    request_model = m.take(A.GEN_AI_REQUEST_MODEL)
    if not m.model and (response_model or request_model):
        m.model = str(response_model or request_model)
    provider = m.take(A.GEN_AI_PROVIDER_NAME) or m.take(A.GEN_AI_SYSTEM)
    m.take(A.GEN_AI_SYSTEM)
    if provider and not m.provider:
        m.provider = str(provider)
    for field, keys in (
        ("input_tokens", (A.GEN_AI_USAGE_INPUT_TOKENS, USAGE_PROMPT_TOKENS)),
        ("output_tokens", (A.GEN_AI_USAGE_OUTPUT_TOKENS, USAGE_COMPLETION_TOKENS)),
        ("cached_tokens", (USAGE_CACHE_READ_TOKENS,)),
    ):
        for key in keys:
            value = m.take(key)
            if value is not None and getattr(m, field) is None:
                setattr(m, field, as_int(value))
    value = m.take(A.GEN_AI_INPUT_MESSAGES)
    system = m.take(A.GEN_AI_SYSTEM_INSTRUCTIONS)
    if value is not None and not m.input:
        msgs = messages(value)
        if system is not None and isinstance(msgs, list):
            msgs = [{"role": "system", "content": _system_text(system)}, *msgs]
        m.input = to_json_text(msgs)
    value = m.take(A.GEN_AI_OUTPUT_MESSAGES)
    if value is not None and not m.output:
        m.output = to_json_text(messages(value))
    conversation = m.take(CONVERSATION_ID)
    if conversation and not m.session_id:
        m.session_id = str(conversation)


def _system_text(value: Any) -> Any:
    """System instructions (a JSON list of text parts, or text) as one string."""
    parsed = json_value(value)
    if isinstance(parsed, list):
        return "".join(str(p.get("content", "")) if isinstance(p, dict) else str(p) for p in parsed)
    return parsed
