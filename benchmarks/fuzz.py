"""Fuzz run at full size (issue 12): 20,000 hostile ingest bodies and hostile queries to
every ``/api/*`` route, against a fresh ``spyglass serve`` over a temporary chDB data dir.
Prints the answers by status and every failure (a 5xx, or an error body that is not one
clean JSON / protobuf Status line); exits 1 when there is any.

The generator is the suite's (``tests/collector/fuzzing.py``; ``tests/collector/test_fuzz.py``
runs it bounded, seeded).

usage: python benchmarks/fuzz.py [--bodies 20000] [--queries 5000] [--seed 12] [--quick]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _collector import free_port

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "collector"))

from fuzzing import fuzz  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--quick", action="store_true", help="200 bodies, 100 queries: tiny sizes (seconds); what tests/test_benchmarks_quick.py runs")
    args = parser.parse_args()
    if args.quick:
        args.bodies, args.queries = 200, 100
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = open(Path(tmp) / "server.log", "wb")  # noqa: SIM115 - the child's stdout
        env = {k: v for k, v in os.environ.items() if not k.startswith("SPYGLASS_")}
        env["SPYGLASS_HOME"] = tmp
        proc = subprocess.Popen(
            [sys.executable, "-m", "collector", "serve", "--port", str(port), "--data-dir",
             str(Path(tmp) / "data"), "--log-level", "error"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    sys.exit("collector did not start")
                time.sleep(0.1)
            started = time.monotonic()
            report = fuzz(url, args.bodies, args.queries, seed=args.seed)
            elapsed = time.monotonic() - started
            healthy = httpx.get(f"{url}/healthz", timeout=10).status_code == 200
        finally:
            proc.terminate()
            proc.wait(timeout=60)
            log.close()
    statuses = ", ".join(f"{code}: {n}" for code, n in sorted(report.statuses.items()))
    print(f"seed {args.seed}: {args.bodies} ingest bodies + {args.queries} /api requests "
          f"in {elapsed:.0f} s")
    print(f"answers by status: {statuses}")
    print(f"5xx: {report.server_errors}; failures: {len(report.failures)}; "
          f"healthy afterwards: {healthy}; clean exit: {proc.returncode == 0}")
    for failure in report.failures[:50]:
        print("  " + failure)
    return 1 if report.failures or report.server_errors or not healthy else 0


if __name__ == "__main__":
    sys.exit(main())
