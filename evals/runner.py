"""The runner: the task on every row with bounded concurrency, a per-row timeout, retries
with backoff, scorers, one ``evaluator`` root span per row, and interruption that keeps
what finished.

Async tasks run on the event loop; sync tasks run in a pool of daemon threads, each call
in a copy of the row's context so its spans nest under the row's span. A sync task that
outlives its timeout cannot be killed: its thread is abandoned (and replaced in the
pool) and the row recorded as timed out.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import inspect
import math
import random
import signal
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from common import attributes as A
from common.timetext import now_rfc3339
from evals.binding import Retryable, TaskBinder, TaskBindingError, jsonable
from evals.datasets import Dataset
from evals.pool import DaemonPool
from evals.results import RowResult, ScoreResult
from evals.tracing import PHASE, SCORER, TASK, Tracing


@dataclasses.dataclass
class RunOptions:
    """How rows are executed."""

    concurrency: int = 8
    timeout_s: float | None = None
    retries: int = 2
    retry_on: tuple[type[BaseException], ...] = ()
    backoff_s: float = 0.25
    max_backoff_s: float = 8.0
    progress: bool = False


def _is_async(fn: Callable[..., Any]) -> bool:
    call = type(fn).__call__ if not inspect.isroutine(fn) else None
    return inspect.iscoroutinefunction(fn) or (call is not None and inspect.iscoroutinefunction(call))


def _now() -> str:
    return now_rfc3339()


_frozen_runs = 0


@contextlib.contextmanager
def _heap_frozen() -> Any:
    """Keep the objects alive before a run out of the collector's full collections.

    A run allocates spans, rows and HTTP objects that live long enough to reach the oldest
    generation, so full collections happen during the run; each one walks the whole heap
    (the collector, chDB and OpenTelemetry modules: ~300k objects) and held the GIL for
    ~0.3 s, stalling every row in flight. ``gc.freeze()`` moves what exists now to the
    permanent generation, which collections skip; ``gc.unfreeze()`` at the end of the last
    concurrent run hands it back, so nothing is kept alive longer than the run.
    """
    global _frozen_runs
    if _frozen_runs == 0 and gc.get_freeze_count():
        # The program froze its heap itself (a pre-fork server, say): leave it as it is,
        # since our unfreeze would undo its freeze.
        yield
        return
    _frozen_runs += 1
    if _frozen_runs == 1:
        gc.freeze()
    try:
        yield
    finally:
        _frozen_runs -= 1
        if _frozen_runs == 0:
            gc.unfreeze()


class Runner:
    """Runs one eval with one params combination over one dataset."""

    def __init__(
        self,
        *,
        eval_name: str,
        task: Callable[..., Any],
        scorers: list[Any],
        params: Mapping[str, Any],
        dataset: Dataset,
        run_id: str,
        tracing: Tracing,
        options: RunOptions,
        on_rows: Callable[[list[dict[str, Any]]], Awaitable[None]] | None = None,
        dataset_label: str | None = None,
    ) -> None:
        self.eval_name = eval_name
        self.task = task
        self.task_is_async = _is_async(task)
        self.scorers = scorers
        self.binder = TaskBinder(task, params)
        self.dataset = dataset
        #: ``name:vN`` of the dataset the rows come from (``--limit`` runs take a prefix).
        self.dataset_label = dataset_label or dataset.label
        self.run_id = run_id
        self.tracing = tracing
        self.options = options
        self.on_rows = on_rows
        self.results: list[RowResult] = []
        self.interrupted = False
        #: The signal that interrupted the run (SIGINT or SIGTERM), if any.
        self.signal: int | None = None
        self._pool: DaemonPool | None = None
        #: Seconds from the first row's start to the last row's end (storing excluded).
        self.rows_wall_s = 0.0
        self._pending: list[RowResult] = []
        #: Seconds between stores of finished rows (Ctrl-C always stores everything). Short,
        #: so rows are stored while others still run and the store after the last row (part
        #: of the run's wall time) holds a fifth of a second of rows, not a whole second's.
        self.flush_interval_s = 0.2
        # The traced function returns only the task's output (the span's output); the full
        # result travels here, so the tracer never serializes it.
        self._done: dict[int, RowResult] = {}
        self._evaluate = tracing.evaluator(f"eval:{eval_name}")(self._evaluate_row)

    def check_binding(self) -> None:
        """Bind the first row now, so a task/row mismatch is a usage error, not N row errors."""
        if len(self.dataset):
            self.binder.bind(self.dataset[0])

    async def run(self) -> list[RowResult]:
        """Run every row; returns results in row order. After SIGINT or SIGTERM the
        finished rows are returned and :attr:`interrupted` is True."""
        with _heap_frozen():
            return await self._run()

    async def _run(self) -> list[RowResult]:
        rows = list(enumerate(self.dataset.rows))
        work = iter(rows)
        if not self.task_is_async:
            self._pool = DaemonPool(min(self.options.concurrency, max(1, len(rows))))
        progress = _Progress(len(rows), self.eval_name) if self.options.progress else None

        async def worker() -> None:
            for index, row in work:
                await self._evaluate(index, row)
                result = self._done.pop(index)
                self.results.append(result)
                self._pending.append(result)
                if progress:
                    progress.advance(result.status != "ok")

        loop = asyncio.get_running_loop()
        workers = [asyncio.create_task(worker()) for _ in range(max(1, min(self.options.concurrency, len(rows))))]

        def interrupt(signum: int) -> None:
            if self.interrupted is False:
                self.interrupted = True
                self.signal = signum
            for w in workers:
                w.cancel()

        # Ctrl-C at a desk, SIGTERM from a CI runner cancelling the job: both stop cleanly.
        installed: list[int] = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, interrupt, signum)
                installed.append(signum)
        self._stop_flushing = asyncio.Event()
        flusher = asyncio.create_task(self._flush_periodically()) if self.on_rows else None
        started = time.monotonic()
        try:
            results = await asyncio.gather(*workers, return_exceptions=True)
            self.rows_wall_s = time.monotonic() - started
            for r in results:
                if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError):
                    raise r
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)
            if flusher:
                # Let a store in progress finish rather than cancel it: cancelled, its thread
                # would still post the batch, which the final flush would then send again.
                self._stop_flushing.set()
                with contextlib.suppress(asyncio.CancelledError):
                    await flusher
            if progress:
                progress.close()
            if self._pool is not None:
                self._pool.close()
                self._pool = None
        await self.flush()
        self.results.sort(key=lambda r: r.index)
        return self.results

    async def flush(self) -> None:
        """Hand finished rows not yet stored to ``on_rows``."""
        if self.on_rows and self._pending:
            batch, self._pending = self._pending, []
            try:
                await self.on_rows([r.to_api() for r in batch])
            except BaseException:
                self._pending = batch + self._pending
                raise

    async def _flush_periodically(self) -> None:
        while not self._stop_flushing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop_flushing.wait(), self.flush_interval_s)
            if self._stop_flushing.is_set():
                return
            # A failed periodic store keeps the rows for the final flush, which raises.
            with contextlib.suppress(Exception):
                await self.flush()

    async def _evaluate_row(self, row_index: int, row: dict[str, Any]) -> Any:
        result = await self._evaluate_row_inner(row_index, row)
        self._done[row_index] = result
        return result.output

    async def _evaluate_row_inner(self, row_index: int, row: dict[str, Any]) -> RowResult:
        trace_int, trace_hex, span_hex = Tracing.current_ids()
        Tracing.annotate({A.EVAL_RUN_ID: self.run_id, A.EVAL_NAME: self.eval_name,
                          A.EVAL_ROW_INDEX: row_index, A.EVAL_DATASET: self.dataset_label})
        result = RowResult(index=row_index, row_id=self.dataset.row_ids[row_index], row=row,
                           trace_id=trace_hex, span_id=span_hex, started_at=_now())
        try:
            kwargs = self.binder.bind(row)
        except TaskBindingError as exc:
            result.status, result.error, result.error_type = "error", str(exc), "TaskBindingError"
            Tracing.annotate({}, error=result.error)
            return result
        result.inputs = kwargs
        token = PHASE.set(TASK)
        start = time.perf_counter()
        try:
            await self._call_task(kwargs, result)
        finally:
            result.latency_ms = (time.perf_counter() - start) * 1000.0
            PHASE.reset(token)
        if result.status == "ok":
            token = PHASE.set(SCORER)
            try:
                result.scores = await self._score(row, kwargs, result.output)
            finally:
                PHASE.reset(token)
        else:
            Tracing.annotate({}, error=result.error)
        for key, value in self.tracing.usage.take(trace_int).items():
            setattr(result, key, value)
        return result

    async def _invoke(self, kwargs: dict[str, Any]) -> Any:
        if self.task_is_async:
            value = await self.task(**kwargs)
        else:
            if self._pool is None:
                self._pool = DaemonPool(self.options.concurrency)
            future, job = self._pool.submit(self.task, kwargs)
            try:
                value = await future
            except asyncio.CancelledError:
                # Timed out or interrupted: a worker may still be inside the task.
                self._pool.abandon(job)
                raise
        if inspect.isawaitable(value):
            value = await value
        return value

    def _retryable(self, exc: BaseException) -> bool:
        return isinstance(exc, Retryable) or (bool(self.options.retry_on)
                                              and isinstance(exc, self.options.retry_on))

    async def _call_task(self, kwargs: dict[str, Any], result: RowResult) -> None:
        timeout = self.options.timeout_s
        while True:
            result.attempts += 1
            try:
                async with asyncio.timeout(timeout) as scope:
                    result.output = await self._invoke(kwargs)
                result.status, result.error, result.error_type = "ok", None, None
                return
            except TimeoutError as exc:
                if scope.expired():
                    result.status, result.error_type = "timeout", "Timeout"
                    result.error = f"timed out after {timeout:g}s"
                    return
                failure: BaseException = exc
            except Exception as exc:
                failure = exc
            result.status, result.error_type = "error", type(failure).__name__
            result.error = f"{type(failure).__name__}: {failure}"
            if not self._retryable(failure) or result.attempts > self.options.retries:
                return
            delay = min(self.options.max_backoff_s, self.options.backoff_s * 2 ** (result.attempts - 1))
            await asyncio.sleep(delay * (0.5 + random.random() / 2))

    async def _score(self, row: dict[str, Any], inputs: dict[str, Any], output: Any) -> list[ScoreResult]:
        fields = dict(row)
        fields["output"] = output
        if "input" not in fields:
            fields["input"] = next(iter(inputs.values())) if len(inputs) == 1 else inputs

        timeout = self.options.timeout_s

        async def one(scorer: Any) -> ScoreResult:
            try:
                # The row timeout bounds each scorer too (an LLM judge that never answers).
                async with asyncio.timeout(timeout) as scope:
                    score = await scorer.ascore(**fields)
            except TimeoutError as exc:
                message = (f"timed out after {timeout:g}s" if scope.expired()
                           else f"{type(exc).__name__}: {exc}")
                return ScoreResult(scorer=scorer.name, error=message)
            except Exception as exc:
                return ScoreResult(scorer=scorer.name, error=f"{type(exc).__name__}: {exc}")
            value = score.value
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            return ScoreResult(scorer=scorer.name, value=jsonable(value), passed=score.passed,
                               reason=score.reason, metadata=jsonable(score.metadata) or None,
                               score=score)

        return list(await asyncio.gather(*(one(s) for s in self.scorers)))


class _Progress:
    """A rich progress bar on stderr (only created when stderr is a terminal)."""

    def __init__(self, total: int, label: str) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn("{task.fields[errors]} errors"), TimeElapsedColumn(),
                                  console=Console(stderr=True), transient=True)
        self._progress.start()
        self._task = self._progress.add_task(label, total=total, errors=0)
        self._errors = 0

    def advance(self, error: bool) -> None:
        """One more row done (``error``: it failed)."""
        self._errors += int(error)
        self._progress.update(self._task, advance=1, errors=self._errors)

    def close(self) -> None:
        """Remove the bar."""
        self._progress.stop()
