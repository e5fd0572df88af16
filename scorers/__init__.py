"""Spyglass scorers: rule, metric and LLM-judge scorers, guardrails and monitors.

Every scorer reads named fields (``output``, ``input``, ``expected``, ``context`` or any
row column) and returns a :class:`Score`::

    from scorers import exact_match, rouge_l, llm_judge, pii, Guardrail

    exact_match().score(output="Paris", expected="paris")      # Score(value=False, ...)
    Guardrail([pii()], on_fail="redact").check("mail me: a@b.co").text
"""

from scorers import judges as llm_judge
from scorers.base import MissingFieldError, Score, Scorer, ScorerError, default_summary, verdict
from scorers.decorator import FunctionScorer, scorer
from scorers.guardrails import Guardrail, GuardrailBlocked, GuardrailResult
from scorers.metrics import (
    bleu,
    chrf,
    edit_distance,
    edit_similarity,
    embedding_similarity,
    rouge,
    rouge_1,
    rouge_2,
    rouge_l,
    squad_exact_match,
    token_f1,
)
from scorers.rules import (
    banned_words,
    contains,
    contains_all,
    contains_any,
    ends_with,
    exact_match,
    json_schema,
    length,
    pii,
    redact,
    refusal,
    regex,
    secrets,
    starts_with,
    topics,
    valid_json,
)

__all__ = [
    "FunctionScorer", "Guardrail", "GuardrailBlocked", "GuardrailResult", "MissingFieldError",
    "Score", "Scorer", "ScorerError", "banned_words", "bleu", "chrf", "contains", "contains_all",
    "contains_any", "default_summary", "edit_distance", "edit_similarity", "embedding_similarity",
    "ends_with", "exact_match", "json_schema", "length", "llm_judge", "pii", "redact", "refusal",
    "regex", "rouge", "rouge_1", "rouge_2", "rouge_l", "scorer", "secrets", "squad_exact_match",
    "starts_with", "token_f1", "topics", "valid_json", "verdict",
]
