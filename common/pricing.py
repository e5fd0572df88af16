"""Cost of an LLM call in USD from a versioned price table.

The built-in table is ``common/prices.json``: per model, a list of prices in USD
per million tokens (``input``, ``output``, optional ``cached_input`` and
``cache_write``), each with the date it took effect, plus the table's ``version``.
Users layer their own prices on top with ``SPYGLASS_PRICES_FILE`` (a JSON file of
the same shape, read once) and ``set_prices({...})``; later layers replace a model's
whole entry. The tracer prices LLM spans with it and the collector prices spans that arrive
with tokens but no cost, so it depends on nothing but the standard library and is cheap to import: the table is read on first use.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "PRICES_FILE_ENV",
    "ModelPrice",
    "PricingError",
    "check_file",
    "cost_usd",
    "known_models",
    "load_prices",
    "price_for",
    "reset_prices",
    "resolve_model",
    "set_prices",
    "table_version",
]

PRICES_FILE_ENV = "SPYGLASS_PRICES_FILE"
BUILTIN_PRICES = Path(__file__).with_name("prices.json")

_PRICE_FIELDS = ("input", "output", "cached_input", "cache_write")
# Suffixes that name a snapshot of the same model at the same price.
_SNAPSHOT_SUFFIX = re.compile(
    r"-(\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|\d{3}|\d{2}-\d{2}|latest|preview|exp|v\d+(:\d+)?)$"
)
# A name priced as a shorter table model must differ from it only by segments that never
# change the price; anything else (-mini, -pro, -realtime, a minor version like -6) may be
# a differently priced product, so it stays unknown rather than mispriced.
_SAME_PRICE_SEGMENTS = frozenset({"chat", "codex", "latest", "preview", "exp", "experimental",
                                  "stable"})
_SNAPSHOT_SEGMENT = re.compile(r"^(\d{3,}|v\d+(:\d+)?)$")
_BEDROCK_PREFIX = re.compile(r"^(?:[a-z]{2}\.)?(?:anthropic|mistral|meta|cohere|amazon)\.")


class PricingError(ValueError):
    """A price table (the built-in one, an override file or a ``set_prices`` dict) is malformed."""


@dataclass(frozen=True)
class ModelPrice:
    """One model's prices in USD per million tokens, in force from ``effective_from``."""

    model: str
    effective_from: date
    input: float
    output: float
    cached_input: float | None = None
    cache_write: float | None = None
    provider: str | None = None


@dataclass
class _Table:
    version: str
    prices: dict[str, list[ModelPrice]]  # model -> entries sorted by effective_from
    aliases: dict[str, str]  # alias -> model
    keys_longest_first: list[str]
    # name -> table model (or None); per table, so a rebuild can never serve stale answers
    resolved: dict[str, str | None] = field(default_factory=dict)


_lock = threading.RLock()
_builtin: dict[str, Any] | None = None
_user: dict[str, Any] | None = None  # from set_prices()
_table: _Table | None = None
_table_env: str | None = None  # SPYGLASS_PRICES_FILE value the cached table was built with


# ------------------------------------------------------------------------ validation


def _validate(data: Any, origin: str) -> dict[str, dict[str, Any]]:
    """``{model: {"provider", "aliases", "prices": [entry, ...]}}`` from a table, checked.

    Accepts the full shape (``{"version", "models": {...}}``) or a bare ``models``
    mapping, and per model either ``{"prices": [...]}`` or a single price entry
    (``{"input": 1.0, "output": 2.0}``), whose effective date defaults to 1970-01-01.
    """
    if not isinstance(data, dict):
        raise PricingError(f"{origin}: expected a JSON object, got {type(data).__name__}")
    models = data.get("models", data)
    if not isinstance(models, dict):
        raise PricingError(f"{origin}: 'models' must be an object mapping model name to prices")
    out: dict[str, dict[str, Any]] = {}
    for name, spec in models.items():
        where = f"{origin}: models.{name}"
        if name in ("version", "currency", "unit", "source", "compiled"):
            continue  # table metadata when a bare mapping was given
        if not isinstance(name, str) or not name.strip():
            raise PricingError(f"{origin}: model names must be non-empty strings")
        if not isinstance(spec, dict):
            raise PricingError(f"{where} must be an object with 'prices' or 'input'/'output'")
        entries = spec.get("prices", [spec] if "input" in spec or "output" in spec else None)
        if not isinstance(entries, list) or not entries:
            raise PricingError(f"{where} needs a non-empty 'prices' list "
                               "(or 'input' and 'output' prices)")
        aliases = spec.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise PricingError(f"{where}.aliases must be a list of strings")
        provider = spec.get("provider")
        if provider is not None and not isinstance(provider, str):
            raise PricingError(f"{where}.provider must be a string")
        checked = [_validate_entry(name, entry, f"{where}.prices[{i}]", provider)
                   for i, entry in enumerate(entries)]
        out[name.strip().lower()] = {
            "provider": provider,
            "aliases": [a.strip().lower() for a in aliases],
            "prices": sorted(checked, key=lambda e: e.effective_from),
        }
    return out


def _validate_entry(model: str, entry: Any, where: str, provider: str | None) -> ModelPrice:
    if not isinstance(entry, dict):
        raise PricingError(f"{where} must be an object")
    unknown = set(entry) - {*_PRICE_FIELDS, "effective_from", "provider", "aliases", "note"}
    if unknown:
        raise PricingError(f"{where} has unknown field(s) {sorted(unknown)}; "
                           f"known: effective_from, {', '.join(_PRICE_FIELDS)}")
    values: dict[str, float | None] = {}
    for key in _PRICE_FIELDS:
        value = entry.get(key)
        if value is None and key in ("input", "output"):
            raise PricingError(f"{where}.{key} is required (USD per million tokens)")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                  or value < 0 or value != value):
            raise PricingError(f"{where}.{key} must be a non-negative number, got {value!r}")
        values[key] = None if value is None else float(value)
    raw_date = entry.get("effective_from", "1970-01-01")
    try:
        effective = date.fromisoformat(raw_date) if isinstance(raw_date, str) else None
    except ValueError:
        effective = None
    if effective is None:
        raise PricingError(f"{where}.effective_from must be an ISO date (YYYY-MM-DD), "
                           f"got {raw_date!r}")
    return ModelPrice(model=model.strip().lower(), effective_from=effective,
                      input=values["input"] or 0.0, output=values["output"] or 0.0,
                      cached_input=values["cached_input"], cache_write=values["cache_write"],
                      provider=provider)


def _read_file(path: str, source: str = PRICES_FILE_ENV) -> dict[str, dict[str, Any]]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise PricingError(f"price file {path} ({source}) cannot be read: "
                           f"{e.strerror or e}") from None
    try:
        data = json.loads(text)
    except ValueError as e:
        raise PricingError(f"price file {path} ({source}) is not valid JSON: {e}") from None
    return _validate(data, f"price file {path}")


def check_file(path: str, source: str = "given as an argument") -> None:
    """Validate the price file at ``path``; a :class:`PricingError` names ``source``
    (how the file was given) instead of ``SPYGLASS_PRICES_FILE``."""
    _read_file(path, source)


# -------------------------------------------------------------------------- the table


def _builtin_data() -> dict[str, Any]:
    global _builtin
    if _builtin is None:
        raw = json.loads(BUILTIN_PRICES.read_text(encoding="utf-8"))
        _builtin = {"version": str(raw.get("version", "")),
                    "models": _validate(raw, f"built-in price table {BUILTIN_PRICES}")}
    return _builtin


def _build() -> _Table:
    global _table, _table_env
    env = os.environ.get(PRICES_FILE_ENV) or None
    table = _table
    if table is not None and env == _table_env:
        return table
    with _lock:
        if _table is not None and env == _table_env:
            return _table
        builtin = _builtin_data()
        models: dict[str, dict[str, Any]] = dict(builtin["models"])
        version = builtin["version"]
        if env:
            models.update(_read_file(env))
            version += f"+file:{env}"
        if _user is not None:
            models.update(_user)
            version += "+user"
        prices: dict[str, list[ModelPrice]] = {}
        aliases: dict[str, str] = {}
        for name, spec in models.items():
            prices[name] = spec["prices"]
            for alias in spec["aliases"]:
                aliases[alias] = name
        _table = _Table(version=version, prices=prices, aliases=aliases,
                        keys_longest_first=sorted({*prices, *aliases}, key=len, reverse=True))
        _table_env = env
        return _table


def load_prices() -> str:
    """Read and validate the price table now (built-in, override file, ``set_prices``).

    Returns the table version. Raises ``PricingError`` naming the file and field when
    an override is malformed; call it at start-up to fail fast.
    """
    return _build().version


def table_version() -> str:
    """Version of the table in use: the built-in version, plus ``+file:…``/``+user`` layers."""
    return _build().version


def known_models() -> list[str]:
    """Names of the models in the table in use (aliases not included)."""
    return list(_build().prices)


def set_prices(prices: dict[str, Any] | None) -> None:
    """Layer user prices over the built-in table (and the ``SPYGLASS_PRICES_FILE`` file).

    ``prices`` has the shape of ``prices.json`` (``{"models": {...}}``) or is the bare
    ``models`` mapping; a model's value is ``{"prices": [...], "aliases": [...]}`` or one
    entry such as ``{"input": 0.5, "output": 1.5, "cached_input": 0.25}`` (USD per
    million tokens). A model named here replaces that model's built-in entry. Calling
    again replaces the previous user layer; ``None`` removes it. Raises ``PricingError``
    for a malformed table (and changes nothing).
    """
    global _user, _table
    checked = None if prices is None else _validate(prices, "set_prices()")
    with _lock:
        _user = checked
        _table = None


def reset_prices() -> None:
    """Drop the ``set_prices`` layer and re-read ``SPYGLASS_PRICES_FILE`` on next use."""
    global _user, _table
    with _lock:
        _user = None
        _table = None


# ------------------------------------------------------------------- model matching


def _lookup(table: _Table, name: str) -> str | None:
    if name in table.prices:
        return name
    return table.aliases.get(name)


def _candidates(model: str) -> list[str]:
    """Spellings of ``model`` to try, most specific first."""
    name = model.strip().lower()
    out = [name]
    if "/" in name:  # "openai/gpt-4o", "models/gemini-1.5-pro", "openrouter/anthropic/claude…"
        name = name.rsplit("/", 1)[1]
        out.append(name)
    bedrock = _BEDROCK_PREFIX.sub("", name)
    if bedrock != name:
        name = bedrock
        out.append(name)
    if name.startswith("claude"):
        dashed = re.sub(r"(?<=\d)\.(?=\d)", "-", name)  # claude-3.5-sonnet -> claude-3-5-sonnet
        if dashed != name:
            name = dashed
            out.append(name)
    while True:
        stripped = _SNAPSHOT_SUFFIX.sub("", name)
        if stripped == name or not stripped:
            break
        name = stripped
        out.append(name)
    return out


def resolve_model(model: str | None) -> str | None:
    """The price-table model that ``model`` is billed as, or ``None`` when unknown.

    Tries, in order: the exact name or an alias; without a provider prefix
    (``openai/gpt-4o``, Bedrock's ``anthropic.``); Claude's dotted versions
    (``claude-3.5-sonnet``); without snapshot suffixes (``-2024-08-06``,
    ``-20241022``, ``-2411``, ``-001``, ``-latest``, ``-preview``, ``-v2:0``); and
    finally the longest table model that is a ``-``-separated prefix of the name when
    the rest only says "same model" (``-chat``, ``-codex``, ``-latest``, ``-preview``, a
    snapshot number). Anything else (``-mini``, ``-pro``, ``-realtime``, ``-32k``, a
    minor version such as ``claude-opus-4-6``) may be priced differently and is unknown.
    Fine-tuned models (``ft:…``) are unknown: their prices differ from the base model's.
    """
    if not model or not isinstance(model, str):
        return None
    return _resolve(_build(), model)


def _resolve(table: _Table, model: str) -> str | None:
    key = model.strip().lower()
    if key in table.resolved:
        return table.resolved[key]
    found = None
    if not key.startswith("ft:"):
        candidates = _candidates(key)
        for name in candidates:
            found = _lookup(table, name)
            if found:
                break
        if found is None:
            found = _prefix_match(table, candidates[-1])
    if len(table.resolved) < 4096:
        table.resolved[key] = found
    return found


def _prefix_match(table: _Table, name: str) -> str | None:
    for known in table.keys_longest_first:
        if name.startswith(known + "-"):
            rest = name[len(known) + 1:].split("-")
            if all(seg in _SAME_PRICE_SEGMENTS or _SNAPSHOT_SEGMENT.match(seg) for seg in rest):
                return _lookup(table, known)
            return None
    return None


def _as_date(at: datetime | date | None) -> date:
    if at is None:
        return datetime.now(UTC).date()
    if isinstance(at, datetime):
        if at.tzinfo is not None:
            at = at.astimezone(UTC)
        return at.date()
    return at


def price_for(model: str | None, at: datetime | date | None = None) -> ModelPrice | None:
    """The price entry in force for ``model`` at ``at`` (default: now), or ``None``.

    Before a model's first effective date its earliest price applies.
    """
    if not model or not isinstance(model, str):
        return None
    table = _build()  # one snapshot: set_prices in another thread cannot split the lookup
    name = _resolve(table, model)
    if name is None:
        return None
    entries = table.prices[name]
    day = _as_date(at)
    chosen = entries[0]
    for entry in entries:
        if entry.effective_from <= day:
            chosen = entry
    return chosen


def _tokens(name: str, value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a non-negative number of tokens, got {value!r}")
    return int(value)


def cost_usd(
    model: str,
    input_tokens: int,
    output_tokens: int,
    cached_tokens: int = 0,
    at: datetime | date | None = None,
    cache_creation_tokens: int = 0,
) -> float | None:
    """Cost in USD of one call, or ``None`` when ``model`` is not in the price table.

    ``input_tokens`` is the whole prompt, including ``cached_tokens`` (cache hits) and
    ``cache_creation_tokens`` (Anthropic cache writes); those parts are charged at
    their own rates (the input rate when the table has none) and not again as input.
    ``at`` picks the price in force on that date (default: today, UTC). Raises
    ``ValueError`` for a negative or non-numeric token count.
    """
    inp = _tokens("input_tokens", input_tokens)
    out = _tokens("output_tokens", output_tokens)
    cached = _tokens("cached_tokens", cached_tokens)
    written = _tokens("cache_creation_tokens", cache_creation_tokens)
    price = price_for(model, at)
    if price is None:
        return None
    # Providers report cache parts within the prompt; never bill more cache than prompt.
    cached = min(cached, inp)
    written = min(written, inp - cached)
    uncached = inp - cached - written
    cached_rate = price.input if price.cached_input is None else price.cached_input
    write_rate = price.input if price.cache_write is None else price.cache_write
    total = (uncached * price.input + cached * cached_rate + written * write_rate
             + out * price.output) / 1_000_000
    return round(total, 12)
