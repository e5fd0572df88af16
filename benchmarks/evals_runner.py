"""Runner throughput and per-row overhead, measured side by side in one run.

    .venv/bin/python benchmarks/evals_runner.py [--rows 1000] [--concurrency 32]

Runs ``evals`` end to end in this process (an in-process collector over a temporary
chDB store, every row traced and stored over HTTP, one scorer per row):

1. 1,000 rows of an async task sleeping 50 ms at concurrency 32: wall time of the rows
   vs the ideal ``rows × 50 ms / 32``; target ≥ 90 % of ideal.
2. The same with a sync task (``time.sleep``, one thread per row in flight).
3. A no-op task: runner overhead per row (traced + scored + stored), and the same rows
   without the evaluator root spans, so their cost shows as a ratio.

Both with the in-process collector ``evals`` starts when none answers, and with a
collector in its own process (``spyglass serve``), which takes span ingest and storage
off the runner's interpreter.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SLEEP_S = 0.05


def _exact(output: object, expected: object) -> bool:
    return output == expected


async def _async_sleep(n: int) -> int:
    await asyncio.sleep(SLEEP_S)
    return n


def _sync_sleep(n: int) -> int:
    time.sleep(SLEEP_S)
    return n


def _noop(n: int) -> int:
    return n


async def _async_noop(n: int) -> int:
    return n


def _start_server(data_dir: Path) -> tuple[subprocess.Popen, str]:
    """``spyglass serve`` as a subprocess on a free port; returns (process, url)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPYGLASS_")}
    proc = subprocess.Popen([sys.executable, "-m", "collector", "serve", "--port", str(port),
                             "--data-dir", str(data_dir), "--log-level", "warning"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the collector did not start")


def main() -> None:
    """Run every measurement and print it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--noop-rows", type=int, default=2000)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="evals-bench-"))
    os.environ["SPYGLASS_PROJECT"] = "evals-bench"

    from evals import Eval
    from evals.backend import connect
    from evals.cli import _quiet_logs
    from evals.session import RunRequest, execute
    from evals.tracing import Tracing, setup
    from scorers import scorer

    exact = scorer(_exact)
    rows = [{"n": i, "expected": i} for i in range(args.rows)]
    noop_rows = [{"n": i, "expected": i} for i in range(args.noop_rows)]
    suite = Path(__file__).resolve()
    ideal = args.rows * SLEEP_S / args.concurrency

    def run(backend, tracing, name, task, dataset) -> dict:
        ev = Eval(name=name, dataset=dataset, task=task, scorers=[exact])
        request = RunRequest(suite_path=suite, suite_label="benchmarks/evals_runner.py", evals=[ev],
                             param_overrides={}, concurrency=args.concurrency, baseline="none")
        result = execute(request, backend, tracing, print)[0]
        stats = result.run["stats"]
        assert stats["ok"] == len(dataset), stats
        return stats

    def measure(label: str) -> None:
        with connect() as backend:
            _quiet_logs()
            traced = setup(backend.url, backend.project, None, print)
            untraced = Tracing(False)
            print(f"\n[{label}] {args.rows} rows, task sleeps {SLEEP_S * 1000:.0f} ms, "
                  f"concurrency {args.concurrency}; ideal {ideal:.3f} s")
            for name, task in (("async task", _async_sleep), ("sync task (threads)", _sync_sleep)):
                stats = run(backend, traced, name.split()[0] + "-sleep", task, rows)
                wall, total = stats["rows_wall_s"], stats["duration_s"]
                print(f"  {name:22s} rows done in {wall:6.3f} s = {ideal / wall * 100:5.1f} % of ideal "
                      f"(target >= 90 %); with the last rows stored {total:6.3f} s = "
                      f"{ideal / total * 100:5.1f} %")
            print(f"  per-row overhead with a no-op task ({args.noop_rows} rows, one scorer, "
                  "rows stored over HTTP):")
            results = {}
            for name, task, tracing in (("async, traced", _async_noop, traced),
                                        ("async, untraced", _async_noop, untraced),
                                        ("sync, traced", _noop, traced),
                                        ("sync, untraced", _noop, untraced)):
                stats = run(backend, tracing, "noop-" + name.replace(", ", "-"), task, noop_rows)
                per_row_us = stats["duration_s"] / args.noop_rows * 1e6
                results[name] = per_row_us
                print(f"    {name:20s} {per_row_us:8.1f} µs/row")
            for kind in ("async", "sync"):
                ratio = results[f"{kind}, traced"] / results[f"{kind}, untraced"]
                print(f"    evaluator spans cost {ratio:.2f}x the untraced runner ({kind})")
            traced.flush()

    async def bare() -> float:
        gate = asyncio.Semaphore(args.concurrency)

        async def one() -> None:
            async with gate:
                await asyncio.sleep(SLEEP_S)

        start = time.monotonic()
        await asyncio.gather(*(one() for _ in range(args.rows)))
        return time.monotonic() - start

    wall = asyncio.run(bare())
    print(f"[reference] bare asyncio (semaphore + sleep, nothing else): wall {wall:.3f} s = "
          f"{ideal / wall * 100:.1f} % of ideal on this machine now")
    from evals.datasets import Dataset
    from evals.runner import Runner, RunOptions

    runner = Runner(eval_name="bare", task=_async_sleep, scorers=[exact], params={},
                    dataset=Dataset(rows), run_id="0" * 32, tracing=Tracing(False),
                    options=RunOptions(concurrency=args.concurrency))
    start = time.monotonic()
    asyncio.run(runner.run())
    wall = time.monotonic() - start
    print(f"[reference] the runner alone (scorer, no tracer, no storage): wall {wall:.3f} s = "
          f"{ideal / wall * 100:.1f} % of ideal")

    # 1. Nothing listens at the endpoint: evals starts its own collector in this process.
    os.environ.update({"SPYGLASS_ENDPOINT": "http://127.0.0.1:1",
                       "SPYGLASS_DATA_DIR": str(tmp / "embedded")})
    measure("in-process collector (SPYGLASS_DATA_DIR)")
    # 2. A collector in its own process, as with `spyglass serve`.
    proc, url = _start_server(tmp / "served")
    try:
        os.environ["SPYGLASS_ENDPOINT"] = url
        measure(f"collector subprocess at {url}")
    finally:
        proc.terminate()
        proc.wait(timeout=60)


if __name__ == "__main__":
    main()
