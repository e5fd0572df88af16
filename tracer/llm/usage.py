"""Read model, provider, usage and output messages from LLM provider responses.

Understands OpenAI-shaped responses (chat completions, legacy completions, the
Responses API, embeddings; OpenAI-compatible servers such as Mistral, vLLM, Ollama
and LiteLLM return the same shape), Anthropic messages, Google Gemini
``generateContent`` responses, LangChain ``AIMessage``s and AWS Bedrock ``converse``
responses — as plain dicts or as SDK objects (attribute access, pydantic
``model_dump``) — and lists of streamed chunks/events of each. Nothing here imports
a provider SDK or raises on unfamiliar input: ``extract`` returns ``None``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["LLMInfo", "Usage", "extract", "infer_provider", "plain"]

_MISSING = object()
_MAX_DEPTH = 12

# Model-name prefixes -> GenAI semantic-convention provider names.
_PROVIDER_BY_MODEL_PREFIX: tuple[tuple[str, str], ...] = (
    ("claude", "anthropic"),
    ("gpt-", "openai"),
    ("chatgpt", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("text-embedding", "openai"),
    ("davinci", "openai"),
    ("babbage", "openai"),
    ("codex", "openai"),
    ("omni-moderation", "openai"),
    ("gemini", "gcp.gemini"),
    ("models/gemini", "gcp.gemini"),
    ("text-embedding-004", "gcp.gemini"),
    ("mistral", "mistral_ai"),
    ("open-mistral", "mistral_ai"),
    ("open-mixtral", "mistral_ai"),
    ("mixtral", "mistral_ai"),
    ("codestral", "mistral_ai"),
    ("ministral", "mistral_ai"),
    ("pixtral", "mistral_ai"),
    ("magistral", "mistral_ai"),
    ("devstral", "mistral_ai"),
    ("command", "cohere"),
    ("deepseek", "deepseek"),
    ("grok", "x_ai"),
)
# "openai/gpt-4o", "anthropic.claude-..." (Bedrock), "google/gemini-..." (routers)
_PROVIDER_BY_PREFIX_SEGMENT = {
    "openai": "openai",
    "azure": "azure.ai.openai",
    "anthropic": "anthropic",
    "google": "gcp.gemini",
    "gemini": "gcp.gemini",
    "vertex_ai": "gcp.vertex_ai",
    "mistral": "mistral_ai",
    "mistralai": "mistral_ai",
    "cohere": "cohere",
    "deepseek": "deepseek",
    "groq": "groq",
    "xai": "x_ai",
    "x-ai": "x_ai",
    "bedrock": "aws.bedrock",
}


@dataclasses.dataclass
class Usage:
    """Token usage of one call, normalised across providers.

    ``input_tokens`` includes cached prompt tokens (OpenAI's convention; Anthropic's
    ``cache_read_input_tokens`` and ``cache_creation_input_tokens`` are added to its
    ``input_tokens``), so ``cached_tokens`` is a part of ``input_tokens``.
    ``reasoning_tokens`` is likewise a part of ``output_tokens``.
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int | None = None
    cache_creation_tokens: int | None = None
    reasoning_tokens: int | None = None
    total_tokens: int | None = None


@dataclasses.dataclass
class LLMInfo:
    """What a provider response says about the call that produced it."""

    model: str | None = None
    provider: str | None = None
    operation: str | None = None  # GenAI operation name: chat, text_completion, embeddings
    usage: Usage | None = None
    output_messages: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    finish_reasons: list[str] = dataclasses.field(default_factory=list)
    response_id: str | None = None


# --------------------------------------------------------------------------- access


def _get(obj: Any, key: str, default: Any = None) -> Any:
    """``obj[key]`` for mappings, ``obj.key`` for objects; ``default`` when absent."""
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        value = obj.get(key, default)
    else:
        try:
            value = getattr(obj, key, default)
        except Exception:
            return default
    return default if value is None else value


def _has(obj: Any, key: str) -> bool:
    if isinstance(obj, Mapping):
        return key in obj
    try:
        return getattr(obj, key, _MISSING) is not _MISSING
    except Exception:
        return False


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _seq(value: Any) -> Sequence[Any]:
    if isinstance(value, list | tuple):
        return value
    return ()


def plain(value: Any, _depth: int = 0) -> Any:
    """``value`` as JSON-ready data: SDK objects become dicts, tuples become lists.

    Objects are read through ``model_dump()`` (pydantic), dataclass fields, or their
    public ``__dict__``; anything else falls back to ``str``. Depth is bounded so a
    cyclic object cannot recurse forever.
    """
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if _depth > _MAX_DEPTH:
        return repr(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v, _depth + 1) for v in value]
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return plain(dump(), _depth + 1)
        except Exception:
            pass
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name, None), _depth + 1)
                for f in dataclasses.fields(value)}
    attrs = getattr(value, "__dict__", None)
    if isinstance(attrs, dict):
        return {k: plain(v, _depth + 1) for k, v in attrs.items() if not k.startswith("_")}
    return str(value)


def _json_args(value: Any) -> Any:
    """Tool-call arguments: parsed when they are a JSON string, else as given."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return plain(value)


# ------------------------------------------------------------------------- provider


def infer_provider(model: str | None, default: str | None = None) -> str | None:
    """GenAI provider name for ``model`` ("openai", "anthropic", "gcp.gemini", ...).

    An explicit prefix wins ("openai/gpt-4o", "anthropic.claude-3-haiku" on Bedrock),
    then the model family; ``default`` (the response's wire format) otherwise.
    """
    if not model:
        return default
    name = model.strip().lower()
    for sep in ("/", "."):
        head, found, _ = name.partition(sep)
        if found and head in _PROVIDER_BY_PREFIX_SEGMENT:
            return _PROVIDER_BY_PREFIX_SEGMENT[head]
    # Bedrock cross-region ids: "us.anthropic.claude-3-5-sonnet-..."
    parts = name.split(".")
    if len(parts) > 2 and parts[1] in _PROVIDER_BY_PREFIX_SEGMENT:
        return _PROVIDER_BY_PREFIX_SEGMENT[parts[1]]
    base = name.rsplit("/", 1)[-1]
    if base.startswith("ft:"):
        base = base[3:]
    for prefix, provider in _PROVIDER_BY_MODEL_PREFIX:
        if base.startswith(prefix):
            return provider
    return default


# --------------------------------------------------------------------------- openai


def _openai_usage(usage: Any) -> Usage | None:
    if usage is None:
        return None
    # Chat completions / embeddings say prompt/completion; the Responses API says input/output.
    input_tokens = _int(_get(usage, "prompt_tokens"))
    if input_tokens is None:
        input_tokens = _int(_get(usage, "input_tokens"))
    output_tokens = _int(_get(usage, "completion_tokens"))
    if output_tokens is None:
        output_tokens = _int(_get(usage, "output_tokens"))
    in_details = _get(usage, "prompt_tokens_details") or _get(usage, "input_tokens_details")
    out_details = (_get(usage, "completion_tokens_details")
                   or _get(usage, "output_tokens_details"))
    result = Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cached_tokens=_int(_get(in_details, "cached_tokens")),
        reasoning_tokens=_int(_get(out_details, "reasoning_tokens")),
        total_tokens=_int(_get(usage, "total_tokens")),
    )
    if input_tokens is None and output_tokens is None and result.total_tokens is None:
        return None
    return result


def _openai_tool_calls(calls: Any) -> list[dict[str, Any]]:
    out = []
    for call in _seq(calls):
        fn = _get(call, "function")
        out.append({
            "id": _get(call, "id"),
            "type": _get(call, "type", "function"),
            "function": {"name": _get(fn, "name"), "arguments": _json_args(_get(fn, "arguments"))},
        })
    return out


def _openai_chat(value: Any) -> LLMInfo:
    info = LLMInfo(model=_str(_get(value, "model")), operation="chat",
                   response_id=_str(_get(value, "id")),
                   usage=_openai_usage(_get(value, "usage")))
    for choice in _seq(_get(value, "choices")):
        message = _get(choice, "message")
        if message is not None:
            out: dict[str, Any] = {"role": _get(message, "role", "assistant"),
                                   "content": plain(_get(message, "content"))}
            calls = _openai_tool_calls(_get(message, "tool_calls"))
            if calls:
                out["tool_calls"] = calls
            refusal = _get(message, "refusal")
            if refusal:
                out["refusal"] = refusal
            info.output_messages.append(out)
        elif _has(choice, "text"):  # legacy completions
            info.operation = "text_completion"
            info.output_messages.append({"role": "assistant", "content": _get(choice, "text", "")})
        reason = _str(_get(choice, "finish_reason"))
        if reason:
            info.finish_reasons.append(reason)
    return info


def _openai_embeddings(value: Any) -> LLMInfo:
    return LLMInfo(model=_str(_get(value, "model")), operation="embeddings",
                   usage=_openai_usage(_get(value, "usage")))


def _openai_responses(value: Any) -> LLMInfo:
    info = LLMInfo(model=_str(_get(value, "model")), operation="chat",
                   response_id=_str(_get(value, "id")),
                   usage=_openai_usage(_get(value, "usage")))
    tool_calls: list[dict[str, Any]] = []
    reasoning: list[str] = []
    for item in _seq(_get(value, "output")):
        kind = _get(item, "type")
        if kind == "reasoning":
            reasoning.extend(t for t in (_get(p, "text") for p in _seq(_get(item, "summary")))
                             if isinstance(t, str))
        elif kind == "message":
            parts = _seq(_get(item, "content"))
            texts = [_get(p, "text") or _get(p, "refusal") or "" for p in parts]
            info.output_messages.append({"role": _get(item, "role", "assistant"),
                                         "content": "".join(t for t in texts if isinstance(t, str))})
        elif kind == "function_call":
            tool_calls.append({"id": _get(item, "call_id") or _get(item, "id"), "type": "function",
                               "function": {"name": _get(item, "name"),
                                            "arguments": _json_args(_get(item, "arguments"))}})
    if tool_calls:
        if info.output_messages:
            info.output_messages[-1]["tool_calls"] = tool_calls
        else:
            info.output_messages.append({"role": "assistant", "content": None,
                                         "tool_calls": tool_calls})
    if reasoning and info.output_messages:
        info.output_messages[0]["reasoning"] = "\n".join(reasoning)
    status = _str(_get(value, "status"))
    reason = _str(_get(_get(value, "incomplete_details"), "reason"))
    if reason or status:
        info.finish_reasons.append(reason or status or "")
    return info


def _openai_chat_stream(chunks: Sequence[Any]) -> LLMInfo:
    """Reassemble ``chat.completion.chunk`` deltas; usage comes from the last chunk
    when the request set ``stream_options={"include_usage": True}``."""
    info = LLMInfo(operation="chat")
    # choice index -> accumulated {role, content parts, tool calls by index}
    choices: dict[int, dict[str, Any]] = {}
    reasons: dict[int, str] = {}
    for chunk in chunks:
        info.model = info.model or _str(_get(chunk, "model"))
        info.response_id = info.response_id or _str(_get(chunk, "id"))
        usage = _openai_usage(_get(chunk, "usage"))
        if usage is not None:
            info.usage = usage
        for choice in _seq(_get(chunk, "choices")):
            index = _int(_get(choice, "index", 0)) or 0
            acc = choices.setdefault(index, {"role": "assistant", "text": [], "calls": {}})
            delta = _get(choice, "delta")
            if delta is None and _has(choice, "text"):  # legacy completions stream
                info.operation = "text_completion"
                acc["text"].append(_get(choice, "text", ""))
            role = _get(delta, "role")
            if role:
                acc["role"] = role
            content = _get(delta, "content")
            if isinstance(content, str):
                acc["text"].append(content)
            for call in _seq(_get(delta, "tool_calls")):
                call_index = _int(_get(call, "index", 0)) or 0
                slot = acc["calls"].setdefault(call_index, {"id": None, "name": "", "args": []})
                slot["id"] = slot["id"] or _get(call, "id")
                fn = _get(call, "function")
                slot["name"] += _get(fn, "name", "") or ""
                slot["args"].append(_get(fn, "arguments", "") or "")
            reason = _str(_get(choice, "finish_reason"))
            if reason:
                reasons[index] = reason
    for index in sorted(choices):
        acc = choices[index]
        message: dict[str, Any] = {"role": acc["role"], "content": "".join(acc["text"])}
        if acc["calls"]:
            message["tool_calls"] = [
                {"id": c["id"], "type": "function",
                 "function": {"name": c["name"], "arguments": _json_args("".join(c["args"]))}}
                for _, c in sorted(acc["calls"].items())
            ]
        info.output_messages.append(message)
    info.finish_reasons = [reasons[i] for i in sorted(reasons)]
    return info


def _openai_responses_stream(events: Sequence[Any]) -> LLMInfo:
    """Responses API events: the final ``response.completed`` (or ``.incomplete`` /
    ``.failed``) event carries the whole response; otherwise join the text deltas."""
    final = None
    started = None
    text: list[str] = []
    for event in events:
        kind = _get(event, "type", "")
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            final = _get(event, "response")
        elif kind in ("response.created", "response.in_progress"):
            started = _get(event, "response") or started
        elif kind == "response.output_text.delta":
            delta = _get(event, "delta")
            if isinstance(delta, str):
                text.append(delta)
    if final is not None:
        return _openai_responses(final)
    info = _openai_responses(started) if started is not None else LLMInfo(operation="chat")
    info.output_messages = [{"role": "assistant", "content": "".join(text)}]
    return info


# ------------------------------------------------------------------------ anthropic


def _anthropic_usage(usage: Any) -> Usage | None:
    if usage is None:
        return None
    raw_input = _int(_get(usage, "input_tokens"))
    output = _int(_get(usage, "output_tokens"))
    cache_read = _int(_get(usage, "cache_read_input_tokens"))
    cache_write = _int(_get(usage, "cache_creation_input_tokens"))
    if raw_input is None and output is None:
        return None
    # Anthropic's input_tokens excludes cache reads and writes; normalise to the total.
    input_tokens = None if raw_input is None else raw_input + (cache_read or 0) + (cache_write or 0)
    total = None if input_tokens is None or output is None else input_tokens + output
    return Usage(input_tokens=input_tokens, output_tokens=output, cached_tokens=cache_read,
                 cache_creation_tokens=cache_write, total_tokens=total)


def _anthropic_blocks(blocks: Sequence[Any]) -> dict[str, Any]:
    """One assistant message from content blocks: text joined, tool_use as tool_calls."""
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    thinking: list[str] = []
    for block in blocks:
        kind = _get(block, "type")
        if kind == "text":
            texts.append(_get(block, "text", ""))
        elif kind in ("tool_use", "server_tool_use"):
            calls.append({"id": _get(block, "id"), "type": "function",
                          "function": {"name": _get(block, "name"),
                                       "arguments": plain(_get(block, "input", {}))}})
        elif kind == "thinking":
            thinking.append(_get(block, "thinking", ""))
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts)}
    if calls:
        message["tool_calls"] = calls
    if thinking:
        message["reasoning"] = "".join(thinking)
    return message


def _anthropic_message(value: Any) -> LLMInfo:
    info = LLMInfo(model=_str(_get(value, "model")), provider="anthropic", operation="chat",
                   response_id=_str(_get(value, "id")),
                   usage=_anthropic_usage(_get(value, "usage")))
    info.output_messages.append(_anthropic_blocks(_seq(_get(value, "content"))))
    reason = _str(_get(value, "stop_reason"))
    if reason:
        info.finish_reasons.append(reason)
    return info


def _anthropic_stream(events: Sequence[Any]) -> LLMInfo:
    """message_start carries id, model and input usage; content_block_* build the
    content; message_delta carries the stop reason and the cumulative output tokens."""
    info = LLMInfo(provider="anthropic", operation="chat")
    blocks: dict[int, dict[str, Any]] = {}
    partial_json: dict[int, list[str]] = {}
    usage = Usage()
    have_usage = False
    for event in events:
        kind = _get(event, "type")
        if kind == "message_start":
            message = _get(event, "message")
            info.model = _str(_get(message, "model")) or info.model
            info.response_id = _str(_get(message, "id")) or info.response_id
            start = _anthropic_usage(_get(message, "usage"))
            if start is not None:
                usage, have_usage = start, True
        elif kind == "content_block_start":
            index = _int(_get(event, "index", 0)) or 0
            block = plain(_get(event, "content_block")) or {}
            blocks[index] = block if isinstance(block, dict) else {}
        elif kind == "content_block_delta":
            index = _int(_get(event, "index", 0)) or 0
            block = blocks.setdefault(index, {"type": "text", "text": ""})
            delta = _get(event, "delta")
            dkind = _get(delta, "type")
            if dkind == "text_delta":
                block["text"] = (block.get("text") or "") + _get(delta, "text", "")
            elif dkind == "thinking_delta":
                block["thinking"] = (block.get("thinking") or "") + _get(delta, "thinking", "")
            elif dkind == "input_json_delta":
                partial_json.setdefault(index, []).append(_get(delta, "partial_json", ""))
        elif kind == "message_delta":
            reason = _str(_get(_get(event, "delta"), "stop_reason"))
            if reason:
                info.finish_reasons = [reason]
            delta_usage = _get(event, "usage")
            if delta_usage is not None:
                # message_delta usage is cumulative; it may restate input counts too.
                later = _anthropic_usage(delta_usage)
                output = _int(_get(delta_usage, "output_tokens"))
                if output is not None:
                    usage.output_tokens = output
                    have_usage = True
                if later is not None and later.input_tokens:
                    usage.input_tokens = later.input_tokens
                    usage.cached_tokens = later.cached_tokens
                    usage.cache_creation_tokens = later.cache_creation_tokens
    for index, parts in partial_json.items():
        if index in blocks:
            joined = "".join(parts)
            blocks[index]["input"] = _json_args(joined) if joined else {}
    info.output_messages.append(_anthropic_blocks([blocks[i] for i in sorted(blocks)]))
    if have_usage:
        if usage.input_tokens is not None and usage.output_tokens is not None:
            usage.total_tokens = usage.input_tokens + usage.output_tokens
        info.usage = usage
    return info


# --------------------------------------------------------------------------- gemini


def _gemini_field(obj: Any, camel: str, snake: str) -> Any:
    value = _get(obj, camel)
    return _get(obj, snake) if value is None else value


def _gemini(value: Any) -> LLMInfo:
    """``generateContent`` responses (REST camelCase or google-genai snake_case)."""
    meta = _gemini_field(value, "usageMetadata", "usage_metadata")
    usage = None
    if meta is not None:
        prompt = _int(_gemini_field(meta, "promptTokenCount", "prompt_token_count"))
        candidates = _int(_gemini_field(meta, "candidatesTokenCount", "candidates_token_count"))
        thoughts = _int(_gemini_field(meta, "thoughtsTokenCount", "thoughts_token_count"))
        output = None
        if candidates is not None or thoughts is not None:
            # Gemini bills thinking tokens as output but reports them apart.
            output = (candidates or 0) + (thoughts or 0)
        usage = Usage(
            input_tokens=prompt, output_tokens=output, reasoning_tokens=thoughts,
            cached_tokens=_int(_gemini_field(meta, "cachedContentTokenCount",
                                             "cached_content_token_count")),
            total_tokens=_int(_gemini_field(meta, "totalTokenCount", "total_token_count")),
        )
    info = LLMInfo(model=_str(_gemini_field(value, "modelVersion", "model_version")),
                   provider="gcp.gemini", operation="chat", usage=usage,
                   response_id=_str(_gemini_field(value, "responseId", "response_id")))
    for candidate in _seq(_get(value, "candidates")):
        content = _get(candidate, "content")
        texts, calls = [], []
        for part in _seq(_get(content, "parts")):
            if _get(part, "thought"):
                continue
            text = _get(part, "text")
            if isinstance(text, str):
                texts.append(text)
            call = _gemini_field(part, "functionCall", "function_call")
            if call is not None:
                calls.append({"id": _get(call, "id"), "type": "function",
                              "function": {"name": _get(call, "name"),
                                           "arguments": plain(_get(call, "args", {}))}})
        role = _get(content, "role", "model")
        message: dict[str, Any] = {"role": "assistant" if role == "model" else role,
                                   "content": "".join(texts)}
        if calls:
            message["tool_calls"] = calls
        info.output_messages.append(message)
        reason = _gemini_field(candidate, "finishReason", "finish_reason")
        reason = _str(reason) or _str(getattr(reason, "name", None))
        if reason:
            info.finish_reasons.append(reason)
    return info


def _gemini_stream(chunks: Sequence[Any]) -> LLMInfo:
    """Each streamed chunk is a partial response; the last usage metadata is the total."""
    merged = LLMInfo(provider="gcp.gemini", operation="chat")
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for chunk in chunks:
        part = _gemini(chunk)
        merged.model = part.model or merged.model
        merged.response_id = merged.response_id or part.response_id
        if part.usage is not None:
            merged.usage = part.usage
        for message in part.output_messages[:1]:
            texts.append(message.get("content") or "")
            calls.extend(message.get("tool_calls", []))
        if part.finish_reasons:
            merged.finish_reasons = part.finish_reasons
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts)}
    if calls:
        message["tool_calls"] = calls
    merged.output_messages = [message]
    return merged


# ------------------------------------------------------------------------ langchain


def _langchain_usage(meta: Any) -> Usage | None:
    """LangChain's ``usage_metadata``: input_tokens already sums every input token type."""
    if meta is None:
        return None
    inp = _int(_get(meta, "input_tokens"))
    out = _int(_get(meta, "output_tokens"))
    if inp is None and out is None:
        return None
    in_details = _get(meta, "input_token_details")
    out_details = _get(meta, "output_token_details")
    return Usage(input_tokens=inp, output_tokens=out,
                 cached_tokens=_int(_get(in_details, "cache_read")),
                 cache_creation_tokens=_int(_get(in_details, "cache_creation")),
                 reasoning_tokens=_int(_get(out_details, "reasoning")),
                 total_tokens=_int(_get(meta, "total_tokens")))


def _langchain_tool_calls(calls: Any) -> list[dict[str, Any]]:
    return [{"id": _get(c, "id"), "type": "function",
             "function": {"name": _get(c, "name"), "arguments": plain(_get(c, "args", {}))}}
            for c in _seq(calls)]


def _langchain_model(meta: Any) -> str | None:
    return _str(_get(meta, "model_name")) or _str(_get(meta, "model"))


def _langchain_reason(meta: Any) -> str | None:
    return _str(_get(meta, "finish_reason")) or _str(_get(meta, "stop_reason"))


def _langchain_message(value: Any) -> LLMInfo:
    """A LangChain ``AIMessage`` (what chat models' ``invoke`` returns)."""
    meta = _get(value, "response_metadata")
    info = LLMInfo(model=_langchain_model(meta), operation="chat",
                   usage=_langchain_usage(_get(value, "usage_metadata")),
                   response_id=_str(_get(value, "id")))
    message: dict[str, Any] = {"role": "assistant", "content": plain(_get(value, "content"))}
    calls = _langchain_tool_calls(_get(value, "tool_calls"))
    if calls:
        message["tool_calls"] = calls
    info.output_messages.append(message)
    reason = _langchain_reason(meta)
    if reason:
        info.finish_reasons.append(reason)
    return info


def _langchain_stream(chunks: Sequence[Any]) -> LLMInfo:
    """``AIMessageChunk``s: contents joined; usage summed, as adding the chunks does."""
    info = LLMInfo(operation="chat")
    texts: list[str] = []
    calls: list[Any] = []
    totals: dict[str, int] = {}
    have_usage = False
    for chunk in chunks:
        content = _get(chunk, "content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list | tuple):
            texts.extend(t for t in (_get(p, "text") for p in content) if isinstance(t, str))
        calls.extend(_seq(_get(chunk, "tool_calls")))
        meta = _get(chunk, "response_metadata")
        info.model = info.model or _langchain_model(meta)
        info.response_id = info.response_id or _str(_get(chunk, "id"))
        reason = _langchain_reason(meta)
        if reason:
            info.finish_reasons = [reason]
        usage = _langchain_usage(_get(chunk, "usage_metadata"))
        if usage is not None:
            have_usage = True
            for field in dataclasses.fields(Usage):
                value = getattr(usage, field.name)
                if value is not None:
                    totals[field.name] = totals.get(field.name, 0) + value
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts)}
    tool_calls = _langchain_tool_calls([c for c in calls if _get(c, "name")])
    if tool_calls:
        message["tool_calls"] = tool_calls
    info.output_messages.append(message)
    if have_usage:
        info.usage = Usage(**totals)
    return info


# ----------------------------------------------------------------- bedrock converse


def _bedrock_converse(value: Any) -> LLMInfo:
    """AWS Bedrock ``converse`` responses (the model id is in the request only)."""
    usage = _get(value, "usage")
    inp = _int(_get(usage, "inputTokens"))
    read = _int(_get(usage, "cacheReadInputTokens"))
    write = _int(_get(usage, "cacheWriteInputTokens"))
    out_tokens = _int(_get(usage, "outputTokens"))
    # Bedrock, like Anthropic, reports cache reads/writes apart from inputTokens.
    in_tokens = None if inp is None else inp + (read or 0) + (write or 0)
    total = None if in_tokens is None or out_tokens is None else in_tokens + out_tokens
    info = LLMInfo(provider="aws.bedrock", operation="chat", usage=Usage(
        input_tokens=in_tokens, output_tokens=out_tokens, cached_tokens=read,
        cache_creation_tokens=write, total_tokens=total))
    message = _get(_get(value, "output"), "message")
    texts, calls = [], []
    for block in _seq(_get(message, "content")):
        text = _get(block, "text")
        if isinstance(text, str):
            texts.append(text)
        tool = _get(block, "toolUse")
        if tool is not None:
            calls.append({"id": _get(tool, "toolUseId"), "type": "function",
                          "function": {"name": _get(tool, "name"),
                                       "arguments": plain(_get(tool, "input", {}))}})
    out: dict[str, Any] = {"role": _get(message, "role", "assistant"), "content": "".join(texts)}
    if calls:
        out["tool_calls"] = calls
    info.output_messages.append(out)
    reason = _str(_get(value, "stopReason"))
    if reason:
        info.finish_reasons.append(reason)
    return info


# ---------------------------------------------------------------------------- shape


def _shape(value: Any) -> str | None:
    """Which response format ``value`` is, from its discriminating fields."""
    if isinstance(value, str | bytes | int | float | bool) or value is None:
        return None
    obj = _get(value, "object")
    kind = _get(value, "type")
    if obj == "chat.completion" or obj == "text_completion":
        return "openai_chat"
    if obj == "response" or (_has(value, "output") and _has(value, "usage")
                             and isinstance(_get(value, "output"), list | tuple)):
        return "openai_responses"
    if kind == "message" and _has(value, "content") and (
            _has(value, "stop_reason") or _has(value, "usage")):
        return "anthropic"
    if _has(value, "choices") and isinstance(_get(value, "choices"), list | tuple):
        return "openai_chat"
    if obj == "list" and _has(value, "data") and _has(value, "usage"):
        return "openai_embeddings"
    if _has(value, "response_metadata") and _has(value, "content"):
        return "langchain"
    if _has(value, "stopReason") and isinstance(_get(value, "output"), Mapping):
        return "bedrock_converse"
    if _has(value, "candidates") or _has(value, "usageMetadata") or _has(value, "usage_metadata"):
        return "gemini"
    return None


def _stream_shape(chunks: Sequence[Any]) -> str | None:
    for chunk in chunks[:8]:
        obj = _get(chunk, "object")
        kind = _get(chunk, "type")
        if obj in ("chat.completion.chunk", "text_completion"):
            return "openai_chat_stream"
        if isinstance(kind, str):
            if kind.startswith("response."):
                return "openai_responses_stream"
            if kind in ("message_start", "content_block_start", "content_block_delta",
                        "message_delta", "message_stop", "ping"):
                return "anthropic_stream"
        if _has(chunk, "choices") and _has(chunk, "id"):
            return "openai_chat_stream"
        if _has(chunk, "response_metadata") and _has(chunk, "content"):
            return "langchain_stream"
        if _has(chunk, "candidates") or _has(chunk, "usageMetadata") or _has(
                chunk, "usage_metadata"):
            return "gemini_stream"
    return None


_READERS = {
    "openai_chat": _openai_chat,
    "openai_responses": _openai_responses,
    "openai_embeddings": _openai_embeddings,
    "anthropic": _anthropic_message,
    "gemini": _gemini,
    "langchain": _langchain_message,
    "bedrock_converse": _bedrock_converse,
}
_STREAM_READERS = {
    "openai_chat_stream": _openai_chat_stream,
    "openai_responses_stream": _openai_responses_stream,
    "anthropic_stream": _anthropic_stream,
    "gemini_stream": _gemini_stream,
    "langchain_stream": _langchain_stream,
}


def extract(value: Any) -> LLMInfo | None:
    """Model, provider, usage, output messages, finish reasons and response id of an
    LLM response, or ``None`` when ``value`` is not a response Spyglass recognises.

    ``value`` may be a dict, an SDK object (attribute access), or a list/tuple of
    streamed chunks or events. The provider is inferred from the model family when it
    names one, else from the response format ("openai" for OpenAI-shaped responses).
    Never raises.
    """
    try:
        if isinstance(value, list | tuple):
            if not value or all(isinstance(c, str) for c in value):
                return None
            chunks = [c for c in value if c is not None and not isinstance(c, str)]
            stream_kind = _stream_shape(chunks)
            if stream_kind is None:
                return None
            info = _STREAM_READERS[stream_kind](chunks)
            wire = "openai" if stream_kind.startswith("openai") else info.provider
        else:
            kind = _shape(value)
            if kind is None:
                return None
            info = _READERS[kind](value)
            wire = "openai" if kind.startswith("openai") else info.provider
        info.provider = infer_provider(info.model, default=wire)
        return info
    except Exception:
        return None
