"""Per-call overhead of auto-instrumentation (``tracer/autopatch``): the real ``openai``
SDK's ``chat.completions.create`` against the local OpenAI wire stub
(tests/stubs/openai_server.py), unpatched vs patched (tracing on, spans built with model,
messages, usage and cost, exported to a discarding exporter), measured side by side in one
run (interleaved repeats, best of each). Target (issue 13): at most 5% of a call.

Also a streamed call (``stream=True`` with usage), whose chunks are recorded as read, and
the tracing work alone: the same wrapper around a method that returns a parsed SDK
response without any network (so machine noise in the HTTP round trip cannot hide it).

Run: ``.venv/bin/python benchmarks/autopatch_overhead.py`` (``--quick`` for a short run).
Prints results; asserts nothing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import openai  # noqa: E402
from stubs.openai_server import chat_completion  # noqa: E402

import tracer  # noqa: E402

MESSAGES = [{"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is the capital of France?"}]


STUB_SCRIPT = """
import threading
from stubs.openai_server import OpenAIStub, Scripted, chat_completion
stub = OpenAIStub().start()
stub.chat_responder = lambda body: Scripted(200, chat_completion(
    "The capital of France is Paris.", model="gpt-4o-mini", usage=(25, 8)))
print(stub.base_url, flush=True)
threading.Event().wait()
"""


class DiscardExporter(SpanExporter):
    """Accepts every batch and drops it: measures tracing, not the network."""

    def __init__(self) -> None:
        self.spans = 0

    def export(self, spans: Sequence[object]) -> SpanExportResult:
        self.spans += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def timed(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (a few seconds)")
    args = parser.parse_args()
    calls, repeats = (30, 3) if args.quick else (200, 7)

    # The stub runs in its own process, as a provider would: in this process its threads
    # would compete with the measured calls for the GIL.
    stub = subprocess.Popen([sys.executable, "-c", STUB_SCRIPT], stdout=subprocess.PIPE,
                            text=True, cwd=ROOT / "tests")
    base_url = stub.stdout.readline().strip()  # type: ignore[union-attr]
    client = openai.OpenAI(api_key="sk-bench", base_url=base_url, max_retries=0)

    def chat() -> object:
        return client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                              temperature=0.2)

    def stream() -> object:
        s = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                           stream_options={"include_usage": True})
        return [c for c in s]

    exporter = DiscardExporter()
    for fn in (chat, stream):  # warm up: connections, tiktoken-free paths, imports
        fn()
    best: dict[str, float] = {}
    for _ in range(repeats):
        for label, fn in (("chat", chat), ("stream", stream)):
            tracer.unpatch()
            tracer.shutdown(5)
            best[f"{label} unpatched"] = min(best.get(f"{label} unpatched", 1e9), timed(fn, calls))
            tracer.init(project="bench", exporter=exporter, autopatch=["openai"])
            best[f"{label} patched"] = min(best.get(f"{label} patched", 1e9), timed(fn, calls))
            tracer.shutdown(5)
    tracer.unpatch()
    stub.terminate()
    stub.wait()
    work = tracing_work(calls * 10, repeats)

    print(f"openai SDK against the local stub, best of {repeats} x {calls} calls "
          f"({exporter.spans} spans exported)")
    for label in ("chat", "stream"):
        base, patched = best[f"{label} unpatched"], best[f"{label} patched"]
        print(f"  {label:6s} unpatched {base * 1e3:7.3f} ms   patched {patched * 1e3:7.3f} ms   "
              f"ratio {patched / base:.3f}  (+{(patched - base) * 1e6:.0f} us per call)")
    print(f"  tracing work alone (no network): {work * 1e6:.0f} us per call "
          f"= {work / best['chat unpatched'] * 100:.1f}% of an unpatched stub call")


def tracing_work(calls: int, repeats: int) -> float:
    """Seconds per call the autopatch wrapper adds around a method that returns a parsed
    ``ChatCompletion`` at once (span, GenAI attributes, usage, cost, export hand-off)."""
    from tracer.autopatch._core import wrap

    response = openai.types.chat.ChatCompletion.model_validate(chat_completion(
        "The capital of France is Paris.", model="gpt-4o-mini", usage=(25, 8)))

    class Canned:
        def create(self, **kwargs: object) -> object:
            return response

    plain = Canned.create
    traced = wrap(plain, "bench.create", "llm", False)
    obj = Canned()
    tracer.init(project="bench", exporter=DiscardExporter(), autopatch=False)
    best = {"plain": 1e9, "traced": 1e9}
    for _ in range(repeats):
        best["plain"] = min(best["plain"], timed(
            lambda: plain(obj, model="gpt-4o-mini", messages=MESSAGES, temperature=0.2), calls))
        best["traced"] = min(best["traced"], timed(
            lambda: traced(obj, model="gpt-4o-mini", messages=MESSAGES, temperature=0.2), calls))
    tracer.shutdown(5)
    return best["traced"] - best["plain"]


if __name__ == "__main__":
    main()
