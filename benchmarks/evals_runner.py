"""Runner throughput and per-row overhead, measured side by side in one run.

    .venv/bin/python benchmarks/evals_runner.py [--rows 1000] [--concurrency 32] [--quick]

Runs ``evals`` end to end in this process (an in-process collector over a temporary
chDB store, every row traced and stored over HTTP, one scorer per row):

1. 1,000 rows of an async task sleeping 50 ms at concurrency 32, each scored by an LLM
   judge (``llm_judge.correctness``) calling the local OpenAI-compatible stub
   (``tests/stubs/openai_server.py``, in this process) over HTTP, which answers after a
   fixed 50 ms: wall time until every row is *stored* (the final store into the collector
   included) vs the ideal ``ceil(rows / 32) × (50 + 50) ms``; target ≥ 90 % of ideal.
2. The same with a sync task (``time.sleep``, one thread per row in flight); target ≥ 85 %.
3. A no-op task: runner overhead per row (traced + scored + stored), and the same rows
   without the evaluator root spans, so their cost shows as a ratio.

Both with the in-process collector ``evals`` starts when none answers, and with a
collector in its own process (``spyglass serve``), which takes span ingest and storage
off the runner's interpreter.

``--quick`` (50 rows, 100 no-op rows, in-process collector only) runs in seconds; the
test suite runs it so the benchmark cannot rot.
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
JUDGE_S = 0.05  # the stub's fixed latency per judge call


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


class _Stub:
    """The OpenAI-compatible stub (tests/stubs/openai_server.py) answering after JUDGE_S,
    in a subprocess (default) or in this process."""

    def __init__(self, in_process: bool) -> None:
        tests = Path(__file__).resolve().parents[1] / "tests"
        self._stub = self._proc = None
        if in_process:
            sys.path.insert(0, str(tests))
            from stubs.openai_server import OpenAIStub, Scripted, chat_completion

            self._stub = OpenAIStub().start()
            verdict = chat_completion('{"score": 1, "reasoning": "matches"}')
            self._stub.chat_responder = lambda body: Scripted(200, verdict, delay_s=JUDGE_S)
            self.base_url = self._stub.base_url
        else:
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests), os.environ.get("PYTHONPATH", "")])}
            self._proc = subprocess.Popen([sys.executable, "-m", "stubs.openai_server",
                                           "--delay-s", str(JUDGE_S)], cwd=tests, env=env,
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            self.base_url = self._proc.stdout.readline().strip()
            if not self.base_url:
                raise SystemExit("the OpenAI stub did not start")

    def stats(self, reset: bool = False) -> dict:
        """Chat requests seen so far and the most in flight at once (``reset`` clears that)."""
        if self._stub is not None:
            out = {"chat_requests": len(self._stub.chat_requests()),
                   "max_in_flight": self._stub.max_in_flight}
            if reset:
                self._stub.max_in_flight = 0
            return out
        import httpx

        root = self.base_url.rsplit("/v1", 1)[0]
        return httpx.get(f"{root}/stub/stats{'?reset' if reset else ''}", timeout=30).json()

    def stop(self) -> None:
        """Stop serving."""
        if self._stub is not None:
            self._stub.stop()
        if self._proc is not None:
            self._proc.stdin.close()
            self._proc.wait(timeout=30)


def main() -> None:
    """Run every measurement and print it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--noop-rows", type=int, default=2000)
    parser.add_argument("--quick", action="store_true",
                        help="50 rows, 100 no-op rows, in-process collector only (seconds)")
    parser.add_argument("--stub-in-process", action="store_true",
                        help="serve the judge's stub from this process (default: its own)")
    parser.add_argument("--judged-only", action="store_true",
                        help="only the judged runs (issue 14's figure), not the no-op/judge-free ones")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.noop_rows = 50, 100
    load = os.getloadavg()
    print(f"load average at start (1, 5, 15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")

    tmp = Path(tempfile.mkdtemp(prefix="evals-bench-"))
    os.environ["SPYGLASS_PROJECT"] = "evals-bench"

    from evals import Eval
    from evals.backend import connect
    from evals.cli import _quiet_logs
    from evals.session import RunRequest, execute
    from evals.tracing import Tracing, setup
    from scorers import scorer
    from scorers.judges import correctness

    # The judge's endpoint: the local stub answering every chat call after JUDGE_S, in its
    # own process as a real endpoint is (--stub-in-process: in this one, as before; its
    # HTTP server threads then compete with the runner for this interpreter).
    stub = _Stub(in_process=args.stub_in_process)
    judge = correctness(base_url=stub.base_url, model="stub-model", cache=False,
                        max_concurrency=args.concurrency)
    exact = scorer(_exact)
    rows = [{"n": i, "expected": i} for i in range(args.rows)]
    noop_rows = [{"n": i, "expected": i} for i in range(args.noop_rows)]
    suite = Path(__file__).resolve()
    # The concurrency bound: ceil(rows / concurrency) waves, each as long as one row.
    waves = -(-args.rows // args.concurrency)
    ideal = waves * SLEEP_S
    judged_ideal = waves * (SLEEP_S + JUDGE_S)

    def run(backend, tracing, name, task, dataset, scorers=None) -> dict:
        ev = Eval(name=name, dataset=dataset, task=task, scorers=scorers or [exact])
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
            for name, task in (() if args.judged_only else
                               (("async task", _async_sleep), ("sync task (threads)", _sync_sleep))):
                stats = run(backend, traced, name.split()[0] + "-sleep", task, rows)
                wall, total = stats["rows_wall_s"], stats["duration_s"]
                print(f"  {name:22s} rows done in {wall:6.3f} s = {ideal / wall * 100:5.1f} % of ideal "
                      f"(target >= 90 %); with the last rows stored {total:6.3f} s = "
                      f"{ideal / total * 100:5.1f} %")
            # The issue-14 figure: an LLM judge over HTTP on every row, rows stored.
            print(f"  with an LLM judge (stub over HTTP, {JUDGE_S * 1000:.0f} ms per call) on every "
                  f"row; ideal {judged_ideal:.3f} s:")
            for name, task, target in (("async task", _async_sleep, 90),
                                       ("sync task (threads)", _sync_sleep, 85)):
                before = stub.stats(reset=True)["chat_requests"]  # also resets max in flight
                stats = run(backend, traced, name.split()[0] + "-judged", task, rows, [judge])
                seen = stub.stats()
                calls = seen["chat_requests"] - before
                total = stats["duration_s"]
                print(f"  judged {name:15s} rows stored in {total:6.3f} s = "
                      f"{judged_ideal / total * 100:5.1f} % of ideal (target >= {target} %); "
                      f"{calls} judge calls for {len(rows)} rows, at most "
                      f"{seen['max_in_flight']} at once")
            if args.judged_only:
                traced.flush()
                return
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
    if not args.quick:
        # 2. A collector in its own process, as with `spyglass serve`.
        proc, url = _start_server(tmp / "served")
        try:
            os.environ["SPYGLASS_ENDPOINT"] = url
            measure(f"collector subprocess at {url}")
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    stub.stop()
    load = os.getloadavg()
    print(f"load average at the end (1, 5, 15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
