"""The Litestar application: ``create_app(settings)``."""

from __future__ import annotations

import asyncio
import importlib
import logging
import pkgutil
from typing import Any

from litestar import Litestar, Request, Response
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin

import collector.api
from collector.alerts.worker import AlertWorker
from collector.auth import AuthMiddleware, new_internal_token
from collector.ingest.columns import SpanBatch
from collector.ingest.dedup import RecentCalls
from collector.ingest.stats import STATS
from collector.ingest.writer import BatchWriter
from collector.settings import Settings
from collector.storage import Storage, StorageError, open_storage
from collector.storage.base import arrow_stream
from collector.storage.projects import ProjectSettings
from collector.workers import load_workers

log = logging.getLogger("spyglass")


def api_routes() -> list[Any]:
    """``ROUTES`` of every ``collector/api/*.py`` module, in module-name order."""
    routes: list[Any] = []
    for info in sorted(pkgutil.iter_modules(collector.api.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"collector.api.{info.name}")
        routes.extend(getattr(module, "ROUTES", []))
    return routes


def _http_error(_: Request, exc: HTTPException) -> Response[dict]:
    detail = exc.detail
    extra = getattr(exc, "extra", None)
    if isinstance(extra, list) and extra:
        # Validation errors: name the offending parameter(s).
        parts = [f"{e.get('key', '?')}: {e.get('message', '')}" for e in extra if isinstance(e, dict)]
        if parts:
            detail = f"{detail}: {'; '.join(parts)}"
    headers = getattr(exc, "headers", None) or None
    return Response({"error": detail}, status_code=exc.status_code, headers=headers)


def _storage_error(_: Request, exc: StorageError) -> Response[dict]:
    log.error("storage error: %s", exc)
    # One line, without ClickHouse's stack dump; the log has the whole text.
    first = " ".join(str(exc).split())
    cut = first.find(": While executing")
    return Response({"error": f"storage error: {first[:cut] if cut > 0 else first}"[:300]},
                    status_code=503)


def _too_deep(_: Request, exc: RecursionError) -> Response[dict]:
    # Request bodies are decoded (msgspec) before a handler runs; JSON nested thousands of
    # levels deep stops there with a RecursionError: the client's fault, not ours.
    log.warning("request refused: %s", exc)
    return Response({"error": "request body nests JSON too deeply"}, status_code=400)


def _internal_error(_: Request, exc: Exception) -> Response[dict]:
    # The details (Python text) go to the log only, never to the client.
    log.exception("unhandled error", exc_info=exc)
    return Response({"error": "internal error; the collector's log has the details"},
                    status_code=500)


def create_app(settings: Settings | None = None, storage: Storage | None = None) -> Litestar:
    """The collector app over ``storage`` (opened from ``settings`` when not given).

    ``app.state`` holds ``settings``, ``storage`` (a :class:`collector.storage.Storage`),
    ``writer`` (the :class:`BatchWriter`) and ``project_settings``. Shutdown flushes the
    writer, then closes storage if this function opened it.
    """
    settings = settings or Settings.load()
    owns_storage = storage is None
    storage = storage or open_storage(settings)
    writer = BatchWriter(storage, max_batch_spans=settings.writer_max_batch_spans,
                         max_pending_spans=settings.writer_max_pending_spans,
                         retry_after_s=settings.retry_after_s)

    alerts = AlertWorker(storage, settings.alert_interval_ms / 1000,
                         backoff_s=settings.alert_retry_backoff_ms / 1000)

    internal_token = new_internal_token()
    workers = load_workers(settings, internal_token)
    grpc_servers: list[Any] = []

    async def start_writer() -> None:
        writer.start()
        # pyarrow initializes its timestamp/time-zone machinery on first use (~0.2 s):
        # pay it at start, not in the first export's latency.
        arrow_stream(SpanBatch().to_arrow())
        if settings.alert_interval_ms:
            alerts.start()
        for worker in workers:
            worker.start()
        if settings.grpc_port:
            from collector.ingest import grpc_server

            server = await grpc_server.start(app.state, settings.host, settings.grpc_port)
            if server is not None:
                grpc_servers.append(server)

    async def stop() -> None:
        for server in grpc_servers:  # in-flight gRPC exports finish before the writer flushes
            await server.stop(grace=10)
        # The alert thread queries storage: stop it before storage closes.
        await asyncio.to_thread(alerts.stop)
        for worker in workers:
            await asyncio.to_thread(worker.stop)
        await writer.close()
        log.info("writer flushed: %d spans in %d inserts", writer.spans_written, writer.inserts)
        STATS.log_if_used()
        if owns_storage:
            storage.close()

    app = Litestar(
        route_handlers=api_routes(),
        on_startup=[start_writer],
        on_shutdown=[stop],
        middleware=[AuthMiddleware(storage, internal_token=internal_token)],
        exception_handlers={
            HTTPException: _http_error,
            StorageError: _storage_error,
            RecursionError: _too_deep,
            Exception: _internal_error,
        },
        openapi_config=OpenAPIConfig(
            title="Spyglass collector", version="0.1.0", path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
            # Route docstrings are the API reference (GET /schema).
            use_handler_docstrings=True,
        ),
        state=State({"settings": settings, "storage": storage, "writer": writer, "alerts": alerts,
                     # Embedded storage has one writer (the data-dir lock): stored
                     # duplicates are found in memory (collector/ingest/dedup.py).
                     "recent_calls": (RecentCalls(storage) if getattr(storage, "engine", "") == "chdb"
                                      else None),
                     "project_settings": ProjectSettings(storage, settings.default_ttl_days)}),
        debug=False,
    )
    return app
