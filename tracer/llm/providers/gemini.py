"""Google Gemini ``generateContent`` responses and streamed chunks (REST camelCase or
google-genai snake_case)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tracer.llm.providers.base import (
    LLMInfo,
    Usage,
    as_int,
    as_str,
    assistant_message,
    get,
    has,
    plain,
    seq,
    tool_call,
)

__all__ = ["is_response", "response", "stream", "usage"]

WIRE = "gcp.gemini"


def _field(obj: Any, camel: str, snake: str) -> Any:
    value = get(obj, camel)
    return get(obj, snake) if value is None else value


def is_response(value: Any) -> bool:
    """A response or streamed chunk: candidates or usage metadata."""
    return has(value, "candidates") or has(value, "usageMetadata") or has(value, "usage_metadata")


def usage(meta: Any) -> Usage | None:
    """Usage from ``usageMetadata``; thinking tokens count as output (Gemini bills them so)."""
    if meta is None:
        return None
    prompt = as_int(_field(meta, "promptTokenCount", "prompt_token_count"))
    candidates = as_int(_field(meta, "candidatesTokenCount", "candidates_token_count"))
    thoughts = as_int(_field(meta, "thoughtsTokenCount", "thoughts_token_count"))
    output = None
    if candidates is not None or thoughts is not None:
        # Gemini bills thinking tokens as output but reports them apart.
        output = (candidates or 0) + (thoughts or 0)
    return Usage(
        input_tokens=prompt, output_tokens=output, reasoning_tokens=thoughts,
        cached_tokens=as_int(_field(meta, "cachedContentTokenCount",
                                    "cached_content_token_count")),
        total_tokens=as_int(_field(meta, "totalTokenCount", "total_token_count")),
    )


def _candidate_message(content: Any) -> dict[str, Any]:
    texts, calls = [], []
    for part in seq(get(content, "parts")):
        if get(part, "thought"):
            continue
        text = get(part, "text")
        if isinstance(text, str):
            texts.append(text)
        call = _field(part, "functionCall", "function_call")
        if call is not None:
            calls.append(tool_call(get(call, "id"), get(call, "name"),
                                   plain(get(call, "args", {}))))
    role = get(content, "role", "model")
    return assistant_message("".join(texts), calls,
                             role="assistant" if role == "model" else role)


def response(value: Any) -> LLMInfo:
    """A ``generateContent`` response (or one streamed chunk of it)."""
    info = LLMInfo(model=as_str(_field(value, "modelVersion", "model_version")),
                   provider=WIRE, operation="chat",
                   usage=usage(_field(value, "usageMetadata", "usage_metadata")),
                   response_id=as_str(_field(value, "responseId", "response_id")))
    for candidate in seq(get(value, "candidates")):
        info.output_messages.append(_candidate_message(get(candidate, "content")))
        reason = _field(candidate, "finishReason", "finish_reason")
        reason = as_str(reason) or as_str(getattr(reason, "name", None))
        if reason:
            info.finish_reasons.append(reason)
    return info


def stream(chunks: Sequence[Any]) -> LLMInfo:
    """Each streamed chunk is a partial response; the last usage metadata is the total."""
    merged = LLMInfo(provider=WIRE, operation="chat")
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for chunk in chunks:
        part = response(chunk)
        merged.model = part.model or merged.model
        merged.response_id = merged.response_id or part.response_id
        if part.usage is not None:
            merged.usage = part.usage
        for message in part.output_messages[:1]:
            texts.append(message.get("content") or "")
            calls.extend(message.get("tool_calls", []))
        if part.finish_reasons:
            merged.finish_reasons = part.finish_reasons
    merged.output_messages = [assistant_message("".join(texts), calls)]
    return merged
