"""Monitor scoring benchmark: the collector's own monitors worker scores a backlog of N spans
(default 10,000) with a rule scorer while ingest continues (issue 15: under 10 s).

Starts a fresh ``spyglass serve`` (chDB in a temporary data dir) with the monitors worker,
creates a paused monitor (a ``regex`` rule scorer) on project ``bench``, ingests N spans into
it through OTLP/HTTP (protobuf, 1,000 spans per request), then starts a background ingest of
``--ingest-rate`` spans/s into another project and resumes the monitor. The figure is the
time from the resume until the worker reports every span scored and stored (its
``/api/monitors/{id}/status`` counters, reported every 200 ms), with ingest request latencies
measured meanwhile (ingest never waits on the monitors). After stopping the collector it
counts the stored feedback rows in the data dir: exactly N. Prints figures; asserts only
that every span got its one score.

usage: python benchmarks/monitor_scoring.py [--spans 10000] [--ingest-rate 1000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from _collector import free_port, wait_healthy
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from common import attributes as A  # noqa: E402

PROJECT = "bench"
LIVE_PROJECT = "bench-live"
TARGET_S = 10.0
TARGET_SPANS = 10_000



def _kv(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def otlp_request(project: str, n: int, rng: random.Random) -> bytes:
    """``n`` root spans (one trace each) shaped like an app's answer spans, half with an
    e-mail address in the output (what the rule scorer looks for)."""
    now = time.time_ns()
    spans = []
    for i in range(n):
        output = (f"Reply {rng.getrandbits(32)}: write to help{i}@example.com" if i % 2
                  else f"Reply {rng.getrandbits(32)}: the weather is sunny")
        spans.append(Span(
            trace_id=rng.randbytes(16), span_id=rng.randbytes(8), name="answer",
            kind=Span.SPAN_KIND_INTERNAL, start_time_unix_nano=now - 2_000_000,
            end_time_unix_nano=now, attributes=[
                _kv(A.OP_NAME, "answer"), _kv(A.OP_KIND, "chain"),
                _kv(A.INPUTS, json.dumps({"question": f"question {i}"})),
                _kv(A.OUTPUT, json.dumps(output))]))
    request = ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        resource={"attributes": [_kv(A.PROJECT, project), _kv(A.SERVICE_NAME, "bench")]},
        scope_spans=[ScopeSpans(spans=spans)])])
    return request.SerializeToString()


def post_spans(client: httpx.Client, body: bytes) -> float:
    """Send one OTLP request; its latency in seconds."""
    t0 = time.perf_counter()
    response = client.post("/v1/traces", content=body, headers={"Content-Type": "application/x-protobuf"})
    elapsed = time.perf_counter() - t0
    if response.status_code != 200:
        sys.exit(f"ingest answered HTTP {response.status_code}: {response.text[:200]}")
    return elapsed


class LiveIngest(threading.Thread):
    """Keeps ingesting ``rate`` spans/s into another project (batches every 100 ms)."""

    def __init__(self, url: str, rate: int) -> None:
        super().__init__(daemon=True)
        self.url, self.rate = url, rate
        self.stop_event = threading.Event()
        self.latencies: list[float] = []
        self.sent = 0
        self.seconds = 0.0

    def run(self) -> None:
        rng = random.Random(7)
        per_tick = max(1, self.rate // 10)
        bodies = [otlp_request(LIVE_PROJECT, per_tick, rng) for _ in range(20)]
        start = time.monotonic()
        with httpx.Client(base_url=self.url, timeout=30) as client:
            tick = 0
            while not self.stop_event.is_set():
                self.latencies.append(post_spans(client, bodies[tick % len(bodies)]))
                self.sent += per_tick
                tick += 1
                delay = start + tick * 0.1 - time.monotonic()
                if delay > 0:
                    self.stop_event.wait(delay)
        self.seconds = time.monotonic() - start



def _stored_scores(data_dir: Path) -> int:
    from collector.settings import Settings
    from collector.storage import open_storage

    storage = open_storage(Settings.load(env={}, data_dir=data_dir))
    try:
        rows = storage.query("SELECT count() AS n FROM feedback WHERE project = {p:String}", {"p": PROJECT})
    finally:
        storage.close()
    return int(rows[0]["n"])


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def run(spans: int, rate: int, data_dir: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPYGLASS_")}
    env.update({"PYTHONPATH": str(REPO), "SPYGLASS_HOME": str(data_dir.parent / "home"),
                "SPYGLASS_WORKERS": "scorers.monitors.service:start_service",
                "SPYGLASS_MONITORS_POLL_MS": "200", "PYTHONUNBUFFERED": "1"})
    log = open(data_dir.parent / "collector.log", "wb")  # noqa: SIM115 - the child's log
    proc = subprocess.Popen([sys.executable, "-m", "collector", "serve", "--host", "127.0.0.1",
                             "--port", str(port), "--data-dir", str(data_dir)],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(url, proc, timeout_s=90)
        client = httpx.Client(base_url=url, timeout=60)
        monitor = {"project": PROJECT, "name": "has-email", "enabled": False,
                   "scorers": [{"type": "regex", "pattern": r"[\w.]+@[\w.]+", "name": "has_email"}]}
        made = client.post("/api/monitors", json=monitor)
        made.raise_for_status()
        mid = made.json()["id"]
        time.sleep(0.05)  # spans must start after the monitor was created

        rng = random.Random(1)
        t0 = time.perf_counter()
        for start in range(0, spans, 1000):
            post_spans(client, otlp_request(PROJECT, min(1000, spans - start), rng))
        loaded_s = time.perf_counter() - t0
        print(f"backlog: {spans:,} spans ingested in {loaded_s:.2f} s before the monitor starts")

        live = LiveIngest(url, rate)
        live.start()
        time.sleep(0.5)
        print(f"load average (1, 5, 15 min) at start: {_load()}")
        t0 = time.perf_counter()
        client.put(f"/api/monitors/{mid}", json={**monitor, "enabled": True}).raise_for_status()
        status: dict = {}
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            status = client.get(f"/api/monitors/{mid}/status").json()
            if status["posted"] >= spans:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        load = _load()
        live.stop_event.set()
        live.join()
        if status.get("posted", 0) < spans:
            sys.exit(f"only {status.get('posted')} of {spans} scores posted in 300 s: {status}")
        lat = sorted(live.latencies)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else 0.0
        print(f"monitor scoring: {spans:,} spans with a rule scorer in {elapsed:.2f} s "
              f"({spans / elapsed:,.0f} spans/s), from resume to the last score stored")
        if spans == TARGET_SPANS:
            print(f"target: under {TARGET_S:.0f} s for {TARGET_SPANS:,} spans: "
                  f"ratio {TARGET_S / elapsed:.2f}x ({'met' if elapsed < TARGET_S else 'MISSED'})")
        else:
            print(f"target: under {TARGET_S:.0f} s for {TARGET_SPANS:,} spans (not judged at {spans:,})")
        print(f"ingest meanwhile: {live.sent:,} spans into {LIVE_PROJECT!r} "
              f"({live.sent / max(live.seconds, 1e-9):,.0f} spans/s asked {rate:,}), request p50 "
              f"{statistics.median(lat) * 1000 if lat else 0:.1f} ms p99 {p99:.1f} ms")
        print(f"counters: sampled={status['sampled']} scored={status['scored']} posted={status['posted']} "
              f"duplicates={status['duplicates']} dropped_backlog={status['dropped_backlog']} "
              f"errors={status['errors']}")
        print(f"load average (1, 5, 15 min): {load}")
        client.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    stored = _stored_scores(data_dir)
    print(f"stored: {stored:,} feedback rows for {spans:,} spans")
    if stored != spans:
        sys.exit(f"expected exactly {spans} stored scores, found {stored} (see {data_dir.parent}/collector.log)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=TARGET_SPANS, help="backlog to score")
    parser.add_argument("--ingest-rate", type=int, default=1000, help="spans/s ingested meanwhile")
    parser.add_argument("--quick", action="store_true", help="1,000 spans, 200 spans/s ingest")
    parser.add_argument("--keep", type=Path, default=None, help="keep the data dir here")
    args = parser.parse_args()
    if args.quick:
        args.spans, args.ingest_rate = 1000, 200
    tmp = Path(tempfile.mkdtemp(prefix="spyglass-monitor-bench-"))
    try:
        data_dir = (args.keep or tmp) / "data"
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        run(args.spans, args.ingest_rate, data_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
