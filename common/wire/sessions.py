"""Answers of ``/api/sessions``: the sessions of a project and one session as a conversation."""

from __future__ import annotations

from typing import Any

import msgspec


class SessionSummary(msgspec.Struct, kw_only=True):
    """One session: the traces that carry its id (in any span) and their totals.

    ``first_time``/``last_time`` are the starts of its earliest and latest span (RFC 3339)."""

    session_id: str
    project: str
    trace_count: int
    span_count: int
    error_count: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost_usd: float
    first_time: str
    last_time: str
    #: A user id its spans carry (sessions usually belong to one user), else None.
    user_id: str | None


class SessionList(msgspec.Struct, kw_only=True):
    """Sessions by latest activity, newest first; pass ``next_cursor`` back as ``cursor``."""

    sessions: list[SessionSummary]
    next_cursor: str | None


class SessionTurn(msgspec.Struct, kw_only=True):
    """One trace of a session: what its root span got (``input``) and answered
    (``output``), JSON parsed, with the trace's totals over all its spans."""

    trace_id: str
    root_name: str
    start_time: str
    end_time: str
    duration_ms: float
    status: str
    span_count: int
    error_count: int
    input: Any
    output: Any
    error: str | None
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost_usd: float
    #: The most-used model of the trace's LLM spans.
    model: str | None
    user_id: str | None


class SessionDetail(msgspec.Struct, kw_only=True):
    """A session as a conversation: its traces in time order (``offset``/``limit`` of
    ``turns_total``), and its totals over all of them."""

    session_id: str
    project: str
    totals: SessionSummary
    turns: list[SessionTurn]
    turns_total: int
    offset: int
