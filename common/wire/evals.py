"""Bodies of ``/api/evals``: creating a run, storing its rows, finishing and sealing it.

The collector's handlers take these as ``data: ...`` (so ``/schema`` documents them and a
bad body is a 400 naming the field); the evals client builds the same Structs and
encodes them with :func:`msgspec.json.encode`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

RunStatus = Literal["running", "complete", "partial", "failed"]
FinalStatus = Literal["complete", "partial", "failed"]
RowStatus = Literal["ok", "error", "timeout"]
Kind = Literal["binary", "numeric", "label"]

RunId = Annotated[str, Meta(pattern=r"^[0-9a-fA-F]{32}$", description="32 hex characters")]
TraceId = Annotated[str, Meta(pattern=r"^([0-9a-fA-F]{32})?$", description="32 hex, or empty")]
SpanId = Annotated[str, Meta(pattern=r"^([0-9a-fA-F]{16})?$", description="16 hex, or empty")]
VersionId = Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$", description="64 lowercase hex")]
# Bounded by the store's column types (UInt64, UInt32, UInt16), so a body the store cannot
# hold is a 400 naming the field, not a storage error.
Count = Annotated[int, Meta(ge=0, le=2**63 - 1)]
Index = Annotated[int, Meta(ge=0, le=2**32 - 1)]
Small = Annotated[int, Meta(ge=0, le=2**16 - 1)]
Text = Annotated[str, Meta(max_length=100_000)]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Time = Annotated[str, Meta(description="RFC 3339 time")]
#: Rows per ``POST /api/evals/runs/{id}/rows``.
MAX_ROWS_PER_POST = 10_000


class RunDataset(Struct, omit_defaults=True):
    """The dataset version a run evaluates."""

    version_id: VersionId
    name: Annotated[str, Meta(max_length=200)] | None = None
    version: Annotated[str, Meta(max_length=64)] | None = None
    rows: Count = 0


class RunCode(Struct, omit_defaults=True):
    """The code a run evaluated."""

    git_commit: Annotated[str, Meta(max_length=64)] | None = None
    git_dirty: bool | None = None
    fingerprint: Annotated[str, Meta(max_length=200)] | None = None


class RunCreate(Struct, omit_defaults=True):
    """``POST /api/evals/runs``: start a run (status ``running``). ``run_id`` may be chosen
    by the client so spans can carry it before the server answers; an id that already
    exists is refused with 409 (a re-run is a new run)."""

    eval_name: Name
    dataset: RunDataset
    run_id: RunId | None = None
    project: Annotated[str, Meta(max_length=128)] | None = None
    suite: Annotated[str, Meta(max_length=2000)] | None = None
    params: dict[str, Any] = msgspec.field(default_factory=dict)
    code: RunCode | None = None
    started_at: Time | None = None
    row_limit: Count | None = None
    concurrency: Index = 0
    baseline_run_id: RunId | None = None
    status: Literal["running"] = "running"


class ScoreIn(Struct, omit_defaults=True):
    """One scorer's result on one row."""

    scorer: Name
    value: bool | float | str | None = None
    passed: bool | None = None
    reason: Text | None = None
    metadata: dict[str, Any] | None = None
    error: Text | None = None


class RowIn(Struct, omit_defaults=True):
    """One finished row of a run with its scores."""

    row_index: Index
    row_id: Annotated[str, Meta(min_length=1, max_length=1000)]
    status: RowStatus
    row: dict[str, Any] | None = None
    inputs: Any = None
    output: Any = None
    error: Text | None = None
    error_type: Annotated[str, Meta(max_length=200)] | None = None
    attempts: Small = 1
    latency_ms: float | None = None
    input_tokens: Count = 0
    output_tokens: Count = 0
    total_tokens: Count = 0
    cost_usd: float | None = None
    scorer_cost_usd: float | None = None
    trace_id: TraceId | None = None
    span_id: SpanId | None = None
    started_at: Time | None = None
    scores: list[ScoreIn] = msgspec.field(default_factory=list)


class RowsIn(Struct):
    """``POST /api/evals/runs/{id}/rows``: finished rows (at most 10 000 a request). Refused
    with 409 once the run is finished."""

    rows: list[RowIn]


class SummaryIn(Struct, omit_defaults=True):
    """One scorer over a run."""

    scorer: Name
    kind: Kind
    higher_is_better: bool = True
    n: Count = 0
    mean: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    pass_rate: float | None = None
    missing: Count = 0
    errors: Count = 0
    min_delta: Annotated[float, Meta(ge=0)] | None = None
    alpha: Annotated[float, Meta(gt=0, lt=1)] | None = None
    summary: dict[str, Any] = msgspec.field(default_factory=dict)


class FinishIn(Struct, omit_defaults=True):
    """``POST /api/evals/runs/{id}/finish``: seal the run with its status, stats and
    summaries (compared with ``baseline_run_id`` when given). Once only: 409 after."""

    status: FinalStatus
    ended_at: Time | None = None
    stats: dict[str, Any] = msgspec.field(default_factory=dict)
    summaries: list[SummaryIn] = msgspec.field(default_factory=list)
    baseline_run_id: Annotated[str, Meta(max_length=64)] | None = None


class ManifestIn(Struct):
    """``POST /api/evals/runs/{id}/manifest``: the signed manifest of a finished run
    (see :mod:`common.records`). Once only: 409 after, or when the project's log head
    moved (re-sign on the new head)."""

    manifest: dict[str, Any]
    signature: Annotated[str, Meta(pattern=r"^[0-9a-f]{128}$", description="hex Ed25519")]
    public_key: Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$", description="hex raw Ed25519")]


def encode(value: Any) -> bytes:
    """JSON bytes of a wire Struct (or of plain data)."""
    return msgspec.json.encode(value)
