"""Spyglass's own attributes (``common/attributes.py``, written by ``@op``)."""

from __future__ import annotations

from typing import Any

from collector.ingest.conventions.rules import CONVERTED, MULTI, PRESENT, Rule, identity
from collector.ingest.values import as_float, as_int, to_json_text
from common import attributes as A


def _lower(value: Any) -> str:
    return str(value).lower()


RULES = (
    Rule(A.OP_KIND, "kind", convert=_lower),
    Rule(A.OP_NAME, "name"),
    Rule(A.INPUTS, "input", PRESENT, to_json_text),
    Rule(A.OUTPUT, "output", PRESENT, to_json_text),
    Rule(A.COST_USD, "cost_usd", CONVERTED, as_float),
    Rule(A.USAGE_CACHED_TOKENS, "cached_tokens", PRESENT, as_int),
    Rule(A.USAGE_TOTAL_TOKENS, "total_tokens", PRESENT, as_int),
    Rule(A.USAGE_CACHE_CREATION_TOKENS, "cache_creation_tokens", PRESENT, as_int),
    Rule(A.USER_ID, "user_id"),
    Rule(A.SESSION_ID, "session_id"),
    Rule(A.TAGS, "tags", MULTI, identity),
    Rule(A.METADATA, "metadata", MULTI, identity),
)
