"""LLM-specific span attributes: model, provider, messages, token usage and cost.

``attributes_for`` (a returned response) and ``attributes_for_stream`` (streamed
chunks) turn a call's bound inputs and its result into GenAI semantic-convention
attributes plus Spyglass's own (``common.attributes``). Usage comes from the
provider's response (``usage.extract``); when the provider gave none it is counted
with tiktoken (``tokens.count_tokens``) and marked estimated; cost comes from the
price table (``common.pricing.cost_usd``). Both functions never raise.

Importing this package is cheap and needs no OpenTelemetry SDK and no tiktoken (counting
loads tiktoken on first use).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from common import attributes as A
from common import pricing
from tracer.llm import usage
from tracer.llm.usage import LLMInfo, extract, plain

__all__ = ["AttributeValue", "LLMInfo", "attributes_for", "attributes_for_stream", "extract",
           "input_messages"]

AttributeValue = (
    str | bool | int | float | Sequence[str] | Sequence[bool] | Sequence[int] | Sequence[float]
)

logger = logging.getLogger("spyglass.tracer")
_warned: set[str] = set()

MAX_STRING_CHARS = 32_000  # per string inside message JSON; whole prompts stay countable
MAX_DATA_URL_CHARS = 256  # inline base64 images are summarised, never stored

# Request parameters: the names SDKs use -> the attribute and the type it must have.
_PARAMS: dict[str, tuple[str, type]] = {
    "temperature": (A.GEN_AI_REQUEST_TEMPERATURE, float),
    "max_tokens": (A.GEN_AI_REQUEST_MAX_TOKENS, int),
    "max_completion_tokens": (A.GEN_AI_REQUEST_MAX_TOKENS, int),
    "max_output_tokens": (A.GEN_AI_REQUEST_MAX_TOKENS, int),
    "maxOutputTokens": (A.GEN_AI_REQUEST_MAX_TOKENS, int),
    "maxTokens": (A.GEN_AI_REQUEST_MAX_TOKENS, int),
    "max_new_tokens": (A.GEN_AI_REQUEST_MAX_TOKENS, int),
    "top_p": (A.GEN_AI_REQUEST_TOP_P, float),
    "topP": (A.GEN_AI_REQUEST_TOP_P, float),
    "top_k": (A.GEN_AI_REQUEST_TOP_K, float),
    "topK": (A.GEN_AI_REQUEST_TOP_K, float),
    "frequency_penalty": (A.GEN_AI_REQUEST_FREQUENCY_PENALTY, float),
    "presence_penalty": (A.GEN_AI_REQUEST_PRESENCE_PENALTY, float),
    "seed": (A.GEN_AI_REQUEST_SEED, int),
    "stop": (A.GEN_AI_REQUEST_STOP_SEQUENCES, list),
    "stop_sequences": (A.GEN_AI_REQUEST_STOP_SEQUENCES, list),
    "stopSequences": (A.GEN_AI_REQUEST_STOP_SEQUENCES, list),
}
# Where wrappers commonly nest the provider's parameters inside their own arguments.
_NESTED_PARAMS = ("kwargs", "params", "options", "config", "generation_config",
                  "generationConfig", "inferenceConfig", "request", "body")
# LangChain messages carry a ``type`` instead of a role.
_LANGCHAIN_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool",
                    "AIMessageChunk": "assistant", "HumanMessageChunk": "user"}
_EXPLICIT_INT_KEYS = ("input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens",
                      "cache_creation_tokens", "total_tokens")


def _warn_once(key: str, message: str, *args: Any) -> None:
    if key not in _warned:
        _warned.add(key)
        logger.warning(message, *args, exc_info=True)


def _guard(key: str, fn: Callable[[], Any]) -> Any:
    """Run one step; a failure is logged once per step and yields ``None``."""
    try:
        return fn()
    except Exception:
        _warn_once(key, "spyglass: LLM attribute step %r failed; the span is kept without it",
                   key)
        return None


# ------------------------------------------------------------------------- inputs


def _param_sources(inputs: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    sources: list[Mapping[str, Any]] = [inputs]
    for key in _NESTED_PARAMS:
        nested = inputs.get(key)
        if isinstance(nested, Mapping):
            sources.append(nested)
        elif nested is not None and not isinstance(nested, str | int | float | list | tuple):
            converted = plain(nested)
            if isinstance(converted, Mapping):
                sources.append(converted)
    return sources


def _request_params(inputs: Mapping[str, Any]) -> dict[str, AttributeValue]:
    out: dict[str, AttributeValue] = {}
    for source in _param_sources(inputs):
        for key, (attr, kind) in _PARAMS.items():
            value = source.get(key)
            if value is None or attr in out or isinstance(value, bool):
                continue
            if kind is float and isinstance(value, int | float):
                out[attr] = float(value)
            elif kind is int and isinstance(value, int):
                out[attr] = value
            elif kind is list:
                stops = [value] if isinstance(value, str) else value
                if isinstance(stops, list | tuple) and stops and all(
                        isinstance(s, str) for s in stops):
                    out[attr] = list(stops)
    return out


def _request_model(inputs: Mapping[str, Any]) -> str | None:
    for source in _param_sources(inputs):
        for key in ("model", "modelId", "model_id", "model_name"):
            model = source.get(key)
            if isinstance(model, str) and model:
                return model
    return None


def _text_of(content: Any) -> str:
    """Plain text of a message content value (string, or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        text = content.get("text")
        return text if isinstance(text, str) else ""
    if isinstance(content, list):
        return "".join(_text_of(part) for part in content)
    return ""


def _message(value: Any, default_role: str = "user") -> dict[str, Any]:
    message = plain(value)
    if isinstance(message, str):
        return {"role": default_role, "content": message}
    if not isinstance(message, dict):
        return {"role": default_role, "content": message}
    if "role" not in message and "parts" in message:  # Gemini content
        message = {"role": "user", "content": _text_of(message["parts"])}
    elif "parts" in message and "content" not in message:
        parts = message.pop("parts")
        message["content"] = _text_of(parts)
    if "role" not in message and message.get("type") == "function_call":
        message = {"role": "assistant", "content": None, "tool_calls": [{
            "id": message.get("call_id"), "type": "function",
            "function": {"name": message.get("name"), "arguments": message.get("arguments")}}]}
    if "role" not in message and message.get("type") == "function_call_output":
        message = {"role": "tool", "tool_call_id": message.get("call_id"),
                   "content": message.get("output")}
    if "role" not in message and message.get("type") in _LANGCHAIN_ROLES:
        message["role"] = _LANGCHAIN_ROLES[message["type"]]
    if message.get("role") == "model":
        message["role"] = "assistant"
    message.setdefault("role", default_role)
    return message


def input_messages(inputs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Chat messages found in a call's inputs, system prompt first.

    Read from ``messages`` (OpenAI/Anthropic/Mistral), ``system`` and ``instructions``
    (Anthropic system prompt, Responses API instructions), ``contents`` (Gemini), and
    ``prompt`` / ``input`` (completions, Responses API, embeddings; a string or list).
    """
    return _input_messages(inputs)[0]


def _input_messages(inputs: Mapping[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """(messages, whether they came as chat messages rather than a plain prompt)."""
    found: list[dict[str, Any]] = []
    have_system = False
    for source in _param_sources(inputs):
        for key in ("system", "instructions", "system_instruction"):
            system = source.get(key)
            if system and not have_system:
                converted = plain(system)
                if isinstance(converted, Mapping) and "parts" in converted:
                    converted = converted["parts"]
                found.append({"role": "system", "content": _text_of(converted)})
                have_system = True
        for key in ("messages", "contents", "prompt", "input"):
            value = source.get(key)
            if value is None:
                continue
            if isinstance(value, str):
                found.append({"role": "user", "content": value})
            elif isinstance(value, Mapping):
                found.append(_message(value))
            else:
                converted = plain(value)
                if not isinstance(converted, list):
                    continue
                found.extend(_message(item) for item in converted)
                # A list of strings is a batch of prompts; a list of items is a conversation.
                if key in ("prompt", "input"):
                    return found, any(isinstance(item, dict) for item in converted)
            return found, key in ("messages", "contents") or isinstance(value, Mapping)
    return found, bool(found)


def _tool_definitions(inputs: Mapping[str, Any]) -> str | None:
    """The request's tool/function schemas as compact JSON, for counting."""
    for source in _param_sources(inputs):
        for key in ("tools", "functions"):
            tools = source.get(key)
            if tools:
                return json.dumps(plain(tools), separators=(",", ":"), default=str)
    return None


def _string_inputs(inputs: Mapping[str, Any]) -> str:
    return "\n".join(v for v in inputs.values() if isinstance(v, str))


# ------------------------------------------------------------------------- output


def _output_messages(info: LLMInfo | None, output: Any) -> list[dict[str, Any]]:
    if info is not None:
        return info.output_messages
    if isinstance(output, str):
        return [{"role": "assistant", "content": output}]
    if isinstance(output, Mapping) and "role" in output and "content" in output:
        return [_message(output, "assistant")]
    return []


def _output_text(messages: list[dict[str, Any]]) -> str:
    parts: list[str] = []
    for message in messages:
        parts.append(_text_of(message.get("content")))
        for key in ("reasoning", "refusal"):
            if isinstance(message.get(key), str):
                parts.append(message[key])
        for call in message.get("tool_calls") or ():
            fn = call.get("function") or {}
            parts.append(str(fn.get("name") or ""))
            args = fn.get("arguments")
            parts.append(args if isinstance(args, str) else json.dumps(args, default=str))
    return "".join(parts)


def _capped(value: Any) -> Any:
    """``value`` with huge strings shortened and inline base64 data URLs summarised."""
    if isinstance(value, str):
        if value.startswith("data:") and len(value) > MAX_DATA_URL_CHARS:
            head = value.split(",", 1)[0]
            return f"{head},…[{len(value)} chars omitted]"
        if len(value) > MAX_STRING_CHARS:
            return value[:MAX_STRING_CHARS] + f"…[truncated {len(value) - MAX_STRING_CHARS} chars]"
        return value
    if isinstance(value, dict):
        return {k: _capped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_capped(v) for v in value]
    return value


def _json(value: Any) -> str:
    return json.dumps(_capped(value), ensure_ascii=False, default=str)


# -------------------------------------------------------------------------- build


def _explicit(explicit: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (explicit or {}).items():
        if value is None:
            continue
        if key in _EXPLICIT_INT_KEYS:
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                _warn_once(f"explicit:{key}", "spyglass: ignoring %s=%r, not a token count",
                           key, value)
                continue
            out[key] = int(value)
        elif key == "cost_usd" and isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = float(value)
        elif key in ("model", "provider") and isinstance(value, str) and value:
            out[key] = value
    return out


def _count(value: Any, model: str | None) -> int:
    from tracer.llm.tokens import count_tokens

    return count_tokens(value, model)


def _build(inputs: Mapping[str, Any] | None, info: LLMInfo | None, output: Any,
           stream_text: str | None, explicit: Mapping[str, Any] | None) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    inputs = inputs if isinstance(inputs, Mapping) else {}
    given = _guard("explicit", lambda: _explicit(explicit)) or {}

    request_model = _guard("request_model", lambda: _request_model(inputs))
    response_model = given.get("model") or (info.model if info else None)
    model = response_model or request_model
    if request_model or model:
        attrs[A.GEN_AI_REQUEST_MODEL] = request_model or model
    if response_model:
        attrs[A.GEN_AI_RESPONSE_MODEL] = response_model
    provider = (given.get("provider") or (info.provider if info else None)
                or usage.infer_provider(model))
    if provider:
        attrs[A.GEN_AI_PROVIDER_NAME] = provider
        attrs[A.GEN_AI_SYSTEM] = provider
    attrs.update(_guard("params", lambda: _request_params(inputs)) or {})

    in_messages, chat = _guard("input_messages", lambda: _input_messages(inputs)) or ([], False)
    if in_messages:
        attrs[A.GEN_AI_INPUT_MESSAGES] = _guard("input_json", lambda: _json(in_messages)) or "[]"
    if stream_text is not None:
        out_messages = [{"role": "assistant", "content": stream_text}]
    else:
        out_messages = _guard("output_messages", lambda: _output_messages(info, output)) or []
    if out_messages:
        attrs[A.GEN_AI_OUTPUT_MESSAGES] = _guard("output_json", lambda: _json(out_messages)) or "[]"

    operation = info.operation if info else None
    if operation is None and chat:
        operation = "chat"
    if operation:
        attrs[A.GEN_AI_OPERATION_NAME] = operation
    if info is not None:
        if info.response_id:
            attrs[A.GEN_AI_RESPONSE_ID] = info.response_id
        if info.finish_reasons:
            attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] = list(info.finish_reasons)

    reported = info.usage if info is not None else None

    def pick(key: str) -> int | None:
        if key in given:
            return given[key]
        return getattr(reported, key) if reported is not None else None

    input_tokens = pick("input_tokens")
    output_tokens = pick("output_tokens")
    estimated = False
    if input_tokens is None:
        # Chat messages count with OpenAI's per-message framing; a prompt as plain text.
        source: Any = (in_messages if chat else
                       [_text_of(m.get("content")) for m in in_messages]
                       ) or _string_inputs(inputs) or None
        if source:
            input_tokens = _guard("count_input", lambda: _count(source, model))
            estimated = input_tokens is not None
            tools = _guard("tools", lambda: _tool_definitions(inputs))
            if input_tokens is not None and tools:
                # Tool schemas are part of the prompt the provider bills.
                input_tokens += _guard("count_tools", lambda: _count(tools, model)) or 0
    if output_tokens is None:
        if operation == "embeddings":
            output_tokens = 0
        else:
            text = _guard("output_text", lambda: _output_text(out_messages))
            if text:
                output_tokens = _guard("count_output", lambda: _count(text, model))
                estimated = estimated or output_tokens is not None
    cached = pick("cached_tokens")
    reasoning = pick("reasoning_tokens")
    cache_creation = pick("cache_creation_tokens")
    if input_tokens is not None:
        attrs[A.GEN_AI_USAGE_INPUT_TOKENS] = input_tokens
    if output_tokens is not None:
        attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] = output_tokens
    if cached is not None:
        attrs[A.USAGE_CACHED_TOKENS] = cached
        attrs[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = cached
    if reasoning is not None:
        attrs[A.USAGE_REASONING_TOKENS] = reasoning
    if cache_creation is not None:
        attrs[A.USAGE_CACHE_CREATION_TOKENS] = cache_creation
        attrs[A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = cache_creation
    total = given.get("total_tokens")
    if total is None and input_tokens is not None and output_tokens is not None:
        total = input_tokens + output_tokens
    if total is None and reported is not None:
        total = reported.total_tokens
    if total is not None:
        attrs[A.USAGE_TOTAL_TOKENS] = total
    if input_tokens is not None or output_tokens is not None:
        attrs[A.USAGE_ESTIMATED] = estimated

    cost = given.get("cost_usd")
    if cost is None and model and (input_tokens is not None or output_tokens is not None):
        def price() -> float | None:
            for name in dict.fromkeys(m for m in (response_model, request_model) if m):
                value = pricing.cost_usd(name, input_tokens or 0, output_tokens or 0,
                                         cached or 0, cache_creation_tokens=cache_creation or 0)
                if value is not None:
                    return value
            return None

        cost = _guard("cost", price)
        if cost is not None:
            version = _guard("price_version", pricing.table_version)
            if version:
                attrs[A.PRICE_TABLE_VERSION] = version
    if cost is not None:
        attrs[A.COST_USD] = cost
    return attrs


def attributes_for(inputs: dict[str, Any], output: Any,
                   explicit: dict[str, Any] | None) -> dict[str, AttributeValue]:
    """All LLM attributes for a span from its bound ``inputs`` and returned ``output``.

    ``output`` may be a provider response (dict or SDK object), a string (the
    completion text) or anything else (then only what ``inputs`` and ``explicit``
    give). ``explicit`` holds values set with ``tracer.log_usage``/``log_model``
    (keys ``model``, ``provider``, ``input_tokens``, ``output_tokens``,
    ``cached_tokens``, ``reasoning_tokens``; also ``cache_creation_tokens``,
    ``total_tokens``, ``cost_usd``) and wins over what is read from the response.
    Token counts missing from both are counted with tiktoken and the span is marked
    ``spyglass.usage.estimated``. Never raises: a failing step is logged once and
    left out.
    """
    try:
        info = _guard("extract", lambda: extract(output))
        return _build(inputs, info, output, None, explicit)
    except Exception:
        _warn_once("attributes_for", "spyglass: could not build LLM attributes")
        return {}


def attributes_for_stream(inputs: dict[str, Any], chunks: list[Any],
                          explicit: dict[str, Any] | None) -> dict[str, AttributeValue]:
    """Like ``attributes_for`` for a streamed call, from the list of yielded ``chunks``.

    Provider chunks/events (OpenAI chat or Responses streams, Anthropic events, Gemini
    chunks) are reassembled; usage comes from the stream when it carries it (OpenAI
    with ``stream_options={"include_usage": True}``, Anthropic always). A stream of
    strings is joined as the output text and its tokens are counted with tiktoken.
    Never raises.
    """
    try:
        chunks = list(chunks or ())
        if chunks and all(isinstance(c, str) for c in chunks):
            return _build(inputs, None, None, "".join(chunks), explicit)
        info = _guard("extract_stream", lambda: extract(chunks)) if chunks else None
        text = None
        if info is None:
            strings = [c for c in chunks if isinstance(c, str)]
            text = "".join(strings) if strings else None
        return _build(inputs, info, None, text, explicit)
    except Exception:
        _warn_once("attributes_for_stream", "spyglass: could not build LLM stream attributes")
        return {}
