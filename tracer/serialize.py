"""Turn arbitrary Python values into JSON text that is safe to put on a span.

Never raises: every value becomes something JSON can hold. Containers are walked with
cycle detection and a depth limit; pydantic models, dataclasses, numpy values, bytes,
dates and enums get a faithful or summarised form; anything else falls back to
``repr``. Strings are capped per value and keys that look like secrets are redacted.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import enum
import json
import math
import re
import uuid
from collections.abc import Mapping
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from tracer._log import warn_once

REDACTED = "[REDACTED]"
CYCLE = "[cycle]"
MAX_DEPTH = 32
MAX_ITEMS = 1_000
ARRAY_PREVIEW = 8

# Keys that look like credentials. Word-boundary matching keeps ``max_tokens`` and
# ``input_tokens`` (plural counts) visible while ``token``/``access_token`` are hidden.
_SECRET_RE = re.compile(
    r"(?:^|[_.])(?:api_?key|apikey|x_api_key|password|passwd|pwd|secret|secret_?key|token|"
    r"access_?token|refresh_?token|id_?token|auth_?token|bearer|authorization|auth|cookie|"
    r"set_cookie|private_?key|credentials?|access_?key|session_?key|signature)$"
    r"|password|secret",
)

_PRIMITIVES = (str, int, float, bool, type(None))
# One encoder for every call: json.dumps(..., ensure_ascii=False) builds a new one each time.
_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
_SECRET_CACHE_MAX = 4_096
_quote = json.encoder.encode_basestring  # a JSON string literal, non-ASCII kept as is
_REDACTED_JSON = ": " + _quote(REDACTED)


def utf8_safe(text: str) -> str:
    """``text`` unless it holds lone surrogates (e.g. from ``surrogateescape``), which
    protobuf cannot encode and which would make the whole export batch fail; those are
    written as ``\\udcxx`` escapes."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


class PartialText(str):
    """Text of which only a prefix was kept (a long stream): ``total_len`` is the length
    of the whole, so the truncation marker can say how much was really dropped."""

    total_len: int

    def __new__(cls, kept: str, total_len: int) -> PartialText:
        obj = super().__new__(cls, kept)
        obj.total_len = total_len
        return obj


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with a marker saying how much was dropped."""
    total = getattr(text, "total_len", len(text))
    if total <= limit:
        return str(text)
    return text[:limit] + f"…[truncated {total - limit} chars]"


class Serializer:
    """JSON conversion with one per-value size cap and one redaction policy."""

    __slots__ = ("_secret_cache", "extra_keys", "max_chars", "redact")

    def __init__(self, max_chars: int = 16_000, redact: bool = True,
                 extra_keys: frozenset[str] = frozenset()) -> None:
        self.max_chars = max_chars
        self.redact = redact
        self.extra_keys = extra_keys
        self._secret_cache: dict[str, bool] = {}

    def is_secret(self, key: object) -> bool:
        """Whether values under this key are hidden (``api_key``, ``Authorization`` …)."""
        if not self.redact or not isinstance(key, str):
            return False
        cached = self._secret_cache.get(key)
        if cached is not None:
            return cached
        norm = key.strip().lower().replace("-", "_")
        secret = norm in self.extra_keys or _SECRET_RE.search(norm) is not None
        if len(self._secret_cache) < _SECRET_CACHE_MAX:
            self._secret_cache[key] = secret
        return secret

    # ------------------------------------------------------------------ conversion

    def jsonable(self, value: Any) -> Any:
        """A structure of dict/list/str/number/bool/None equivalent to ``value``."""
        try:
            return self._convert(value, 0, set())
        except Exception:
            warn_once("serialize", "could not serialize a %s value; recording its type only",
                      type(value).__name__)
            return f"<unserializable {type(value).__name__}>"

    def _convert(self, value: Any, depth: int, seen: set[int]) -> Any:
        # Exact built-in types first, by identity: most values are these, and the general
        # path below tests them against ABCs (``Mapping``), ~10 isinstance calls each.
        kind = type(value)
        if kind is str:
            return truncate(value, self.max_chars)
        if kind is int or kind is bool or value is None:
            return value
        if kind is dict or kind is list or kind is tuple:
            if depth >= MAX_DEPTH:
                return f"<max depth {MAX_DEPTH}: {kind.__name__}>"
            key = id(value)
            if key in seen:
                return CYCLE
            seen.add(key)
            try:
                if kind is dict:
                    return self._mapping(value, depth, seen)
                return self._sequence(value, len(value), depth, seen)
            finally:
                seen.discard(key)
        if isinstance(value, str):
            return truncate(value, self.max_chars)
        if value is None or isinstance(value, bool | int):
            if isinstance(value, int) and not isinstance(value, bool) and type(value) is not int:
                return int(value)  # IntEnum and friends stay numbers
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else str(value)
        if depth >= MAX_DEPTH:
            return f"<max depth {MAX_DEPTH}: {type(value).__name__}>"
        if isinstance(value, bytes | bytearray | memoryview):
            return _bytes_summary(value)
        key = id(value)
        if key in seen:
            return CYCLE
        if isinstance(value, Mapping):
            seen.add(key)
            try:
                return self._mapping(value, depth, seen)
            finally:
                seen.discard(key)
        if isinstance(value, list | tuple | set | frozenset):
            seen.add(key)
            try:
                items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
                return self._sequence(items, len(value), depth, seen)
            finally:
                seen.discard(key)
        special = _special(value)
        if special is not _NOTHING:
            return self._convert(special, depth + 1, seen) if not isinstance(
                special, _PRIMITIVES) else special
        try:
            model = _model_fields(value)
        except Exception:
            model = None  # a model whose dump fails is still shown by its repr
        if model is not None:
            seen.add(key)
            try:
                return self._mapping(model, depth, seen)
            finally:
                seen.discard(key)
        return self._repr(value)

    def _mapping(self, value: Mapping[Any, Any], depth: int, seen: set[int]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for i, (k, v) in enumerate(value.items()):
            if i >= MAX_ITEMS:
                out["…"] = f"[{len(value) - MAX_ITEMS} more keys]"
                break
            name = k if isinstance(k, str) else str(self._convert(k, depth + 1, seen))
            out[name] = REDACTED if self.is_secret(name) else self._convert(v, depth + 1, seen)
        return out

    def _sequence(self, items: Any, size: int, depth: int, seen: set[int]) -> list[Any]:
        out = []
        for i, item in enumerate(items):
            if i >= MAX_ITEMS:
                out.append(f"…[{size - MAX_ITEMS} more items]")
                break
            out.append(self._convert(item, depth + 1, seen))
        return out

    def _repr(self, value: Any) -> str:
        try:
            text = repr(value)
        except Exception:
            return f"<unrepresentable {type(value).__name__}>"
        return truncate(text, self.max_chars)

    # ------------------------------------------------------------------ JSON text

    def dumps(self, value: Any) -> str:
        """JSON text of ``value`` no longer than about the per-value cap."""
        try:
            if isinstance(value, str):
                return utf8_safe(_encode(truncate(value, self.max_chars)))
            text = utf8_safe(_encode(self.jsonable(value)))
        except Exception:
            warn_once("dumps", "could not encode a %s value as JSON", type(value).__name__)
            return json.dumps(f"<unserializable {type(value).__name__}>")
        if len(text) > self.max_chars + 64:
            # Many small parts can add up past the cap; keep the start as a string.
            return json.dumps(truncate(text, self.max_chars), ensure_ascii=False)
        return text

    def dumps_inputs(self, inputs: Mapping[str, Any]) -> str:
        """JSON object of bound arguments: each argument capped and redacted on its own.

        Built from per-argument JSON texts so each value is encoded once, with a direct
        path for the plain strings and numbers most calls pass.
        """
        parts: list[str] = []
        max_chars = self.max_chars
        for name, value in inputs.items():
            key = _quote(name if type(name) is str else str(name))
            if self.is_secret(name):
                parts.append(key + _REDACTED_JSON)
                continue
            kind = type(value)
            if kind is str:
                text = _quote(value if len(value) <= max_chars else truncate(value, max_chars))
            elif kind is int:
                text = int.__repr__(value)
            elif kind is bool:
                text = "true" if value else "false"
            elif value is None:
                text = "null"
            else:
                try:
                    text = _encode(self.jsonable(value))
                except Exception:
                    warn_once("dumps_inputs", "could not encode a %s argument as JSON",
                              kind.__name__)
                    text = _quote(f"<unserializable {kind.__name__}>")
                if len(text) > max_chars + 64:
                    # Many small parts can add up past the cap; keep the start as a string.
                    text = _quote(truncate(text, max_chars))
            parts.append(key + ": " + text)
        return utf8_safe("{" + ", ".join(parts) + "}")


_NOTHING = object()


def _bytes_summary(value: bytes | bytearray | memoryview) -> str:
    data = bytes(value[:24]) if not isinstance(value, memoryview) else value.tobytes()[:24]
    size = value.nbytes if isinstance(value, memoryview) else len(value)
    preview = base64.b64encode(data).decode()
    return f"<{type(value).__name__} {size} bytes: {preview}{'…' if size > 24 else ''}>"


def _special(value: Any) -> Any:
    """Faithful JSON form of well-known non-container types, else ``_NOTHING``."""
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if isinstance(value, enum.Enum):
        return value.value if isinstance(value.value, _PRIMITIVES) else value.name
    if isinstance(value, uuid.UUID | PurePath):
        return str(value)
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else str(value)
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    module = type(value).__module__
    if module == "numpy" or module.startswith("numpy."):
        return _numpy(value)
    return _NOTHING


def _numpy(value: Any) -> Any:
    """numpy scalars become Python numbers; arrays a summary (dtype, shape, first values)."""
    if hasattr(value, "shape") and hasattr(value, "dtype") and getattr(value, "ndim", 0) > 0:
        flat = value.reshape(-1)[:ARRAY_PREVIEW].tolist()
        return {"type": "numpy.ndarray", "dtype": str(value.dtype),
                "shape": list(value.shape), "size": int(value.size), "preview": flat}
    if hasattr(value, "item"):
        return value.item()
    return _NOTHING


def _model_fields(value: Any) -> Mapping[str, Any] | None:
    """Fields of pydantic models and dataclasses (shallow: the walker recurses)."""
    if isinstance(value, type):
        return None
    if dataclasses.is_dataclass(value):
        return {f.name: getattr(value, f.name, None) for f in dataclasses.fields(value)}
    dump = getattr(type(value), "model_dump", None)  # pydantic v2 (and the OpenAI SDK types)
    if callable(dump):
        fields = getattr(type(value), "model_fields", None)
        if isinstance(fields, Mapping):
            data = {name: getattr(value, name, None) for name in fields}
            extra = getattr(value, "__pydantic_extra__", None)
            if isinstance(extra, Mapping):
                data.update(extra)
            return data
        dumped = dump(value)
        return dumped if isinstance(dumped, Mapping) else None
    legacy = getattr(type(value), "dict", None)  # pydantic v1
    if callable(legacy) and hasattr(type(value), "__fields__"):
        dumped = legacy(value)
        return dumped if isinstance(dumped, Mapping) else None
    return None
