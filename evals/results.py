"""What the runner records of a row: its result and each scorer's score, in the shape
``POST /api/evals/runs/{id}/rows`` takes (``common.wire.evals.RowIn``)."""

from __future__ import annotations

import dataclasses
from typing import Any

from evals.binding import jsonable


@dataclasses.dataclass
class ScoreResult:
    """One scorer's result on one row (``error`` set when the scorer raised)."""

    scorer: str
    value: Any = None
    passed: bool | None = None
    reason: str | None = None
    metadata: dict[str, Any] | None = None
    error: str | None = None
    score: Any = None  # the scorers.Score, for the scorer's own summarize()

    def to_api(self) -> dict[str, Any]:
        """The ``scores[]`` item of ``POST /api/evals/runs/{id}/rows``."""
        return {"scorer": self.scorer, "value": self.value, "passed": self.passed,
                "reason": self.reason, "metadata": self.metadata, "error": self.error}


@dataclasses.dataclass
class RowResult:
    """Everything recorded about one row."""

    index: int
    row_id: str
    row: dict[str, Any]
    inputs: Any = None
    output: Any = None
    status: str = "ok"  # ok | error | timeout
    error: str | None = None
    error_type: str | None = None
    attempts: int = 0
    latency_ms: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float | None = None
    scorer_cost_usd: float | None = None
    trace_id: str = ""
    span_id: str = ""
    started_at: str = ""
    scores: list[ScoreResult] = dataclasses.field(default_factory=list)

    def to_api(self) -> dict[str, Any]:
        """The row as ``POST /api/evals/runs/{id}/rows`` takes it."""
        return {
            "row_index": self.index, "row_id": self.row_id, "row": self.row,
            "inputs": jsonable(self.inputs), "output": jsonable(self.output),
            "status": self.status, "error": self.error, "error_type": self.error_type,
            "attempts": self.attempts, "latency_ms": self.latency_ms,
            "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens, "cost_usd": self.cost_usd,
            "scorer_cost_usd": self.scorer_cost_usd, "trace_id": self.trace_id,
            "span_id": self.span_id, "started_at": self.started_at,
            "scores": [s.to_api() for s in self.scores],
        }
