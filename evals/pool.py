"""A daemon-thread pool for sync tasks whose stuck calls never hold up the process."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any


class _Job:
    """One call on the pool; ``abandoned`` once nobody waits for it (timeout, Ctrl-C)."""

    __slots__ = ("abandoned", "run")

    def __init__(self, run: Callable[[], None]) -> None:
        self.run = run
        self.abandoned = False


class DaemonPool:
    """A thread pool for sync tasks whose threads never hold up the process.

    ``concurrent.futures.ThreadPoolExecutor`` joins its threads at interpreter exit, so one
    task hung past its timeout would hang ``evals`` too. Here the workers are daemon
    threads, and a worker stuck in an abandoned call is replaced at once (and retires if
    the call ever returns), so ``size`` workers stay free for the rows still to run.
    """

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._workers = 0
        for _ in range(self.size):
            self._start_worker()

    def _start_worker(self) -> None:
        with self._lock:
            self._workers += 1
        threading.Thread(target=self._work, name="evals-task", daemon=True).start()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if not job.abandoned:  # a row that timed out while queued never starts
                job.run()
            if job.abandoned:  # a replacement took this worker's place meanwhile
                return

    def submit(self, fn: Callable[..., Any], kwargs: dict[str, Any]) -> tuple[asyncio.Future[Any], _Job]:
        """Run ``fn(**kwargs)`` on a worker, in a copy of the current context (so spans it
        starts nest under the row's span); the future resolves on this loop."""
        import contextvars

        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        ctx = contextvars.copy_context()

        def settle(ok: bool, value: Any) -> None:
            if future.done():  # timed out or cancelled meanwhile
                return
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

        def run() -> None:
            try:
                outcome = (True, ctx.run(fn, **kwargs))
            except BaseException as exc:
                outcome = (False, exc)
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting
                loop.call_soon_threadsafe(settle, *outcome)

        job = _Job(run)
        self._jobs.put(job)
        return future, job

    def abandon(self, job: _Job) -> None:
        """Nobody waits for ``job`` any more; if a worker is inside it, replace that worker."""
        job.abandoned = True
        self._start_worker()

    def close(self) -> None:
        """Let idle workers exit (stuck ones are daemons and die with the process)."""
        with self._lock:
            count = self._workers
        for _ in range(count):
            self._jobs.put(None)
