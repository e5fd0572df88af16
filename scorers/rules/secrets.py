"""Secrets detection: known credential formats and high-entropy strings.

Known formats (provider API keys, private-key blocks, JWTs) are precompiled regular
expressions. Anything else that looks like a credential is caught by Shannon entropy:
long base64-ish or hex tokens whose per-character entropy exceeds a threshold (the same
approach and default limits as Yelp's detect-secrets: 4.5 bits for base64, 3.0 for hex).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from scorers.base import Score, Scorer, ScorerError
from scorers.rules.redact import detection_score

#: name -> (label, pattern, needles). Every match contains one of its needles, so a text
#: without them skips the pattern. Order matters: earlier patterns win overlaps.
PATTERNS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "private_key": (
        "PRIVATE_KEY",
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        r"(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)?",
        ("-----BEGIN",),
    ),
    "openai": ("OPENAI_KEY", r"sk-(?:proj-|svcacct-|admin-|ant-(?:api\d\d-)?)?[A-Za-z0-9_-]{20,}", ("sk-",)),
    "aws_access_key": (
        "AWS_ACCESS_KEY", r"(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA)[0-9A-Z]{16}(?![A-Z0-9])",
        ("AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA"),
    ),
    "github": ("GITHUB_TOKEN", r"(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})",
               ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
    "slack": ("SLACK_TOKEN", r"xox[abposr]-[A-Za-z0-9-]{10,}", ("xox",)),
    "slack_webhook": ("SLACK_WEBHOOK", r"https://hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+",
                      ("hooks.slack.com",)),
    "google_api_key": ("GOOGLE_API_KEY", r"AIza[0-9A-Za-z_-]{35}(?![\w-])", ("AIza",)),
    "stripe": ("STRIPE_KEY", r"(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}", ("_live_", "_test_")),
    "jwt": ("JWT", r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{10,}", ("eyJ",)),
}

# "=" only as base64 padding at the end, so "password=<token>" yields just the token.
_TOKEN = re.compile(r"[A-Za-z0-9+/_\-]{20,}={0,2}")
_HEX = re.compile(r"[0-9a-fA-F]+")
_HAS_DIGIT = re.compile(r"\d")
_HAS_ALPHA = re.compile(r"[A-Za-z]")


def shannon_entropy(s: str) -> float:
    """Shannon entropy of ``s`` in bits per character."""
    if not s:
        return 0.0
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


class Secrets(Scorer):
    """Finds secrets in ``output``; ``value`` is True when any is found, ``passed`` when none."""

    default_name = "secrets"
    higher_is_better = False  # value True means a secret was found

    def __init__(
        self,
        kinds: Iterable[str] | None = None,
        *,
        high_entropy: bool = True,
        base64_threshold: float = 4.5,
        hex_threshold: float = 3.0,
        min_length: int = 20,
        custom: Mapping[str, str] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        chosen = list(kinds) if kinds is not None else list(PATTERNS)
        unknown = [k for k in chosen if k not in PATTERNS]
        if unknown:
            raise ScorerError(f"secrets: unknown kinds {unknown}; known: {list(PATTERNS)}")
        items = [PATTERNS[k] for k in chosen] + [(k.upper(), v, ()) for k, v in (custom or {}).items()]
        self._patterns: list[tuple[str, re.Pattern[str], tuple[str, ...]]] = []
        for label, pattern, needles in items:
            try:
                self._patterns.append((label, re.compile(pattern), needles))
            except re.error as exc:
                raise ScorerError(f"secrets: pattern {label!r} does not compile: {exc}") from exc
        # One scan for every needle tells which patterns can match at all.
        all_needles = sorted({n for _, _, ns in self._patterns for n in ns}, key=len, reverse=True)
        self._needles = re.compile("|".join(map(re.escape, all_needles))) if all_needles else None
        self.high_entropy = high_entropy
        self.base64_threshold = base64_threshold
        self.hex_threshold = hex_threshold
        self.min_length = max(1, min_length)

    def _entropy_label(self, token: str) -> str | None:
        if len(token) < self.min_length:
            return None
        # Ordinary words and identifiers are letters only; keys mix letters and digits.
        if not (_HAS_DIGIT.search(token) and _HAS_ALPHA.search(token)):
            return None
        if _HEX.fullmatch(token):
            return "HIGH_ENTROPY_HEX" if shannon_entropy(token) > self.hex_threshold else None
        return "HIGH_ENTROPY_STRING" if shannon_entropy(token) > self.base64_threshold else None

    def find(self, text: str) -> list[dict[str, Any]]:
        """Non-overlapping findings sorted by position."""
        spans: list[dict[str, Any]] = []
        present = {m.group(0) for m in self._needles.finditer(text)} if self._needles else set()
        for label, pattern, needles in self._patterns:
            if needles and not present.intersection(needles):
                continue
            for m in pattern.finditer(text):
                start, end = m.start(), m.end()
                # A key glued to a longer word is not that key (checked here, not with a
                # lookbehind, so the regex keeps its fast literal-prefix scan).
                if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_-"):
                    continue
                if any(start < s["end"] and s["start"] < end for s in spans):
                    continue
                spans.append({"start": start, "end": end, "entity": label})
        if self.high_entropy:
            # Only words of min_length chars can hold a high-entropy token; str.split finds
            # them faster than scanning the whole text with the token regex.
            pos = 0
            for word in text.split():
                if len(word) < self.min_length:
                    continue
                w_start = text.find(word, pos)
                pos = w_start + len(word)
                for m in _TOKEN.finditer(text, w_start, pos):
                    start, end = m.start(), m.end()
                    if any(start < s["end"] and s["start"] < end for s in spans):
                        continue
                    label = self._entropy_label(m.group(0).strip("=-_"))
                    if label:
                        spans.append({"start": start, "end": end, "entity": label})
        spans.sort(key=lambda s: s["start"])
        return spans

    def _score(self, output: Any) -> Score:
        if not isinstance(output, str):
            output = "" if output is None else str(output)
        return detection_score(self, self.find(output), "kinds")


def secrets(
    kinds: Iterable[str] | None = None,
    *,
    high_entropy: bool = True,
    base64_threshold: float = 4.5,
    hex_threshold: float = 3.0,
    min_length: int = 20,
    custom: Mapping[str, str] | None = None,
    name: str | None = None,
    column_map: Mapping[str, str] | None = None,
) -> Secrets:
    """Detect credentials in ``output``: ``kinds`` from :data:`PATTERNS` (default: all),
    plus high-entropy tokens of at least ``min_length`` chars above the entropy thresholds."""
    return Secrets(
        kinds, high_entropy=high_entropy, base64_threshold=base64_threshold,
        hex_threshold=hex_threshold, min_length=min_length, custom=custom,
        name=name, column_map=column_map,
    )
