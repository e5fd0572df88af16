"""OpenAI-shaped responses: chat completions, legacy completions, the Responses API,
embeddings, and the chat/Responses streams.

OpenAI-compatible servers (Mistral, vLLM, Ollama, LiteLLM, ...) return the same shape,
so every reader here reports ``provider="openai"`` as the wire format;
``tracer.llm.usage.extract`` refines it from the model name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tracer.llm.providers.base import (
    LLMInfo,
    Usage,
    as_int,
    as_str,
    get,
    has,
    json_args,
    plain,
    seq,
    tool_call,
)

__all__ = ["chat", "chat_stream", "embeddings", "is_chat", "is_chat_chunk", "is_chat_object",
           "is_choices_chunk", "is_embeddings", "is_responses", "is_responses_event",
           "responses", "responses_stream", "usage"]

WIRE = "openai"
_RESPONSE_DONE = ("response.completed", "response.incomplete", "response.failed")
_RESPONSE_STARTED = ("response.created", "response.in_progress")


# ------------------------------------------------------------------------- detection


def is_chat_object(value: Any) -> bool:
    """A chat or legacy completion that names its ``object`` type."""
    return get(value, "object") in ("chat.completion", "text_completion")


def is_responses(value: Any) -> bool:
    """A Responses API ``response`` (by ``object``, or an ``output`` list with usage)."""
    return get(value, "object") == "response" or (
        has(value, "output") and has(value, "usage")
        and isinstance(get(value, "output"), list | tuple))


def is_chat(value: Any) -> bool:
    """Anything with a ``choices`` list: an OpenAI-compatible completion without ``object``."""
    return has(value, "choices") and isinstance(get(value, "choices"), list | tuple)


def is_embeddings(value: Any) -> bool:
    """An embeddings list response."""
    return get(value, "object") == "list" and has(value, "data") and has(value, "usage")


def is_chat_chunk(chunk: Any) -> bool:
    """A streamed chat/legacy completion chunk that names its ``object`` type."""
    return get(chunk, "object") in ("chat.completion.chunk", "text_completion")


def is_responses_event(chunk: Any) -> bool:
    """A Responses API stream event (``type`` is ``response.*``)."""
    kind = get(chunk, "type")
    return isinstance(kind, str) and kind.startswith("response.")


def is_choices_chunk(chunk: Any) -> bool:
    """A streamed chunk of an OpenAI-compatible server that omits ``object``."""
    return has(chunk, "choices") and has(chunk, "id")


# --------------------------------------------------------------------------- readers


def usage(value: Any) -> Usage | None:
    """Usage of a chat/embeddings (prompt/completion) or Responses (input/output) body."""
    if value is None:
        return None
    input_tokens = as_int(get(value, "prompt_tokens"))
    if input_tokens is None:
        input_tokens = as_int(get(value, "input_tokens"))
    output_tokens = as_int(get(value, "completion_tokens"))
    if output_tokens is None:
        output_tokens = as_int(get(value, "output_tokens"))
    in_details = get(value, "prompt_tokens_details") or get(value, "input_tokens_details")
    out_details = (get(value, "completion_tokens_details")
                   or get(value, "output_tokens_details"))
    result = Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cached_tokens=as_int(get(in_details, "cached_tokens")),
        reasoning_tokens=as_int(get(out_details, "reasoning_tokens")),
        total_tokens=as_int(get(value, "total_tokens")),
    )
    if input_tokens is None and output_tokens is None and result.total_tokens is None:
        return None
    return result


def _tool_calls(calls: Any) -> list[dict[str, Any]]:
    out = []
    for call in seq(calls):
        fn = get(call, "function")
        out.append({
            "id": get(call, "id"),
            "type": get(call, "type", "function"),
            "function": {"name": get(fn, "name"), "arguments": json_args(get(fn, "arguments"))},
        })
    return out


def _choice_message(message: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"role": get(message, "role", "assistant"),
                           "content": plain(get(message, "content"))}
    calls = _tool_calls(get(message, "tool_calls"))
    if calls:
        out["tool_calls"] = calls
    refusal = get(message, "refusal")
    if refusal:
        out["refusal"] = refusal
    return out


def chat(value: Any) -> LLMInfo:
    """A chat completion (or a legacy text completion)."""
    info = LLMInfo(model=as_str(get(value, "model")), provider=WIRE, operation="chat",
                   response_id=as_str(get(value, "id")), usage=usage(get(value, "usage")))
    for choice in seq(get(value, "choices")):
        message = get(choice, "message")
        if message is not None:
            info.output_messages.append(_choice_message(message))
        elif has(choice, "text"):  # legacy completions
            info.operation = "text_completion"
            info.output_messages.append({"role": "assistant", "content": get(choice, "text", "")})
        reason = as_str(get(choice, "finish_reason"))
        if reason:
            info.finish_reasons.append(reason)
    return info


def embeddings(value: Any) -> LLMInfo:
    """An embeddings response: model and usage only."""
    return LLMInfo(model=as_str(get(value, "model")), provider=WIRE, operation="embeddings",
                   usage=usage(get(value, "usage")))


def responses(value: Any) -> LLMInfo:
    """A Responses API ``response``: messages, function calls and reasoning summaries."""
    info = LLMInfo(model=as_str(get(value, "model")), provider=WIRE, operation="chat",
                   response_id=as_str(get(value, "id")), usage=usage(get(value, "usage")))
    tool_calls: list[dict[str, Any]] = []
    reasoning: list[str] = []
    for item in seq(get(value, "output")):
        kind = get(item, "type")
        if kind == "reasoning":
            reasoning.extend(t for t in (get(p, "text") for p in seq(get(item, "summary")))
                             if isinstance(t, str))
        elif kind == "message":
            parts = seq(get(item, "content"))
            texts = [get(p, "text") or get(p, "refusal") or "" for p in parts]
            info.output_messages.append({"role": get(item, "role", "assistant"),
                                         "content": "".join(t for t in texts if isinstance(t, str))})
        elif kind == "function_call":
            tool_calls.append(tool_call(get(item, "call_id") or get(item, "id"), get(item, "name"),
                                        json_args(get(item, "arguments"))))
    if tool_calls:
        if info.output_messages:
            info.output_messages[-1]["tool_calls"] = tool_calls
        else:
            info.output_messages.append({"role": "assistant", "content": None,
                                         "tool_calls": tool_calls})
    if reasoning and info.output_messages:
        info.output_messages[0]["reasoning"] = "\n".join(reasoning)
    status = as_str(get(value, "status"))
    reason = as_str(get(get(value, "incomplete_details"), "reason"))
    if reason or status:
        info.finish_reasons.append(reason or status or "")
    return info


class _ChoiceAccumulator:
    """One streamed choice: its role, text parts and tool calls by index."""

    __slots__ = ("calls", "role", "text")

    def __init__(self) -> None:
        self.role: Any = "assistant"
        self.text: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}

    def add_delta(self, delta: Any) -> None:
        role = get(delta, "role")
        if role:
            self.role = role
        content = get(delta, "content")
        if isinstance(content, str):
            self.text.append(content)
        for call in seq(get(delta, "tool_calls")):
            call_index = as_int(get(call, "index", 0)) or 0
            slot = self.calls.setdefault(call_index, {"id": None, "name": "", "args": []})
            slot["id"] = slot["id"] or get(call, "id")
            fn = get(call, "function")
            slot["name"] += get(fn, "name", "") or ""
            slot["args"].append(get(fn, "arguments", "") or "")

    def message(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": self.role, "content": "".join(self.text)}
        if self.calls:
            message["tool_calls"] = [tool_call(c["id"], c["name"], json_args("".join(c["args"])))
                                     for _, c in sorted(self.calls.items())]
        return message


def chat_stream(chunks: Sequence[Any]) -> LLMInfo:
    """Reassemble ``chat.completion.chunk`` deltas; usage comes from the last chunk
    when the request set ``stream_options={"include_usage": True}``."""
    info = LLMInfo(provider=WIRE, operation="chat")
    choices: dict[int, _ChoiceAccumulator] = {}
    reasons: dict[int, str] = {}
    for chunk in chunks:
        info.model = info.model or as_str(get(chunk, "model"))
        info.response_id = info.response_id or as_str(get(chunk, "id"))
        chunk_usage = usage(get(chunk, "usage"))
        if chunk_usage is not None:
            info.usage = chunk_usage
        for choice in seq(get(chunk, "choices")):
            index = as_int(get(choice, "index", 0)) or 0
            acc = choices.setdefault(index, _ChoiceAccumulator())
            delta = get(choice, "delta")
            if delta is None and has(choice, "text"):  # legacy completions stream
                info.operation = "text_completion"
                acc.text.append(get(choice, "text", ""))
            acc.add_delta(delta)
            reason = as_str(get(choice, "finish_reason"))
            if reason:
                reasons[index] = reason
    info.output_messages = [choices[i].message() for i in sorted(choices)]
    info.finish_reasons = [reasons[i] for i in sorted(reasons)]
    return info


def responses_stream(events: Sequence[Any]) -> LLMInfo:
    """Responses API events: the final ``response.completed`` (or ``.incomplete`` /
    ``.failed``) event carries the whole response; otherwise join the text deltas."""
    final = None
    started = None
    text: list[str] = []
    for event in events:
        kind = get(event, "type", "")
        if kind in _RESPONSE_DONE:
            final = get(event, "response")
        elif kind in _RESPONSE_STARTED:
            started = get(event, "response") or started
        elif kind == "response.output_text.delta":
            delta = get(event, "delta")
            if isinstance(delta, str):
                text.append(delta)
    if final is not None:
        return responses(final)
    info = responses(started) if started is not None else LLMInfo(provider=WIRE, operation="chat")
    info.output_messages = [{"role": "assistant", "content": "".join(text)}]
    return info
