"""Reading a judge's reply: JSON in code fences, with chatter around it, loose score types."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from scorers.base import ScorerError
from scorers.judges.templates import Template

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.S)
_LEADING_NUMBER = re.compile(r"^\s*(-?\d+(?:\.\d+)?)(?:\s*(?:/|out of)\s*\d+(?:\.\d+)?)?\b")
_TRUE = {"true", "yes", "pass", "correct", "1", "y"}
_FALSE = {"false", "no", "fail", "incorrect", "0", "n"}


class JudgeReplyError(ScorerError):
    """The judge answered something that is not the JSON object it was asked for."""

    def __init__(self, problem: str, reply: str) -> None:
        shown = reply if len(reply) <= 300 else reply[:300] + "…"
        super().__init__(f"malformed judge reply ({problem}): {shown!r}")
        self.problem = problem
        self.reply = reply


def extract_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text``: whole text, a fenced block, or embedded in prose."""
    candidates = [text.strip()]
    candidates += [m.group(1).strip() for m in _FENCE.finditer(text)]
    for cand in candidates:
        try:
            value = json.loads(cand)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    decoder = json.JSONDecoder()
    for m in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, m.start())
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _find_key(obj: dict[str, Any], names: tuple[str, ...]) -> Any:
    lowered = {k.lower(): v for k, v in obj.items() if isinstance(k, str)}
    for n in names:
        if n in lowered:
            return lowered[n]
    return None


def parse_reply(reply: str | None, template: Template) -> tuple[bool | float, str | None]:
    """(score, reasoning) from a judge reply, or :class:`JudgeReplyError` naming the problem."""
    if reply is None or not str(reply).strip():
        raise JudgeReplyError("empty reply", str(reply or ""))
    obj = extract_json_object(reply)
    if obj is None:
        raise JudgeReplyError("no JSON object found", reply)
    raw = _find_key(obj, ("score", "verdict", "rating", "value", "result"))
    if raw is None:
        raise JudgeReplyError(f"JSON has no 'score' key (keys: {sorted(obj)})", reply)
    reasoning = _find_key(obj, ("reasoning", "reason", "explanation", "rationale"))
    reasoning = str(reasoning) if reasoning is not None else None
    if template.kind == "binary":
        if isinstance(raw, bool):
            return raw, reasoning
        if isinstance(raw, int | float) and raw in (0, 1):
            return bool(raw), reasoning
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE, reasoning
        raise JudgeReplyError(f"score {raw!r} is not true/false", reply)
    value = math.nan
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        value = float(raw)
    elif isinstance(raw, str):
        # "4", "4/5", "4 out of 5", "4.5 (good)": the leading number is the score.
        m = _LEADING_NUMBER.match(raw)
        if m:
            value = float(m.group(1))
    if math.isnan(value):
        raise JudgeReplyError(f"score {raw!r} is not a number", reply)
    lo, hi = template.scale
    if not lo <= value <= hi:
        raise JudgeReplyError(f"score {value:g} is outside the scale {lo:g}-{hi:g}", reply)
    return value, reasoning
