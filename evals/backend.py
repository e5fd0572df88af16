"""Where ``evals`` stores results: a running collector, else an in-process one.

``connect()`` asks ``SPYGLASS_ENDPOINT`` (else the running ``spyglass serve``'s endpoint
file, see common/endpoint.py; else ``http://127.0.0.1:4318``) for
``/healthz``. When it answers, results and traces go there. When nothing answers, it
starts a collector inside this process over ``SPYGLASS_DATA_DIR`` (port 0, for the
duration of the command) and says so in one line on stderr, so traces and results still
travel the same HTTP path. The data-dir lock keeps it from opening a store that a running
collector holds; that error surfaces as :class:`BackendError`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from common.endpoint import discovered_endpoint
from evals.client import Client

DEFAULT_ENDPOINT = "http://127.0.0.1:4318"


class BackendError(RuntimeError):
    """No usable store: the message names the endpoint or data directory and what to do."""


@dataclass
class Backend:
    """A connected store: ``url`` serves both OTLP traces and the query API."""

    url: str
    client: Client
    #: The project given (``--project``/``SPYGLASS_PROJECT``), or None: the API key's
    #: project, else ``default``, as the collector decides.
    project: str | None
    api_key: str | None
    embedded: bool


def endpoint_from_env() -> str:
    """``SPYGLASS_ENDPOINT`` (then ``OTEL_EXPORTER_OTLP_ENDPOINT``), else the running
    ``spyglass serve`` on this machine (its endpoint file), else the default."""
    return (os.environ.get("SPYGLASS_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
            or discovered_endpoint() or DEFAULT_ENDPOINT).rstrip("/")


def project_from_env(project: str | None = None) -> str | None:
    """The project given, else ``SPYGLASS_PROJECT``, else None (the collector then uses the
    API key's project, or ``default``)."""
    return project or os.environ.get("SPYGLASS_PROJECT") or None


def answers(url: str, timeout_s: float = 1.0) -> bool:
    """True when a collector at ``url`` answers ``/healthz`` with 200."""
    try:
        return httpx.get(f"{url}/healthz", timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def _start_embedded(endpoint: str = DEFAULT_ENDPOINT) -> Any:
    """An in-process collector over ``SPYGLASS_DATA_DIR`` on a free loopback port."""
    try:
        from collector.server import start_in_thread
        from collector.settings import Settings, SettingsError
        from collector.storage import DataDirLockedError, StorageError
    except ImportError as exc:  # a broken install, not a user error
        raise BackendError(f"cannot start an in-process collector: {exc}") from None
    try:
        settings = Settings.load(host="127.0.0.1", port=0, log_level="warning")
    except SettingsError as exc:
        raise BackendError(str(exc)) from None
    try:
        return start_in_thread(settings), settings
    except DataDirLockedError as exc:
        # `evals` has no --data-dir: say what works for it.
        raise BackendError(
            f"no collector answers at {endpoint}, and data directory "
            f"{exc.data_dir or settings.data_dir} is in use by another Spyglass process (pid "
            f"{exc.holder}): if it is `spyglass serve`, point evals at it with "
            "SPYGLASS_ENDPOINT=http://HOST:PORT; otherwise stop it, or set SPYGLASS_DATA_DIR "
            "to another directory") from None
    except (StorageError, OSError, RuntimeError) as exc:
        raise BackendError(f"cannot start an in-process collector over {settings.data_dir}: "
                           f"{exc}") from None


@contextmanager
def connect(project: str | None = None, *, quiet: bool = False) -> Iterator[Backend]:
    """A :class:`Backend` for the duration of a command (see the module docstring)."""
    endpoint = endpoint_from_env()
    api_key = os.environ.get("SPYGLASS_API_KEY") or None
    project = project_from_env(project)
    if answers(endpoint):
        client = Client(endpoint, api_key)
        try:
            yield Backend(endpoint, client, project, api_key, embedded=False)
        finally:
            client.close()
        return
    server, settings = _start_embedded(endpoint)
    where = settings.clickhouse_url or settings.data_dir
    if not quiet:
        print(f"evals: no collector at {endpoint}; using an in-process one over {where} "
              "for this command", file=sys.stderr)
    client = Client(server.url, api_key)
    try:
        yield Backend(server.url, client, project, api_key, embedded=True)
    finally:
        client.close()
        server.stop()
