"""Attribute conventions as tables (the types; ``__init__`` compiles them): attribute name -> canonical field.

One module per convention (``spyglass``, ``genai``, ``openinference``, ``openllmetry``);
each declares

- ``RULES``: :class:`Rule` rows, one per attribute that fills a scalar field (kind,
  model, tokens, user id, ...), in the order the convention prefers them;
- ``FAMILIES``: attribute families known by prefix (``llm.input_messages.N.…``);
- ``compose(attrs, kind, families) -> (input, output)``: the messages a convention
  builds from several attributes at once (called only when one of its attributes is
  present; ``families``: the prefixes of its families the span carries).

:func:`compile_table` merges them into one dict consulted once per attribute, so a span
costs one dict lookup per attribute whatever the number of conventions.
``CONVENTIONS`` is the order they rank in: for every field, the first convention (and
within it the first rule) that names a value wins — Spyglass, then GenAI, then
OpenInference, then OpenLLMetry. Every attribute a rule or family names is consumed
(left out of the stored ``attributes``) whether or not it won, unless its rule says
``take=False``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

# How a rule accepts a value: TRUTHY (a non-empty value), PRESENT (any value, even 0 or
# ""), CONVERTED (the converted value is not None: e.g. a cost that parses as a number).
TRUTHY, PRESENT, CONVERTED, MULTI = 0, 1, 2, 3

# Canonical scalar fields, as slots of the per-span value list (normalize.py reads them).
FIELDS = ("kind", "name", "model", "provider", "input", "output", "input_tokens",
          "output_tokens", "total_tokens", "cached_tokens", "cache_creation_tokens",
          "response_id", "cost_usd", "user_id", "session_id", "tags", "metadata")
SLOT = {name: i for i, name in enumerate(FIELDS)}


class Rule(NamedTuple):
    """Attribute ``key`` fills ``field`` with ``convert(value)`` when ``mode`` accepts it.

    ``field`` None: the attribute only feeds the convention's ``compose`` (messages).
    ``mode`` MULTI: every convention's value is merged (tags, metadata), in rank order."""

    key: str
    field: str | None
    mode: int = TRUTHY
    convert: Callable[[Any], Any] = str
    take: bool = True


class Family(NamedTuple):
    """Attributes ``<prefix>…``; with ``indexed`` only ``<prefix>N`` / ``<prefix>N.…`` (N
    digits) belong to it. ``field`` names a MULTI field the member fills with
    ``(suffix, value)`` (OpenLLMetry association properties -> metadata); None: the
    member feeds ``compose``."""

    prefix: str
    indexed: bool
    field: str | None = None


def identity(value: Any) -> Any:
    """The value as it is (a rule whose field takes the raw attribute)."""
    return value


class Entry(NamedTuple):
    """A compiled rule: value slot (-1: compose input only), rank, mode, conversion, the
    bit of the convention whose ``compose`` it feeds (0: none), consumed or not."""

    slot: int
    rank: int
    mode: int
    convert: Callable[[Any], Any]
    compose_bit: int
    take: bool


class Table(NamedTuple):
    """Every convention compiled: exact keys, prefix families, compose functions."""

    exact: dict[str, tuple[Entry, ...]]
    prefixes: tuple[str, ...]
    families: tuple[tuple[str, bool, int, int, int], ...]  # prefix, indexed, slot, rank, bit
    composers: tuple[tuple[int, Callable[..., tuple[str, str]], int], ...]  # bit, fn, rank


RANK_STEP = 1000  # ranks: convention index * RANK_STEP + rule index within the convention


def compile_table(conventions: tuple[Any, ...]) -> Table:
    """Merge the conventions' ``RULES``/``FAMILIES``/``compose`` into one :class:`Table`."""
    exact: dict[str, list[Entry]] = {}
    families: list[tuple[str, bool, int, int, int]] = []
    composers: list[tuple[int, Callable[..., tuple[str, str]], int]] = []
    for ci, conv in enumerate(conventions):
        base = ci * RANK_STEP
        bit = 1 << ci if hasattr(conv, "compose") else 0
        if bit:
            composers.append((bit, conv.compose, base))
        for ri, rule in enumerate(getattr(conv, "RULES", ())):
            slot = SLOT[rule.field] if rule.field else -1
            exact.setdefault(rule.key, []).append(
                Entry(slot, base + ri, rule.mode, rule.convert, 0 if rule.field else bit,
                      rule.take))
        for fi, fam in enumerate(getattr(conv, "FAMILIES", ())):
            slot = SLOT[fam.field] if fam.field else -1
            families.append((fam.prefix, fam.indexed, slot, base + 900 + fi,
                             0 if fam.field else bit))
    # A key two conventions name: consumed if any consumes it.
    merged = {k: tuple(v) for k, v in exact.items()}
    return Table(merged, tuple(f[0] for f in families), tuple(families), tuple(composers))
