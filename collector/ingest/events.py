"""GenAI message events from OTLP logs, attached to the span they belong to.

Instrumentors that follow the GenAI semantic conventions may send a call's messages as log
records instead of span attributes (the official OpenAI instrumentor does by default):
``gen_ai.system.message``, ``gen_ai.user.message``, ``gen_ai.assistant.message``,
``gen_ai.tool.message`` and ``gen_ai.choice`` (body = the message), or one
``gen_ai.client.inference.operation.details`` record carrying ``gen_ai.input.messages`` /
``gen_ai.output.messages``. Each record has the trace and span id of its call.

Design (merge at ingest, both orders): every message is stored in ``genai_events``
(project, trace_id, span_id, time, seq, direction, message). When the records arrive after
their span, the stored span is re-inserted with its ``input``/``output`` filled (the
ReplacingMergeTree keeps the newer row); when the span arrives later, its row is filled
before it is inserted. Only an empty ``input`` or ``output`` is filled: messages a span
already carries as attributes win. Readers need no join. A span and its events arriving
at the same moment are covered too: each side looks for the other after its own insert
(:func:`fill_after_insert`, :func:`store`), so the later look sees both. Log records that are not GenAI
events are counted and dropped (see docs/instrumentation.md).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from typing import Any

import msgspec

from collector.ingest.conventions.genai import messages as genai_messages
from collector.ingest.normalize import project_of
from collector.ingest.values import any_value, attributes, json_value

log = logging.getLogger("spyglass.ingest")
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode

EVENT_NAME_ATTR = "event.name"
ROLE_EVENTS = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
CHOICE_EVENT = "gen_ai.choice"
DETAILS_EVENT = "gen_ai.client.inference.operation.details"
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
LLM_KINDS = ("llm", "embedding")

# storage -> True (events exist) or the monotonic time "none" was last seen.
_present: weakref.WeakKeyDictionary[Any, bool | float] = weakref.WeakKeyDictionary()
RECHECK_S = 30.0
_lock = threading.Lock()


def _event_name(record: Any, attrs: dict[str, Any]) -> str:
    return getattr(record, "event_name", "") or str(attrs.get(EVENT_NAME_ATTR) or "")


def _message(role: str, body: Any) -> dict[str, Any]:
    """A ``{role, content, tool_calls?, tool_call_id?}`` message from an event body."""
    if not isinstance(body, dict):
        return {"role": role, "content": body}
    msg: dict[str, Any] = {"role": str(body.get("role") or role)}
    if "content" in body:
        msg["content"] = json_value(body["content"]) if isinstance(body["content"], str) and \
            body["content"][:1] in ("[", "{") else body["content"]
    if body.get("tool_calls"):
        msg["tool_calls"] = body["tool_calls"]
    if body.get("id") and msg["role"] == "tool":
        msg["tool_call_id"] = body["id"]
    return msg


def messages_of(record: Any) -> list[tuple[str, dict[str, Any]]]:
    """``[(direction, message)]`` a log record contributes; [] for other logs."""
    attrs = attributes(record.attributes)
    name = _event_name(record, attrs)
    if not name.startswith("gen_ai."):
        return []
    body = any_value(record.body) if record.HasField("body") else None
    if name in ROLE_EVENTS:
        return [("input", _message(ROLE_EVENTS[name], body))]
    if name == CHOICE_EVENT:
        inner = body.get("message") if isinstance(body, dict) else None
        msg = _message("assistant", inner if isinstance(inner, dict) else body or {})
        if isinstance(body, dict) and body.get("finish_reason"):
            msg["finish_reason"] = body["finish_reason"]
        return [("output", msg)]
    out: list[tuple[str, dict[str, Any]]] = []
    system = attrs.get(SYSTEM_INSTRUCTIONS)
    if system is not None:
        parsed = json_value(system)
        text = "".join(str(p.get("content", "")) if isinstance(p, dict) else str(p)
                       for p in (parsed if isinstance(parsed, list) else [parsed]))
        out.append(("input", {"role": "system", "content": text}))
    for key, direction in ((INPUT_MESSAGES, "input"), (OUTPUT_MESSAGES, "output")):
        value = attrs.get(key)
        if value is None and isinstance(body, dict):
            value = body.get(key)
        parsed = genai_messages(value) if value is not None else None
        if isinstance(parsed, list):
            out.extend((direction, m) for m in parsed if isinstance(m, dict))
    return out


def event_rows(req: Any, auth_project: str | None, use_service_name: bool = True
               ) -> tuple[list[dict[str, Any]], int]:
    """``genai_events`` rows of an ``ExportLogsServiceRequest`` and how many log records
    were not GenAI events (dropped)."""
    rows: list[dict[str, Any]] = []
    dropped = 0
    for rl in req.resource_logs:
        project = project_of(attributes(rl.resource.attributes), auth_project, use_service_name)
        for sl in rl.scope_logs:
            for record in sl.log_records:
                found = messages_of(record)
                trace_id, span_id = record.trace_id, record.span_id
                if not found or len(trace_id) != 16 or len(span_id) != 8:
                    dropped += 1
                    continue
                time_ns = record.time_unix_nano or record.observed_time_unix_nano
                for seq, (direction, msg) in enumerate(found):
                    rows.append({"project": project, "trace_id": trace_id.hex(),
                                 "span_id": span_id.hex(), "time_ns": time_ns, "seq": seq,
                                 "direction": direction, "message": _encode(msg).decode()})
    return rows, dropped


def _events_for(storage: Any, keys: set[tuple[str, str]]
                ) -> dict[tuple[str, str], dict[str, list[Any]]]:
    """Stored messages per (trace_id, span_id), in order, split by direction."""
    if not keys:
        return {}
    found = storage.query(
        "SELECT trace_id, span_id, direction, message FROM genai_events "
        "WHERE trace_id IN {traces:Array(String)} AND span_id IN {spans:Array(String)} "
        "ORDER BY trace_id, span_id, time_ns, seq",
        {"traces": sorted({k[0] for k in keys}), "spans": sorted({k[1] for k in keys})})
    out: dict[tuple[str, str], dict[str, list[Any]]] = {}
    for row in found:
        key = (row["trace_id"], row["span_id"])
        if key in keys:
            out.setdefault(key, {"input": [], "output": []})[row["direction"]].append(
                _decode(row["message"]))
    return out


def _apply(row: dict[str, Any], msgs: dict[str, list[Any]]) -> bool:
    changed = False
    for direction in ("input", "output"):
        if not row[direction] and msgs.get(direction):
            row[direction] = _encode(msgs[direction]).decode()
            changed = True
    return changed


def _any_stored(storage: Any) -> bool:
    """Whether ``genai_events`` has rows, so spans of deployments that never send GenAI
    log events cost no lookup. "No" is re-checked every :data:`RECHECK_S` (another
    collector on the same ClickHouse may have stored some)."""
    now = time.monotonic()
    with _lock:
        known = _present.get(storage)
    if known is True:
        return True
    if known is None or now - known >= RECHECK_S:
        rows = storage.query("SELECT count() AS n FROM genai_events")
        found = bool(rows and int(rows[0]["n"]))
        with _lock:
            if _present.get(storage) is not True:
                _present[storage] = True if found else now
        return found
    return False


def merge_into_spans(rows: list[dict[str, Any]], storage: Any) -> int:
    """Fill the empty input/output of arriving LLM spans from events stored before them;
    returns how many spans changed. Blocking (storage)."""
    wanted = {(r["trace_id"], r["span_id"]) for r in rows
              if r["kind"] in LLM_KINDS and (not r["input"] or not r["output"])}
    if not wanted or not _any_stored(storage):
        return 0
    found = _events_for(storage, wanted)
    changed = 0
    for row in rows:
        msgs = found.get((row["trace_id"], row["span_id"]))
        if msgs and _apply(row, msgs):
            changed += 1
    return changed


def fill_after_insert(rows: list[dict[str, Any]], storage: Any) -> int:
    """After ``rows`` are inserted: events stored meanwhile (a logs request racing this
    one, whose look-up ran before these spans were in) are merged now, and the changed
    rows inserted again (the newer copy wins). With :func:`store` doing the mirror image,
    whichever side looks last sees both. Returns how many spans changed. Blocking."""
    changed = [r for r in rows if r["kind"] in LLM_KINDS and (not r["input"] or not r["output"])]
    if not changed or not _any_stored(storage):
        return 0
    found = _events_for(storage, {(r["trace_id"], r["span_id"]) for r in changed})
    updated = [r for r in changed if _apply(r, found.get((r["trace_id"], r["span_id"]), {}))]
    if updated:
        storage.insert("spans", [r.stored() for r in updated])
    return len(updated)


def may_need_lookup(rows: list[Any], storage: Any) -> bool:
    """Whether :func:`merge_into_spans` may query storage for ``rows`` (LLM rows lacking
    messages while events are, or may be, stored); False costs nothing to find out."""
    if not any(not (r["input"] and r["output"]) for r in rows):
        return False
    with _lock:
        known = _present.get(storage)
    return known is True or known is None or time.monotonic() - known >= RECHECK_S


def store(rows: list[dict[str, Any]], storage: Any) -> int:
    """Insert event rows, then fill the spans already stored that they belong to (the
    span rows are re-inserted; the newer copy wins). Returns the spans updated. Blocking."""
    if not rows:
        return 0
    with _lock:  # before the insert: a span checking right after it must look
        _present[storage] = True
    storage.insert_json_lines("genai_events", b"\n".join(_encode(r) for r in rows))
    keys = {(r["trace_id"], r["span_id"]) for r in rows}
    projects = sorted({r["project"] for r in rows})
    traces = sorted({k[0] for k in keys})
    stored = storage.query(
        "SELECT * EXCEPT (ingested_at) FROM spans FINAL "
        "WHERE project IN {projects:Array(String)} AND trace_id IN {traces:Array(String)} "
        "AND span_id IN {spans:Array(String)} "
        "AND start_time BETWEEN (SELECT min(start_min) FROM trace_index "
        "WHERE trace_id IN {traces:Array(String)}) "
        "AND (SELECT max(start_max) FROM trace_index WHERE trace_id IN {traces:Array(String)})",
        {"projects": projects, "traces": traces, "spans": sorted({k[1] for k in keys})})
    spans = [s for s in stored if (s["trace_id"], s["span_id"]) in keys
             and (not s["input"] or not s["output"])]
    if not spans:
        return 0
    found = _events_for(storage, {(s["trace_id"], s["span_id"]) for s in spans})
    updated = [s for s in spans if _apply(s, found.get((s["trace_id"], s["span_id"]), {}))]
    if updated:
        storage.insert_json_lines("spans", b"\n".join(_encode(s) for s in updated))
    return len(updated)
