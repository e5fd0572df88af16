"""A lean async HTTP/1.1 client for the judges' hot path: h11 over asyncio streams.

Why not httpx here: at the concurrency an eval run judges with (32 calls in flight), one
httpx request costs 0.7–0.9 ms of event-loop CPU on a small VM (request and URL models,
header merging, cookies, httpcore's pool bookkeeping, anyio wrappers), and the runner's
concurrency multiplies that into wall time: 32 rows × 0.9 ms is 29 ms of every 100 ms
wave. The same exchange with h11 (the HTTP/1.1 state machine httpx itself uses) over an
asyncio stream costs about a third. Only what a JSON POST needs is here: keep-alive
connections, one per request in flight (``max_concurrency`` at most, the most recently
used handed out first), TLS with httpx's verified context, chunked or sized bodies,
gzip/deflate bodies, a total timeout.

Failures are raised as the httpx exceptions the retry policy in :mod:`scorers._http`
already knows (``httpx.ReadTimeout``, ``httpx.ConnectError``, ``httpx.RemoteProtocolError``),
so retries, messages and backoff are the same on both paths. Proxies from the
environment are not handled: the caller uses httpx when one applies (:func:`direct`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
import urllib.request
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import h11
import httpx

#: A connection idle longer than this is closed rather than reused: below the 5 s idle
#: timeout of common servers (uvicorn, httpx), so a reused one is not closing under us.
KEEPALIVE_EXPIRY_S = 4.0
_READ_SIZE = 65536
# Some gateways refuse requests without one; httpx sends "python-httpx/<version>".
USER_AGENT = "spyglass-judge"


@dataclass(frozen=True)
class Origin:
    """Where requests go: scheme, host, port, and the path prefix of the base URL."""

    scheme: str
    host: str
    port: int
    prefix: str

    @classmethod
    def parse(cls, base_url: str) -> Origin | None:
        """The origin of ``base_url``, or None when it is not plain http(s)."""
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
            return None
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return None
        return cls(parts.scheme, parts.hostname, port, parts.path.rstrip("/"))

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def direct(origin: Origin) -> bool:
    """True when no proxy from the environment applies to ``origin`` (httpx would use one)."""
    proxies = urllib.request.getproxies_environment()
    if not (proxies.get(origin.scheme) or proxies.get("all")):
        return True
    return bool(urllib.request.proxy_bypass_environment(origin.host, proxies))


@dataclass
class Reply:
    """A response: status, headers (lower-case names), and the decoded body."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: bytes) -> bytes | None:
        """The first value of header ``name`` (lower case), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


class _Conn:
    __slots__ = ("h11", "idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.h11 = h11.Connection(h11.CLIENT)
        self.idle_since = time.monotonic()

    def reusable(self) -> bool:
        return (not self.writer.is_closing() and not self.reader.at_eof()
                and time.monotonic() - self.idle_since < KEEPALIVE_EXPIRY_S)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class Lanes:
    """Keep-alive connections to one origin for one event loop, at most ``size`` in use."""

    def __init__(self, origin: Origin, size: int, timeout_s: float, ssl_context: Any) -> None:
        self.origin = origin
        self.size = max(1, size)
        self.timeout_s = timeout_s
        self._ssl = ssl_context if origin.scheme == "https" else None
        self._idle: list[_Conn] = []
        self._busy = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    async def post(self, path: str, body: bytes, headers: list[tuple[str, str]]) -> Reply:
        """POST ``body`` to ``path`` (under the base URL's path) and read the whole answer."""
        await self._acquire()
        conn: _Conn | None = None
        try:
            async with asyncio.timeout(self.timeout_s):
                conn = await self._connection()
                reply = await self._exchange(conn, path, body, headers)
            self._release(conn)
            return reply
        except BaseException as exc:
            if conn is not None:
                conn.close()  # never reuse a connection an exchange broke off on
            if isinstance(exc, TimeoutError):
                raise httpx.ReadTimeout(f"no complete answer within {self.timeout_s:g}s") from None
            if isinstance(exc, h11.ProtocolError):
                raise httpx.RemoteProtocolError(str(exc) or type(exc).__name__) from None
            if isinstance(exc, (OSError, asyncio.IncompleteReadError)):
                kind = httpx.ConnectError if conn is None else httpx.ReadError
                raise kind(str(exc) or type(exc).__name__) from None
            raise
        finally:
            self._busy -= 1
            self._wake()

    # -- connections ----------------------------------------------------------------------

    async def _acquire(self) -> None:
        while self._busy >= self.size:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # woken as we were cancelled: pass the turn on
                raise
        self._busy += 1

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _connection(self) -> _Conn:
        while self._idle:
            conn = self._idle.pop()  # the most recently used: the likeliest to be alive
            if conn.reusable():
                return conn
            conn.close()
        host = self.origin.host
        reader, writer = await asyncio.open_connection(
            host, self.origin.port, ssl=self._ssl, server_hostname=host if self._ssl else None,
            limit=_READ_SIZE)
        return _Conn(reader, writer)

    def _release(self, conn: _Conn) -> None:
        if conn.h11.our_state is h11.DONE and conn.h11.their_state is h11.DONE:
            conn.h11.start_next_cycle()
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
        else:  # the server closes it (Connection: close) or the exchange broke off
            conn.close()

    async def aclose(self) -> None:
        """Close idle connections."""
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # -- one exchange ---------------------------------------------------------------------

    async def _exchange(self, conn: _Conn, path: str, body: bytes,
                        headers: list[tuple[str, str]]) -> Reply:
        target = self.origin.prefix + "/" + path.lstrip("/")
        request = h11.Request(method="POST", target=target, headers=[
            ("Host", self.origin.host_header), ("User-Agent", USER_AGENT), ("Accept", "*/*"),
            *headers, ("Content-Length", str(len(body))), ("Accept-Encoding", "gzip, deflate")])
        c = conn.h11
        # One write (one segment on loopback) for head and body.
        conn.writer.write(c.send(request) + c.send(h11.Data(data=body)) + c.send(h11.EndOfMessage()))
        await conn.writer.drain()
        status, reply_headers, chunks = 0, [], []
        while True:
            event = c.next_event()
            if event is h11.NEED_DATA:
                c.receive_data(await conn.reader.read(_READ_SIZE))
            elif isinstance(event, h11.Response):
                status, reply_headers = event.status_code, list(event.headers)
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise h11.RemoteProtocolError("the server closed the connection mid-answer")
            # InformationalResponse (100 Continue): keep reading
        reply = Reply(status, reply_headers, b"".join(chunks))
        encoding = (reply.header(b"content-encoding") or b"").strip().lower()
        if encoding in (b"gzip", b"deflate"):
            # gzip; deflate as zlib-wrapped or (some servers) raw
            tries = (16 + zlib.MAX_WBITS,) if encoding == b"gzip" else (zlib.MAX_WBITS, -zlib.MAX_WBITS)
            for i, wbits in enumerate(tries):
                try:
                    reply.body = zlib.decompress(reply.body, wbits)
                    break
                except zlib.error as exc:
                    if i == len(tries) - 1:
                        raise h11.RemoteProtocolError(
                            f"undecodable {encoding.decode()} body: {exc}") from None
        return reply
