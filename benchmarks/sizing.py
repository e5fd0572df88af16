"""Sizing figures for docs/deployment.md: CPU per span, memory, bytes per span.

Measured as *resources consumed*, not wall-clock rates, so the figures hold on a busy
machine (wall-clock throughput on a shared 2-core VM says more about the neighbours):

1. Ingest path: starts ``spyglass serve`` over a fresh chDB data dir, posts N OTLP spans
   with ``../shared/otlp_load.py``, and reads the collector process's CPU seconds
   (user+sys, /proc/PID/stat) and peak RSS (VmHWM) around the load. With chDB the storage
   engine runs inside the collector, so this is decode + normalize + insert + merges: the
   whole path on one core-second.
2. Bytes per span: loads N LLM-shaped spans (the generator of ``query_1m.py``: chat
   messages, tokens, cost; less repetitive than the OTLP loader) and reads compressed and
   uncompressed bytes of every table from ``system.parts``.

usage: python benchmarks/sizing.py [--spans 50000] [--batch 1000] [--concurrency 4] [--load F] [--quick]
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
LOAD = Path(os.environ.get("SPYGLASS_OTLP_LOAD") or REPO.parent / "shared" / "otlp_load.py")
PROJECT = "sizing"
TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def ingest_cost(spans: int, batch: int, concurrency: int, load: Path = LOAD,
                clickhouse_url: str = "") -> dict[str, float]:
    """CPU seconds and peak memory of a collector ingesting ``spans`` OTLP spans (into
    chDB in-process, or a ClickHouse server at ``clickhouse_url``: then the figure is the
    collector's share alone)."""
    from benchmarks.ingest import _free_port, _wait_healthy

    def _stored_spans(url: str) -> int:
        body = httpx.get(f"{url}/api/projects", timeout=30).json()
        return next((p["span_count"] for p in body["projects"] if p["name"] == PROJECT), 0)

    with tempfile.TemporaryDirectory(prefix="spyglass-sizing-") as tmp:
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "collector", "serve", "--port", str(port),
             "--data-dir", str(Path(tmp) / "data"), "--log-level", "error",
             *(["--clickhouse-url", clickhouse_url] if clickhouse_url else [])],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_healthy(url, proc)
            time.sleep(2)  # let start-up work (migrations, console) settle
            idle_rss = _peak_rss_mib(proc.pid)
            cpu0 = _cpu_s(proc.pid)
            sent = subprocess.run([sys.executable, str(load), f"{url}/v1/traces", str(spans),
                                   str(batch), str(concurrency), PROJECT],
                                  capture_output=True, text=True, check=True)
            # A 200 is sent once the batch's insert returned: the work is done here.
            cpu = _cpu_s(proc.pid) - cpu0
            peak = _peak_rss_mib(proc.pid)
            print(f"{sent.stdout.strip()}; stored (deduplicated): {_stored_spans(url):,}",
                  flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    return {"cpu_s": cpu, "spans_per_cpu_s": spans / cpu, "idle_rss_mib": idle_rss,
            "peak_rss_mib": peak}


def bytes_per_span(spans: int) -> dict[str, float]:
    """Compressed / uncompressed bytes per LLM-shaped span, over every table."""
    from benchmarks.query_1m import GENERATE, SPANS_PER_TRACE
    from collector.settings import Settings
    from collector.storage import open_storage

    with tempfile.TemporaryDirectory(prefix="spyglass-sizing-") as tmp:
        storage = open_storage(Settings.load(env={}, data_dir=Path(tmp) / "data"))
        try:
            traces = spans // SPANS_PER_TRACE
            storage.command(GENERATE, {"project": PROJECT, "base_ns": time.time_ns(),
                                       "step_ns": int(23 * 3600e9 / traces), "first": 0,
                                       "count": spans})
            storage.command("OPTIMIZE TABLE spans FINAL")
            parts = storage.query(
                "SELECT table, sum(rows) AS rows, sum(data_compressed_bytes) AS c, "
                "sum(data_uncompressed_bytes) AS u FROM system.parts "
                "WHERE active AND database = currentDatabase() GROUP BY table")
        finally:
            storage.close()
    by = {p["table"]: p for p in parts}
    return {"spans_compressed": int(by["spans"]["c"]) / spans,
            "spans_uncompressed": int(by["spans"]["u"]) / spans,
            "all_compressed": sum(int(p["c"]) for p in parts) / spans}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--load", type=Path, default=LOAD, help="otlp_load.py to post with")
    parser.add_argument("--clickhouse-url", default="",
                        help="also measure the collector alone, storing into this server")
    parser.add_argument("--quick", action="store_true",
                        help="2,000 spans, batch 500, concurrency 2: tiny sizes (seconds); what tests/test_benchmarks_quick.py runs")
    args = parser.parse_args()
    if args.quick:
        args.spans, args.batch, args.concurrency = 2_000, 500, 2
    size = bytes_per_span(args.spans)
    print(f"bytes per LLM-shaped span: spans {size['spans_compressed']:.0f} B compressed "
          f"({size['spans_uncompressed']:.0f} B uncompressed, "
          f"{size['spans_uncompressed'] / size['spans_compressed']:.1f}x), all tables "
          f"{size['all_compressed']:.0f} B")
    if args.load.exists():
        cost = ingest_cost(args.spans, args.batch, args.concurrency, args.load)
        print(f"ingest: {args.spans:,} spans in {cost['cpu_s']:.2f} CPU s = "
              f"{cost['spans_per_cpu_s']:,.0f} spans per core-second; collector RSS "
              f"{cost['idle_rss_mib']:.0f} MiB idle, {cost['peak_rss_mib']:.0f} MiB peak")
        if args.clickhouse_url:
            alone = ingest_cost(args.spans, args.batch, args.concurrency, args.load,
                                args.clickhouse_url)
            print(f"collector alone (storage on a server): {alone['spans_per_cpu_s']:,.0f} "
                  f"spans per core-second; RSS {alone['peak_rss_mib']:.0f} MiB peak")
    else:
        print(f"{args.load} not found: ingest cost skipped (--load PATH)")


if __name__ == "__main__":
    main()
