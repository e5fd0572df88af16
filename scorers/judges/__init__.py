"""LLM-judge scorers: ``llm_judge.correctness()``, ``llm_judge.faithfulness()``, ...

Each factory takes the :class:`~scorers.judges.judge.LLMJudge` options (``base_url``,
``api_key``, ``model``, ``temperature``, ``cache``, ``max_concurrency``, ``timeout_s``,
``max_retries``, ``threshold``, ``name``, ``column_map``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from scorers.judges.cache import JudgeCache, open_cache
from scorers.judges.judge import JudgeConfigError, LLMJudge
from scorers.judges.parsing import JudgeReplyError, extract_json_object, parse_reply
from scorers.judges.templates import BUILTIN, Template, rubric_template


def correctness(**kw: Any) -> LLMJudge:
    """Is ``output`` a correct answer to ``input`` given the reference ``expected``? (bool)"""
    return LLMJudge(BUILTIN["correctness"], **kw)


def faithfulness(**kw: Any) -> LLMJudge:
    """Is every claim in ``output`` supported by ``context``? (bool, True = faithful)"""
    return LLMJudge(BUILTIN["faithfulness"], **kw)


def hallucination(**kw: Any) -> LLMJudge:
    """Does ``output`` make claims ``context`` does not support? (bool, True = hallucinated)"""
    return LLMJudge(BUILTIN["hallucination"], **kw)


def answer_relevance(**kw: Any) -> LLMJudge:
    """How directly ``output`` addresses ``input`` (1-5)."""
    return LLMJudge(BUILTIN["answer_relevance"], **kw)


def context_relevance(**kw: Any) -> LLMJudge:
    """How useful the retrieved ``context`` is for ``input`` (1-5)."""
    return LLMJudge(BUILTIN["context_relevance"], **kw)


def toxicity(**kw: Any) -> LLMJudge:
    """Is ``output`` toxic? (bool, True = toxic; passes when not)"""
    return LLMJudge(BUILTIN["toxicity"], **kw)


def bias(**kw: Any) -> LLMJudge:
    """Is ``output`` biased? (bool, True = biased; passes when not)"""
    return LLMJudge(BUILTIN["bias"], **kw)


def coherence(**kw: Any) -> LLMJudge:
    """Coherence of ``output`` (1-5)."""
    return LLMJudge(BUILTIN["coherence"], **kw)


def fluency(**kw: Any) -> LLMJudge:
    """Fluency of ``output`` (1-5)."""
    return LLMJudge(BUILTIN["fluency"], **kw)


def rubric(
    criteria: str,
    *,
    steps: Sequence[str] | None = None,
    scale: tuple[float, float] = (1, 5),
    fields: Sequence[str] = ("input", "output"),
    score_descriptions: Mapping[float, str] | None = None,
    **kw: Any,
) -> LLMJudge:
    """G-Eval style custom criterion graded on ``scale`` from the given ``fields``."""
    name = kw.get("name") or "rubric"
    template = rubric_template(criteria, steps=steps, scale=scale, fields=fields, name=name,
                               score_descriptions=score_descriptions)
    return LLMJudge(template, **kw)


g_eval = rubric

__all__ = [
    "BUILTIN", "JudgeCache", "JudgeConfigError", "JudgeReplyError", "LLMJudge", "Template",
    "answer_relevance", "bias", "coherence", "context_relevance", "correctness",
    "extract_json_object", "faithfulness", "fluency", "g_eval", "hallucination", "open_cache",
    "parse_reply", "rubric", "rubric_template", "toxicity",
]
