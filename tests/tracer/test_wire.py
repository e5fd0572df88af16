"""The wire path: the real OTLPSpanExporter to an OTLP/HTTP receiver on a real socket,
feedback over HTTP, an unreachable collector, and what happens at process exit."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import tracer
from common import attributes as A
from tests.tracer.helpers import Receiver, span_attrs
from tracer import op

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def wired(receiver: Receiver) -> Iterator[Receiver]:
    """``tracer.init`` pointed at the local receiver with an API key."""
    tracer.init(project="wire-test", endpoint=receiver.url, api_key="sg_0123456789ab_secretsecretsecret",
                service_name="wire-svc")
    yield receiver
    tracer.shutdown(5)


def test_spans_arrive_as_otlp_protobuf_with_resource_and_bearer_key(wired: Receiver) -> None:
    @op(kind="retrieval")
    def retrieve(query: str) -> list[str]:
        return ["doc1"]

    @op(kind="agent")
    def agent(query: str) -> str:
        with tracer.attributes(user_id="u7", tags=["wire"]):
            return retrieve(query)[0]

    assert agent("what?") == "doc1"
    assert tracer.flush(10)
    (request,) = wired.wait_for("/v1/traces")
    assert request.headers["authorization"] == "Bearer sg_0123456789ab_secretsecretsecret"
    assert request.headers["content-type"] == "application/x-protobuf"
    spans = wired.spans()
    assert len(spans) == 2
    resource = spans[0][0]
    assert resource[A.PROJECT] == "wire-test"
    assert resource[A.SERVICE_NAME] == "wire-svc"
    by_name = {span.name: span for _, span in spans}
    root, child = by_name["agent"], by_name["retrieve"]
    assert child.parent_span_id == root.span_id
    assert child.trace_id == root.trace_id and len(root.trace_id) == 16
    assert root.parent_span_id == b""
    a = span_attrs(child)
    assert a[A.OP_KIND] == "retrieval"
    assert a[A.INPUTS] == '{"query": "what?"}'
    assert a[A.OUTPUT] == '["doc1"]'
    assert a[A.USER_ID] == "u7"
    assert a[A.TAGS] == ["wire"]
    assert span_attrs(root)[A.OP_KIND] == "agent"


def test_feedback_is_posted_in_the_background(wired: Receiver) -> None:
    @op
    def answer() -> tuple[str, str]:
        span = tracer.current_span()
        assert span.add_feedback("helpful", 0.9, comment="good answer") is True
        return span.trace_id, span.span_id

    trace_id, span_id = answer()
    assert tracer.add_feedback(trace_id, "thumbs_up", True, source="human") is True
    assert tracer.add_feedback(trace_id, "bad", {"not": "allowed"}) is False
    assert tracer.add_feedback(trace_id, "bad", 1, source="robot") is False
    assert tracer.flush(10)
    posts = wired.wait_for("/api/feedback", 2)
    bodies = sorted((p.json() for p in posts), key=lambda b: b["name"])
    assert bodies == [
        {"trace_id": trace_id, "span_id": span_id, "name": "helpful", "value": 0.9,
         "source": "human", "comment": "good answer", "project": "wire-test"},
        {"trace_id": trace_id, "name": "thumbs_up", "value": True, "source": "human",
         "project": "wire-test"},
    ]
    assert all(p.headers["authorization"].startswith("Bearer sg_") for p in posts)
    assert all(p.headers["content-type"] == "application/json" for p in posts)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_collector_down_leaves_user_code_alone_and_flush_is_bounded() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    tracer.init(project="down", endpoint=url)
    try:
        @op
        def business(x: int) -> int:
            tracer.current_span().add_feedback("score", 1)
            return x * 2

        assert [business(i) for i in range(50)] == [i * 2 for i in range(50)]
        # The exporter would keep retrying for its 10 s budget; flush gives up after 0.5 s.
        assert tracer.flush(0.5) is False
    finally:
        tracer.shutdown(0.5)


def test_collector_down_is_logged_once_not_per_batch(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "0.2")  # fail each batch fast
    before = tracer.failure_counts().get("export_failed", 0)
    tracer.init(project="down", endpoint=f"http://127.0.0.1:{_closed_port()}")
    try:
        with caplog.at_level(logging.INFO):
            for i in range(3):
                op(lambda i=i: i)()
                tracer.flush(5)
    finally:
        tracer.shutdown(1)
    assert tracer.failure_counts()["export_failed"] - before == 3
    messages = [r.msg for r in caplog.records if r.name.startswith("opentelemetry.exporter")]
    assert len(messages) == len(set(messages))  # each exporter message at most once


class BlackHole:
    """A TCP server that accepts connections and never answers: the worst collector."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted = 0
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.conns.append(conn)

    def close(self) -> None:
        for conn in self.conns:
            conn.close()
        self.sock.close()


def _run(script: str, env: dict[str, str], timeout_s: float = 60) -> subprocess.CompletedProcess:
    import os

    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SPYGLASS_", "OTEL_"))}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=REPO,
                          env={**full_env, **env}, capture_output=True, text=True,
                          timeout=timeout_s)


EXIT_SCRIPT = """
    import tracer
    from tracer import op

    tracer.init(project="exit-test", flush_timeout_s=1.0)

    @op
    def work(i):
        return i

    for i in range(5):
        work(i)
    print("done")
    # No flush: the bounded flush at exit must send (or give up) by itself.
"""


def test_exit_flush_gives_up_on_a_hanging_collector() -> None:
    hole = BlackHole()
    try:
        # The exporter may wait 120 s per request; only Spyglass's exit bound ends the
        # process in time for the subprocess timeout.
        result = _run(EXIT_SCRIPT, {"SPYGLASS_ENDPOINT": hole.url,
                                    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "120"}, timeout_s=60)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "done"
        assert hole.accepted >= 1  # the exit flush really tried to send
    finally:
        hole.close()


def test_exit_flush_delivers_spans_without_an_explicit_flush(receiver: Receiver) -> None:
    result = _run(EXIT_SCRIPT, {"SPYGLASS_ENDPOINT": receiver.url})
    assert result.returncode == 0, result.stderr
    receiver.wait_for("/v1/traces")
    names = [span.name for _, span in receiver.spans()]
    assert names.count("work") == 5
    assert {res[A.PROJECT] for res, _ in receiver.spans()} == {"exit-test"}


def test_exit_with_collector_down_is_quiet_and_succeeds() -> None:
    result = _run(EXIT_SCRIPT, {"SPYGLASS_ENDPOINT": f"http://127.0.0.1:{_closed_port()}"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"
    assert "Traceback" not in result.stderr


def test_existing_global_provider_is_extended_not_replaced(receiver: Receiver) -> None:
    script = """
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        own = InMemorySpanExporter()
        provider = TracerProvider(resource=Resource.create({"service.name": "app-svc"}))
        provider.add_span_processor(SimpleSpanProcessor(own))
        trace.set_tracer_provider(provider)

        import tracer
        from tracer import op
        tracer.init(project="attached")
        assert trace.get_tracer_provider() is provider

        @op
        def handler():
            with trace.get_tracer("app").start_as_current_span("app-span"):
                return 1

        handler()
        assert tracer.flush(10)
        print(sorted(s.name for s in own.get_finished_spans()))
    """
    result = _run(script, {"SPYGLASS_ENDPOINT": receiver.url})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['app-span', 'handler']"
    receiver.wait_for("/v1/traces")
    received = receiver.spans()
    assert sorted(span.name for _, span in received) == ["app-span", "handler"]
    for resource, _ in received:
        assert resource[A.PROJECT] == "attached"
        assert resource[A.SERVICE_NAME] == "app-svc"  # the application's resource is kept
    by_name = {span.name: span for _, span in received}
    assert by_name["app-span"].parent_span_id == by_name["handler"].span_id


def test_repeated_flushes_with_a_hanging_collector_do_not_pile_up_threads() -> None:
    import threading as th

    hole = BlackHole()
    # Flushes of earlier tests may still be waiting on their own dead collectors.
    earlier = {t for t in th.enumerate() if t.name == "spyglass-flush"}
    tracer.init(project="hang", endpoint=hole.url)
    try:
        for i in range(20):
            op(lambda i=i: i)()
            assert tracer.flush(0.05) is False
        flushers = [t for t in th.enumerate() if t.name == "spyglass-flush" and t not in earlier]
        assert len(flushers) == 1
    finally:
        tracer.shutdown(0.2)
        hole.close()


def test_reinit_does_not_wait_for_a_hanging_collector(
        receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "60")  # each request may hang 60 s
    hole = BlackHole()
    try:
        tracer.init(project="first", endpoint=hole.url, flush_timeout_s=30)
        op(lambda: 1)()
        start_flush = threading.Thread(target=tracer.flush, args=(0.2,))
        start_flush.start()
        start_flush.join()
        # The first processor is stuck on the black hole; init returns regardless and the
        # new configuration works at once.
        done = threading.Event()
        threading.Thread(target=lambda: (tracer.init(project="second", endpoint=receiver.url,
                                                     flush_timeout_s=30),
                                         done.set()), daemon=True).start()
        assert done.wait(20), "init blocked on the previous, hanging collector"
        op(lambda: 2)()
        assert tracer.flush(10)
        assert {res[A.PROJECT] for res, _ in receiver.spans()} == {"second"}
    finally:
        tracer.shutdown(0.5)
        hole.close()


def test_undecodable_text_does_not_break_the_export(wired: Receiver) -> None:
    @op
    def read_name(raw: str) -> str:
        return raw

    broken = b"caf\xe9".decode("utf-8", "surrogateescape")  # a lone surrogate inside
    assert read_name(broken) == broken
    assert tracer.flush(10)
    wired.wait_for("/v1/traces")
    (_, span), = wired.spans()
    # Written as a JSON \\u escape: valid UTF-8 on the wire, the same text once decoded.
    assert span_attrs(span)[A.INPUTS] == '{"raw": "caf\\udce9"}'


def test_any_attribute_with_undecodable_text_is_repaired_before_export(wired: Receiver) -> None:
    broken = b"\xff".decode("utf-8", "surrogateescape")

    @op
    def tagged() -> None:
        tracer.current_span().otel_span.set_attribute("raw.path", "/tmp/" + broken)
        raise OSError("no such file: " + broken)

    with pytest.raises(OSError):
        tagged()
    assert tracer.flush(10)
    wired.wait_for("/v1/traces")
    (_, span), = wired.spans()
    assert span_attrs(span)["raw.path"] == "/tmp/\\udcff"
    (event,) = span.events
    assert "\\udcff" in span_attrs(event)["exception.message"]
