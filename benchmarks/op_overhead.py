"""Per-call overhead of ``@op``, measured side by side in one run and printed as ratios.

1. Tracing off (``tracer.init`` never called): ``@op`` vs a plain call plus one
   context-variable read (target: within 2x).
2. Tracing on: ``@op`` vs a bare OpenTelemetry span (``start_as_current_span``) around
   the same call, both on the same provider with the same Spyglass processor, batch
   processor and exporter attached (target: at most 1.5x).

The exporter discards batches so network noise stays out of the numbers. Run:
``.venv/bin/python benchmarks/op_overhead.py`` (``--number 2000 --repeat 7`` for a quick
run; ``--cpu`` times this thread's CPU instead of wall-clock, steadier on a shared
machine). Prints results; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextvars
import time
import timeit
from collections.abc import Callable, Sequence

from opentelemetry import trace
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

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
    args = ap.parse_args()
    NUMBER, REPEAT = args.number, args.repeat
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

    exporter = DiscardExporter()
    tracer.init(project="bench", exporter=exporter)
    bare_tracer = trace.get_tracer_provider().get_tracer("bench")

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
        "@op, tracing on": op_off,
    })
    tracer.flush(10)

    # Sampled out (sample_rate=0): the span exists only as a context; nothing is recorded.
    tracer.init(project="bench", exporter=exporter, sample_rate=0.0)
    sampled_out = best_per_call({
        "bare OTel span, sampled out": bare_span,
        "@op, sampled out": op_off,
    })
    tracer.shutdown()

    print(f"{'case':<42} {'per call':>12}")
    for name, seconds in {**off, **on, **sampled_out}.items():
        print(f"{name:<42} {seconds * 1e6:>9.2f} µs")
    ratio_off = off["@op, tracing off"] / off["plain call + contextvar read"]
    ratio_on = on["@op, tracing on"] / on["bare OTel span (start_as_current_span)"]
    ratio_raw = on["@op, tracing on"] / on["bare OTel span (start_span + end)"]
    print()
    print(f"tracing off: @op / (plain call + contextvar read) = {ratio_off:.2f}x  (target <= 2x)")
    print(f"tracing on:  @op / bare start_as_current_span     = {ratio_on:.2f}x  (target <= 1.5x)")
    print(f"tracing on:  @op / bare start_span + end          = {ratio_raw:.2f}x  (no context, "
          "no inputs/outputs)")
    ratio_out = sampled_out["@op, sampled out"] / sampled_out["bare OTel span, sampled out"]
    print(f"sampled out: @op / bare start_as_current_span     = {ratio_out:.2f}x")
    print(f"spans exported: {exporter.spans}")


if __name__ == "__main__":
    main()
