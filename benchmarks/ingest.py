"""Ingest benchmark: sustained *durable* spans/s and bytes stored per span.

Starts a fresh ``spyglass serve`` over a temporary chDB data dir, posts pre-encoded
LLM-shaped OTLP protobuf with ``../shared/otlp_load.py``, and counts what storage holds
(deduplicated rows, not acknowledgements). Then stops the server and reads the on-disk
size of the tables from ``system.parts``. Prints figures; asserts nothing.

usage: python benchmarks/ingest.py [--spans 200000] [--batch 1000] [--concurrency 8] [--load F] [--quick]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
# The load tool lives beside the checkout (shared/), not in it; SPYGLASS_OTLP_LOAD or
# --load points elsewhere (a git worktree elsewhere on disk).
LOAD = Path(os.environ.get("SPYGLASS_OTLP_LOAD") or REPO.parent / "shared" / "otlp_load.py")
PROJECT = "ingest-bench"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"collector exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    sys.exit("collector did not become healthy")


def _stored_spans(url: str) -> int:
    body = httpx.get(f"{url}/api/projects", timeout=30).json()
    return next((p["span_count"] for p in body["projects"] if p["name"] == PROJECT), 0)


def main() -> None:
    """Run the load against a fresh collector and print durable throughput and bytes/span."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--load", type=Path, default=LOAD, help="otlp_load.py to post with")
    parser.add_argument("--quick", action="store_true",
                        help="2,000 spans, batch 500, concurrency 2: tiny sizes (seconds); what tests/test_benchmarks_quick.py runs")
    args = parser.parse_args()
    if args.quick:
        args.spans, args.batch, args.concurrency = 2_000, 500, 2
    if not args.load.exists():
        sys.exit(f"{args.load} not found: run from a checkout with shared/ beside it, "
                 "or pass --load PATH")

    with tempfile.TemporaryDirectory(prefix="spyglass-ingest-") as tmp:
        data_dir = Path(tmp) / "data"
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "collector", "serve", "--port", str(port),
             "--data-dir", str(data_dir)],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_healthy(url, proc)
            start = time.perf_counter()
            load = subprocess.run(
                [sys.executable, str(args.load), f"{url}/v1/traces", str(args.spans),
                 str(args.batch), str(args.concurrency), PROJECT],
                capture_output=True, text=True, check=False)
            print(load.stdout.strip())
            # The loader's own clock excludes its pre-encoding of the requests.
            fields = dict(kv.split("=", 1) for kv in load.stdout.split() if "=" in kv)
            post_s = float(fields.get("seconds", "nan"))
            # Durable means in storage: wait until every span is counted.
            stored = _stored_spans(url)
            while stored < args.spans and time.perf_counter() - start < 600:
                time.sleep(0.2)
                stored = _stored_spans(url)
            elapsed = time.perf_counter() - start
        finally:
            proc.terminate()
            proc.wait(timeout=60)

        from collector.settings import Settings
        from collector.storage import open_storage

        storage = open_storage(Settings(data_dir=data_dir), migrate=False)
        try:
            parts = storage.query(
                "SELECT table, sum(rows) AS rows, sum(data_compressed_bytes) AS bytes "
                "FROM system.parts WHERE active AND database = currentDatabase() "
                "GROUP BY table")
        finally:
            storage.close()

    by_table = {p["table"]: p for p in parts}
    spans_bytes = int(by_table.get("spans", {}).get("bytes", 0))
    all_bytes = sum(int(p["bytes"]) for p in parts)
    # A 200 is sent only after the batch's insert returned, so posting time is durable time;
    # the count confirms it.
    print(f"durable spans stored: {stored:,} of {args.spans:,}; posted in {post_s:.2f} s "
          f"= {stored / post_s:,.0f} durable spans/s (target >= 30,000, collector on one core); "
          f"{stored / elapsed:,.0f} spans/s including the loader's start-up and encoding")
    print(f"bytes per span: spans table {spans_bytes / max(stored, 1):.1f} B, "
          f"all tables {all_bytes / max(stored, 1):.1f} B (target <= 300 B)")


if __name__ == "__main__":
    main()
