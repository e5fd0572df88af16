"""OpenTelemetry GenAI semantic conventions (``gen_ai.*``)."""

from __future__ import annotations

from typing import Any

from collector.ingest.conventions.rules import PRESENT, Rule
from collector.ingest.values import as_int, json_value, to_json_text
from common import attributes as A

# Older names some instrumentations still send.
USAGE_PROMPT_TOKENS = "gen_ai.usage.prompt_tokens"
USAGE_COMPLETION_TOKENS = "gen_ai.usage.completion_tokens"
CONVERSATION_ID = "gen_ai.conversation.id"
USAGE_CACHE_READ_TOKENS = "gen_ai.usage.cache_read.input_tokens"
USAGE_CACHE_CREATION_TOKENS = "gen_ai.usage.cache_creation.input_tokens"
USAGE_CACHE_WRITE_TOKENS = "gen_ai.usage.cache_write.input_tokens"  # the anthropic SDK's own spans
RESPONSE_ID = "gen_ai.response.id"

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


def _operation_kind(value: Any) -> str:
    return OPERATION_KINDS.get(str(value), "llm")


RULES = (
    Rule(A.GEN_AI_OPERATION_NAME, "kind", convert=_operation_kind),
    Rule(A.GEN_AI_RESPONSE_MODEL, "model"),
    Rule(A.GEN_AI_REQUEST_MODEL, "model"),
    Rule(A.GEN_AI_PROVIDER_NAME, "provider"),
    Rule(A.GEN_AI_SYSTEM, "provider"),
    Rule(A.GEN_AI_USAGE_INPUT_TOKENS, "input_tokens", PRESENT, as_int),
    Rule(USAGE_PROMPT_TOKENS, "input_tokens", PRESENT, as_int),
    Rule(A.GEN_AI_USAGE_OUTPUT_TOKENS, "output_tokens", PRESENT, as_int),
    Rule(USAGE_COMPLETION_TOKENS, "output_tokens", PRESENT, as_int),
    Rule(USAGE_CACHE_READ_TOKENS, "cached_tokens", PRESENT, as_int),
    Rule(USAGE_CACHE_CREATION_TOKENS, "cache_creation_tokens", PRESENT, as_int),
    Rule(USAGE_CACHE_WRITE_TOKENS, "cache_creation_tokens", PRESENT, as_int),
    # Read, not taken: the id stays visible in attributes and dedup looks it up there.
    Rule(RESPONSE_ID, "response_id", take=False),
    Rule(CONVERSATION_ID, "session_id"),
    # Messages: built by compose() from these together.
    Rule(A.GEN_AI_INPUT_MESSAGES, None),
    Rule(A.GEN_AI_SYSTEM_INSTRUCTIONS, None),
    Rule(A.GEN_AI_OUTPUT_MESSAGES, None),
)


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


def compose(attrs: dict[str, Any], kind: str, families: set[str]) -> tuple[str, str]:
    """Input (system instructions first) and output messages as JSON text ("" if none)."""
    value = attrs.get(A.GEN_AI_INPUT_MESSAGES)
    system = attrs.get(A.GEN_AI_SYSTEM_INSTRUCTIONS)
    inp = out = ""
    if value is not None:
        msgs = messages(value)
        if system is not None and isinstance(msgs, list):
            msgs = [{"role": "system", "content": _system_text(system)}, *msgs]
        inp = to_json_text(msgs)
    value = attrs.get(A.GEN_AI_OUTPUT_MESSAGES)
    if value is not None:
        out = to_json_text(messages(value))
    return inp, out


def _system_text(value: Any) -> Any:
    """System instructions (a JSON list of text parts, or text) as one string."""
    parsed = json_value(value)
    if isinstance(parsed, list):
        return "".join(str(p.get("content", "")) if isinstance(p, dict) else str(p) for p in parsed)
    return parsed
