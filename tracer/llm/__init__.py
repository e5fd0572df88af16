"""LLM-specific span attributes: model, provider, messages, token usage and cost.

``attributes_for`` (a returned response) and ``attributes_for_stream`` (streamed
chunks) turn a call's bound inputs and its result into GenAI semantic-convention
attributes plus Spyglass's own (``common.attributes``). Usage comes from the
provider's response (``usage.extract``); when the provider gave none it is counted
with tiktoken (``tokens.count_tokens``) and marked estimated; cost comes from the
price table (``common.pricing.cost_usd``). Both functions never raise.

The steps live in modules of their own: ``usage`` (which provider reader applies,
``providers/`` one module per wire format), ``messages`` (reading the request and the
reply as chat messages), ``tokens`` (tiktoken) and ``common.pricing``; this module composes
them into span attributes.

Importing this package is cheap and needs no OpenTelemetry SDK and no tiktoken (counting
loads tiktoken on first use).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from typing import Any

from common import attributes as A
from common import pricing
from tracer.llm import usage
from tracer.llm.messages import (
    AttributeValue,
    input_messages,
    output_messages,
    output_text,
    read_input_messages,
    request_model,
    request_params,
    string_inputs,
    text_of,
    to_json,
    tool_definitions,
)
from tracer.llm.usage import LLMInfo, Usage, extract

__all__ = ["AttributeValue", "LLMInfo", "attributes_for", "attributes_for_stream", "extract",
           "input_messages"]

logger = logging.getLogger("spyglass.tracer")
_warned: set[str] = set()

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
    """Every LLM attribute of one call, step by step; each step is guarded on its own."""
    inputs = inputs if isinstance(inputs, Mapping) else {}
    given = _guard("explicit", lambda: _explicit(explicit)) or {}
    models = _models(inputs, info, given)
    attrs = _model_attributes(models, given, info)
    attrs.update(_guard("params", lambda: request_params(inputs)) or {})
    in_messages, chat = _guard("input_messages", lambda: read_input_messages(inputs)) or ([], False)
    out_messages = _reply_messages(info, output, stream_text)
    attrs.update(_message_attributes(in_messages, out_messages))
    operation = _operation(info, chat)
    attrs.update(_response_attributes(info, operation))
    tokens = _tokens(given, info.usage if info is not None else None)
    _estimate_missing(tokens, inputs, in_messages, chat, out_messages, operation,
                      models.effective)
    attrs.update(_usage_attributes(tokens))
    attrs.update(_cost_attributes(given, models, tokens))
    return attrs


@dataclasses.dataclass
class _Models:
    """The model the request asked for and the one the response (or log_model) names."""

    request: str | None
    response: str | None

    @property
    def effective(self) -> str | None:
        """The model the call ran on: the response's, else the requested one."""
        return self.response or self.request


def _models(inputs: Mapping[str, Any], info: LLMInfo | None,
            given: Mapping[str, Any]) -> _Models:
    request = _guard("request_model", lambda: request_model(inputs))
    return _Models(request=request,
                   response=given.get("model") or (info.model if info else None))


def _model_attributes(models: _Models, given: Mapping[str, Any],
                      info: LLMInfo | None) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if models.effective:
        attrs[A.GEN_AI_REQUEST_MODEL] = models.request or models.effective
    if models.response:
        attrs[A.GEN_AI_RESPONSE_MODEL] = models.response
    provider = (given.get("provider") or (info.provider if info else None)
                or usage.infer_provider(models.effective))
    if provider:
        attrs[A.GEN_AI_PROVIDER_NAME] = provider
        attrs[A.GEN_AI_SYSTEM] = provider
    return attrs


def _reply_messages(info: LLMInfo | None, output: Any,
                    stream_text: str | None) -> list[dict[str, Any]]:
    if stream_text is not None:
        return [{"role": "assistant", "content": stream_text}]
    return _guard("output_messages", lambda: output_messages(info, output)) or []


def _message_attributes(in_messages: list[dict[str, Any]],
                        out_messages: list[dict[str, Any]]) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if in_messages:
        attrs[A.GEN_AI_INPUT_MESSAGES] = _guard("input_json", lambda: to_json(in_messages)) or "[]"
    if out_messages:
        attrs[A.GEN_AI_OUTPUT_MESSAGES] = _guard("output_json", lambda: to_json(out_messages)) or "[]"
    return attrs


def _operation(info: LLMInfo | None, chat: bool) -> str | None:
    """The GenAI operation: the response's, else ``chat`` when the inputs were messages."""
    operation = info.operation if info else None
    return "chat" if operation is None and chat else operation


def _response_attributes(info: LLMInfo | None, operation: str | None) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if operation:
        attrs[A.GEN_AI_OPERATION_NAME] = operation
    if info is not None:
        if info.response_id:
            attrs[A.GEN_AI_RESPONSE_ID] = info.response_id
        if info.finish_reasons:
            attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] = list(info.finish_reasons)
    return attrs


@dataclasses.dataclass
class _Tokens:
    """Token counts of one call: explicit values, else reported, else estimated."""

    input: int | None = None
    output: int | None = None
    cached: int | None = None
    reasoning: int | None = None
    cache_creation: int | None = None
    total: int | None = None
    reported_total: int | None = None
    estimated: bool = False

    def complete_total(self) -> None:
        """An explicit total wins; else input + output; else what the provider reported."""
        if self.total is None and self.input is not None and self.output is not None:
            self.total = self.input + self.output
        if self.total is None:
            self.total = self.reported_total


def _tokens(given: Mapping[str, Any], reported: Usage | None) -> _Tokens:
    """Explicit (log_usage) counts win over the response's; missing ones stay None."""

    def pick(key: str) -> int | None:
        if key in given:
            return given[key]
        return getattr(reported, key) if reported is not None else None

    return _Tokens(input=pick("input_tokens"), output=pick("output_tokens"),
                   cached=pick("cached_tokens"), reasoning=pick("reasoning_tokens"),
                   cache_creation=pick("cache_creation_tokens"), total=given.get("total_tokens"),
                   reported_total=reported.total_tokens if reported is not None else None)


def _estimate_missing(tokens: _Tokens, inputs: Mapping[str, Any],
                      in_messages: list[dict[str, Any]], chat: bool,
                      out_messages: list[dict[str, Any]], operation: str | None,
                      model: str | None) -> None:
    """Count with tiktoken what neither log_usage nor the response gave; mark it estimated."""
    if tokens.input is None:
        tokens.input = _estimate_input(inputs, in_messages, chat, model)
        tokens.estimated = tokens.input is not None
    if tokens.output is None:
        tokens.output = _estimate_output(out_messages, operation, model)
        tokens.estimated = tokens.estimated or (
            tokens.output is not None and operation != "embeddings")
    tokens.complete_total()


def _estimate_input(inputs: Mapping[str, Any], in_messages: list[dict[str, Any]], chat: bool,
                    model: str | None) -> int | None:
    """Input tokens counted with tiktoken, tool schemas included; None when nothing to count."""
    # Chat messages count with OpenAI's per-message framing; a prompt as plain text.
    source: Any = (in_messages if chat else
                   [text_of(m.get("content")) for m in in_messages]
                   ) or string_inputs(inputs) or None
    if not source:
        return None
    counted = _guard("count_input", lambda: _count(source, model))
    tools = _guard("tools", lambda: tool_definitions(inputs))
    if counted is not None and tools:
        # Tool schemas are part of the prompt the provider bills.
        counted += _guard("count_tools", lambda: _count(tools, model)) or 0
    return counted


def _estimate_output(out_messages: list[dict[str, Any]], operation: str | None,
                     model: str | None) -> int | None:
    """Output tokens counted with tiktoken (0 for embeddings); None when there is no text."""
    if operation == "embeddings":
        return 0
    text = _guard("output_text", lambda: output_text(out_messages))
    if not text:
        return None
    return _guard("count_output", lambda: _count(text, model))


def _usage_attributes(tokens: _Tokens) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if tokens.input is not None:
        attrs[A.GEN_AI_USAGE_INPUT_TOKENS] = tokens.input
    if tokens.output is not None:
        attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] = tokens.output
    if tokens.cached is not None:
        attrs[A.USAGE_CACHED_TOKENS] = tokens.cached
        attrs[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = tokens.cached
    if tokens.reasoning is not None:
        attrs[A.USAGE_REASONING_TOKENS] = tokens.reasoning
    if tokens.cache_creation is not None:
        attrs[A.USAGE_CACHE_CREATION_TOKENS] = tokens.cache_creation
        attrs[A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = tokens.cache_creation
    if tokens.total is not None:
        attrs[A.USAGE_TOTAL_TOKENS] = tokens.total
    if tokens.input is not None or tokens.output is not None:
        attrs[A.USAGE_ESTIMATED] = tokens.estimated
    return attrs


def _price(models: _Models, tokens: _Tokens) -> float | None:
    """Cost from the price table: the response's model first, then the requested one."""
    for name in dict.fromkeys(m for m in (models.response, models.request) if m):
        value = pricing.cost_usd(name, tokens.input or 0, tokens.output or 0, tokens.cached or 0,
                                 cache_creation_tokens=tokens.cache_creation or 0)
        if value is not None:
            return value
    return None


def _cost_attributes(given: Mapping[str, Any], models: _Models,
                     tokens: _Tokens) -> dict[str, Any]:
    """An explicit cost wins; else priced from the table (with the table's version)."""
    attrs: dict[str, Any] = {}
    cost = given.get("cost_usd")
    if cost is None and models.effective and (
            tokens.input is not None or tokens.output is not None):
        cost = _guard("cost", lambda: _price(models, tokens))
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
