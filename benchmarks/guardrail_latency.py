"""Latency of a rule guardrail (PII + secrets + regex) on a 2 KB response.

Prints p50/p99 over N calls (default 10,000) of ``Guardrail.check``:
  1. with tracing off (``tracer.init`` never called),
  2. with tracing on (the check emits one ``guardrail`` span; spans go through the
     tracer's BatchSpanProcessor to an exporter that discards them, so no network),
and, measured side by side in the same run, the cost of the span alone (an empty
``@op`` call with the same tracer), so the guardrail's own cost can be read next to
the cost of the span it emits. Target: p99 < 1 ms for the check.

    .venv/bin/python benchmarks/guardrail_latency.py [--calls 10000]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from collections.abc import Callable, Sequence

from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

import tracer
from scorers import Guardrail, pii, regex, secrets
from tracer import op

PARAGRAPHS = [
    "Thanks for reaching out about order 48213 placed on 2024-03-18. The package left our "
    "warehouse in Rotterdam at 14:05 and should arrive within 3-5 business days.",
    "Your subscription (plan v2.4, 12 seats) renews on the 1st; see https://example.com/help/billing "
    "for the invoice history, pages 10-20 of the admin guide cover seat changes.",
    "We refunded 129.99 EUR to the original payment method. Refunds usually take 5 to 10 days "
    "depending on your bank, and the reference number is RF-2024-001173.",
    "If the tracking page still shows 'label created' after 48 hours, reply to this message and "
    "an agent will open a claim with the carrier for you.",
    "For security we never ask for passwords by email. Version 3.2.1 of the app adds two-factor "
    "sign-in, which you can turn on under Settings > Security.",
]


def make_text(size: int = 2048, leak: bool = False) -> str:
    """A realistic ~``size``-char support answer; with ``leak``, an email and a key inside."""
    parts: list[str] = []
    i = 0
    while sum(len(p) + 1 for p in parts) < size:
        parts.append(PARAGRAPHS[i % len(PARAGRAPHS)])
        i += 1
    text = " ".join(parts)[:size]
    if leak:
        text = text[:600] + " Contact maria.lopez@example.org, key sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t. " + text[600:]
        text = text[:size]
    return text


class Discard(SpanExporter):
    """Accepts spans and drops them: measures span creation, not the network."""

    def export(self, spans: Sequence[object]) -> SpanExportResult:
        """Drop the batch."""
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Nothing to release."""


def measure(fn: Callable[[], object], calls: int) -> tuple[list[float], list[float]]:
    """Per-call wall-clock and CPU (this thread) latencies in microseconds.

    On a shared machine the wall-clock tail includes time the OS scheduler gave to other
    processes; the thread's CPU time is the work the call itself did.
    """
    for _ in range(min(1000, calls // 10)):
        fn()
    gc.collect()
    wall, cpu = [], []
    perf, thread = time.perf_counter_ns, time.thread_time_ns
    for _ in range(calls):
        c0, t0 = thread(), perf()
        fn()
        t1, c1 = perf(), thread()
        wall.append((t1 - t0) / 1000.0)
        cpu.append((c1 - c0) / 1000.0)
    return wall, cpu


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of ``values``."""
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1]


def main() -> None:
    """Run the measurements and print a table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=10_000)
    ap.add_argument("--quick", action="store_true", help="300 calls each: tiny sizes (seconds); what tests/test_benchmarks_quick.py runs")
    args = ap.parse_args()
    if args.quick:
        args.calls = 300

    clean, leaky = make_text(), make_text(leak=True)
    block = Guardrail([pii(), secrets(), regex(r"(?i)internal use only", must_match=False)])
    redact = Guardrail([pii(), secrets(), regex(r"(?i)internal use only", must_match=False)],
                       on_fail="redact")
    assert block.check(clean).passed and block.check(leaky).blocked
    assert "[EMAIL]" in (redact.check(leaky).text or "")

    @op(name="empty")
    def empty() -> None:
        return None

    rows: list[tuple[str, tuple[list[float], list[float]]]] = []
    rows.append(("check, clean 2 KB, tracing off", measure(lambda: block.check(clean), args.calls)))
    rows.append(("check, leak -> redact, tracing off", measure(lambda: redact.check(leaky), args.calls)))
    tracer.init(project="bench-guardrail", exporter=Discard())
    try:
        rows.append(("check, clean 2 KB, tracing on", measure(lambda: block.check(clean), args.calls)))
        rows.append(("check, leak -> redact, tracing on", measure(lambda: redact.check(leaky), args.calls)))
        rows.append(("the span alone (empty @op)", measure(empty, args.calls)))
    finally:
        tracer.shutdown()

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Guardrail latency: PII + secrets + regex on {len(clean)} chars, {args.calls:,} calls each "
          f"({os.cpu_count()} CPUs, load average {load:.1f})")
    print(f"{'':38} {'wall p50':>9} {'wall p99':>9} {'cpu p50':>9} {'cpu p99':>9}   (µs)")
    for label, (wall, cpu) in rows:
        print(f"{label:38} {pct(wall, 50):9.1f} {pct(wall, 99):9.1f} {pct(cpu, 50):9.1f} {pct(cpu, 99):9.1f}")
    span_p50 = pct(rows[4][1][0], 50)
    on_p50, off_p50 = pct(rows[2][1][0], 50), pct(rows[0][1][0], 50)
    print(f"span / check (wall p50): {span_p50 / off_p50:.2f}; tracing adds {on_p50 - off_p50:.1f} µs "
          f"per check (wall p50)")
    # Issue 14's target is on CPU (< 0.5 ms, tracing on, redaction); the wall tail on a
    # shared machine is time given to other processes, kept against the older 1 ms bound.
    for kind, idx, target in (("wall", 0, 1000), ("cpu", 1, 500)):
        p99 = max(pct(v[idx], 99) for _, v in rows[:4])
        print(f"worst {kind} p99 of the checks: {p99:.1f} µs -> target < {target} µs: "
              f"{'met' if p99 < target else 'MISSED'}")


if __name__ == "__main__":
    main()
