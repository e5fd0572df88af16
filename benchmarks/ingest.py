"""Ingest benchmark: sustained *durable* spans/s, CPU µs per span by stage, bytes per span.

Starts a fresh ``spyglass serve`` over a temporary chDB data dir pinned to CPU 0 with
``taskset`` (the load tool on CPU 1; without taskset or with one CPU both run unpinned and
the output says so), posts pre-encoded LLM-shaped OTLP protobuf with
``../shared/otlp_load.py`` (batch 500, concurrency 4 by default), and counts what storage
holds (deduplicated rows, not acknowledgements). Then stops the server, reads the
collector's per-stage CPU counters from its shutdown log line (``ingest stats:``, see
collector/ingest/stats.py: measured inside the real collector, per thread) and the on-disk
size of the tables from ``system.parts``. Prints figures and the load average; asserts
nothing.

usage: python benchmarks/ingest.py [--spans 200000] [--batch 500] [--concurrency 4] [--load F] [--no-pin] [--repo DIR] [--quick]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _collector import free_port, wait_healthy

REPO = Path(__file__).resolve().parent.parent
# The load tool lives beside the checkout (shared/), not in it; SPYGLASS_OTLP_LOAD or
# --load points elsewhere (a git worktree elsewhere on disk).
LOAD = Path(os.environ.get("SPYGLASS_OTLP_LOAD") or next(
    (p for p in (REPO.parent / "shared" / "otlp_load.py",
                 REPO.parents[1] / "shared" / "otlp_load.py") if p.is_file()),
    REPO.parent / "shared" / "otlp_load.py"))
PROJECT = "ingest-bench"




def _stored_spans(url: str) -> int:
    body = httpx.get(f"{url}/api/projects", timeout=30).json()
    return next((p["span_count"] for p in body["projects"] if p["name"] == PROJECT), 0)


def _pins(no_pin: bool) -> tuple[list[str], list[str], str]:
    """taskset prefixes for the collector and the loader, and a note saying how they ran."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if no_pin:
        return [], [], "unpinned (--no-pin)"
    if not shutil.which("taskset"):
        return [], [], "unpinned: taskset not found (the figure is for all CPUs, not one core)"
    if len(cpus) < 2:
        return [], [], "unpinned: fewer than 2 CPUs available"
    return (["taskset", "-c", str(cpus[0])], ["taskset", "-c", str(cpus[1])],
            f"collector pinned to CPU {cpus[0]}, load tool to CPU {cpus[1]} (taskset)")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and its threads so far (0 where /proc
    is missing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stats(log_text: str) -> dict[str, float]:
    """The collector's ``ingest stats:`` counters (empty if it logged none)."""
    found = re.findall(r"ingest stats: (.*)", log_text)
    if not found:
        return {}
    return {k: float(v) for k, v in (kv.split("=", 1) for kv in found[-1].split())}


def _stage_lines(st: dict[str, float]) -> list[str]:
    """µs of CPU per span by stage, from the counters (see collector/ingest/stats.py)."""
    spans = st.get("spans", 0)
    if not spans:
        return ["µs per span by stage: no counters in the collector log"]
    us = {k: st[k] / spans * 1e6 for k in st if k.endswith("_s")}
    loop_stages = us["decode_s"] + us["normalize_s"] + us["encode_s"] + (
        us["enrich_s"] - us["enrich_thread_s"])
    http = max(us["loop_s"] - loop_stages, 0.0)
    other = max(us["process_s"] - us["loop_s"] - us["insert_s"] - us["enrich_thread_s"], 0.0)
    stages = [("HTTP (uvicorn + Litestar + body + response)", http),
              ("decode (upb protobuf)", us["decode_s"]),
              ("normalize (conventions -> columns)", us["normalize_s"]),
              ("dedup + GenAI events", us["enrich_s"]),
              ("encode (columns -> Arrow)", us["encode_s"]),
              ("insert (Arrow IPC -> chDB part, writer thread)", us["insert_s"]),
              ("chDB background (merges, views; other threads)", other)]
    lines = ["µs of collector CPU per span by stage (measured in the collector, per thread):"]
    lines += [f"  {name:<48} {value:7.1f}" for name, value in stages]
    lines.append(f"  {'of which Python garbage collection':<48} {us.get('gc_s', 0.0):7.1f}  "
                 f"({int(st.get('gc_runs', 0)):,} collections, {int(st.get('gc_full_runs', 0))} full)")
    lines.append(f"  {'total (process CPU)':<48} {us['process_s']:7.1f}  = "
                 f"{1e6 / max(us['process_s'], 1e-9):,.0f} spans per core-second; "
                 f"{int(spans):,} spans in {int(st.get('requests', 0)):,} requests, "
                 f"{int(st.get('inserts', 0)):,} inserts")
    return lines


def main() -> None:
    """Run the load against a fresh collector and print durable throughput, µs per span
    by stage and bytes per span."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--load", type=Path, default=LOAD, help="otlp_load.py to post with")
    parser.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    parser.add_argument("--repo", type=Path, default=REPO,
                        help="checkout whose collector to run (compare two versions alike)")
    parser.add_argument("--quick", action="store_true",
                        help="2,000 spans, batch 500, concurrency 2: tiny sizes (seconds); what tests/test_benchmarks_quick.py runs")
    args = parser.parse_args()
    if args.quick:
        args.spans, args.batch, args.concurrency = 2_000, 500, 2
    if not args.load.exists():
        sys.exit(f"{args.load} not found: run from a checkout with shared/ beside it, "
                 "or pass --load PATH")
    pin_collector, pin_load, pin_note = _pins(args.no_pin)
    load_before = os.getloadavg()

    with tempfile.TemporaryDirectory(prefix="spyglass-ingest-") as tmp:
        data_dir = Path(tmp) / "data"
        log_path = Path(tmp) / "collector.log"
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [*pin_collector, sys.executable, "-m", "collector", "serve", "--port", str(port),
                 "--data-dir", str(data_dir), "--grpc-port", "0", "--log-level", "info"],
                cwd=args.repo, env={**os.environ, "PYTHONPATH": str(args.repo)},
                stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_healthy(url, proc)
            cpu_before = _cpu_s(proc.pid)
            start = time.perf_counter()
            load = subprocess.run(
                [*pin_load, sys.executable, str(args.load), f"{url}/v1/traces", str(args.spans),
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
            cpu_used = _cpu_s(proc.pid) - cpu_before
        finally:
            proc.terminate()
            proc.wait(timeout=60)
        stats = _stats(log_path.read_text(errors="replace"))

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

    load_after = os.getloadavg()
    by_table = {p["table"]: p for p in parts}
    spans_bytes = int(by_table.get("spans", {}).get("bytes", 0))
    all_bytes = sum(int(p["bytes"]) for p in parts)
    print(f"{pin_note}; batch {args.batch}, concurrency {args.concurrency}")
    # A 200 is sent only after the batch's insert returned, so posting time is durable time;
    # the count confirms it.
    print(f"durable spans stored: {stored:,} of {args.spans:,}; posted in {post_s:.2f} s "
          f"= {stored / post_s:,.0f} durable spans/s (target >= 30,000, collector on one core); "
          f"{stored / elapsed:,.0f} spans/s including the loader's start-up and encoding")
    for line in _stage_lines(stats):
        print(line)
    if cpu_used:
        print(f"collector process CPU from /proc while loading: {cpu_used:.2f} s = "
              f"{cpu_used / max(stored, 1) * 1e6:.1f} µs per span = "
              f"{stored / cpu_used:,.0f} spans per core-second")
    print(f"bytes per span: spans table {spans_bytes / max(stored, 1):.1f} B, "
          f"all tables {all_bytes / max(stored, 1):.1f} B (target <= 300 B)")
    print(f"load average (1, 5, 15 min): before {load_before[0]:.2f} {load_before[1]:.2f} "
          f"{load_before[2]:.2f}; after {load_after[0]:.2f} {load_after[1]:.2f} "
          f"{load_after[2]:.2f} ({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
