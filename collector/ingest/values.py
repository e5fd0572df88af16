"""OTLP ``AnyValue``/``KeyValue`` -> plain Python values, and the small coercions the
convention mappers share."""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable
from typing import Any

import msgspec

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


def any_value(v: Any) -> Any:
    """The Python value of an OTLP ``AnyValue`` (bytes become base64 text)."""
    which = v.WhichOneof("value")
    if which == "string_value":
        return v.string_value
    if which == "int_value":
        return v.int_value
    if which == "double_value":
        return v.double_value
    if which == "bool_value":
        return v.bool_value
    if which == "array_value":
        return [any_value(x) for x in v.array_value.values]
    if which == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in v.kvlist_value.values}
    if which == "bytes_value":
        return base64.b64encode(v.bytes_value).decode()
    return None


def attributes(kvs: Iterable[Any]) -> dict[str, Any]:
    """An OTLP attribute list as a dict (a repeated key keeps its last value)."""
    out: dict[str, Any] = {}
    for kv in kvs:
        v = kv.value
        which = v.WhichOneof("value")
        # Inline the scalar cases: this loop runs for every attribute of every span.
        if which == "string_value":
            out[kv.key] = v.string_value
        elif which == "int_value":
            out[kv.key] = v.int_value
        else:
            out[kv.key] = any_value(v)
    return out


def to_json_text(value: Any) -> str:
    """``value`` as JSON text; a string that already holds JSON is kept as it is."""
    if value is None:
        return ""
    if isinstance(value, str):
        stripped = value.lstrip()
        if stripped[:1] in ("{", "[", '"'):
            try:
                _decode(value)
                return value
            except (msgspec.DecodeError, RecursionError):
                # Nested too deeply to parse safely: keep it, encoded as a plain string.
                pass
        return _encode(value).decode()
    return _encode(value).decode()


def json_value(text: Any) -> Any:
    """Parse JSON text, or return the value unchanged when it is not JSON text."""
    if isinstance(text, str):
        try:
            return _decode(text)
        except (msgspec.DecodeError, RecursionError):
            return text
    return text


def as_int(value: Any) -> int:
    """A token count from an attribute value; anything unusable counts as 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return 0
        return max(int(value), 0)
    if isinstance(value, str):
        try:
            return max(int(float(value)), 0)
        except (ValueError, OverflowError):  # "nan", "inf", "x"
            return 0
    return 0


def as_float(value: Any) -> float | None:
    """A cost from an attribute value, or None when it is not a number."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, (int, float, str)):
            number = float(value)
            # NaN and infinities are no price: the cost stays unknown (NULL).
            return number if math.isfinite(number) else None
    except (ValueError, OverflowError):
        return None
    return None


def as_str_list(value: Any) -> list[str]:
    """Tags from a string array, a JSON array text, or a comma-separated string."""
    if isinstance(value, list):
        return [str(x) for x in value if x is not None and str(x) != ""]
    if isinstance(value, str):
        parsed = json_value(value)
        if isinstance(parsed, list):
            return [str(x) for x in parsed]
        return [t.strip() for t in value.split(",") if t.strip()]
    return []


def indexed_messages(attrs: dict[str, Any], prefix: str, fields: dict[str, str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Collect flattened messages ``<prefix><N>.<suffix>`` into ``[{field: value}]``.

    ``fields`` maps an attribute suffix to the message field it fills. Returns the
    messages ordered by N and the attribute keys consumed."""
    found: dict[int, dict[str, Any]] = {}
    used: list[str] = []
    plen = len(prefix)
    for key, value in attrs.items():
        if not key.startswith(prefix):
            continue
        index, _, suffix = key[plen:].partition(".")
        if not index.isdigit():
            continue
        used.append(key)
        field = fields.get(suffix)
        if field is not None:
            found.setdefault(int(index), {})[field] = value
        else:
            found.setdefault(int(index), {}).setdefault("extra", {})[suffix] = value
    return [found[i] for i in sorted(found)], used
