"""The scorer protocol: ``Score``, the ``Scorer`` base class and field binding.

A scorer reads named fields (``output`` and any of ``input``, ``expected``, ``context`` or
other row columns) and returns a :class:`Score`. Callers pass every field they have; a
scorer takes the ones it declares and ignores the rest, so the evals runner can hand the
same row to every scorer. ``column_map`` renames: ``{"output": "answer"}`` makes the
scorer read the ``answer`` column as its ``output``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from scorers import _tracing

ScoreValue = bool | float | str


class ScorerError(Exception):
    """A scorer could not produce a score (missing field, bad configuration, bad reply)."""


class MissingFieldError(ScorerError, KeyError):
    """A scorer was called without a field it requires."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


@dataclass(slots=True)
class Score:
    """One grade of one output.

    ``value`` is a bool (pass/fail), a float (a metric or a judge's scale) or a str (a
    label). ``passed`` is the pass/fail verdict the evals runner and guardrails use: a bool
    value is its own verdict; a float is judged against the scorer's threshold when one is
    set; otherwise it is ``None`` (no verdict, only a number or label).
    """

    name: str
    value: ScoreValue
    reason: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    passed: bool | None = None

    def __post_init__(self) -> None:
        if isinstance(self.value, int) and not isinstance(self.value, bool):
            self.value = float(self.value)
        if self.passed is None and isinstance(self.value, bool):
            self.passed = self.value

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the score."""
        return asdict(self)


_MISSING = object()


def verdict(value: ScoreValue, threshold: float | None, higher_is_better: bool = True) -> bool | None:
    """The pass/fail verdict for ``value``: bools are their own, floats need a threshold."""
    if isinstance(value, bool):
        return value
    if threshold is None or not isinstance(value, int | float) or math.isnan(value):
        return None
    return value >= threshold if higher_is_better else value <= threshold


class Scorer:
    """Base class of every scorer.

    Subclasses declare ``required`` and ``optional`` field names and implement
    :meth:`_score` (sync) and/or :meth:`_ascore` (async, for scorers that do I/O). Users
    call :meth:`score` / :meth:`ascore` (or the scorer itself) with keyword fields, or with
    a single positional string taken as ``output``, or a single positional mapping of fields.
    """

    required: ClassVar[tuple[str, ...]] = ("output",)
    optional: ClassVar[tuple[str, ...]] = ()
    #: Pure Python with no I/O: a guardrail runs these first and inline.
    cheap: ClassVar[bool] = True
    #: True when the scorer's natural implementation is async (network I/O).
    is_async: ClassVar[bool] = False
    #: Which way is better for floats (edit distance: lower).
    higher_is_better: ClassVar[bool] = True
    default_name: ClassVar[str] = "scorer"

    def __init__(
        self,
        *,
        name: str | None = None,
        column_map: Mapping[str, str] | None = None,
        threshold: float | None = None,
    ) -> None:
        self.name = name or self.default_name
        self.column_map: dict[str, str] = dict(column_map or {})
        self.threshold = threshold
        self._traced: dict[tuple[str, bool], Any] = {}

    # -- what subclasses implement -------------------------------------------------------

    def _score(self, **fields: Any) -> Score:
        """Score synchronously; by default drives :meth:`_ascore` to completion."""
        if type(self)._ascore is Scorer._ascore:
            raise NotImplementedError(f"{type(self).__name__} implements neither _score nor _ascore")
        return run_coroutine_sync(self._ascore(**fields))

    async def _ascore(self, **fields: Any) -> Score:
        """Score asynchronously; by default runs :meth:`_score` (in a thread unless cheap)."""
        if type(self)._score is Scorer._score:
            raise NotImplementedError(f"{type(self).__name__} implements neither _score nor _ascore")
        if self.cheap:
            return self._score(**fields)
        return await asyncio.to_thread(self._score, **fields)

    # -- helpers for subclasses -----------------------------------------------------------

    def make_score(
        self,
        value: ScoreValue,
        reason: str | None = None,
        metadata: dict[str, Any] | None = None,
        *,
        passed: bool | None = None,
    ) -> Score:
        """A :class:`Score` named after this scorer, with ``passed`` from the threshold."""
        if passed is None:
            passed = verdict(value, self.threshold, self.higher_is_better)
        return Score(self.name, value, reason, metadata or {}, passed)

    # -- field binding --------------------------------------------------------------------

    def fields_wanted(self) -> tuple[str, ...]:
        """Every field name this scorer reads (required first)."""
        return self.required + self.optional

    def bind(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Pick this scorer's fields out of ``fields``, applying the column map."""
        bound: dict[str, Any] = {}
        for name in self.required:
            source = self.column_map.get(name, name)
            value = fields.get(source, _MISSING)
            if value is _MISSING:
                mapped = f" (mapped from column {source!r})" if source != name else ""
                raise MissingFieldError(
                    f"scorer {self.name!r} needs field {name!r}{mapped}; "
                    f"got fields {sorted(fields)}"
                )
            bound[name] = value
        for name in self.optional:
            source = self.column_map.get(name, name)
            value = fields.get(source, _MISSING)
            if value is not _MISSING:
                bound[name] = value
        return bound

    @staticmethod
    def _collect(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        if not args:
            return kwargs
        if len(args) > 1:
            raise TypeError("pass fields by keyword, or one positional output or mapping")
        first = args[0]
        if isinstance(first, Mapping):
            return {**first, **kwargs}
        return {"output": first, **kwargs}

    # -- public calls ---------------------------------------------------------------------

    def score(self, *args: Any, **fields: Any) -> Score:
        """Score the given fields; traced as an ``evaluator`` op when tracing is on."""
        bound = self.bind(self._collect(args, fields))
        return self._traced_call(False)(**bound)

    async def ascore(self, *args: Any, **fields: Any) -> Score:
        """Async :meth:`score`; uses the scorer's native async path when it has one."""
        bound = self.bind(self._collect(args, fields))
        return await self._traced_call(True)(**bound)

    __call__ = score

    def score_untraced(self, fields: Mapping[str, Any]) -> Score:
        """Score without emitting a span (guardrails use this for cheap rule checks)."""
        return self._score(**self.bind(fields))

    def _traced_call(self, is_async: bool) -> Any:
        kind = _tracing.current_scorer_kind()
        key = (kind, is_async)
        fn = self._traced.get(key)
        if fn is None:
            fn = _tracing.traced_scorer(self, kind=kind, is_async=is_async)
            self._traced[key] = fn
        return fn

    # -- aggregation and configuration ----------------------------------------------------

    def summarize(self, scores: Sequence[Score]) -> dict[str, Any]:
        """Run-level aggregates: mean of numeric values and pass rate where verdicts exist."""
        return default_summary(scores)

    def with_columns(self, column_map: Mapping[str, str] | None = None, **mapping: str) -> Scorer:
        """A copy of this scorer reading fields from other columns (``output="answer"``)."""
        clone = copy.copy(self)
        clone.column_map = {**self.column_map, **dict(column_map or {}), **mapping}
        clone._traced = {}
        return clone

    def with_name(self, name: str) -> Scorer:
        """A copy of this scorer under another name (two configurations in one eval)."""
        clone = copy.copy(self)
        clone.name = name
        clone._traced = {}
        return clone

    def __repr__(self) -> str:
        extra = f", column_map={self.column_map}" if self.column_map else ""
        return f"{type(self).__name__}(name={self.name!r}{extra})"


def default_summary(scores: Iterable[Score]) -> dict[str, Any]:
    """Count, mean of numeric values, pass rate of verdicts, and label counts."""
    scores = list(scores)
    out: dict[str, Any] = {"count": len(scores)}
    numbers = [
        float(s.value) for s in scores
        if isinstance(s.value, int | float) and not (isinstance(s.value, float) and math.isnan(s.value))
    ]
    if numbers:
        out["mean"] = sum(numbers) / len(numbers)
    verdicts = [s.passed for s in scores if s.passed is not None]
    if verdicts:
        out["pass_rate"] = sum(verdicts) / len(verdicts)
    labels = [s.value for s in scores if isinstance(s.value, str)]
    if labels:
        counts: dict[str, int] = {}
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
        out["labels"] = counts
    return out


_POOL: concurrent.futures.ThreadPoolExecutor | None = None


def run_coroutine_sync(coro: Any) -> Any:
    """Run ``coro`` to completion from sync code, even when an event loop is running here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    # Inside a running loop (e.g. a sync scorer called from async code) asyncio.run would
    # fail, so the coroutine gets its own loop on a worker thread.
    global _POOL
    if _POOL is None:
        _POOL = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="spyglass-scorer")
    import contextvars

    ctx = contextvars.copy_context()
    return _POOL.submit(ctx.run, asyncio.run, coro).result()
