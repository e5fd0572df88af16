"""Per-call overhead of ``@op``, measured side by side in one run and printed as ratios.

1. Tracing off (``tracer.init`` never called): ``@op`` vs a plain call plus one
   context-variable read (target: within 2x).
2. Tracing on: ``@op`` vs a bare OpenTelemetry span (``start_as_current_span``) around
   the same call, both on the same provider with the same Spyglass processor, batch
   processor and exporter attached.
3. The honest baseline (issue 14): ``@op`` vs a plain OpenTelemetry SDK span
   (``start_as_current_span``) on a plain ``TracerProvider`` with only a
   ``BatchSpanProcessor`` and the same exporter (target: at most 1.5x).

The exporter discards batches so network noise stays out of the numbers; ``--otlp``
exports instead with the real OTLP/HTTP exporter (the one ``tracer.init`` builds) to a
local sink answering 200 to every POST (one instance per side, same class and endpoint), or
``--otlp-endpoint URL`` to a running collector. Run:
``.venv/bin/python benchmarks/op_overhead.py`` (``--quick`` = ``--number 500 --repeat 3``,
seconds, what the test suite runs; ``--cpu`` times this thread's CPU instead of wall-clock, steadier on a shared
machine). Prints results; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextvars
import os
import threading
import time
import timeit
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import tracer
from tracer import op

NUMBER = 10_000
REPEAT = 15
TIMER = time.perf_counter


class DiscardExporter(SpanExporter):
    """Accepts every batch and drops it: measures tracing, not the network."""

    def __init__(self) -> None:
        self.spans = 0

    def export(self, spans: Sequence[object]) -> SpanExportResult:
        self.spans += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def _start_sink() -> ThreadingHTTPServer:
    """A local OTLP/HTTP endpoint that reads each body and answers 200 (empty protobuf)."""

    class Sink(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def work(question: str, n: int = 3) -> str:
    """A small function with typical arguments."""
    return question[:n]


traced_work = op(work)
_VAR: contextvars.ContextVar[object] = contextvars.ContextVar("bench", default=None)


def best_per_call(cases: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Best-of-REPEAT seconds per call for each case, repeats interleaved so machine
    noise hits every case alike."""
    best = {name: float("inf") for name in cases}
    for _ in range(REPEAT):
        for name, fn in cases.items():
            best[name] = min(best[name], timeit.timeit(fn, number=NUMBER, timer=TIMER) / NUMBER)
    return best


def main() -> None:
    """Measure and print both comparisons."""
    global NUMBER, REPEAT, TIMER
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--number", type=int, default=NUMBER, help="calls per timing")
    ap.add_argument("--repeat", type=int, default=REPEAT, help="timings per case (best kept)")
    ap.add_argument("--cpu", action="store_true", help="time this thread's CPU, not the wall")
    ap.add_argument("--quick", action="store_true", help="--number 500 --repeat 3 (seconds)")
    ap.add_argument("--otlp", action="store_true",
                    help="export over OTLP/HTTP to a local sink answering 200 (both sides)")
    ap.add_argument("--otlp-endpoint", default="",
                    help="export over OTLP/HTTP to this traces URL (both sides)")
    args = ap.parse_args()
    NUMBER, REPEAT = (500, 3) if args.quick else (args.number, args.repeat)
    TIMER = time.thread_time if args.cpu else time.perf_counter
    def plain_plus_var() -> object:
        _VAR.get()
        return work("What is the capital of France?")

    def op_off() -> object:
        return traced_work("What is the capital of France?")

    off = best_per_call({
        "plain call + contextvar read": plain_plus_var,
        "@op, tracing off": op_off,
    })

    sink = None
    make_exporter: Callable[[], SpanExporter] = DiscardExporter
    if args.otlp or args.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = args.otlp_endpoint
        if not endpoint:
            sink = _start_sink()
            endpoint = f"http://127.0.0.1:{sink.server_address[1]}/v1/traces"

        def make_exporter() -> SpanExporter:
            return OTLPSpanExporter(endpoint=endpoint)
    # Each side owns an exporter of the same kind to the same endpoint (shutting one
    # provider down shuts its exporter).
    exporter = make_exporter()
    tracer.init(project="bench", exporter=exporter)
    bare_tracer = trace.get_tracer_provider().get_tracer("bench")
    # The honest baseline: what a user gets from the OTel SDK alone. A plain provider (not
    # installed globally) with only a BatchSpanProcessor in front of the same exporter.
    plain_provider = TracerProvider()
    plain_provider.add_span_processor(BatchSpanProcessor(make_exporter()))
    plain_tracer = plain_provider.get_tracer("bench")

    def plain_sdk_span() -> object:
        with plain_tracer.start_as_current_span("work"):
            return work("What is the capital of France?")

    def bare_span() -> object:
        with bare_tracer.start_as_current_span("work"):
            return work("What is the capital of France?")

    def bare_span_no_context() -> object:
        span = bare_tracer.start_span("work")
        try:
            return work("What is the capital of France?")
        finally:
            span.end()

    on = best_per_call({
        "bare OTel span (start_as_current_span)": bare_span,
        "bare OTel span (start_span + end)": bare_span_no_context,
        "plain SDK provider span (start_as_current_span)": plain_sdk_span,
        "@op, tracing on": op_off,
    })
    tracer.flush(10)
    plain_provider.shutdown()

    # Sampled out (sample_rate=0): the span exists only as a context; nothing is recorded.
    tracer.init(project="bench", exporter=exporter, sample_rate=0.0)
    sampled_out = best_per_call({
        "bare OTel span, sampled out": bare_span,
        "@op, sampled out": op_off,
    })
    tracer.shutdown()
    if sink is not None:
        sink.shutdown()

    print(f"{'case':<48} {'per call':>12}")
    for name, seconds in {**off, **on, **sampled_out}.items():
        print(f"{name:<48} {seconds * 1e6:>9.2f} µs")
    ratio_off = off["@op, tracing off"] / off["plain call + contextvar read"]
    ratio_on = on["@op, tracing on"] / on["bare OTel span (start_as_current_span)"]
    ratio_raw = on["@op, tracing on"] / on["bare OTel span (start_span + end)"]
    ratio_plain = on["@op, tracing on"] / on["plain SDK provider span (start_as_current_span)"]
    ratio_provider = (on["bare OTel span (start_as_current_span)"]
                      / on["plain SDK provider span (start_as_current_span)"])
    load = os.getloadavg()
    print()
    print(f"tracing off: @op / (plain call + contextvar read) = {ratio_off:.2f}x  (target <= 2x)")
    print(f"tracing on:  @op / plain SDK provider span        = {ratio_plain:.2f}x  (target <= 1.5x, "
          "issue 14's honest baseline)")
    print(f"tracing on:  @op / bare start_as_current_span     = {ratio_on:.2f}x  (same span on "
          "Spyglass's provider)")
    print(f"tracing on:  Spyglass provider / plain provider   = {ratio_provider:.2f}x  (bare span on each)")
    print(f"tracing on:  @op / bare start_span + end          = {ratio_raw:.2f}x  (no context, "
          "no inputs/outputs)")
    ratio_out = sampled_out["@op, sampled out"] / sampled_out["bare OTel span, sampled out"]
    print(f"sampled out: @op / bare start_as_current_span     = {ratio_out:.2f}x")
    print(f"exporter: {type(exporter).__name__}"
          + (f", spans exported: {exporter.spans}" if isinstance(exporter, DiscardExporter) else ""))
    print(f"timer: {'thread CPU' if args.cpu else 'wall'}; number {NUMBER}, repeat {REPEAT}; "
          f"load average (1, 5, 15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
