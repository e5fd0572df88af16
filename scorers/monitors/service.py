"""Monitors as a service of the collector: the ``spyglass.workers`` entry point the collector
loads (without importing scorers). It reads the monitors stored through ``/api/monitors``
and runs a :class:`MonitorRunner` for each enabled one, over the collector's own HTTP API.

A runner's position is kept in ``state_dir`` but losing it is harmless: scores carry
deterministic ids, so re-scoring after a crash or restart stores nothing twice."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import httpx
import msgspec

from common.wire.monitors import MonitorList, MonitorOut
from scorers.base import ScorerError
from scorers.monitors.config import Monitor, MonitorsConfig
from scorers.monitors.runner import MonitorError, MonitorRunner

log = logging.getLogger("spyglass.monitors")


class MonitorService:
    """Keeps one runner per enabled stored monitor, following creates, updates and deletes."""

    def __init__(self, base_url: str, state_dir: Path, poll_s: float | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.state_dir = Path(state_dir)
        self.poll_s = poll_s or int(os.environ.get("SPYGLASS_MONITORS_POLL_MS", "5000")) / 1000
        self._runners: dict[str, tuple[bytes, MonitorRunner]] = {}
        self._bad: dict[str, bytes] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = httpx.Client(base_url=self.base_url, timeout=30.0)
        self._warned = ""

    def _stored(self) -> list[MonitorOut] | None:
        try:
            response = self._client.get("/api/monitors/")
        except httpx.HTTPError as exc:
            self._warn(f"collector unreachable: {exc}")
            return None
        if response.status_code != 200:
            # With API keys the loopback call needs one: say so once, not every poll.
            self._warn(f"GET /api/monitors answered HTTP {response.status_code}; stored monitors "
                       "do not run (run `spyglass monitors run` with a key instead)")
            return None
        return msgspec.json.decode(response.content, type=MonitorList).monitors

    def _warn(self, message: str) -> None:
        if message != self._warned:
            log.warning("monitors service: %s", message)
            self._warned = message

    def sync(self) -> None:
        """Start, restart or stop runners to match the stored monitors."""
        stored = self._stored()
        if stored is None:
            return
        wanted = {m.id: m for m in stored if m.enabled}
        for mid in list(self._runners):
            version, runner = self._runners[mid]
            if mid not in wanted or msgspec.json.encode(wanted[mid]) != version:
                runner.close()
                del self._runners[mid]
        for mid, m in wanted.items():
            version = msgspec.json.encode(m)
            if mid in self._runners or self._bad.get(mid) == version:
                continue
            try:
                monitor = Monitor(name=m.name, project=m.project, scorers=list(m.scorers),
                                  filter=dict(m.filter), sample_rate=m.sample_rate,
                                  **({"fields": dict(m.fields)} if m.fields else {}))
                config = MonitorsConfig(monitors=[monitor], endpoint=self.base_url, start=m.created_at,
                                        poll_interval_s=self.poll_s, workers=1,
                                        state_file=str(self.state_dir / f"monitor-{mid}.json"))
                runner = MonitorRunner(config)
            except (ScorerError, MonitorError) as exc:
                log.warning("monitors service: monitor %r of %r cannot run: %s", m.name, m.project, exc)
                self._bad[mid] = version
                continue
            runner.start()
            self._runners[mid] = (version, runner)
            log.info("monitors service: running %r on project %r", m.name, m.project)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sync()
            except Exception:
                log.exception("monitors service: sync failed")
            self._stop.wait(self.poll_s)

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="spyglass-monitors-service", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop syncing, then every runner (each finishes its queue for a few seconds)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        for _, runner in self._runners.values():
            runner.stop(timeout_s=3.0)
            runner._client.close()
        self._runners.clear()
        self._client.close()


def start_service(base_url: str, state_dir: Path) -> MonitorService:
    """The ``spyglass.workers`` factory."""
    return MonitorService(base_url, state_dir)
