"""Span bookkeeping shared by detectors and guardrails: overlap removal and redaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Span = Mapping[str, Any]  # {"start": int, "end": int, "entity": str}


def merge_spans(spans: Iterable[Span]) -> list[dict[str, Any]]:
    """Spans sorted by start, overlapping ones merged (the first one's entity label wins)."""
    ordered = sorted(spans, key=lambda s: (s["start"], -s["end"]))
    merged: list[dict[str, Any]] = []
    for s in ordered:
        if merged and s["start"] < merged[-1]["end"]:
            if s["end"] > merged[-1]["end"]:
                merged[-1]["end"] = s["end"]
            continue
        merged.append({"start": s["start"], "end": s["end"], "entity": s["entity"]})
    return merged


def redact(text: str, spans: Iterable[Span], template: str = "[{entity}]") -> str:
    """``text`` with every span replaced by ``template`` formatted with its entity label."""
    out: list[str] = []
    pos = 0
    for s in merge_spans(spans):
        out.append(text[pos:s["start"]])
        out.append(template.format(entity=s["entity"]))
        pos = s["end"]
    out.append(text[pos:])
    return "".join(out)
