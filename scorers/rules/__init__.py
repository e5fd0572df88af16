"""Rule scorers: pure Python, no network, fast enough for a request path."""

from scorers.rules.pii import ALL_ENTITIES, ENTITIES, PII, pii
from scorers.rules.redact import merge_spans, redact
from scorers.rules.secrets import PATTERNS, Secrets, secrets, shannon_entropy
from scorers.rules.structure import json_schema, length, valid_json
from scorers.rules.text import (
    Normalizer,
    banned_words,
    contains,
    contains_all,
    contains_any,
    ends_with,
    exact_match,
    refusal,
    regex,
    starts_with,
    topics,
)

__all__ = [
    "ALL_ENTITIES", "ENTITIES", "PATTERNS", "PII", "Normalizer", "Secrets", "banned_words", "contains",
    "contains_all", "contains_any", "ends_with", "exact_match", "json_schema", "length",
    "merge_spans", "pii", "redact", "refusal", "regex", "secrets", "shannon_entropy",
    "starts_with", "topics", "valid_json",
]
