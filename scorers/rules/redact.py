"""Span bookkeeping shared by detectors and guardrails: overlap removal, redaction, and the
Score a detector returns for the spans it found."""

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
    """``text`` with every span replaced by ``template`` formatted with its entity label.

    Spans are clipped to the text; a span wholly outside it (or empty) replaces nothing,
    so a detector's stale offsets can never append a label after the text."""
    out: list[str] = []
    pos = 0
    size = len(text)
    inside = []
    for s in spans:
        start, end = max(int(s["start"]), 0), min(int(s["end"]), size)
        if start < end:
            inside.append({**s, "start": start, "end": end})
    for s in merge_spans(inside):
        out.append(text[pos:s["start"]])
        out.append(template.format(entity=s["entity"]))
        pos = s["end"]
    out.append(text[pos:])
    return "".join(out)


def detection_score(scorer: Any, spans: list[dict[str, Any]], counts_key: str) -> Any:
    """The Score of a detector (pii, secrets): ``value`` True and not passed when ``spans``
    is non-empty, with per-entity counts under ``counts_key`` and the spans in metadata."""
    if not spans:
        return scorer.make_score(False, None, {counts_key: {}, "spans": []}, passed=True)
    counts: dict[str, int] = {}
    for s in spans:
        counts[s["entity"]] = counts.get(s["entity"], 0) + 1
    reason = "found " + ", ".join(f"{n} {e}" for e, n in counts.items())
    return scorer.make_score(True, reason, {counts_key: counts, "spans": spans}, passed=False)
