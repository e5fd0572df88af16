"""Background workers other parts run inside the collector, without the collector importing
them: a factory registered under the ``spyglass.workers`` entry-point group (the scorers
package registers the monitors worker), or named in the ``workers`` setting
(``SPYGLASS_WORKERS=package.module:factory,...``; ``off`` runs none).

A factory is called as ``factory(base_url=..., state_dir=..., api_key=...)`` (``api_key``
only when its signature takes it) and returns an object with ``start()`` and ``stop()``; it
talks to the collector through its HTTP API at ``base_url`` (the import contracts keep it
from reaching into the collector's modules). ``api_key`` is the process's internal
credential (:func:`collector.auth.new_internal_token`): accepted on every project while API
keys exist, held in memory only."""

from __future__ import annotations

import importlib
import inspect
import logging
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

from collector.settings import Settings

GROUP = "spyglass.workers"
log = logging.getLogger("spyglass.workers")


class Worker(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


def _factories(setting: str) -> list[tuple[str, Any]]:
    if setting.strip().lower() == "off":
        return []
    found: dict[str, Any] = {}
    for ep in entry_points(group=GROUP):
        found[ep.value] = (ep.name, ep.load)
    for spec in filter(None, (s.strip() for s in setting.split(","))):
        module, _, attr = spec.partition(":")
        found.setdefault(spec, (spec, lambda m=module, a=attr: getattr(importlib.import_module(m), a)))
    return list(found.values())


def _takes_api_key(factory: Any) -> bool:
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
    return "api_key" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def load_workers(settings: Settings, internal_token: str | None = None) -> list[Worker]:
    """Every worker of the entry-point group and the ``workers`` setting; one that fails to
    load is logged and skipped (a broken plug-in must not stop ingest)."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    base_url = f"http://{f'[{host}]' if ':' in host else host}:{settings.port}"
    state_dir = Path(settings.data_dir) / "workers"
    workers: list[Worker] = []
    for name, load in _factories(settings.workers):
        try:
            factory = load()
            extra = {"api_key": internal_token} if internal_token and _takes_api_key(factory) else {}
            workers.append(factory(base_url=base_url, state_dir=state_dir, **extra))
        except Exception:
            log.exception("worker %s failed to load; not running it", name)
    return workers
