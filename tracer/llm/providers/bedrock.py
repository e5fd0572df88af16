"""AWS Bedrock ``converse`` responses (the model id is in the request only)."""

from __future__ import annotations

from collections.abc import Mapping
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

__all__ = ["converse", "is_converse", "usage"]

WIRE = "aws.bedrock"


def is_converse(value: Any) -> bool:
    """A ``converse`` response: a stop reason and an ``output`` object."""
    return has(value, "stopReason") and isinstance(get(value, "output"), Mapping)


def usage(value: Any) -> Usage:
    """Usage with ``input_tokens`` including cache reads and writes, as for Anthropic."""
    inp = as_int(get(value, "inputTokens"))
    read = as_int(get(value, "cacheReadInputTokens"))
    write = as_int(get(value, "cacheWriteInputTokens"))
    out_tokens = as_int(get(value, "outputTokens"))
    # Bedrock, like Anthropic, reports cache reads/writes apart from inputTokens.
    in_tokens = None if inp is None else inp + (read or 0) + (write or 0)
    total = None if in_tokens is None or out_tokens is None else in_tokens + out_tokens
    return Usage(input_tokens=in_tokens, output_tokens=out_tokens, cached_tokens=read,
                 cache_creation_tokens=write, total_tokens=total)


def converse(value: Any) -> LLMInfo:
    """A ``converse`` response: text and ``toolUse`` blocks, usage and stop reason."""
    info = LLMInfo(provider=WIRE, operation="chat", usage=usage(get(value, "usage")))
    message = get(get(value, "output"), "message")
    texts, calls = [], []
    for block in seq(get(message, "content")):
        text = get(block, "text")
        if isinstance(text, str):
            texts.append(text)
        tool = get(block, "toolUse")
        if tool is not None:
            calls.append(tool_call(get(tool, "toolUseId"), get(tool, "name"),
                                   plain(get(tool, "input", {}))))
    info.output_messages.append(assistant_message("".join(texts), calls,
                                                  role=get(message, "role", "assistant")))
    reason = as_str(get(value, "stopReason"))
    if reason:
        info.finish_reasons.append(reason)
    return info
