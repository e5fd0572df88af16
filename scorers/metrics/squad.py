"""SQuAD-style exact match and token F1 (the official SQuAD v2.0 evaluation's definitions).

Both normalize answers the SQuAD way (lowercase, strip punctuation and the articles
a/an/the, collapse whitespace) and take the best score over several gold answers.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Mapping
from typing import Any

from scorers.base import Score, Scorer
from scorers.metrics.text import _as_text, _references

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCT = frozenset(string.punctuation)


def normalize_answer(s: str) -> str:
    """Lowercase, remove punctuation, articles and extra whitespace (SQuAD's normalization)."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def squad_f1(prediction: str, gold: str) -> float:
    """Token-overlap F1 between normalized answers; two empty answers score 1."""
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    common = Counter(pred_tokens) & Counter(gold_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pred_tokens)
    recall = same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def squad_em(prediction: str, gold: str) -> bool:
    """Exact match of normalized answers."""
    return normalize_answer(prediction) == normalize_answer(gold)


class TokenF1(Scorer):
    """SQuAD token F1 of ``output`` against ``expected`` (best over a list of answers)."""

    required = ("output", "expected")
    default_name = "token_f1"

    def _score(self, output: Any, expected: Any) -> Score:
        pred = _as_text(output, "output", self.name)
        return self.make_score(max(squad_f1(pred, g) for g in _references(expected, self.name)))


class SquadExactMatch(Scorer):
    """SQuAD exact match of ``output`` against ``expected`` (any of a list of answers)."""

    required = ("output", "expected")
    default_name = "squad_exact_match"

    def _score(self, output: Any, expected: Any) -> Score:
        pred = _as_text(output, "output", self.name)
        return self.make_score(any(squad_em(pred, g) for g in _references(expected, self.name)))


def token_f1(
    *, threshold: float | None = None, name: str | None = None,
    column_map: Mapping[str, str] | None = None,
) -> TokenF1:
    """SQuAD token F1 (0-1) of ``output`` vs ``expected``."""
    return TokenF1(threshold=threshold, name=name, column_map=column_map)


def squad_exact_match(
    *, name: str | None = None, column_map: Mapping[str, str] | None = None,
) -> SquadExactMatch:
    """SQuAD exact match (normalized) of ``output`` vs ``expected``."""
    return SquadExactMatch(name=name, column_map=column_map)
