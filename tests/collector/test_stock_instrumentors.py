"""The three stock OpenAI instrumentors (opentelemetry-instrumentation-openai-v2,
OpenLLMetry's opentelemetry-instrumentation-openai, openinference-instrumentation-openai),
each in a real application process with the real openai SDK against the local OpenAI
wire stub, exporting to a real ``spyglass serve``; and ``opentelemetry-instrument``
(zero-code, default OTLP/gRPC for traces, logs and metrics) with all of them installed.

Every call — chat, streaming chat, embeddings — must land with the right kind, model,
tokens, cost, messages, parent and latency, and the trace totals must count each call
once (zero-code stacks three instrumentors: three spans per call)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from common.pricing import cost_usd
from tests.conftest import REPO_ROOT, ServerHandle, free_port, start_server
from tests.stubs.openai_server import OpenAIStub

APP = REPO_ROOT / "tests" / "stubs" / "instrumented_app.py"
CHAT_COST = cost_usd("gpt-4o-mini", 1000, 500)  # $0.00045, the call
EMBED_TOKENS = 4  # the stub counts words: "hello world from spyglass"
EMBED_COST = cost_usd("text-embedding-3-small", EMBED_TOKENS, 0)
QUESTION = "Capital of France?"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerHandle, int]]:
    grpc_port = free_port()
    handle = start_server(tmp_path_factory.mktemp("stock") / "data", "--grpc-port",
                          str(grpc_port))
    yield handle, grpc_port
    handle.stop()


@pytest.fixture
def stub() -> Iterator[OpenAIStub]:
    stub = OpenAIStub().start()
    for _ in range(2):  # the plain and the streamed chat call
        stub.reply("Paris.", model="gpt-4o-mini", usage=(1000, 500))
    yield stub
    stub.stop()


def run_app(instrumentor: str, stub: OpenAIStub, url: str, project: str,
            env: dict[str, str] | None = None, prefix: list[str] | None = None
            ) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    full_env.update({"PYTHONPATH": str(REPO_ROOT), **(env or {})})
    cmd = [*(prefix or []), sys.executable, str(APP), instrumentor, stub.base_url, url, project]
    out = subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=180,
                         cwd=REPO_ROOT)
    assert out.returncode == 0, out.stderr
    return out


def fetch(url: str, project: str, expected_spans: int) -> tuple[list[dict], dict]:
    """The project's spans (once all arrived) and its one trace's totals."""
    deadline = time.monotonic() + 20
    while True:
        spans = httpx.get(f"{url}/api/spans", params={"project": project, "limit": 100}
                          ).json()["spans"]
        if len(spans) >= expected_spans or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    [trace] = httpx.get(f"{url}/api/traces", params={"project": project}).json()["traces"]
    return spans, trace


def text_of(content: object) -> str:
    if isinstance(content, list):
        return "".join(p.get("text") or p.get("content") or "" for p in content
                       if isinstance(p, dict))
    return str(content or "")


def check_calls(spans: list[dict], trace: dict) -> None:
    """Two chat calls and one embeddings call, each counted once, all correct."""
    [root] = [s for s in spans if s["name"] == "app"]
    counted = [s for s in spans if s["kind"] in ("llm", "embedding") and not s["duplicate_of"]]
    chats = [s for s in counted if s["kind"] == "llm"]
    embeds = [s for s in counted if s["kind"] == "embedding"]
    assert len(chats) == 2 and len(embeds) == 1, [(s["name"], s["kind"]) for s in counted]
    for s in chats:
        assert s["model"] == "gpt-4o-mini"
        assert (s["input_tokens"], s["output_tokens"]) == (1000, 500)
        assert s["cost_usd"] == pytest.approx(CHAT_COST)
        assert [text_of(m.get("content")) for m in s["input"]] == [QUESTION]
        assert text_of(s["output"][0].get("content")) == "Paris."
        assert s["parent_span_id"] == root["span_id"]
        assert 0 < s["duration_ms"] < root["duration_ms"]
        assert s["status"] == "ok"
    [e] = embeds
    assert e["model"] == "text-embedding-3-small"
    assert e["input_tokens"] == EMBED_TOKENS and e["output_tokens"] == 0
    assert e["cost_usd"] == pytest.approx(EMBED_COST)
    assert "embedding" not in str(e["output"])  # vectors are not stored as text
    # Duplicates (stacked instrumentation) stay in the tree, under the same root.
    for s in spans:
        if s["duplicate_of"]:
            assert s["input_tokens"] == 0 and s["cost_usd"] is None
    assert trace["input_tokens"] == 2 * 1000 + EMBED_TOKENS
    assert trace["output_tokens"] == 2 * 500
    assert trace["cost_usd"] == pytest.approx(2 * CHAT_COST + EMBED_COST)
    assert trace["status"] == "ok"


@pytest.mark.parametrize(("instrumentor", "env"), [
    # The official instrumentor sends message content as log events (EVENT_ONLY); Spyglass
    # attaches them to their spans.
    ("openai-v2", {"OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
                   "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "EVENT_ONLY"}),
    ("openllmetry", {"TRACELOOP_TRACE_CONTENT": "true"}),
    ("openinference", {}),
])
def test_stock_instrumentor(server, stub, instrumentor: str, env: dict[str, str]) -> None:
    handle, _ = server
    project = f"{instrumentor}-{os.urandom(3).hex()}"  # = service.name: no Spyglass settings
    run_app(instrumentor, stub, handle.url, project, env)
    spans, trace = fetch(handle.url, project, 4)
    assert {s["project"] for s in spans} == {project}
    check_calls(spans, trace)


def test_opentelemetry_instrument_zero_code_over_grpc(server, stub) -> None:
    handle, grpc_port = server
    project = f"zero-code-{os.urandom(3).hex()}"
    instrument = str(Path(sys.executable).parent / "opentelemetry-instrument")
    out = run_app("none", stub, handle.url, project, {
        # Only the endpoint and the service name: gRPC, traces + logs + metrics by default.
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{grpc_port}",
        "OTEL_SERVICE_NAME": project,
        "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_AND_EVENT",
        "OTEL_METRIC_EXPORT_INTERVAL": "500",
    }, prefix=[instrument])
    assert "error" not in out.stderr.lower() and "fail" not in out.stderr.lower(), out.stderr
    # Every installed OpenAI instrumentor wraps the SDK: 3 spans per call.
    spans, trace = fetch(handle.url, project, 1 + 3 * 3)
    assert sum(1 for s in spans if s["duplicate_of"]) == 2 * 3
    check_calls(spans, trace)
