"""The runner in-process: sync tasks on the daemon pool keep going after hung calls."""

from __future__ import annotations

import asyncio
import gc
import threading
import time

from evals.datasets import Dataset
from evals.runner import Runner, RunOptions
from evals.tracing import Tracing


def test_hung_sync_calls_are_abandoned_and_replaced() -> None:
    release = threading.Event()

    def task(n: int) -> int:
        if n < 2:
            release.wait(30)  # both workers of the pool get stuck here
        return n

    runner = Runner(eval_name="pool", task=task, scorers=[], params={},
                    dataset=Dataset([{"n": i} for i in range(8)]), run_id="0" * 32,
                    tracing=Tracing(False), options=RunOptions(concurrency=2, timeout_s=0.5))
    started = time.monotonic()
    try:
        results = asyncio.run(runner.run())
    finally:
        release.set()
    assert time.monotonic() - started < 10  # never waits for the 30 s hang
    assert [r.status for r in results] == ["timeout", "timeout"] + ["ok"] * 6
    assert [r.output for r in results[2:]] == list(range(2, 8))


def test_run_freezes_the_heap_only_while_it_runs() -> None:
    # Full GC passes skip what existed before the run; the program gets its heap back after,
    # and a freeze the program made itself is left alone.
    seen: list[int] = []

    async def task(n: int) -> int:
        seen.append(gc.get_freeze_count())
        return n

    def run() -> list:
        runner = Runner(eval_name="gc", task=task, scorers=[], params={},
                        dataset=Dataset([{"n": i} for i in range(4)]), run_id="0" * 32,
                        tracing=Tracing(False), options=RunOptions(concurrency=2))
        return asyncio.run(runner.run())

    gc.unfreeze()
    assert [r.output for r in run()] == [0, 1, 2, 3]
    assert min(seen) > 0 and gc.get_freeze_count() == 0
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        run()
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
