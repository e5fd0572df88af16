"""Query latency at 1M (or 10M) stored spans, loaded through the real ingest path and
measured while spans keep arriving.

Starts ``spyglass serve`` on a fresh chDB data dir and loads N LLM-shaped spans (default
1,000,000: traces of 5 spans — agent, retrieval, two LLM calls with model/tokens/cost/chat
messages, a tool — spread over the last 23 h) the way production does: OTLP/HTTP protobuf
``POST /v1/traces`` requests of 500 spans, 4 in flight, each acknowledged only once
stored, so the table is made of many small parts (about one per request) as a real
collector's is, not a few big chunks. Requests are generated while loading (never all
in memory), so ``--spans 10000000`` runs in the same memory as 1M.

Then a background loader keeps posting about ``--live-rate`` spans/s (default 2,000, new
traces starting now, same project) and, while it runs, the benchmark times over HTTP:

- ``GET /api/traces/{id}`` for random trace ids          (target p95 <= 20 ms)
- ``GET /api/traces?project=...`` first page, 50 rows     (target <= 100 ms)
- ``GET /api/stats?project=...&since=-24h`` (by model...) (target <= 250 ms at 1M, 1 s at 10M)
- ``GET /api/projects`` (target <= 50 ms), text search ``q=`` (target <= 300 ms)

and prints each p50/p95, its ratio to the target (> 1 means faster than the target), the
spans/s the live loader achieved and the load average.

    .venv/bin/python benchmarks/query_1m.py [--spans 1000000] [--keep DIR] [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import queue
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import attributes as A  # noqa: E402

PROJECT = "bench"
SPANS_PER_TRACE = 5
BATCH = 500  # spans per request, as the SDK's BatchSpanProcessor sends them
CONCURRENCY = 4
TOPICS = ("billing", "sso", "webhooks", "exports", "alerts")
MODELS = (("gpt-4o", "openai"), ("gpt-4o-mini", "openai"), ("claude-3-5-sonnet", "anthropic"))
SHAPE = (("agent", "agent"), ("retrieve", "retrieval"), ("chat", "llm"), ("search", "tool"),
         ("chat", "llm"))


def trace_id_of(run: str, t: int) -> str:
    """The hex id of trace number ``t`` of this run (the benchmark looks them up)."""
    return hashlib.md5(f"{run}:{t}".encode()).hexdigest()


def _kv(key: str, value: object) -> common_pb2.KeyValue:
    v = common_pb2.AnyValue()
    if isinstance(value, bool):
        v.bool_value = value
    elif isinstance(value, int):
        v.int_value = value
    elif isinstance(value, float):
        v.double_value = value
    elif isinstance(value, list):
        v.array_value.values.extend(common_pb2.AnyValue(string_value=str(x)) for x in value)
    else:
        v.string_value = str(value)
    return common_pb2.KeyValue(key=key, value=v)


def make_request(run: str, traces: range, start_of: callable, project: str = PROJECT) -> bytes:
    """One OTLP export request holding every span of ``traces`` (5 spans each)."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.extend([_kv(A.SERVICE_NAME, "support-bot"), _kv(A.PROJECT, project)])
    ss = rs.scope_spans.add()
    ss.scope.name = "spyglass"
    for t in traces:
        tid = bytes.fromhex(trace_id_of(run, t))
        h = int.from_bytes(tid[:8], "big")
        base = start_of(t)
        root_id = b""
        for j, (name, kind) in enumerate(SHAPE):
            hj = (h >> (j * 7)) & 0xFFFFFFF
            sp = ss.spans.add()
            sp.trace_id = tid
            sp.span_id = hashlib.md5(tid + bytes([j])).digest()[:8]
            if j == 0:
                root_id = sp.span_id
            else:
                sp.parent_span_id = root_id
            dur_ms = [1500 + hj % 3000, 20 + hj % 80, 300 + hj % 2500, 5 + hj % 50, 300 + hj % 2500][j]
            start = base + j * 20_000_000
            sp.name = name
            sp.start_time_unix_nano = start
            sp.end_time_unix_nano = start + dur_ms * 1_000_000
            attrs = [_kv(A.OP_KIND, kind)]
            topic = TOPICS[hj % 5]
            if kind == "llm":
                model, provider = MODELS[hj % 3]
                in_tok, out_tok = 200 + hj % 800, 50 + (hj // 7) % 300
                attrs += [
                    _kv(A.GEN_AI_REQUEST_MODEL, model), _kv(A.GEN_AI_PROVIDER_NAME, provider),
                    _kv(A.GEN_AI_USAGE_INPUT_TOKENS, in_tok), _kv(A.GEN_AI_USAGE_OUTPUT_TOKENS, out_tok),
                    _kv(A.COST_USD, (in_tok * 2.5 + out_tok * 10) / 1e6),
                    _kv(A.INPUTS, json.dumps({"messages": [
                        {"role": "system", "content": "You are a helpful support assistant."},
                        {"role": "user", "content": f"Question {t}: how do I configure {topic} "
                                                    f"for my team? Context: " + "lorem ipsum " * (10 + hj % 20)}]})),
                    _kv(A.OUTPUT, json.dumps({"role": "assistant", "content": "To configure it, open "
                                              "Settings and " + "follow the steps " * (5 + hj % 15)})),
                ]
            else:
                attrs += [_kv(A.INPUTS, json.dumps({"question": f"how do I configure {topic}"})),
                          _kv(A.OUTPUT, '"ok"')]
            if j == 0:
                attrs += [_kv(A.USER_ID, f"user-{t % 500}"), _kv(A.SESSION_ID, f"session-{t % 5000}"),
                          _kv(A.TAGS, ["prod", "beta"] if hj % 4 == 0 else ["prod"])]
            sp.attributes.extend(attrs)
            if hj % 50 == 0:
                sp.status.code = trace_pb2.Status.STATUS_CODE_ERROR
                sp.status.message = "RateLimitError: too many requests"
            else:
                sp.status.code = trace_pb2.Status.STATUS_CODE_OK
    return req.SerializeToString()


def post_all(url: str, bodies: Iterator[bytes], concurrency: int) -> tuple[int, dict]:
    """POST every body with ``concurrency`` threads; bodies are produced lazily (a bounded
    queue), so memory stays flat at 10M spans. Returns (requests sent, status counts)."""
    work: queue.Queue[bytes | None] = queue.Queue(maxsize=concurrency * 4)
    status: dict[object, int] = {}
    lock = threading.Lock()

    def worker() -> None:
        with httpx.Client(timeout=120) as client:
            while (body := work.get()) is not None:
                for _attempt in range(5):  # a 503 under pressure is retried, like an SDK
                    try:
                        code: object = client.post(url, content=body, headers={
                            "content-type": "application/x-protobuf"}).status_code
                    except httpx.HTTPError:
                        code = "conn_error"
                    if code == 200:
                        break
                    time.sleep(0.5)
                with lock:
                    status[code] = status.get(code, 0) + 1

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for th in threads:
        th.start()
    sent = 0
    for body in bodies:
        work.put(body)
        sent += 1
    for _ in threads:
        work.put(None)
    for th in threads:
        th.join()
    return sent, status


def live_load(url: str, rate: int) -> None:
    """Post about ``rate`` spans/s of new traces (starting now) until SIGTERM, then print
    ``live: <spans> spans in <seconds> s, <failed> failed requests``. Runs in its own
    process (``--live URL``) so generating requests never holds the timing client's GIL."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    run = f"live-{os.getpid()}-{time.time_ns()}"
    per_request = BATCH  # 100 traces of 5 spans, as an SDK batch
    interval = per_request / rate
    spans = failed = 0
    t = 10**9  # question numbers no loaded trace uses: the text search finds one trace
    started = next_at = time.perf_counter()
    with httpx.Client(timeout=60) as client:
        while not stop.is_set():
            now = time.time_ns()
            body = make_request(run, range(t, t + per_request // SPANS_PER_TRACE),
                                lambda i, now=now: now - 5_000_000_000 + (i % 100) * 1_000_000)
            t += per_request // SPANS_PER_TRACE
            try:
                ok = client.post(url, content=body, headers={
                    "content-type": "application/x-protobuf"}).status_code == 200
            except httpx.HTTPError:
                ok = False
            spans += per_request if ok else 0
            failed += 0 if ok else 1
            next_at += interval
            stop.wait(max(0.0, next_at - time.perf_counter()))
    print(f"live: {spans} spans in {time.perf_counter() - started:.3f} s, {failed} failed requests",
          flush=True)


class LiveLoad:
    """The background loader as a child process (see :func:`live_load`)."""

    def __init__(self, url: str, rate: int) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__, "--live", url, "--live-rate",
                                      str(rate)], stdout=subprocess.PIPE, text=True)
        self.spans, self.seconds, self.failed = 0, 0.0, 0

    def stop(self) -> None:
        """Stop it and read how many spans it stored."""
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=120)
        match = re.search(r"live: (\d+) spans in ([\d.]+) s, (\d+) failed", out or "")
        if match:
            self.spans, self.seconds, self.failed = (int(match.group(1)), float(match.group(2)),
                                                     int(match.group(3)))

    @property
    def achieved(self) -> float:
        """Spans/s stored while it ran."""
        return self.spans / max(1e-9, self.seconds)


def serve(data_dir: Path, port: int) -> subprocess.Popen:
    """``spyglass serve`` on ``data_dir``; returns once /healthz answers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPYGLASS_")}
    proc = subprocess.Popen([sys.executable, "-m", "collector", "serve", "--port", str(port),
                             "--data-dir", str(data_dir), "--grpc-port", "0",
                             "--log-level", "warning"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the collector exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the collector did not start")


def measure(client: httpx.Client, path: str, repeat: int, params: dict | None = None) -> list[float]:
    """Latencies (ms) of ``repeat`` GETs after one warm-up; each must answer 200."""
    client.get(path, params=params).raise_for_status()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        response = client.get(path, params=params)
        out.append((time.perf_counter() - t0) * 1000)
        response.raise_for_status()
    return out


def p(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def side_by_side(storage: object, ids: list[str], repeat: int) -> None:
    """On storage directly, same data and load: each hot read as it was (``spans FINAL``,
    raw spans) beside how it reads now, median ms of ``repeat`` runs each."""
    from datetime import UTC, datetime, timedelta

    from collector.queries.rollups import dirty_minutes, stats_sql
    from collector.queries.spans import SPAN_SELECT
    from collector.queries.sql import Filters
    from collector.queries.traces import find_trace_spans, locate_trace

    def timed(fn) -> float:
        fn()
        runs = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            runs.append((time.perf_counter() - t0) * 1000)
        return statistics.median(runs)

    def trace_final(tid: str) -> object:
        where = locate_trace(storage, tid, None)[0]
        return storage.query(
            f"SELECT {SPAN_SELECT} FROM spans FINAL WHERE project = {{p:String}} "
            "AND start_time >= toDateTime64({a:String}, 9, 'UTC') "
            "AND start_time <= toDateTime64({b:String}, 9, 'UTC') AND trace_id = {t:String} "
            "ORDER BY start_time, span_id",
            {"p": where["project"], "a": where["start_min"], "b": where["start_max"], "t": tid})

    until = datetime.now(UTC)
    since = until - timedelta(hours=24)

    def stats_now() -> object:
        where = Filters()
        where.eq("project", PROJECT)
        dirty = dirty_minutes(storage, PROJECT, since, until)
        return storage.query(stats_sql(width=where.param(900, "UInt32"), group="model",
                                       since=since, until=until, conditions=where.clauses,
                                       rollup_ok=True, dirty=dirty, param=where.param, top=100),
                             where.params)

    stats_before = (
        "SELECT bucket, grp, sum(n), uniqExactMerge(u), quantilesMerge(0.5, 0.95, 0.99)(q) FROM ("
        "SELECT toUnixTimestamp(toStartOfInterval(start_time, INTERVAL 900 SECOND)) AS bucket, "
        "toString(model) AS grp, count() AS n, uniqExactState(cityHash64(trace_id)) AS u, "
        "quantilesState(0.5, 0.95, 0.99)(duration_ms) AS q FROM spans FINAL "
        "WHERE project = {p:String} AND start_time >= {s:DateTime64(6, 'UTC')} "
        "AND duplicate_of = '' GROUP BY bucket, grp) GROUP BY GROUPING SETS ((bucket, grp), (grp), ())")
    pairs = [
        ("trace by id", lambda: trace_final(ids[1]),
         lambda: find_trace_spans(storage, ids[1], None, SPAN_SELECT)),
        ("stats 24 h by model", lambda: storage.query(stats_before, {
            "p": PROJECT, "s": since.strftime("%Y-%m-%d %H:%M:%S")}), stats_now),
        ("projects", lambda: storage.query(
            "SELECT project, count(), max(start_time) FROM spans FINAL GROUP BY project"),
         lambda: storage.query(
            "SELECT project, sum(s), uniqExactMerge(t) FROM (SELECT project, "
            "uniqExactMerge(span_keys) AS s, uniqExactMergeState(trace_keys) AS t "
            "FROM span_minutes GROUP BY project, minute) GROUP BY project")),
    ]
    print(f"\nstorage, same data: {'query':<22}{'FINAL/raw ms':>14}{'now ms':>9}")
    for label, before, after in pairs:
        b, a = timed(before), timed(after)
        print(f"storage, same data: {label:<22}{b:>14.1f}{a:>9.1f}  ({b / a:.1f}x)")


def load_through_ingest(url: str, run: str, traces: int, concurrency: int,
                        info: dict[str, object]) -> list[str]:
    """Post ``traces`` traces of 5 spans spread over the last 23 h, oldest first as a
    collector receives them over a day; returns 200 of their ids (random sample)."""
    per_request = BATCH // SPANS_PER_TRACE
    step_ns = int(23 * 3600e9 / max(traces, 1))  # spread evenly over 23 h: all inside -24h
    base_ns = time.time_ns() - 60_000_000_000
    spans = traces * SPANS_PER_TRACE
    print(f"loading {spans:,} spans through POST /v1/traces ({BATCH} spans per request, "
          f"{concurrency} in flight) ...", flush=True)
    started = time.perf_counter()
    bodies = (make_request(run, range(first, min(traces, first + per_request)),
                           lambda t: base_ns - t * step_ns)
              for first in range(traces - 1 - (traces - 1) % per_request, -1, -per_request))
    requests, status = post_all(f"{url}/v1/traces", bodies, concurrency)
    load_s = time.perf_counter() - started
    print(f"loaded in {load_s:.1f} s ({spans / load_s:,.0f} spans/s), {requests:,} "
          f"requests, answers {status}", flush=True)
    info.update({"load_s": round(load_s, 1), "requests": requests})
    rng = random.Random(7)
    return [trace_id_of(run, t) for t in rng.sample(range(traces), min(200, traces))]


def main() -> None:
    """Load through ingest, start the live load, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000, help="up to 10,000,000 and more")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--keep", type=Path, default=None, help="keep the data dir here")
    parser.add_argument("--live-rate", type=int, default=2000,
                        help="spans/s posted in the background while timing (0: none)")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--quick", action="store_true",
                        help="5,000 spans, 3 timings per query: seconds; run by the tests")
    parser.add_argument("--reuse", type=Path, default=None,
                        help="time again over a data dir kept with --keep (same --spans)")
    parser.add_argument("--live", metavar="URL", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.live:
        live_load(args.live, args.live_rate)
        return
    if args.quick:
        args.spans = 5_000

    def reps(n: int) -> int:
        """Timings per query: ``n``, or 3 in quick mode."""
        return min(n, 3) if args.quick else n
    if not args.port:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            args.port = sock.getsockname()[1]
    workdir = Path(tempfile.mkdtemp(prefix="spyglass-q1m-"))
    data_dir = args.keep or workdir / "data"
    run = f"q1m-{time.time_ns()}"
    traces = args.spans // SPANS_PER_TRACE
    url = f"http://127.0.0.1:{args.port}"
    reused: list[str] = []
    if args.reuse:  # time again over a kept data dir: its trace ids, no second load
        from collector.settings import Settings
        from collector.storage import open_storage

        data_dir = args.reuse
        kept = open_storage(Settings.load(env={}, data_dir=data_dir))
        try:
            reused = [r["t"] for r in kept.query(
                "SELECT trace_id AS t FROM trace_index WHERE project = {p:String} "
                "ORDER BY cityHash64(trace_id) LIMIT 200", {"p": PROJECT})]
        finally:
            kept.close()
    proc = serve(data_dir, args.port)
    info: dict[str, object] = {}
    rows = []
    try:
        ids = reused or load_through_ingest(url, run, traces, args.concurrency, info)
        needle = f"question {traces * 2 // 3}:"  # one trace, two thirds of the day back
        live = LiveLoad(f"{url}/v1/traces", args.live_rate) if args.live_rate else None
        if live:
            time.sleep(2)
        try:
            with httpx.Client(base_url=url, timeout=60) as client:
                by_id = []
                client.get(f"/api/traces/{ids[0]}").raise_for_status()
                for trace_id in ids[:reps(len(ids))]:
                    t0 = time.perf_counter()
                    response = client.get(f"/api/traces/{trace_id}")
                    by_id.append((time.perf_counter() - t0) * 1000)
                    assert response.status_code == 200 and len(response.json()["spans"]) == 5
                rows.append((f"trace by id ({len(by_id)} ids)", by_id, 20))
                page = {"project": PROJECT, "limit": 50}
                rows.append(("trace list, first page", measure(client, "/api/traces", reps(40), page), 100))
                rows.append(("trace list, since=-1h", measure(
                    client, "/api/traces", reps(20), {**page, "since": "-1h"}), 200))
                rows.append(("trace list, model filter", measure(
                    client, "/api/traces", reps(10), {**page, "model": "claude-3-5-sonnet"}), 200))
                found = client.get("/api/traces", params={**page, "q": needle}).json()["traces"]
                assert len(found) == 1, (needle, found)
                rows.append(("trace list, q= text search", measure(
                    client, "/api/traces", reps(5), {**page, "q": needle}), 300))
                stats = {"project": PROJECT, "since": "-24h"}
                rows.append(("stats 24 h", measure(client, "/api/stats", reps(20), stats), 250))
                for group in ("model", "name", "status", "user_id", "session_id"):
                    rows.append((f"stats 24 h by {group}", measure(
                        client, "/api/stats", reps(10), {**stats, "group_by": group}), 250))
                rows.append(("span search, llm, first page", measure(
                    client, "/api/spans", reps(10), {"project": PROJECT, "kind": "llm"}), None))
                rows.append(("projects", measure(client, "/api/projects", reps(20)), 50))
                rows.append(("values: model", measure(
                    client, "/api/values/model", reps(10), {"project": PROJECT}), None))
                totals = client.get("/api/stats", params=stats).json()["totals"]
                assert totals["count"] >= args.spans, totals
        finally:
            if live:
                live.stop()
        if live:
            print(f"live load while timing: {live.achieved:,.0f} spans/s stored "
                  f"({live.spans:,} spans, {live.failed} failed requests)")
            info["live_spans_per_s"] = round(live.achieved)
    finally:
        proc.terminate()
        proc.wait(timeout=120)
    try:
        from collector.settings import Settings
        from collector.storage import open_storage

        storage = open_storage(Settings.load(env={}, data_dir=data_dir))
        try:
            parts = storage.query("SELECT count() AS c, sum(bytes_on_disk) AS b, sum(rows) AS r "
                                  "FROM system.parts WHERE table = 'spans' AND active")[0]
            info.update({"parts_after": int(parts["c"]),
                         "bytes_per_span": round(int(parts["b"]) / max(1, int(parts["r"])))})
            side_by_side(storage, ids, reps(7))
        finally:
            storage.close()
        loadavg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"\nload average after the run (1, 5, 15 min): {loadavg}")
        print(f"\n{'query':<32}{'p50 ms':>9}{'p95 ms':>9}{'target':>9}{'target/p95':>12}")
        results = {}
        for label, values, target in rows:
            p50, p95 = statistics.median(values), p(values, 0.95)
            ratio = f"{target / p95:.1f}x" if target else "-"
            print(f"{label:<32}{p50:>9.1f}{p95:>9.1f}{(str(target) if target else '-'):>9}{ratio:>12}")
            results[label] = {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "target_ms": target}
        print("\n" + json.dumps({"spans": args.spans, "machine": f"{platform.machine()}, "
                                 f"{os.cpu_count()} cores, Python {platform.python_version()}",
                                 "loadavg": loadavg, **info, "results": results}, default=str))
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
