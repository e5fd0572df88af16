"""A small client for OpenAI-compatible endpoints: retries, backoff and bounded concurrency.

Used by the LLM judges (``/chat/completions``) and embedding similarity (``/embeddings``).
429 honours ``Retry-After``; 5xx, timeouts and dropped connections back off exponentially
with jitter; other 4xx fail at once with the provider's message. Clients are shared per
(base URL, key, concurrency) so the concurrency bound holds across every scorer using
the same endpoint.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import email.utils
import logging
import random
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec

from scorers import _fasthttp
from scorers.base import ScorerError

log = logging.getLogger("spyglass.scorers")

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 520, 522, 524, 529})
# Failures before any answer: retried like a retryable status.
_TRANSIENT = (httpx.TimeoutException, httpx.TransportError)
# Request bodies as httpx writes them (compact JSON, non-ASCII kept).
_JSON = msgspec.json.Encoder()


class ProviderError(ScorerError):
    """The LLM/embedding endpoint refused or kept failing."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class EndpointConfig:
    """Where and how to call an OpenAI-compatible endpoint."""

    base_url: str
    api_key: str | None = None
    timeout_s: float = 60.0
    max_retries: int = 4
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    max_concurrency: int = 8

    def headers(self) -> dict[str, str]:
        """Request headers (the key as a bearer token when set)."""
        h = {"Content-Type": "application/json"}
        if self.api_key:
            h["Authorization"] = f"Bearer {self.api_key}"
        return h


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _error_message(resp: httpx.Response) -> str:
    try:
        body = resp.json()
        if isinstance(body, dict):
            err = body.get("error")
            if isinstance(err, dict) and err.get("message"):
                return str(err["message"])
            if isinstance(err, str):
                return err
    except ValueError:
        pass
    return resp.text[:300]


class OpenAICompatClient:
    """Sync and async POSTs with retries; one instance per endpoint configuration."""

    def __init__(self, config: EndpointConfig) -> None:
        self.config = config
        self._sync_lanes = _SyncLanes(config)
        # asyncio primitives belong to one event loop; keep one set of lanes per loop.
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _AsyncLanes] = (
            weakref.WeakKeyDictionary()
        )

    def _url(self, path: str) -> str:
        return self.config.base_url.rstrip("/") + "/" + path.lstrip("/")

    def _delay(self, attempt: int, resp: httpx.Response | None) -> float:
        if resp is not None and resp.status_code == 429:
            after = retry_after_seconds(resp.headers.get("Retry-After"))
            if after is not None:
                return min(after, self.config.max_backoff_s)
        base = min(self.config.max_backoff_s, self.config.backoff_s * (2 ** attempt))
        return base * (0.5 + random.random() / 2)

    def _fail(self, path: str, attempts: int, resp: httpx.Response | None, exc: Exception | None) -> ProviderError:
        url = self._url(path)
        if resp is not None:
            return ProviderError(
                f"{url} answered HTTP {resp.status_code} after {attempts} attempt(s): {_error_message(resp)}",
                resp.status_code,
            )
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else f"failed ({type(exc).__name__}: {exc})"
        return ProviderError(f"{url} {kind} after {attempts} attempt(s) (timeout {self.config.timeout_s}s)")

    def _check(self, path: str, resp: httpx.Response, attempts: int) -> dict[str, Any]:
        try:
            body = resp.json()
        except ValueError as exc:
            raise ProviderError(
                f"{self._url(path)} answered HTTP {resp.status_code} with a non-JSON body: {resp.text[:200]!r}"
            ) from exc
        if not isinstance(body, dict):
            raise ProviderError(f"{self._url(path)} answered a JSON {type(body).__name__}, not an object")
        return body

    @property
    def attempts(self) -> int:
        """How many times a request is sent at most (the first try plus the retries)."""
        return self.config.max_retries + 1

    def _after(self, path: str, attempt: int, resp: httpx.Response | None,
               exc: Exception | None) -> tuple[dict[str, Any] | None, float]:
        """What attempt ``attempt`` (0-based) leads to: ``(body, 0)`` on success, or
        ``(None, delay)`` before the next try. Raises ``ProviderError`` when the answer
        is final (a non-retryable status) or no attempt is left. The one retry policy
        both :meth:`post` and :meth:`apost` follow."""
        if resp is not None and resp.status_code < 300:
            return self._check(path, resp, attempt + 1), 0.0
        if resp is not None and resp.status_code not in RETRY_STATUSES:
            raise self._fail(path, attempt + 1, resp, None)
        if attempt + 1 == self.attempts:
            raise self._fail(path, self.attempts, resp, exc)
        delay = self._delay(attempt, resp)
        log.info("scorers: %s %s, retrying in %.2fs", self._url(path),
                 f"HTTP {resp.status_code}" if resp is not None else type(exc).__name__, delay)
        return None, delay

    # -- sync ------------------------------------------------------------------------------

    def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST ``payload`` as JSON with retries; the decoded JSON object on success."""
        url, headers = self._url(path), self.config.headers()
        for attempt in range(self.attempts):
            resp: httpx.Response | None = None
            exc: Exception | None = None
            client = self._sync_lanes.take()
            try:
                resp = client.post(url, json=payload, headers=headers)
            except _TRANSIENT as e:
                exc = e
            finally:
                self._sync_lanes.give(client)
            body, delay = self._after(path, attempt, resp, exc)
            if body is not None:
                return body
            time.sleep(delay)
        raise AssertionError("unreachable")

    # -- async -----------------------------------------------------------------------------

    def _async_lanes(self) -> _fasthttp.Lanes | _AsyncLanes:
        loop = asyncio.get_running_loop()
        lanes = self._async.get(loop)
        if lanes is None:
            # Lanes of event loops that are gone (each asyncio.run makes one): their
            # connections refer to their loop, so the weak keys alone never let go of them.
            for old in [other for other in self._async if other.is_closed()]:
                del self._async[old]
            origin = _fasthttp.Origin.parse(self.config.base_url)
            # h11 straight to the endpoint unless a proxy from the environment applies
            # (httpx honours HTTP(S)_PROXY / NO_PROXY; the lean client does not).
            lanes = self._async[loop] = (
                _fasthttp.Lanes(origin, self.config.max_concurrency, self.config.timeout_s, _ssl_context())
                if origin is not None and _fasthttp.direct(origin) else _AsyncLanes(self.config))
        return lanes

    async def apost(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Async :meth:`post`."""
        lanes = self._async_lanes()
        if isinstance(lanes, _fasthttp.Lanes):
            return await self._apost_lean(lanes, path, payload)
        url, headers = self._url(path), self.config.headers()
        for attempt in range(self.attempts):
            resp: httpx.Response | None = None
            exc: Exception | None = None
            client = await lanes.take()
            try:
                resp = await client.post(url, json=payload, headers=headers)
            except _TRANSIENT as e:
                exc = e
            finally:
                lanes.give(client)
            body, delay = self._after(path, attempt, resp, exc)
            if body is not None:
                return body
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _apost_lean(self, lanes: _fasthttp.Lanes, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """:meth:`apost` over the lean h11 client; the same retry policy and messages."""
        content = _JSON.encode(payload)
        headers = list(self.config.headers().items())
        for attempt in range(self.attempts):
            resp: httpx.Response | None = None
            exc: Exception | None = None
            try:
                reply = await lanes.post(path, content, headers)
            except _TRANSIENT as e:
                exc = e
            else:
                if reply.status < 300:
                    with contextlib.suppress(msgspec.DecodeError):
                        decoded = msgspec.json.decode(reply.body)
                        if isinstance(decoded, dict):
                            return decoded
                # An error status or a body that is not a JSON object: the messages of
                # the httpx path, from an httpx.Response of the same answer.
                resp = httpx.Response(reply.status, headers=reply.headers, content=reply.body,
                                      request=httpx.Request("POST", self._url(path)))
            body, delay = self._after(path, attempt, resp, exc)
            if body is not None:
                return body
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")


# Why lanes rather than one httpx client with a pool of ``max_concurrency`` connections:
# httpcore's pool hands the same idle connection to every request queued at that moment
# (all but one then fail over and retry), rescans every connection (a poll() each) on
# each assignment, and with httpx's default of 20 keep-alive connections closes idle ones
# whenever it holds more than 20. At 32 judge calls in flight that cost several ms of
# the event loop's CPU per call, which the runner's concurrency multiplies into wall
# time. A lane is a client holding one keep-alive connection, checked out for one
# request at a time: the free lanes are the concurrency bound, and nothing is shared.
_LANE_LIMITS = httpx.Limits(max_connections=1, max_keepalive_connections=1)
_SSL: list[Any] = []
_SSL_LOCK = threading.Lock()


def _ssl_context() -> Any:
    """One TLS context for every lane (httpx would build one per client, ~10 ms each)."""
    with _SSL_LOCK:
        if not _SSL:
            _SSL.append(httpx.create_ssl_context())
        return _SSL[0]


class _AsyncLanes:
    """Up to ``max_concurrency`` async clients of one connection each, for one event loop;
    made on demand, the most recently used (warm) one handed out first."""

    def __init__(self, config: EndpointConfig) -> None:
        self._config = config
        self._free: list[httpx.AsyncClient] = []
        self._made = 0
        self._waiters: collections.deque[asyncio.Future[httpx.AsyncClient]] = collections.deque()

    async def take(self) -> httpx.AsyncClient:
        if self._free:
            return self._free.pop()
        if self._made < max(1, self._config.max_concurrency):
            self._made += 1
            return httpx.AsyncClient(timeout=self._config.timeout_s, limits=_LANE_LIMITS,
                                     verify=_ssl_context())
        waiter: asyncio.Future[httpx.AsyncClient] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.give(waiter.result())  # handed over as we were cancelled: pass it on
            raise

    def give(self, client: httpx.AsyncClient) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(client)
                return
        self._free.append(client)


class _SyncLanes:
    """The thread-safe counterpart of :class:`_AsyncLanes` for sync callers."""

    def __init__(self, config: EndpointConfig) -> None:
        self._config = config
        self._free: list[httpx.Client] = []
        self._made = 0
        self._cond = threading.Condition()

    def take(self) -> httpx.Client:
        with self._cond:
            while True:
                if self._free:
                    return self._free.pop()
                if self._made < max(1, self._config.max_concurrency):
                    self._made += 1
                    break
                self._cond.wait()
        return httpx.Client(timeout=self._config.timeout_s, limits=_LANE_LIMITS, verify=_ssl_context())

    def give(self, client: httpx.Client) -> None:
        with self._cond:
            self._free.append(client)
            self._cond.notify()


_CLIENTS: dict[EndpointConfig, OpenAICompatClient] = {}
_CLIENTS_LOCK = threading.Lock()


def client_for(config: EndpointConfig) -> OpenAICompatClient:
    """The shared client for ``config``."""
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(config)
        if client is None:
            client = _CLIENTS[config] = OpenAICompatClient(config)
        return client
