"""Serving the app: ``run(settings)`` in the foreground (uvicorn, clean shutdown on
SIGINT/SIGTERM, flushing the writer) and ``start_in_thread(settings)`` in-process."""

from __future__ import annotations

import gc
import logging
import signal
import socket
import threading
import time
from dataclasses import dataclass, field

import click
import uvicorn

from collector.app import create_app
from collector.auth import check_bind, check_bind_early
from collector.settings import Settings
from common import endpoint

log = logging.getLogger("spyglass")


class ServerError(RuntimeError):
    """The collector could not start; the message names the cause."""


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio disables Nagle only on sockets that say so, and accepted
    # sockets inherit it; without it every keep-alive response waits ~40 ms (delayed ACK).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _url(host: str, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _local(url: str, host: str) -> str:
    """``url`` as a client on this machine reaches it (a wildcard host means loopback)."""
    wildcard = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}
    if host in wildcard:
        return url.replace(f"[{host}]" if ":" in host else host, wildcard[host], 1)
    return url


def _config(app: object, settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(
        app, log_level=settings.log_level, access_log=False, lifespan="on",
        timeout_graceful_shutdown=30, server_header=False,
    )


def _tune_gc() -> None:
    """Python's cyclic GC for a long-running ingest server (``spyglass serve`` only; an
    embedding process keeps its own settings): what was loaded at start (Litestar,
    pyarrow, protobuf, ~10^5 objects) is frozen out of every later scan, and young
    collections run every 10,000 allocations instead of 700. Ingest allocates a few
    dozen short-lived objects per span that reference counting frees; GC was ~6 % of the
    collector's CPU under load (benchmarks/ingest.py, "garbage collection")."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def _check_bind_early(settings: Settings) -> None:
    """Refuse an open non-loopback bind before binding or opening storage, when the data
    directory can tell without opening it (collector.auth)."""
    check_bind_early(settings.host, settings.data_dir, settings.clickhouse_url,
                     settings.insecure_no_auth)


def _check_bind(settings: Settings, app: object) -> None:
    """Refuse an open (key-less) collector on a non-loopback address (collector.auth)."""
    check_bind(settings.host, app.state.storage, settings.insecure_no_auth)  # type: ignore[attr-defined]


def _handled_signal(sig: int, frame: object) -> None:
    log.info("shut down on %s", signal.Signals(sig).name)


def run(settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM; on shutdown in-flight requests finish, the writer
    inserts everything it accepted, and storage closes (releasing the data-dir lock)."""
    # An open collector on a public address is refused first, before anything is opened.
    _check_bind_early(settings)
    # Then bind: a port already in use is reported before storage is opened or migrated.
    sock = bind_socket(settings.host, settings.port)
    try:
        app = create_app(settings)
    except BaseException:
        sock.close()
        raise
    try:
        _check_bind(settings, app)
    except BaseException:
        sock.close()
        app.state.storage.close()
        raise
    url = _url(settings.host, sock)
    click.echo(f"Spyglass listening on {url}", err=False)
    # Published for clients on this machine (tracer, evals, keys, monitors): they follow a
    # non-default port or data dir without further settings (common/endpoint.py).
    endpoint.publish(_local(url, settings.host), settings.data_dir)
    server = uvicorn.Server(_config(app, settings))
    _tune_gc()
    # uvicorn handles SIGINT/SIGTERM (graceful shutdown, writer flush), then re-raises the
    # signal to whatever handler was installed before it: make that a no-op so a clean
    # shutdown exits 0 instead of dying by the signal it already handled.
    previous = {sig: signal.signal(sig, _handled_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run(sockets=[sock])
    finally:
        endpoint.withdraw()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
        # Lifespan shutdown closes storage; this covers a failed startup.
        app.state.storage.close()


@dataclass
class RunningServer:
    """A collector serving from a background thread of this process."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread
    storage: object = field(repr=False, default=None)

    def stop(self) -> None:
        """Stop serving, flush the writer and close storage; returns when done."""
        self.server.should_exit = True
        self.thread.join(timeout=60)
        if self.storage is not None:
            self.storage.close()  # type: ignore[attr-defined]


def start_in_thread(settings: Settings, timeout_s: float = 60.0) -> RunningServer:
    """Start a collector in a daemon thread and return once it accepts requests.
    ``settings.port`` 0 picks a free port; ``.url`` has the real one."""
    app = create_app(settings)
    storage = app.state.storage
    try:
        sock = bind_socket(settings.host, settings.port)
    except BaseException:
        storage.close()
        raise
    server = uvicorn.Server(_config(app, settings))
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported to the caller below
            errors.append(exc)
        finally:
            sock.close()

    thread = threading.Thread(target=serve, name="spyglass-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if errors or not thread.is_alive():
            storage.close()
            raise ServerError(f"collector failed to start: {errors[0] if errors else 'exited'}")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise ServerError(f"collector did not start within {timeout_s}s")
        time.sleep(0.02)
    return RunningServer(url=_url(settings.host, sock), server=server, thread=thread, storage=storage)
