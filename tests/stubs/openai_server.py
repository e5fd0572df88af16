"""A local HTTP server speaking the OpenAI wire format, for tests of anything that calls an LLM.

It serves ``POST /v1/chat/completions`` (JSON, or server-sent events when the request
asks for ``stream``) and ``POST /v1/embeddings`` on a loopback port and answers from a script: queued replies (well-formed or malformed content), HTTP errors
with headers (``429`` + ``Retry-After``, ``5xx``), hangs longer than the client's timeout,
and ``usage`` blocks. Every request is recorded with its arrival time. When nothing is
queued, chat answers ``500`` (a test never passes on a reply it did not script) unless a
``chat_responder`` is set; embeddings answer with deterministic vectors derived from the
input text.

Use it from any part's tests::

    from stubs.openai_server import openai_stub  # noqa: F401  (a pytest fixture)

    def test_x(openai_stub):
        openai_stub.reply('{"score": 1, "reasoning": "ok"}', usage=(10, 3))
        ... base_url=openai_stub.base_url ...
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class RecordedRequest:
    """One request the stub received."""

    path: str
    headers: dict[str, str]
    body: Any
    received_at: float  # time.monotonic()


@dataclass
class Scripted:
    """One scripted answer: a status, a JSON (or raw) body, headers, and a delay before it."""

    status: int = 200
    body: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


def chat_completion(content: str, *, model: str = "stub-model",
                    usage: tuple[int, int] | None = (12, 5), finish_reason: str = "stop") -> dict:
    """An OpenAI chat.completion object with ``content`` as the assistant message."""
    body: dict[str, Any] = {
        "id": f"chatcmpl-{hashlib.sha1(content.encode()).hexdigest()[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": finish_reason,
        }],
    }
    if usage is not None:
        body["usage"] = {"prompt_tokens": usage[0], "completion_tokens": usage[1],
                         "total_tokens": usage[0] + usage[1]}
    return body


def stream_events(completion: dict, include_usage: bool = False, pieces: int = 3) -> bytes:
    """A chat completion as OpenAI's server-sent events (``chat.completion.chunk`` objects).

    The content is split into ``pieces`` deltas after a role delta; the last chunk carries
    the finish reason; with ``include_usage`` a final chunk with empty ``choices`` carries
    the usage, as OpenAI sends it for ``stream_options={"include_usage": true}``.
    """
    choice = completion["choices"][0]
    content = choice["message"]["content"] or ""
    step = max(1, -(-len(content) // pieces))
    base = {"id": completion["id"], "object": "chat.completion.chunk",
            "created": completion["created"], "model": completion["model"]}
    chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                    "finish_reason": None}]}]
    for i in range(0, len(content), step):
        chunks.append({**base, "choices": [{"index": 0, "delta": {"content": content[i:i + step]},
                                            "finish_reason": None}]})
    chunks.append({**base, "choices": [{"index": 0, "delta": {},
                                        "finish_reason": choice.get("finish_reason", "stop")}]})
    if include_usage and completion.get("usage"):
        chunks.append({**base, "choices": [], "usage": completion["usage"]})
    lines = [f"data: {json.dumps(c)}\n\n" for c in chunks] + ["data: [DONE]\n\n"]
    return "".join(lines).encode()


def text_vector(text: str, dim: int = 16) -> list[float]:
    """A deterministic unit vector for ``text`` (bag of hashed character trigrams)."""
    vec = [0.0] * dim
    padded = f"  {text.lower()}  "
    for i in range(len(padded) - 2):
        h = int.from_bytes(hashlib.md5(padded[i:i + 3].encode()).digest()[:4], "little")
        vec[h % dim] += 1.0 if (h >> 31) & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [v / norm for v in vec]


class OpenAIStub:
    """The running stub: script it with :meth:`reply`, :meth:`error`, :meth:`hang`..."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.requests: list[RecordedRequest] = []
        self.chat_responder: Callable[[dict], Scripted | str] | None = None
        self.embedding_dim = 16
        self._chat: deque[Scripted] = deque()
        self._embeddings: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        #: Requests being answered right now, and the most ever at once (concurrency tests).
        self.in_flight = 0
        self.max_in_flight = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without TCP_NODELAY every
            # keep-alive answer waits ~40 ms for the client's delayed ACK.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

            def do_GET(self) -> None:
                # Counters for a stub in another process (``python -m stubs.openai_server``):
                # chat requests seen and the most in flight at once (reset by ``?reset``).
                if not self.path.startswith("/stub/stats"):
                    self.send_error(404)
                    return
                with stub._lock:
                    body = json.dumps({"chat_requests": len(stub.chat_requests()),
                                       "max_in_flight": stub.max_in_flight}).encode()
                    if "reset" in self.path:
                        stub.max_in_flight = 0
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except json.JSONDecodeError:
                    body = raw.decode(errors="replace")
                with stub._lock:
                    stub.requests.append(RecordedRequest(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                        time.monotonic()))
                    stub.in_flight += 1
                    stub.max_in_flight = max(stub.max_in_flight, stub.in_flight)
                try:
                    answer = stub._answer(self.path, body)
                    if answer.delay_s and stub._stopping.wait(answer.delay_s):
                        # Stopping: drop the connection so a waiting client fails now
                        # instead of at its own read timeout.
                        self.close_connection = True
                        return
                finally:
                    with stub._lock:
                        stub.in_flight -= 1
                content_type = "application/json"
                if answer.raw is not None:
                    payload = answer.raw
                elif (answer.status == 200 and isinstance(body, dict) and body.get("stream")
                      and self.path.endswith("/chat/completions")):
                    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                    payload = stream_events(answer.body, include_usage)
                    content_type = "text/event-stream"
                else:
                    payload = json.dumps(answer.body).encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    for k, v in answer.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): that is the point of a hang

        # A listen backlog of 128 (the stdlib's is 5): with dozens of clients connecting at
        # once, dropped SYNs would add 1 s retransmits to the latency under test.
        server_class = type("StubHTTPServer", (ThreadingHTTPServer,), {"request_queue_size": 128})
        self._server = server_class((host, port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self.base_url = f"{self.url}/v1"
        # A short poll interval keeps stop() (and so each test's teardown) quick.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        daemon=True, name="openai-stub")

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> OpenAIStub:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; hanging requests are released."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        """Forget scripted answers and recorded requests."""
        with self._lock:
            self._chat.clear()
            self._embeddings.clear()
            self.requests.clear()
            self.chat_responder = None
            self.max_in_flight = 0

    # -- scripting -------------------------------------------------------------------------

    def reply(self, content: str, *, usage: tuple[int, int] | None = (12, 5),
              model: str = "stub-model", delay_s: float = 0.0) -> None:
        """Queue a chat completion whose message content is ``content`` (may be malformed)."""
        self._chat.append(Scripted(200, chat_completion(content, model=model, usage=usage),
                                   delay_s=delay_s))

    def reply_json(self, obj: Any, **kw: Any) -> None:
        """Queue a chat completion whose content is ``obj`` as JSON text."""
        self.reply(json.dumps(obj), **kw)

    def error(self, status: int, message: str = "stub error", *, headers: dict[str, str] | None = None,
              route: str = "chat") -> None:
        """Queue an HTTP error in OpenAI's error shape (e.g. 429 with ``Retry-After``)."""
        body = {"error": {"message": message, "type": "stub_error", "code": status}}
        self._queue(route).append(Scripted(status, body, headers=dict(headers or {})))

    def raw(self, status: int, payload: bytes, *, route: str = "chat") -> None:
        """Queue a response with an arbitrary (possibly non-JSON) body."""
        self._queue(route).append(Scripted(status, raw=payload))

    def hang(self, seconds: float, *, route: str = "chat", then: str = '{"score": 1}') -> None:
        """Queue an answer sent only after ``seconds`` (longer than a client timeout)."""
        body = chat_completion(then) if route == "chat" else self._embedding_body(["x"], "stub")
        self._queue(route).append(Scripted(200, body, delay_s=seconds))

    def embeddings(self, vectors: list[list[float]], *, usage_tokens: int = 8) -> None:
        """Queue an embeddings response with exactly these vectors."""
        body = {
            "object": "list",
            "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
            "model": "stub-embedding",
            "usage": {"prompt_tokens": usage_tokens, "total_tokens": usage_tokens},
        }
        self._embeddings.append(Scripted(200, body))

    def chat_requests(self) -> list[RecordedRequest]:
        """Recorded chat-completion requests, in arrival order."""
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def embedding_requests(self) -> list[RecordedRequest]:
        """Recorded embeddings requests, in arrival order."""
        return [r for r in self.requests if r.path.endswith("/embeddings")]

    # -- answering -------------------------------------------------------------------------

    def _queue(self, route: str) -> deque[Scripted]:
        if route not in ("chat", "embeddings"):
            raise ValueError(f"route must be 'chat' or 'embeddings', got {route!r}")
        return self._chat if route == "chat" else self._embeddings

    def _embedding_body(self, inputs: list[str], model: str) -> dict:
        return {
            "object": "list",
            "data": [{"object": "embedding", "index": i,
                      "embedding": text_vector(t, self.embedding_dim)} for i, t in enumerate(inputs)],
            "model": model,
            "usage": {"prompt_tokens": sum(len(t.split()) for t in inputs),
                      "total_tokens": sum(len(t.split()) for t in inputs)},
        }

    def _answer(self, path: str, body: Any) -> Scripted:
        with self._lock:
            if path.endswith("/chat/completions"):
                if self._chat:
                    return self._chat.popleft()
                responder = self.chat_responder
            elif path.endswith("/embeddings"):
                if self._embeddings:
                    return self._embeddings.popleft()
                inputs = body.get("input") if isinstance(body, dict) else None
                if isinstance(inputs, str):
                    inputs = [inputs]
                if not isinstance(inputs, list):
                    return Scripted(400, {"error": {"message": "input must be a string or list"}})
                return Scripted(200, self._embedding_body(inputs, body.get("model", "stub")))
            else:
                return Scripted(404, {"error": {"message": f"no route {path}"}})
        if responder is None:
            return Scripted(500, {"error": {"message": "stub: no scripted chat reply left"}})
        answer = responder(body)
        return Scripted(200, chat_completion(answer)) if isinstance(answer, str) else answer


@pytest.fixture
def openai_stub() -> Iterator[OpenAIStub]:
    """A started :class:`OpenAIStub` for one test; stopped afterwards."""
    stub = OpenAIStub().start()
    try:
        yield stub
    finally:
        stub.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve in this process until stdin closes: every chat call answered with ``--content``
    after ``--delay-s`` (benchmarks run the judge's endpoint outside the measured process,
    as a real one is). Prints the base URL on the first line of stdout."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay-s", type=float, default=0.05)
    parser.add_argument("--content", default='{"score": 1, "reasoning": "matches"}')
    args = parser.parse_args(argv)
    stub = OpenAIStub(port=args.port).start()
    answer = chat_completion(args.content)
    stub.chat_responder = lambda body: Scripted(200, answer, delay_s=args.delay_s)
    print(stub.base_url, flush=True)
    sys.stdin.read()  # until the parent closes the pipe (or dies)
    stub.stop()


if __name__ == "__main__":
    main()
