"""Answers of the aggregate routes: ``/api/stats``, ``/api/values/{field}`` and the
console's ``/api/console/guardrails`` and ``/api/console/scores``."""

from __future__ import annotations

import msgspec


class Point(msgspec.Struct, kw_only=True):
    """Aggregates over the spans of one bucket (or of the whole range, for totals).

    Latency percentiles are None when the bucket has no span."""

    count: int
    errors: int
    traces: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost_usd: float


class TimedPoint(Point, kw_only=True):
    """A :class:`Point` for the bucket starting at ``time`` (RFC 3339)."""

    time: str


class Series(msgspec.Struct, kw_only=True):
    """One line of a chart: a group's buckets (every bucket of the range, zero-filled)."""

    group: str | None
    totals: Point
    points: list[TimedPoint]


class Stats(msgspec.Struct, kw_only=True):
    """Time series plus totals for ``[since, until)``; buckets are ``bucket_seconds`` wide,
    aligned to multiples of that width since the Unix epoch."""

    project: str | None
    since: str
    until: str
    bucket: str
    bucket_seconds: int
    group_by: str | None
    totals: Point
    series: list[Series]


class Value(msgspec.Struct, kw_only=True):
    """One distinct value and how many spans carry it."""

    value: str
    count: int


class Values(msgspec.Struct, kw_only=True):
    """Distinct non-empty values of ``field``, most frequent first."""

    field: str
    values: list[Value]


class Window(msgspec.Struct, kw_only=True):
    """The resolved range and bucket width every aggregate answer starts with."""

    since: str
    until: str
    bucket: str
    bucket_seconds: int


class GuardrailPoint(msgspec.Struct, kw_only=True):
    """Guardrail checks in one bucket: how many passed and failed (by action taken)."""

    time: str
    checks: int
    passed: int
    failed: int
    actions: dict[str, int]


class GuardrailTotal(msgspec.Struct, kw_only=True):
    """One guardrail (span name) over the whole range."""

    name: str
    checks: int
    passed: int
    failed: int


class GuardrailStats(Window, kw_only=True):
    """Verdicts of spans of kind ``guardrail`` (attribute ``spyglass.guardrail.passed``)."""

    totals: GuardrailTotal
    guardrails: list[GuardrailTotal]
    points: list[GuardrailPoint]


class ScorePoint(msgspec.Struct, kw_only=True):
    """Numeric feedback of one name in one bucket: how many and their mean (None if none)."""

    time: str
    count: int
    mean: float | None


class ScoreSeries(msgspec.Struct, kw_only=True):
    """One score name (booleans count as 0/1, so a mean is a pass rate)."""

    name: str
    count: int
    mean: float | None
    points: list[ScorePoint]


class ScoreStats(Window, kw_only=True):
    """Monitor scores over time, the most frequent names first."""

    sources: list[str]
    series: list[ScoreSeries]


class TtftPoint(msgspec.Struct, kw_only=True):
    """Time to first token of the streaming LLM calls in one bucket (all of the range, for
    totals): how many calls recorded it and its percentiles (ms; None when none did)."""

    count: int
    p50_ms: float | None
    p95_ms: float | None


class TimedTtftPoint(TtftPoint, kw_only=True):
    """A :class:`TtftPoint` for the bucket starting at ``time`` (RFC 3339)."""

    time: str


class TtftStats(Window, kw_only=True):
    """Time to first token (``spyglass.llm.time_to_first_token_ms``) of LLM spans over time."""

    totals: TtftPoint
    points: list[TimedTtftPoint]
