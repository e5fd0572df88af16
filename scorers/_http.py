"""A small client for OpenAI-compatible endpoints: retries, backoff and bounded concurrency.

Used by the LLM judges (``/chat/completions``) and embedding similarity (``/embeddings``).
429 honours ``Retry-After``; 5xx, timeouts and dropped connections back off exponentially
with jitter; other 4xx fail at once with the provider's message. Clients are shared per
(base URL, key, concurrency) so the concurrency bound holds across every scorer using
the same endpoint.
"""

from __future__ import annotations

import asyncio
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

from scorers.base import ScorerError

log = logging.getLogger("spyglass.scorers")

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 520, 522, 524, 529})
# Failures before any answer: retried like a retryable status.
_TRANSIENT = (httpx.TimeoutException, httpx.TransportError)


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
        self._sync_sem = threading.BoundedSemaphore(config.max_concurrency)
        self._sync_client: httpx.Client | None = None
        self._sync_lock = threading.Lock()
        # asyncio primitives belong to one event loop; keep one set per loop.
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[asyncio.Semaphore, httpx.AsyncClient]] = (
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

    def _client(self) -> httpx.Client:
        with self._sync_lock:
            if self._sync_client is None:
                self._sync_client = httpx.Client(timeout=self.config.timeout_s)
            return self._sync_client

    def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST ``payload`` as JSON with retries; the decoded JSON object on success."""
        client = self._client()
        for attempt in range(self.attempts):
            resp: httpx.Response | None = None
            exc: Exception | None = None
            with self._sync_sem:
                try:
                    resp = client.post(self._url(path), json=payload, headers=self.config.headers())
                except _TRANSIENT as e:
                    exc = e
            body, delay = self._after(path, attempt, resp, exc)
            if body is not None:
                return body
            time.sleep(delay)
        raise AssertionError("unreachable")

    # -- async -----------------------------------------------------------------------------

    def _async_parts(self) -> tuple[asyncio.Semaphore, httpx.AsyncClient]:
        loop = asyncio.get_running_loop()
        parts = self._async.get(loop)
        if parts is None:
            parts = (asyncio.Semaphore(self.config.max_concurrency),
                     httpx.AsyncClient(timeout=self.config.timeout_s))
            self._async[loop] = parts
        return parts

    async def apost(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Async :meth:`post`."""
        sem, client = self._async_parts()
        for attempt in range(self.attempts):
            resp: httpx.Response | None = None
            exc: Exception | None = None
            async with sem:
                try:
                    resp = await client.post(self._url(path), json=payload, headers=self.config.headers())
                except _TRANSIENT as e:
                    exc = e
            body, delay = self._after(path, attempt, resp, exc)
            if body is not None:
                return body
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")


_CLIENTS: dict[EndpointConfig, OpenAICompatClient] = {}
_CLIENTS_LOCK = threading.Lock()


def client_for(config: EndpointConfig) -> OpenAICompatClient:
    """The shared client for ``config``."""
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(config)
        if client is None:
            client = _CLIENTS[config] = OpenAICompatClient(config)
        return client
