"""LangChain ``AIMessage`` results and streamed ``AIMessageChunk``s.

LangChain wraps every provider, so the wire format names no provider: readers leave
``provider`` unset and ``tracer.llm.usage.extract`` infers it from the model name.
"""

from __future__ import annotations

import dataclasses
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

__all__ = ["is_message", "message", "stream", "usage"]


def is_message(value: Any) -> bool:
    """An ``AIMessage`` or ``AIMessageChunk`` (content plus response metadata)."""
    return has(value, "response_metadata") and has(value, "content")


def usage(meta: Any) -> Usage | None:
    """LangChain's ``usage_metadata``: input_tokens already sums every input token type."""
    if meta is None:
        return None
    inp = as_int(get(meta, "input_tokens"))
    out = as_int(get(meta, "output_tokens"))
    if inp is None and out is None:
        return None
    in_details = get(meta, "input_token_details")
    out_details = get(meta, "output_token_details")
    return Usage(input_tokens=inp, output_tokens=out,
                 cached_tokens=as_int(get(in_details, "cache_read")),
                 cache_creation_tokens=as_int(get(in_details, "cache_creation")),
                 reasoning_tokens=as_int(get(out_details, "reasoning")),
                 total_tokens=as_int(get(meta, "total_tokens")))


def _tool_calls(calls: Any) -> list[dict[str, Any]]:
    return [tool_call(get(c, "id"), get(c, "name"), plain(get(c, "args", {}))) for c in seq(calls)]


def _model(meta: Any) -> str | None:
    return as_str(get(meta, "model_name")) or as_str(get(meta, "model"))


def _reason(meta: Any) -> str | None:
    return as_str(get(meta, "finish_reason")) or as_str(get(meta, "stop_reason"))


def message(value: Any) -> LLMInfo:
    """A LangChain ``AIMessage`` (what chat models' ``invoke`` returns)."""
    meta = get(value, "response_metadata")
    info = LLMInfo(model=_model(meta), operation="chat",
                   usage=usage(get(value, "usage_metadata")),
                   response_id=as_str(get(value, "id")))
    info.output_messages.append(assistant_message(plain(get(value, "content")),
                                                  _tool_calls(get(value, "tool_calls"))))
    reason = _reason(meta)
    if reason:
        info.finish_reasons.append(reason)
    return info


def _chunk_texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list | tuple):
        return [t for t in (get(p, "text") for p in content) if isinstance(t, str)]
    return []


def stream(chunks: Sequence[Any]) -> LLMInfo:
    """``AIMessageChunk``s: contents joined; usage summed, as adding the chunks does."""
    info = LLMInfo(operation="chat")
    texts: list[str] = []
    calls: list[Any] = []
    totals: dict[str, int] = {}
    have_usage = False
    for chunk in chunks:
        texts.extend(_chunk_texts(get(chunk, "content")))
        calls.extend(seq(get(chunk, "tool_calls")))
        meta = get(chunk, "response_metadata")
        info.model = info.model or _model(meta)
        info.response_id = info.response_id or as_str(get(chunk, "id"))
        reason = _reason(meta)
        if reason:
            info.finish_reasons = [reason]
        chunk_usage = usage(get(chunk, "usage_metadata"))
        if chunk_usage is not None:
            have_usage = True
            for field in dataclasses.fields(Usage):
                value = getattr(chunk_usage, field.name)
                if value is not None:
                    totals[field.name] = totals.get(field.name, 0) + value
    info.output_messages.append(assistant_message(
        "".join(texts), _tool_calls([c for c in calls if get(c, "name")])))
    if have_usage:
        info.usage = Usage(**totals)
    return info
