"""The judges' lean async HTTP client (scorers/_fasthttp.py): what it sends, how it reads
every body shape, keep-alive reuse, the concurrency bound, and the same retry policy and
messages as the httpx path."""

from __future__ import annotations

import asyncio
import gzip
import json

import pytest
from stubs.openai_server import OpenAIStub, Scripted, chat_completion

from scorers import llm_judge
from scorers._fasthttp import Lanes, Origin, direct
from scorers._http import EndpointConfig, OpenAICompatClient, ProviderError

QA = {"input": "What is the capital of France?", "output": "Paris.", "expected": "Paris"}
VERDICT = '{"reasoning": "ok", "score": true}'


class RawServer:
    """An asyncio HTTP/1.1 server answering from a list of raw responses, counting
    connections and requests; ``close_after`` closes a connection after that many answers."""

    def __init__(self, answers: list[bytes], close_after: int | None = None) -> None:
        self.answers = answers
        self.close_after = close_after
        self.connections = 0
        self.requests: list[bytes] = []
        self.in_flight = self.max_in_flight = 0
        self.delay_s = 0.0

    async def __aenter__(self) -> RawServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length"))
                self.requests.append(head + await reader.readexactly(length))
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                await asyncio.sleep(self.delay_s)
                self.in_flight -= 1
                writer.write(self.answers[min(len(self.requests), len(self.answers)) - 1])
                await writer.drain()
                served += 1
                if self.close_after is not None and served >= self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


def sized(body: bytes, *headers: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in headers)
    return (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{head}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def chunked(body: bytes, *headers: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in headers)
    parts = [body[i:i + 7] for i in range(0, len(body), 7)]
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
    return (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{head}"
            "Transfer-Encoding: chunked\r\n\r\n").encode() + chunks


COMPLETION = json.dumps(chat_completion(VERDICT)).encode()


def client(port: int, **kw: object) -> OpenAICompatClient:
    config = EndpointConfig(base_url=f"http://127.0.0.1:{port}/v1", api_key="k", backoff_s=0.01,
                            **kw)  # type: ignore[arg-type]
    return OpenAICompatClient(config)


async def test_request_shape_and_keep_alive_reuse() -> None:
    async with RawServer([sized(COMPLETION)]) as server:
        c = client(server.port)
        for _ in range(3):
            body = await c.apost("chat/completions", {"model": "m", "messages": [{"role": "user", "content": "é"}]})
            assert body["choices"][0]["message"]["content"] == VERDICT
    assert server.connections == 1 and len(server.requests) == 3
    head, _, payload = server.requests[0].partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /v1/chat/completions HTTP/1.1"
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    assert headers["host"] == f"127.0.0.1:{server.port}"
    assert headers["authorization"] == "bearer k"
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "spyglass-judge" and headers["accept-encoding"] == "gzip, deflate"
    assert json.loads(payload) == {"model": "m", "messages": [{"role": "user", "content": "é"}]}


@pytest.mark.parametrize("answer", [
    chunked(COMPLETION),
    sized(gzip.compress(COMPLETION), "Content-Encoding: gzip"),
    chunked(gzip.compress(COMPLETION), "Content-Encoding: gzip"),
])
async def test_chunked_and_compressed_bodies(answer: bytes) -> None:
    async with RawServer([answer]) as server:
        body = await client(server.port).apost("chat/completions", {"x": 1})
    assert body["choices"][0]["message"]["content"] == VERDICT


async def test_connection_close_and_server_closed_idle_connections_are_not_reused() -> None:
    # "Connection: close" answers, then a server that drops each connection after one answer.
    async with RawServer([sized(COMPLETION, "Connection: close")]) as server:
        c = client(server.port)
        for _ in range(3):
            await c.apost("chat/completions", {})
    assert server.connections == 3
    async with RawServer([sized(COMPLETION)], close_after=1) as server:
        c = client(server.port)
        for _ in range(3):
            await c.apost("chat/completions", {})
            await asyncio.sleep(0.05)  # the server's FIN arrives before the next call
    assert server.connections == 3 and len(server.requests) == 3


async def test_concurrency_bound_is_the_number_of_lanes() -> None:
    async with RawServer([sized(COMPLETION)]) as server:
        server.delay_s = 0.05
        c = client(server.port, max_concurrency=3)
        await asyncio.gather(*(c.apost("chat/completions", {"i": i}) for i in range(10)))
    assert len(server.requests) == 10
    assert server.max_in_flight == 3 and server.connections == 3


async def test_cancelled_waiters_do_not_leak_lanes() -> None:
    async with RawServer([sized(COMPLETION)]) as server:
        server.delay_s = 0.1
        lanes = Lanes(Origin.parse(f"http://127.0.0.1:{server.port}/v1"), 1, 5.0, None)
        first = asyncio.create_task(lanes.post("chat/completions", b"{}", []))
        waiting = asyncio.create_task(lanes.post("chat/completions", b"{}", []))
        await asyncio.sleep(0.02)
        waiting.cancel()
        assert (await first).status == 200
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert (await lanes.post("chat/completions", b"{}", [])).status == 200


async def test_async_judge_retries_like_the_sync_path(openai_stub: OpenAIStub) -> None:
    openai_stub.error(429, "rate limited", headers={"Retry-After": "0"})
    openai_stub.error(503, "overloaded")
    openai_stub.hang(5.0)
    openai_stub.reply(VERDICT)
    j = llm_judge.correctness(base_url=openai_stub.base_url, model="m", cache=False,
                              backoff_s=0.01, timeout_s=0.5)
    score = await j.ascore(**QA)
    assert score.value is True
    assert len(openai_stub.chat_requests()) == 4


async def test_async_judge_errors_read_as_on_the_sync_path(openai_stub: OpenAIStub) -> None:
    messages = []
    for call in ("ascore", "score"):
        openai_stub.error(401, "bad key")
        j = llm_judge.correctness(base_url=openai_stub.base_url, model="m", cache=False)
        with pytest.raises(ProviderError) as err:
            if call == "ascore":
                await j.ascore(**QA)
            else:
                await asyncio.to_thread(j.score, **QA)
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert "answered HTTP 401 after 1 attempt(s): bad key" in messages[0]
    # A body that is not JSON: the same message as httpx's path too.
    openai_stub.chat_responder = lambda body: Scripted(200, raw=b"<html>oops</html>")
    c = OpenAICompatClient(EndpointConfig(base_url=openai_stub.base_url))
    with pytest.raises(ProviderError, match="non-JSON body"):
        await c.apost("chat/completions", {})
    with pytest.raises(ProviderError, match="non-JSON body"):
        c.post("chat/completions", {})


async def test_refused_connection_is_retried_then_reported() -> None:
    async with RawServer([]) as server:
        port = server.port
    c = client(port, max_retries=1)
    with pytest.raises(ProviderError, match=r"failed \(ConnectError.*after 2 attempt"):
        await c.apost("chat/completions", {})


def test_a_proxy_from_the_environment_sends_the_judge_through_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    origin = Origin.parse("https://api.example.com/v1")
    assert origin is not None and origin.port == 443 and origin.prefix == "/v1"
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy",
                 "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert direct(origin)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert not direct(origin)
    monkeypatch.setenv("NO_PROXY", "example.com")
    assert direct(origin)
    assert Origin.parse("unix:///tmp/sock") is None


def test_lanes_of_finished_event_loops_are_let_go() -> None:
    async def serve_and_call(c: OpenAICompatClient) -> None:
        async with RawServer([sized(COMPLETION)]) as server:
            c.config = EndpointConfig(base_url=f"http://127.0.0.1:{server.port}/v1")
            await c.apost("chat/completions", {})

    c = OpenAICompatClient(EndpointConfig(base_url="http://127.0.0.1:9/v1"))
    for _ in range(3):  # one asyncio.run per eval, as the runner does
        asyncio.run(serve_and_call(c))
    assert len(c._async) == 1  # only the last loop's lanes are kept
