"""``POST /api/feedback`` and ``GET /api/feedback``: scores, labels and comments on traces."""

from __future__ import annotations

import json
import math
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, post
from litestar.params import FromQuery, JSONBody, QueryParameter

from collector.queries.access import scoped_project, storage_of
from collector.queries.controller import NamedDependency, QueryController, TimeRange, query_get
from collector.queries.cursor import decode_cursor, encode_cursor
from collector.queries.errors import BadParameter, NotFound, error_responses
from collector.queries.params import parse_choice, parse_hex_id, parse_limit
from collector.queries.sql import Filters, as_int, parse_json_text, rfc3339_from_micros, to_ch_time
from collector.queries.traces import locate_trace
from common.wire.feedback import (
    MAX_BATCH,
    SOURCES,
    Feedback,
    FeedbackBatch,
    FeedbackBatchResult,
    FeedbackIn,
    FeedbackList,
)


def validate_feedback(body: FeedbackIn) -> FeedbackIn:
    """What the body's types cannot say: normalized ids and name, a finite value, a known
    source. BadParameter names the first bad field."""
    trace_id = parse_hex_id(body.trace_id, "trace_id", 32)
    span_id = parse_hex_id(body.span_id, "span_id", 16) if body.span_id and body.span_id.strip() else None
    if not body.name.strip():
        raise BadParameter("name", "must not be empty")
    value = body.value
    if isinstance(value, float) and not math.isfinite(value):
        raise BadParameter("value", "must be a finite number")
    if body.id is not None and not _CLIENT_ID.match(body.id):
        raise BadParameter("id", "must be 1-64 letters, digits, '-' or '_'")
    source = parse_choice(body.source or "human", "source", SOURCES) or "human"
    return msgspec.structs.replace(body, trace_id=trace_id, span_id=span_id,
                                   name=body.name.strip(), source=source,
                                   project=body.project or None, author=body.author or "",
                                   comment=body.comment or "")


_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _row_of(item: FeedbackIn, project: str, now: datetime) -> dict[str, Any]:
    is_text = isinstance(item.value, str)
    return {
        "id": item.id or uuid.uuid4().hex,
        "project": project,
        "trace_id": item.trace_id,
        "span_id": item.span_id or "",
        "name": item.name,
        "value_type": _type_of(item.value),
        "value_number": None if is_text else float(item.value),
        "value_string": item.value if is_text else "",
        "source": item.source,
        "author": item.author,
        "comment": item.comment,
        "metadata": json.dumps(item.metadata) if item.metadata else "",
        "created_at": to_ch_time(now),
    }


def _type_of(value: float | int | bool | str) -> str:
    # Integers are kept apart from floats so a 1-5 rating comes back as 4, not 4.0; both
    # are stored in value_number (exact for integers up to 2^53, checked on the way in).
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    return "int" if isinstance(value, int) else "number"


def _stored_ids(storage: Any, rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """Which (project, id) of ``rows`` are stored already (the dedup that makes client ids
    idempotent). Per project, so an id says nothing about another project's feedback."""
    found = storage.query(
        "SELECT DISTINCT project, id FROM feedback WHERE project IN {projects:Array(String)} "
        "AND id IN {ids:Array(String)}",
        {"projects": sorted({r["project"] for r in rows}), "ids": [r["id"] for r in rows]})
    return {(r["project"], r["id"]) for r in found}


def _value_of(row: dict[str, Any]) -> int | float | bool | str:
    kind = row["value_type"]
    if kind == "bool":
        return bool(row["value_number"])
    if kind == "int":
        return int(row["value_number"])
    if kind == "number":
        return float(row["value_number"])
    return row["value_string"]


def _feedback_of(row: dict[str, Any]) -> Feedback:
    return Feedback(
        id=row["id"], project=row["project"], trace_id=row["trace_id"],
        span_id=row["span_id"] or None, name=row["name"], value=_value_of(row),
        source=row["source"], author=row["author"] or None, comment=row["comment"] or None,
        metadata=parse_json_text(row["metadata"]) or None,
        created_at=rfc3339_from_micros(row["created_us"]) or "",
    )


_SELECT = ("SELECT id, project, trace_id, span_id, name, value_type, value_number, value_string, "
           "source, author, comment, metadata, toUnixTimestamp64Micro(created_at) AS created_us, "
           "toUnixTimestamp64Nano(created_at) AS created_ns FROM feedback")


class FeedbackController(QueryController):
    """Feedback on traces and spans: human ratings, scorer results, judge verdicts."""

    path = "/api/feedback"
    tags = ["feedback"]

    @post("/", sync_to_thread=True, responses=error_responses(400, 401, 403, 404), status_code=201)
    def create_feedback(self, request: Request[Any, Any, Any],
                        data: JSONBody[FeedbackIn | FeedbackBatch]) -> Feedback | FeedbackBatchResult:
        """Attach a score, label or comment to a trace or span; a list body stores up to
        1000 items in one insert and answers counts instead of the items. An item whose
        ``id`` is already stored is not stored again (idempotent retries). 400 names the
        first bad field; 404 when a trace is unknown and no ``project`` says where it belongs (with
        an API key: unknown in the key's project; the answer does not say whether it exists
        in another one)."""
        items = data if isinstance(data, list) else [data]
        if isinstance(data, list) and not 1 <= len(data) <= MAX_BATCH:
            # Checked here too: the list's own length bounds are not applied inside a union.
            raise BadParameter("body", f"a list body holds 1 to {MAX_BATCH} items, got {len(data)}")
        storage = storage_of(request)
        checked = []
        for index, item in enumerate(items):
            try:
                checked.append(validate_feedback(item))
            except BadParameter as exc:
                if isinstance(data, list):  # which item of the list
                    raise BadParameter(f"[{index}].{exc.name}", str(exc).split(": ", 1)[-1]) from None
                raise
        now = datetime.now(UTC)
        located: dict[str, str] = {}
        rows = [_row_of(item, self._project_of(request, storage, item, located), now) for item in checked]
        seen = _stored_ids(storage, rows)
        fresh = []
        for row in rows:
            if (row["project"], row["id"]) not in seen:  # also folds an id repeated in one body
                seen.add((row["project"], row["id"]))
                fresh.append(row)
        if fresh:
            storage.insert("feedback", fresh)
        if isinstance(data, list):
            return FeedbackBatchResult(stored=len(fresh), duplicates=len(rows) - len(fresh),
                                       ids=[r["id"] for r in rows])
        stored = storage.query(f"{_SELECT} FINAL WHERE project = {{project:String}} AND id = {{id:String}} "
                               "LIMIT 1", {"project": rows[0]["project"], "id": rows[0]["id"]})
        return _feedback_of(stored[0])

    @staticmethod
    def _project_of(request: Request[Any, Any, Any], storage: Any, item: FeedbackIn,
                    located: dict[str, str]) -> str:
        project = scoped_project(request, item.project)
        if item.project is not None:
            return project
        if item.trace_id not in located:
            # Without an explicit project the trace must exist — in the API key's project
            # when there is a key. The answer is the same whether the trace exists in
            # another project or nowhere, so a key learns nothing about other projects.
            found = locate_trace(storage, item.trace_id, project)
            if not found:
                raise NotFound(f"no trace with id {item.trace_id}; pass 'project' to attach "
                               "feedback to a trace that has not arrived yet")
            located[item.trace_id] = found[0]["project"]
        return located[item.trace_id]

    @query_get("/")
    def list_feedback(
        self,
        request: Request[Any, Any, Any],
        project_scope: NamedDependency[str | None],
        window: NamedDependency[TimeRange],
        trace_id: FromQuery[str | None] = None,
        span_id: FromQuery[str | None] = None,
        name: FromQuery[str | None] = None,
        source: Annotated[str | None, QueryParameter(description="human | scorer | judge")] = None,
        limit: Annotated[int | None, QueryParameter(description="1-10000, default 1000")] = None,
        cursor: Annotated[str | None, QueryParameter(
            description="next_cursor of the previous page")] = None,
    ) -> FeedbackList:
        """Feedback matching every given filter, oldest first: a trace's feedback with
        ``trace_id``, or a score over time with ``project``, ``name`` and ``since``
        (``since``/``until`` bound the creation time)."""
        page = parse_limit(limit, 1000, 10_000)
        where = Filters()
        where.eq("project", project_scope)
        if trace_id:
            where.eq("trace_id", parse_hex_id(trace_id, "trace_id", 32))
        if span_id:
            where.eq("span_id", parse_hex_id(span_id, "span_id", 16))
        where.eq("name", name)
        where.eq("source", parse_choice(source, "source", SOURCES))
        where.time_range("created_at", window.since, window.until)
        after = decode_cursor(cursor, "feedback", (int, str))
        if after is not None:
            where.add(f"(toUnixTimestamp64Nano(created_at), id) > "
                      f"({where.param(after[0], 'Int64')}, {where.param(after[1], 'String')})")
        rows = storage_of(request).query(
            f"{_SELECT} FINAL {where.sql()} ORDER BY created_at, id LIMIT {page + 1}", where.params)
        more = len(rows) > page
        rows = rows[:page]
        next_cursor = (encode_cursor("feedback", [as_int(rows[-1]["created_ns"]), rows[-1]["id"]])
                       if more else None)
        return FeedbackList(feedback=[_feedback_of(r) for r in rows], next_cursor=next_cursor)


ROUTES = [FeedbackController]
