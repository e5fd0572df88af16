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

import threading
from collections import defaultdict
from collections.abc import Callable, MutableMapping
from typing import Any

import msgspec

LLM_KINDS = ("llm", "embedding")
DUPLICATE_PREFIX = "spyglass.duplicate."
_FILL = ("model", "provider", "input", "output")
_TOKENS = ("input_tokens", "output_tokens", "total_tokens", "cached_tokens")
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode
# A row: a dict, or a columns.RowView over one row of a SpanBatch (read/written alike).
Row = MutableMapping[str, Any] | Any


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


def _is_ancestor(anc: str, row: Row, parent_of: dict[str, str]) -> bool:
    """True when span ``anc`` is an ancestor of ``row`` (through spans of this batch)."""
    parent = row["parent_span_id"]
    for _ in range(64):  # bounded: a malformed request could hold a parent cycle
        if not parent:
            return False
        if parent == anc:
            return True
        nxt = parent_of.get(parent)
        if nxt is None:
            return False
        parent = nxt
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


def _groups(rows: list[Row], parent_of: dict[str, str]) -> list[list[int]]:
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
                    _is_ancestor(a["span_id"], b, parent_of)
                    or _is_ancestor(b["span_id"], a, parent_of))):
                parent[find(j)] = find(i)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(rows)):
        groups[find(i)].append(i)
    return [g for g in groups.values() if len(g) > 1]


def _may_repeat(rows: list[Row]) -> bool:
    """Whether two of ``rows`` could be one call: two share a response id, or report the
    same non-zero token counts (the only ways :func:`_groups` joins spans). Most traces
    have neither, and skip the pairwise comparison."""
    rids = [r["_response_id"] for r in rows if r["_response_id"]]
    if len(rids) != len(set(rids)):
        return True
    usage = [(r["input_tokens"], r["output_tokens"]) for r in rows
             if r["input_tokens"] or r["output_tokens"]]
    return len(usage) != len(set(usage))


def mark_in_batch(rows: list[Row], parents: Callable[[], dict[str, str]] | None = None) -> int:
    """Mark duplicates among the LLM rows of one export request (``rows``: its rows, or
    only its LLM/embedding spans with ``parents`` giving span id -> parent span id of
    every span of the request, for ancestry through other spans); returns how many."""
    by_trace: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in rows:
        if row["kind"] in LLM_KINDS:
            by_trace[(row["project"], row["trace_id"])].append(row)
    if not any(len(v) > 1 for v in by_trace.values()):
        return 0
    if not any(len(v) > 1 and _may_repeat(v) for v in by_trace.values()):
        return 0
    parent_of = (parents() if parents is not None
                 else {row["span_id"]: row["parent_span_id"] for row in rows})
    marked = 0
    for llm_rows in by_trace.values():
        if len(llm_rows) < 2 or not _may_repeat(llm_rows):
            continue
        for group in _groups(llm_rows, parent_of):
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


def _stored_call(s: dict[str, Any]) -> dict[str, Any]:
    return {"span_id": s["span_id"], "parent_span_id": s["parent_span_id"],
            "model": s["model"], "input_tokens": int(s["input_tokens"]),
            "output_tokens": int(s["output_tokens"]), "_start_ns": int(s["s"]),
            "_end_ns": int(s["e"]), "_response_id": s["rid"]}


def _match(row: Row, stored: list[dict[str, Any]], new_ids: set[str]) -> str:
    """The span id of the stored call ``row`` repeats, or ""."""
    for s in stored:
        if s["span_id"] in new_ids:
            continue  # the same span re-sent: ReplacingMergeTree handles it
        related = (row["parent_span_id"] == s["span_id"]
                   or s["parent_span_id"] == row["span_id"])
        if _overlap(row, s) and (_same_response(row, s) or (related and _same_usage(row, s))):
            return s["span_id"]
    return ""


class RecentCalls:
    """The LLM calls (not duplicates) this process stored lately, per (project, trace id),
    for the embedded engine, where the data-dir lock makes this process the only writer:
    stored duplicates are then found in memory, not with a query per request (a chDB
    query costs ~1 ms of CPU even for ``SELECT 1``; this lookup cost ~20 µs per span).

    Storage holds what this index holds, plus calls stored before the process started and
    calls evicted from it (the oldest-ending first, past ``max_calls``). Every one of
    those ended at or before :attr:`watermark_ns` (the latest end among them, read from
    storage once, then raised on eviction), and a duplicate must overlap its call in
    time, so only a span starting at or before the watermark needs the storage lookup.
    Thread-safe.
    """

    def __init__(self, storage: Any, max_calls: int = 200_000) -> None:
        self.storage = storage
        self.max_calls = max_calls
        self.watermark_ns: int | None = None  # None: not read from storage yet
        # Values are tuples, not lists: tuples of strings and ints leave the cyclic GC's
        # scans after one pass, so a large index costs the collector nothing per GC.
        self._by_trace: dict[tuple[str, str], tuple[tuple[Any, ...], ...]] = {}
        self._count = 0
        self._lock = threading.Lock()

    def load_watermark(self) -> int:
        """The latest end of an LLM call stored before this index (blocking: a query)."""
        if self.watermark_ns is None:
            rows = self.storage.query(
                "SELECT toUnixTimestamp64Nano(max(end_time)) AS e, count() AS n FROM spans "
                "WHERE kind IN ('llm', 'embedding') AND duplicate_of = ''")
            found = int(rows[0]["e"]) if rows and int(rows[0]["n"]) else -1
            with self._lock:
                if self.watermark_ns is None:
                    self.watermark_ns = found
        return self.watermark_ns

    def candidates(self, project: str, trace_id: str) -> list[dict[str, Any]]:
        """The recent calls of one trace, shaped like the storage lookup's rows."""
        with self._lock:
            entries = self._by_trace.get((project, trace_id), ())
        return [{"span_id": e[0], "parent_span_id": e[1], "model": e[2], "input_tokens": e[3],
                 "output_tokens": e[4], "_start_ns": e[5], "_end_ns": e[6],
                 "_response_id": e[7]} for e in entries]

    def has_trace(self, project: str, trace_id: str) -> bool:
        """Whether a call of this trace is in the index."""
        return (project, trace_id) in self._by_trace

    def mark_and_add(self, cols: dict[str, list[Any]], idx: list[int]) -> int:
        """:func:`mark_against_stored` for LLM rows ``idx`` of a batch's columns ``cols``
        when no storage lookup is needed (every row is newer than the watermark): only
        rows of traces in the index are compared, read column by column. Returns how
        many were marked."""
        from collector.ingest.columns import RowView

        project, trace, dup = cols["project"], cols["trace_id"], cols["duplicate_of"]
        live = [i for i in idx if not dup[i]]
        by_trace = self._by_trace
        hits = [i for i in live if (project[i], trace[i]) in by_trace]
        marked = 0
        if hits:
            span = cols["span_id"]
            new_ids = {span[i] for i in live}
            for i in hits:
                row = RowView(cols, i)
                call = _match(row, self.candidates(project[i], trace[i]), new_ids)
                if call:
                    _mark(row, call)
                    marked += 1
        self.add_columns(cols, [i for i in live if not dup[i]])
        return marked

    def add_columns(self, cols: dict[str, list[Any]], idx: list[int]) -> None:
        """Remember the calls at rows ``idx`` of a batch's columns (not duplicates)."""
        c = cols
        entries = zip([c["project"][i] for i in idx], [c["trace_id"][i] for i in idx],
                      [c["span_id"][i] for i in idx], [c["parent_span_id"][i] for i in idx],
                      [c["model"][i] for i in idx], [c["input_tokens"][i] for i in idx],
                      [c["output_tokens"][i] for i in idx], [c["start_time"][i] for i in idx],
                      [c["end_time"][i] for i in idx], [c["_response_id"][i] for i in idx],
                      strict=True)
        with self._lock:
            by_trace = self._by_trace
            for p, t, *entry in entries:
                by_trace[(p, t)] = (*by_trace.get((p, t), ()), tuple(entry))
            self._count += len(idx)
            if self._count > self.max_calls:
                self._evict()

    def add(self, rows: list[Row]) -> None:
        """Remember the calls among ``rows`` (being stored now)."""
        with self._lock:
            for r in rows:
                if r["duplicate_of"]:
                    continue
                key = (r["project"], r["trace_id"])
                entry = (r["span_id"], r["parent_span_id"], r["model"], r["input_tokens"],
                         r["output_tokens"], r["_start_ns"], r["_end_ns"], r["_response_id"])
                self._by_trace[key] = (*self._by_trace.get(key, ()), entry)
                self._count += 1
            if self._count > self.max_calls:
                self._evict()

    def _evict(self) -> None:
        """Drop the traces whose calls ended first until a quarter of the room is free."""
        ends = sorted((max(e[6] for e in v), k) for k, v in self._by_trace.items())
        target = self.max_calls * 3 // 4
        mark = self.watermark_ns if self.watermark_ns is not None else -1
        for end, key in ends:
            if self._count <= target:
                break
            self._count -= len(self._by_trace.pop(key))
            mark = max(mark, end)
        self.watermark_ns = mark


def needs_lookup(rows: list[Row], recent: RecentCalls | None) -> bool:
    """Whether finding stored duplicates of ``rows`` may need storage (blocking work)."""
    if recent is None or recent.watermark_ns is None:
        return any(not r["duplicate_of"] for r in rows)
    mark = recent.watermark_ns
    return any(not r["duplicate_of"] and r["_start_ns"] <= mark for r in rows)


def mark_against_stored(rows: list[Row], storage: Any, recent: RecentCalls | None = None) -> int:
    """Mark spans of ``rows`` that repeat a call already stored (an earlier request).

    With ``recent`` (single-writer storage) the calls this process stored are looked up
    in memory and storage is queried only for spans old enough to overlap calls stored
    before them (see :class:`RecentCalls`); without it, one query per project with LLM
    spans (blocking: run it on a worker thread)."""
    pending: dict[str, list[Row]] = defaultdict(list)
    new_ids: set[str] = set()
    for row in rows:
        if row["kind"] in LLM_KINDS and not row["duplicate_of"]:
            pending[row["project"]].append(row)
            new_ids.add(row["span_id"])
    marked = 0
    mark = -1
    if recent is not None:
        mark = recent.load_watermark() if recent.watermark_ns is None else recent.watermark_ns
        for project, new in pending.items():
            for row in new:
                if recent.has_trace(project, row["trace_id"]):
                    call = _match(row, recent.candidates(project, row["trace_id"]), new_ids)
                    if call:
                        _mark(row, call)
                        marked += 1
    for project, new in pending.items():
        if recent is not None:
            new = [r for r in new if not r["duplicate_of"] and r["_start_ns"] <= mark]
            if not new:
                continue
        lo = min(r["_start_ns"] for r in new) - HOUR_NS
        hi = max(r["_start_ns"] for r in new) + HOUR_NS
        stored = storage.query(lookup_sql(), {
            "project": project, "traces": sorted({r["trace_id"] for r in new}),
            "lo": lo, "hi": hi})
        if not stored:
            continue
        by_trace: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for s in stored:
            by_trace[s["trace_id"]].append(_stored_call(s))
        for row in new:
            call = _match(row, by_trace.get(row["trace_id"], []), new_ids)
            if call:
                _mark(row, call)
                marked += 1
    if recent is not None:
        recent.add([r for rs in pending.values() for r in rs])
    return marked
