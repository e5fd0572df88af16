"""Bodies of ``/api/alerts``: alert rules on a dashboard series and their history."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

METRICS = ("error_rate", "p95_latency_ms", "cost_per_hour", "token_volume", "monitor_score",
           "guardrail_block_rate")
"""The series an alert can watch (the dashboard's): error share of spans, 95th percentile span
duration, USD per hour, total tokens, the mean of a monitor's score, share of guardrail checks
that blocked."""

Metric = Literal["error_rate", "p95_latency_ms", "cost_per_hour", "token_volume", "monitor_score",
                 "guardrail_block_rate"]
Seconds = Annotated[int, Meta(ge=1, le=30 * 86_400)]


class AlertFilters(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Which spans the series counts (every given field must match); ``score`` names the
    feedback (score name) a ``monitor_score`` alert averages, ``monitor`` narrows it to one
    monitor's scores."""

    name: Annotated[str, Meta(max_length=200)] | None = None
    kind: Annotated[str, Meta(max_length=50)] | None = None
    model: Annotated[str, Meta(max_length=200)] | None = None
    score: Annotated[str, Meta(max_length=200)] | None = None
    monitor: Annotated[str, Meta(max_length=200)] | None = None


class AlertRuleIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """A rule: fire when ``metric`` over the last ``window_s`` (or its relative change against
    the window before, with ``mode: change``; 0.5 means +50%) is ``above``/``below``
    ``threshold``; resolve when it no longer is. After firing, the rule does not fire again
    for ``cooldown_s``. Notifications go to ``webhook_url`` as generic JSON or a Slack
    message (``webhook_format: slack``)."""

    project: Annotated[str, Meta(min_length=1, max_length=128)]
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    metric: Metric
    threshold: float
    window_s: Seconds = 300
    condition: Literal["above", "below"] = "above"
    mode: Literal["value", "change"] = "value"
    cooldown_s: Annotated[int, Meta(ge=0, le=30 * 86_400)] = 3600
    filters: AlertFilters = msgspec.field(default_factory=AlertFilters)
    webhook_url: Annotated[str, Meta(max_length=2000)] | None = None
    webhook_format: Literal["json", "slack"] = "json"
    enabled: bool = True


class AlertRule(AlertRuleIn, kw_only=True, omit_defaults=False, forbid_unknown_fields=False):
    """A stored rule, with its id and its current state (``ok`` or ``firing``)."""

    id: str
    state: str = "ok"
    created_at: str = ""


class AlertList(msgspec.Struct, kw_only=True):
    """Every rule, newest first."""

    alerts: list[AlertRule]


class AlertEvent(msgspec.Struct, kw_only=True):
    """One entry of a rule's history: it ``fired`` or ``resolved`` at ``at`` with the
    series ``value`` (the relative change in ``change`` mode), and what became of its
    notification: ``sent`` (after ``attempts`` tries), ``failed`` (``detail`` says why) or
    ``none`` (no webhook)."""

    alert_id: str
    kind: str
    at: str
    value: float | None
    threshold: float
    notification: str
    attempts: int
    detail: str


class AlertHistory(msgspec.Struct, kw_only=True):
    """A rule's events, newest first."""

    events: list[AlertEvent]
