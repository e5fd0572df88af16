"""What every provider reader shares: the result types and tolerant field access.

Provider responses arrive as plain dicts (JSON bodies) or SDK objects (attribute
access, pydantic ``model_dump``); the helpers here read both the same way and never
raise on unfamiliar input, so a reader is a straight description of its wire format.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["LLMInfo", "Usage", "as_int", "as_str", "assistant_message", "get", "has",
           "json_args", "plain", "seq", "tool_call"]

_MISSING = object()
_MAX_DEPTH = 12


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
    """What a provider response says about the call that produced it.

    ``provider`` as a reader sets it is the wire format's provider ("openai" for every
    OpenAI-shaped body, None for LangChain); ``tracer.llm.usage.extract`` then refines
    it from the model name.
    """

    model: str | None = None
    provider: str | None = None
    operation: str | None = None  # GenAI operation name: chat, text_completion, embeddings
    usage: Usage | None = None
    output_messages: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    finish_reasons: list[str] = dataclasses.field(default_factory=list)
    response_id: str | None = None


# --------------------------------------------------------------------------- access


def get(obj: Any, key: str, default: Any = None) -> Any:
    """``obj[key]`` for mappings, ``obj.key`` for objects; ``default`` when absent or None."""
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


def has(obj: Any, key: str) -> bool:
    """Whether ``obj`` has ``key`` (a mapping key or an attribute), even when it is None."""
    if isinstance(obj, Mapping):
        return key in obj
    try:
        return getattr(obj, key, _MISSING) is not _MISSING
    except Exception:
        return False


def as_int(value: Any) -> int | None:
    """``value`` when it is an integer (or an integral float), else None; bools are not."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def as_str(value: Any) -> str | None:
    """``value`` when it is a non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def seq(value: Any) -> Sequence[Any]:
    """``value`` when it is a list or tuple, else an empty tuple."""
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


def json_args(value: Any) -> Any:
    """Tool-call arguments: parsed when they are a JSON string, else as given."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return plain(value)


# ------------------------------------------------------------------------- messages


def tool_call(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    """One tool call in the OpenAI message shape every reader outputs."""
    return {"id": call_id, "type": "function",
            "function": {"name": name, "arguments": arguments}}


def assistant_message(content: Any, tool_calls: list[dict[str, Any]],
                      role: Any = "assistant") -> dict[str, Any]:
    """An output message: role and content, plus ``tool_calls`` when there are any."""
    message: dict[str, Any] = {"role": role, "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return message
