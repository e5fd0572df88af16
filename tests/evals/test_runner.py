"""The runner in-process: sync tasks on the daemon pool keep going after hung calls."""

from __future__ import annotations

import asyncio
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
