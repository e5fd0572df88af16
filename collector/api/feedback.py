"""``POST /api/feedback`` and ``GET /api/feedback``: scores, labels and comments on traces."""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import Body, Parameter

from collector.queries.access import scoped_project, storage_of
from collector.queries.cursor import decode_cursor, encode_cursor
from collector.queries.errors import (
    COMMON_ERRORS,
    EXCEPTION_HANDLERS,
    ApiError,
    BadParameter,
    NotFound,
    error_responses,
    reject_unknown_parameters,
)
from collector.queries.params import parse_choice, parse_hex_id, parse_limit, parse_range
from collector.queries.sql import (
    TIME_TYPE,
    Filters,
    as_int,
    parse_json_text,
    rfc3339_from_micros,
    to_ch_time,
)
from collector.queries.traces import locate_trace

SOURCES = ("human", "scorer", "judge")
_FIELDS = {"trace_id", "span_id", "project", "name", "value", "source", "author", "comment",
           "metadata"}
MAX_NAME = 200
MAX_TEXT = 100_000


class FeedbackIn(msgspec.Struct, kw_only=True):
    """A score, label or comment on a trace (or one span of it).

    ``value`` is a number, a boolean or a string label. ``project`` is needed only for a
    trace the collector has not stored yet (with an API key, it is the key's project)."""

    trace_id: str
    name: str
    value: float | bool | str
    span_id: str | None = None
    project: str | None = None
    source: str = "human"
    author: str = ""
    comment: str = ""
    metadata: dict[str, Any] | None = None


class Feedback(msgspec.Struct, kw_only=True):
    """One stored feedback item."""

    id: str
    project: str
    trace_id: str
    span_id: str | None
    name: str
    value: float | bool | str
    source: str
    author: str | None
    comment: str | None
    metadata: dict[str, Any] | None
    created_at: str


class FeedbackList(msgspec.Struct, kw_only=True):
    """Feedback oldest first; ``next_cursor`` continues the listing when there is more."""

    feedback: list[Feedback]
    next_cursor: str | None


def _string(body: dict[str, Any], field: str, required: bool, max_len: int) -> str:
    value = body.get(field)
    if value is None:
        if required:
            raise BadParameter(field, "is required")
        return ""
    if not isinstance(value, str):
        raise BadParameter(field, f"must be a string, got {type(value).__name__}")
    if required and not value.strip():
        raise BadParameter(field, "must not be empty")
    if len(value) > max_len:
        raise BadParameter(field, f"is longer than {max_len} characters")
    return value


def validate_feedback(body: Any) -> FeedbackIn:
    """Check a request body field by field; BadParameter names the first bad field."""
    if not isinstance(body, dict):
        raise ApiError("the body must be a JSON object")
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise BadParameter(unknown[0], f"unknown field (known: {', '.join(sorted(_FIELDS))})")
    trace_id = parse_hex_id(_string(body, "trace_id", True, 64), "trace_id", 32)
    span_raw = body.get("span_id")
    span_id = parse_hex_id(_string(body, "span_id", False, 64), "span_id", 16) if span_raw else None
    name = _string(body, "name", True, MAX_NAME)
    if "value" not in body or body["value"] is None:
        raise BadParameter("value", "is required (a number, true/false or a string label)")
    value = body["value"]
    if isinstance(value, bool):
        pass
    elif isinstance(value, int | float):
        if not math.isfinite(value):
            raise BadParameter("value", "must be a finite number")
        value = float(value)
    elif isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise BadParameter("value", f"is longer than {MAX_TEXT} characters")
    else:
        raise BadParameter("value", f"must be a number, true/false or a string, got "
                                    f"{type(value).__name__}")
    source = parse_choice(_string(body, "source", False, 20) or "human", "source", SOURCES)
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise BadParameter("metadata", "must be a JSON object")
    project = _string(body, "project", False, 128) or None
    return FeedbackIn(trace_id=trace_id, span_id=span_id, name=name.strip(), value=value,
                      project=project, source=source or "human",
                      author=_string(body, "author", False, MAX_NAME),
                      comment=_string(body, "comment", False, MAX_TEXT), metadata=metadata)


def _value_of(row: dict[str, Any]) -> float | bool | str:
    kind = row["value_type"]
    if kind == "bool":
        return bool(row["value_number"])
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


class FeedbackController(Controller):
    """Feedback on traces and spans: human ratings, scorer results, judge verdicts."""

    path = "/api/feedback"
    exception_handlers = EXCEPTION_HANDLERS
    before_request = reject_unknown_parameters
    tags = ["feedback"]

    @post("/", sync_to_thread=True, responses=error_responses(400, 401, 403, 404), status_code=201)
    def create_feedback(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[dict[str, Any], Body(
            description="trace_id, name, value (number | true/false | string label), and "
                        "optionally span_id, project, source (human|scorer|judge), author, "
                        "comment, metadata (object)")],
    ) -> Feedback:
        """Attach a score, label or comment to a trace or span. 400 names the first bad
        field; 404 when the trace is unknown and no ``project`` says where it belongs (with
        an API key: unknown in the key's project; the answer does not say whether it
        exists in another one)."""
        item = validate_feedback(data)
        storage = storage_of(request)
        project = scoped_project(request, item.project)
        if item.project is None:
            # Without an explicit project the trace must exist — in the API key's project
            # when there is a key. The answer is the same whether the trace exists in
            # another project or nowhere, so a key learns nothing about other projects.
            located = locate_trace(storage, item.trace_id, project)
            if not located:
                raise NotFound(f"no trace with id {item.trace_id}; pass 'project' to attach "
                               "feedback to a trace that has not arrived yet")
            project = located[0]["project"]
        now = datetime.now(UTC)
        is_text = isinstance(item.value, str)
        row = {
            "id": uuid.uuid4().hex,
            "project": project,
            "trace_id": item.trace_id,
            "span_id": item.span_id or "",
            "name": item.name,
            "value_type": "bool" if isinstance(item.value, bool) else ("string" if is_text else "number"),
            "value_number": None if is_text else float(item.value),
            "value_string": item.value if is_text else "",
            "source": item.source,
            "author": item.author,
            "comment": item.comment,
            "metadata": json.dumps(item.metadata) if item.metadata else "",
            "created_at": to_ch_time(now),
        }
        storage.insert("feedback", [row])
        stored = storage.query(f"{_SELECT} WHERE project = {{project:String}} AND name = "
                               "{name:String} AND id = {id:String}",
                               {"project": project, "name": item.name, "id": row["id"]})
        return _feedback_of(stored[0])

    @get("/", sync_to_thread=True, responses=COMMON_ERRORS)
    def list_feedback(
        self,
        request: Request[Any, Any, Any],
        trace_id: str | None = None,
        span_id: str | None = None,
        project: str | None = None,
        name: str | None = None,
        source: str | None = Parameter(default=None, description="human | scorer | judge"),
        since: str | None = Parameter(default=None, description="RFC 3339 or relative; on creation time"),
        until: str | None = None,
        limit: int | None = Parameter(default=None, description="1-10000, default 1000"),
        cursor: str | None = None,
    ) -> FeedbackList:
        """Feedback matching every given filter, oldest first: a trace's feedback with
        ``trace_id``, or a score over time with ``project``, ``name`` and ``since``."""
        page = parse_limit(limit, 1000, 10_000)
        window = parse_range(since, until)
        where = Filters()
        where.eq("project", scoped_project(request, project))
        if trace_id:
            where.eq("trace_id", parse_hex_id(trace_id, "trace_id", 32))
        if span_id:
            where.eq("span_id", parse_hex_id(span_id, "span_id", 16))
        where.eq("name", name)
        where.eq("source", parse_choice(source, "source", SOURCES))
        if window.since is not None:
            where.add(f"created_at >= {where.param(to_ch_time(window.since), TIME_TYPE)}")
        if window.until is not None:
            where.add(f"created_at < {where.param(to_ch_time(window.until), TIME_TYPE)}")
        after = decode_cursor(cursor, "feedback", (int, str))
        if after is not None:
            where.add(f"(toUnixTimestamp64Nano(created_at), id) > "
                      f"({where.param(after[0], 'Int64')}, {where.param(after[1], 'String')})")
        rows = storage_of(request).query(
            f"{_SELECT} {where.sql()} ORDER BY created_at, id LIMIT {page + 1}", where.params)
        more = len(rows) > page
        rows = rows[:page]
        next_cursor = (encode_cursor("feedback", [as_int(rows[-1]["created_ns"]), rows[-1]["id"]])
                       if more else None)
        return FeedbackList(feedback=[_feedback_of(r) for r in rows], next_cursor=next_cursor)


ROUTES = [FeedbackController]
