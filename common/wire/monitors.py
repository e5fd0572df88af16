"""Bodies of ``/api/monitors``: online monitors stored in the collector and run by its
monitors worker (``scorers.monitors.service``, loaded through the ``spyglass.workers``
entry-point group)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

FILTER_KEYS = ("name", "kind", "model", "status", "user_id", "session_id", "tag")


class MonitorIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """A monitor: a filter on a project's spans, a sample rate and the scorers to run, as in a
    monitors file (``scorers``: names like ``pii``, ``{"type": ..., options}`` or
    ``module:attr``). ``enabled: false`` pauses it. It scores spans that start after it was
    created."""

    project: Annotated[str, Meta(min_length=1, max_length=128)]
    name: Annotated[str, Meta(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:-]+$")]
    scorers: Annotated[list[str | dict[str, Any]], Meta(min_length=1, max_length=20)]
    filter: dict[str, str] = msgspec.field(default_factory=dict)
    sample_rate: Annotated[float, Meta(ge=0.0, le=1.0)] = 1.0
    fields: dict[str, str] | None = None
    enabled: bool = True
    #: USD the monitor's LLM-judge calls may cost per UTC day (priced from each reply's
    #: usage); once spent, judge scorers are skipped until the next UTC day. None: no cap.
    judge_budget_usd_per_day: Annotated[float, Meta(ge=0.0)] | None = None


class MonitorOut(MonitorIn, kw_only=True, omit_defaults=False, forbid_unknown_fields=False):
    """A stored monitor with its id and creation time (the start of what it scores)."""

    id: str
    created_at: str = ""


class MonitorList(msgspec.Struct, kw_only=True):
    """Every monitor, oldest first."""

    monitors: list[MonitorOut]


MONITOR_STATES = ("pending", "running", "budget_exceeded", "error", "stale", "paused")
"""``pending``: no report from the worker yet; ``running``; ``budget_exceeded``: judge scorers
skipped for the rest of the UTC day (the others run); ``error``: a poll, scorer or post
failed within the last minute (``last_error``, ``last_error_at``); ``stale``: no report for over a minute (worker down or overloaded);
``paused``: the monitor is disabled."""


class MonitorStatusIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What the collector's monitors worker reports about one monitor (``PUT
    /api/monitors/{id}/status``, internal). Counters count since the monitor first ran
    (the worker resumes them from the last report after a restart)."""

    running: bool = True
    sampled: Annotated[int, Meta(ge=0)] = 0
    scored: Annotated[int, Meta(ge=0)] = 0
    dropped_backlog: Annotated[int, Meta(ge=0)] = 0
    judge_skipped_budget: Annotated[int, Meta(ge=0)] = 0
    errors: Annotated[int, Meta(ge=0)] = 0
    fetched: Annotated[int, Meta(ge=0)] = 0
    posted: Annotated[int, Meta(ge=0)] = 0
    duplicates: Annotated[int, Meta(ge=0)] = 0
    judge_calls: Annotated[int, Meta(ge=0)] = 0
    judge_cost_usd_today: Annotated[float, Meta(ge=0.0)] = 0.0
    budget_day: str | None = None
    last_run: str | None = None
    last_error: str | None = None
    last_error_at: str | None = None


class MonitorStatus(MonitorStatusIn, kw_only=True, forbid_unknown_fields=False):
    """A monitor's counters (``GET /api/monitors/{id}/status``): spans ``sampled``; scores
    computed (``scored``) and stored (``posted``, of which ``duplicates`` were already
    stored); sampled spans shed because scoring fell behind (``dropped_backlog``); judge
    scores skipped over the day's budget (``judge_skipped_budget``); ``errors``; the end of
    the last poll (``last_run``); the judge spend of ``budget_day`` (UTC) against
    ``judge_budget_usd_per_day``."""

    monitor_id: str
    project: str
    name: str
    state: str
    enabled: bool
    judge_budget_usd_per_day: float | None = None
    budget_exceeded: bool = False
    updated_at: str | None = None
