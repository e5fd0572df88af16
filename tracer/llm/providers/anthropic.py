"""Anthropic Messages API responses and their streamed events."""

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
    json_args,
    plain,
    seq,
    tool_call,
)

__all__ = ["STREAM_EVENTS", "is_message", "is_stream_event", "message", "stream", "usage"]

WIRE = "anthropic"
STREAM_EVENTS = ("message_start", "content_block_start", "content_block_delta",
                 "message_delta", "message_stop", "ping")


def is_message(value: Any) -> bool:
    """A ``message`` object with content and a stop reason or usage."""
    return get(value, "type") == "message" and has(value, "content") and (
        has(value, "stop_reason") or has(value, "usage"))


def is_stream_event(chunk: Any) -> bool:
    """One of the Messages stream's event types."""
    return get(chunk, "type") in STREAM_EVENTS


def usage(value: Any) -> Usage | None:
    """Usage with ``input_tokens`` normalised to include cache reads and writes."""
    if value is None:
        return None
    raw_input = as_int(get(value, "input_tokens"))
    output = as_int(get(value, "output_tokens"))
    cache_read = as_int(get(value, "cache_read_input_tokens"))
    cache_write = as_int(get(value, "cache_creation_input_tokens"))
    if raw_input is None and output is None:
        return None
    # Anthropic's input_tokens excludes cache reads and writes; normalise to the total.
    input_tokens = None if raw_input is None else raw_input + (cache_read or 0) + (cache_write or 0)
    total = None if input_tokens is None or output is None else input_tokens + output
    return Usage(input_tokens=input_tokens, output_tokens=output, cached_tokens=cache_read,
                 cache_creation_tokens=cache_write, total_tokens=total)


def _blocks_message(blocks: Sequence[Any]) -> dict[str, Any]:
    """One assistant message from content blocks: text joined, tool_use as tool_calls."""
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    thinking: list[str] = []
    for block in blocks:
        kind = get(block, "type")
        if kind == "text":
            texts.append(get(block, "text", ""))
        elif kind in ("tool_use", "server_tool_use"):
            calls.append(tool_call(get(block, "id"), get(block, "name"),
                                   plain(get(block, "input", {}))))
        elif kind == "thinking":
            thinking.append(get(block, "thinking", ""))
    message = assistant_message("".join(texts), calls)
    if thinking:
        message["reasoning"] = "".join(thinking)
    return message


def message(value: Any) -> LLMInfo:
    """A complete ``message`` response."""
    info = LLMInfo(model=as_str(get(value, "model")), provider=WIRE, operation="chat",
                   response_id=as_str(get(value, "id")), usage=usage(get(value, "usage")))
    info.output_messages.append(_blocks_message(seq(get(value, "content"))))
    reason = as_str(get(value, "stop_reason"))
    if reason:
        info.finish_reasons.append(reason)
    return info


class _Stream:
    """The message a stream of events builds up, one event at a time."""

    def __init__(self) -> None:
        self.info = LLMInfo(provider=WIRE, operation="chat")
        self.blocks: dict[int, dict[str, Any]] = {}
        self.partial_json: dict[int, list[str]] = {}
        self.usage = Usage()
        self.have_usage = False

    def message_start(self, event: Any) -> None:
        msg = get(event, "message")
        self.info.model = as_str(get(msg, "model")) or self.info.model
        self.info.response_id = as_str(get(msg, "id")) or self.info.response_id
        start = usage(get(msg, "usage"))
        if start is not None:
            self.usage, self.have_usage = start, True

    def content_block_start(self, event: Any) -> None:
        index = as_int(get(event, "index", 0)) or 0
        block = plain(get(event, "content_block")) or {}
        self.blocks[index] = block if isinstance(block, dict) else {}

    def content_block_delta(self, event: Any) -> None:
        index = as_int(get(event, "index", 0)) or 0
        block = self.blocks.setdefault(index, {"type": "text", "text": ""})
        delta = get(event, "delta")
        dkind = get(delta, "type")
        if dkind == "text_delta":
            block["text"] = (block.get("text") or "") + get(delta, "text", "")
        elif dkind == "thinking_delta":
            block["thinking"] = (block.get("thinking") or "") + get(delta, "thinking", "")
        elif dkind == "input_json_delta":
            self.partial_json.setdefault(index, []).append(get(delta, "partial_json", ""))

    def message_delta(self, event: Any) -> None:
        reason = as_str(get(get(event, "delta"), "stop_reason"))
        if reason:
            self.info.finish_reasons = [reason]
        delta_usage = get(event, "usage")
        if delta_usage is None:
            return
        # message_delta usage is cumulative; it may restate input counts too.
        later = usage(delta_usage)
        output = as_int(get(delta_usage, "output_tokens"))
        if output is not None:
            self.usage.output_tokens = output
            self.have_usage = True
        if later is not None and later.input_tokens:
            self.usage.input_tokens = later.input_tokens
            self.usage.cached_tokens = later.cached_tokens
            self.usage.cache_creation_tokens = later.cache_creation_tokens

    def result(self) -> LLMInfo:
        for index, parts in self.partial_json.items():
            if index in self.blocks:
                joined = "".join(parts)
                self.blocks[index]["input"] = json_args(joined) if joined else {}
        info = self.info
        info.output_messages.append(_blocks_message([self.blocks[i] for i in sorted(self.blocks)]))
        if self.have_usage:
            u = self.usage
            if u.input_tokens is not None and u.output_tokens is not None:
                u.total_tokens = u.input_tokens + u.output_tokens
            info.usage = u
        return info


_HANDLERS = {"message_start": _Stream.message_start,
             "content_block_start": _Stream.content_block_start,
             "content_block_delta": _Stream.content_block_delta,
             "message_delta": _Stream.message_delta}


def stream(events: Sequence[Any]) -> LLMInfo:
    """message_start carries id, model and input usage; content_block_* build the
    content; message_delta carries the stop reason and the cumulative output tokens."""
    state = _Stream()
    for event in events:
        kind = get(event, "type")
        handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is not None:
            handler(state, event)
    return state.result()
