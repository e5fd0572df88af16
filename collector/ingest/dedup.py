"""Stacked instrumentation: several LLM spans in one trace that describe the same provider
call (the tracer's auto-patch plus a stock instrumentor, or ``opentelemetry-instrument``
with two OpenAI instrumentors installed) are counted once.

Two LLM/embedding spans of one trace are the same call when their time ranges overlap
and they carry the same ``gen_ai.response.id``, or one is an ancestor of the other and
they report the same model and the same input and output token counts. (Overlap is
required even with equal ids: some OpenAI-compatible servers reuse ids across calls.)

Decided at ingest, so every reader (trace totals, stats, the console's dashboards, evals)
counts a call once without knowing about duplicates:

- Within one export request, the outermost span of a group (earliest start, then latest
  end) is the call; every other span of the group is a duplicate.
- Against spans already stored (an earlier request), the stored span is the call and the
  arriving one is the duplicate.

A duplicate stays in the trace tree with ``duplicate_of`` = the call's span id; its tokens
and cost are moved to attributes ``spyglass.duplicate.{input_tokens,output_tokens,
total_tokens,cached_tokens,cost_usd}`` and its token columns are 0 and ``cost_usd`` NULL.
Within a request, what the call's span lacks (messages, model, provider, tokens, cost) is
filled from its duplicates first, so the counted span is the most complete one.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import msgspec

LLM_KINDS = ("llm", "embedding")
DUPLICATE_PREFIX = "spyglass.duplicate."
_FILL = ("model", "provider", "input", "output")
_TOKENS = ("input_tokens", "output_tokens", "total_tokens", "cached_tokens")
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


def _same_model(a: str, b: str) -> bool:
    """Models match when equal or one is the other plus a snapshot suffix
    (``gpt-4o-mini`` asked for, ``gpt-4o-mini-2024-07-18`` answered)."""
    if not a or not b:
        return True
    return a == b or a.startswith(b + "-") or b.startswith(a + "-")


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a["_start_ns"] <= b["_end_ns"] and b["_start_ns"] <= a["_end_ns"]


def _same_usage(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return ((a["input_tokens"] or a["output_tokens"])
            and a["input_tokens"] == b["input_tokens"]
            and a["output_tokens"] == b["output_tokens"]
            and _same_model(a["model"], b["model"]))


def _same_response(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return bool(a["_response_id"]) and a["_response_id"] == b["_response_id"]


def _is_ancestor(anc: str, row: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> bool:
    """True when span ``anc`` is an ancestor of ``row`` (through spans of this batch)."""
    parent = row["parent_span_id"]
    for _ in range(64):  # bounded: a malformed request could hold a parent cycle
        if not parent:
            return False
        if parent == anc:
            return True
        nxt = by_id.get(parent)
        if nxt is None:
            return False
        parent = nxt["parent_span_id"]
    return False


def _mark(dup: dict[str, Any], call_span_id: str) -> None:
    """Make ``dup`` a visible duplicate of ``call_span_id`` that adds nothing to totals."""
    attrs = _decode(dup["attributes"]) if dup["attributes"] else {}
    for key in _TOKENS:
        if dup[key]:
            attrs[DUPLICATE_PREFIX + key] = dup[key]
        dup[key] = 0
    if dup["cost_usd"] is not None:
        attrs[DUPLICATE_PREFIX + "cost_usd"] = dup["cost_usd"]
    dup["cost_usd"] = None
    dup["attributes"] = _encode(attrs).decode()
    dup["duplicate_of"] = call_span_id


def _fill(call: dict[str, Any], dup: dict[str, Any]) -> None:
    """Give the counted span what only its duplicate knows."""
    for key in _FILL:
        if not call[key] and dup[key]:
            call[key] = dup[key]
    if not (call["input_tokens"] or call["output_tokens"]) and (
            dup["input_tokens"] or dup["output_tokens"]):
        for key in _TOKENS:
            call[key] = dup[key]
    if call["cost_usd"] is None and dup["cost_usd"] is not None:
        call["cost_usd"] = dup["cost_usd"]


def _groups(rows: list[dict[str, Any]], by_id: dict[str, dict[str, Any]]) -> list[list[int]]:
    """Indexes of ``rows`` (LLM spans of one trace) grouped by call (union-find)."""
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(rows):
        for j in range(i + 1, len(rows)):
            b = rows[j]
            if find(i) == find(j) or not _overlap(a, b):
                continue
            if _same_response(a, b) or (_same_usage(a, b) and (
                    _is_ancestor(a["span_id"], b, by_id) or _is_ancestor(b["span_id"], a, by_id))):
                parent[find(j)] = find(i)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(rows)):
        groups[find(i)].append(i)
    return [g for g in groups.values() if len(g) > 1]


def mark_in_batch(rows: list[dict[str, Any]]) -> int:
    """Mark duplicates among ``rows`` (one export request); returns how many."""
    by_trace: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["kind"] in LLM_KINDS:
            by_trace[(row["project"], row["trace_id"])].append(row)
    if not any(len(v) > 1 for v in by_trace.values()):
        return 0
    by_id = {row["span_id"]: row for row in rows}
    marked = 0
    for llm_rows in by_trace.values():
        if len(llm_rows) < 2:
            continue
        for group in _groups(llm_rows, by_id):
            members = sorted((llm_rows[i] for i in group),
                             key=lambda r: (r["_start_ns"], -r["_end_ns"], r["span_id"]))
            call = members[0]
            for dup in members[1:]:
                _fill(call, dup)
                _mark(dup, call["span_id"])
                marked += 1
    return marked


def lookup_sql() -> str:
    """Stored LLM spans of some traces, with what matching needs."""
    return (
        "SELECT trace_id, span_id, parent_span_id, model, input_tokens, output_tokens, "
        "toUnixTimestamp64Nano(start_time) AS s, toUnixTimestamp64Nano(end_time) AS e, "
        "JSONExtractString(attributes, 'gen_ai.response.id') AS rid "
        "FROM spans FINAL WHERE project = {project:String} AND trace_id IN {traces:Array(String)} "
        "AND start_time BETWEEN fromUnixTimestamp64Nano({lo:Int64}) "
        "AND fromUnixTimestamp64Nano({hi:Int64}) "
        "AND kind IN ('llm', 'embedding') AND duplicate_of = ''"
    )


HOUR_NS = 3600 * 1_000_000_000


def mark_against_stored(rows: list[dict[str, Any]], storage: Any) -> int:
    """Mark spans of ``rows`` that repeat a call already stored (an earlier request).

    One query per project with LLM spans; runs on a worker thread (it blocks)."""
    pending: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["kind"] in LLM_KINDS and not row["duplicate_of"]:
            pending[row["project"]].append(row)
    marked = 0
    for project, new in pending.items():
        lo = min(r["_start_ns"] for r in new) - HOUR_NS
        hi = max(r["_start_ns"] for r in new) + HOUR_NS
        stored = storage.query(lookup_sql(), {
            "project": project, "traces": sorted({r["trace_id"] for r in new}),
            "lo": lo, "hi": hi})
        if not stored:
            continue
        by_trace: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for s in stored:
            by_trace[s["trace_id"]].append({
                "span_id": s["span_id"], "parent_span_id": s["parent_span_id"],
                "model": s["model"], "input_tokens": int(s["input_tokens"]),
                "output_tokens": int(s["output_tokens"]), "_start_ns": int(s["s"]),
                "_end_ns": int(s["e"]), "_response_id": s["rid"]})
        new_ids = {r["span_id"] for r in new}
        for row in new:
            for s in by_trace.get(row["trace_id"], ()):
                if s["span_id"] in new_ids:
                    continue  # the same span re-sent: ReplacingMergeTree handles it
                related = (row["parent_span_id"] == s["span_id"]
                           or s["parent_span_id"] == row["span_id"])
                if _overlap(row, s) and (_same_response(row, s) or (
                        related and _same_usage(row, s))):
                    _mark(row, s["span_id"])
                    marked += 1
                    break
    return marked
