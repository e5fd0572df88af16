"""Monitors as a service of the collector: the ``spyglass.workers`` entry point the collector
loads (without importing scorers). It reads the monitors stored through ``/api/monitors``
and runs a :class:`MonitorRunner` for each enabled one, over the collector's own HTTP API,
with the collector's internal credential (``api_key``: accepted while API keys exist, never
stored). Every poll it reports each monitor's counters to ``PUT /api/monitors/{id}/status``.

A runner's position is kept in ``state_dir`` but losing it is harmless: scores carry
deterministic ids, so re-scoring after a crash or restart stores nothing twice. Counters and
the day's judge spend resume from the last stored report."""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import msgspec

from common.wire.monitors import MonitorList, MonitorOut, MonitorStatus, MonitorStatusIn
from scorers.base import ScorerError
from scorers.monitors.config import Monitor, MonitorsConfig
from scorers.monitors.runner import MonitorError, MonitorRunner

log = logging.getLogger("spyglass.monitors")

REPORT_EVERY_S = 30.0
"""A monitor whose counters did not change is still reported this often (the API calls a
monitor without a report for a minute ``stale``)."""

_REPORTED = ("sampled", "scored", "dropped_backlog", "judge_skipped_budget", "errors", "fetched",
             "posted", "duplicates", "judge_calls")


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


class MonitorService:
    """Keeps one runner per enabled stored monitor, following creates, updates and deletes."""

    def __init__(self, base_url: str, state_dir: Path, poll_s: float | None = None,
                 api_key: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.state_dir = Path(state_dir)
        self.poll_s = poll_s or int(os.environ.get("SPYGLASS_MONITORS_POLL_MS", "5000")) / 1000
        # Scoring is "behind" past this lag; then the backlog is sampled down (runner.py).
        max_lag = _env_float("SPYGLASS_MONITORS_MAX_LAG_S", 300.0)
        self.max_lag_s = max_lag if max_lag > 0 else None
        self.queue_size = int(_env_float("SPYGLASS_MONITORS_QUEUE", 2000))
        self.batch_size = max(1, min(1000, int(_env_float("SPYGLASS_MONITORS_BATCH", 500))))
        self.api_key = api_key
        # Trace the monitors' own scorer and judge calls (judge cost as llm spans) into this
        # project of the same collector; off by default: a rule scorer's span per scored span
        # would double what the monitors read.
        self.trace_project = os.environ.get("SPYGLASS_MONITORS_TRACE_PROJECT") or None
        self._runners: dict[str, tuple[bytes, MonitorRunner]] = {}
        self._reported: dict[str, tuple[float, bytes]] = {}
        self._bad: dict[str, bytes] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=self.base_url, timeout=30.0, headers=headers)
        self._warned = ""

    def _stored(self) -> list[MonitorOut] | None:
        try:
            response = self._client.get("/api/monitors/")
        except httpx.HTTPError as exc:
            self._warn(f"collector unreachable: {exc}")
            return None
        if response.status_code != 200:
            self._warn(f"GET /api/monitors answered HTTP {response.status_code}; stored monitors "
                       "do not run until it answers")
            return None
        return msgspec.json.decode(response.content, type=MonitorList).monitors

    def _warn(self, message: str) -> None:
        if message != self._warned:
            log.warning("monitors service: %s", message)
            self._warned = message

    def _resume(self, mid: str, runner: MonitorRunner, monitor: Monitor) -> None:
        """Counters and today's judge spend from the last report (a restart or a lost state
        directory must not reset the day's budget)."""
        try:
            response = self._client.get(f"/api/monitors/{mid}/status")
            if response.status_code != 200:
                return
            last = msgspec.json.decode(response.content, type=MonitorStatus)
        except (httpx.HTTPError, msgspec.DecodeError):
            return
        for key in _REPORTED:
            runner.stats[key] = getattr(last, key)
        if last.budget_day:
            runner.judge_spend[monitor.name] = (date.fromisoformat(last.budget_day),
                                                last.judge_cost_usd_today)

    def _report(self, mid: str, runner: MonitorRunner, running: bool = True) -> None:
        monitor = runner.config.monitors[0]
        today = datetime.now(UTC).date()
        body = MonitorStatusIn(
            running=running, **{k: runner.stats[k] for k in _REPORTED},
            judge_cost_usd_today=round(runner.spent_today(monitor), 9), budget_day=today.isoformat(),
            last_run=runner.last_run, last_error=runner.last_error, last_error_at=runner.last_error_at)
        encoded = msgspec.json.encode(body)
        at, previous = self._reported.get(mid, (0.0, b""))
        if running and encoded == previous and time.monotonic() - at < REPORT_EVERY_S:
            return
        try:
            response = self._client.put(f"/api/monitors/{mid}/status", content=encoded,
                                        headers={"Content-Type": "application/json"})
        except httpx.HTTPError as exc:
            self._warn(f"status report failed: {exc}")
            return
        if response.status_code == 200:
            self._reported[mid] = (time.monotonic(), encoded)
        elif response.status_code != 404:  # deleted meanwhile
            self._warn(f"PUT /api/monitors/{mid}/status answered HTTP {response.status_code}")

    def sync(self) -> None:
        """Start, restart or stop runners to match the stored monitors; report counters."""
        stored = self._stored()
        if stored is None:
            return
        wanted = {m.id: m for m in stored if m.enabled}
        for mid in list(self._runners):
            version, runner = self._runners[mid]
            if mid not in wanted or msgspec.json.encode(wanted[mid]) != version:
                runner.close()
                # Its last counters, so a paused (or edited) monitor resumes from them.
                self._report(mid, runner, running=mid in wanted)
                del self._runners[mid]
        for mid, m in wanted.items():
            version = msgspec.json.encode(m)
            if mid in self._runners or self._bad.get(mid) == version:
                continue
            try:
                monitor = Monitor(name=m.name, project=m.project, scorers=list(m.scorers),
                                  filter=dict(m.filter), sample_rate=m.sample_rate,
                                  judge_budget_usd_per_day=m.judge_budget_usd_per_day,
                                  **({"fields": dict(m.fields)} if m.fields else {}))
                config = MonitorsConfig(monitors=[monitor], endpoint=self.base_url, start=m.created_at,
                                        poll_interval_s=self.poll_s, workers=1, page_size=1000,
                                        batch_size=self.batch_size, queue_size=self.queue_size,
                                        max_lag_s=self.max_lag_s,
                                        state_file=str(self.state_dir / f"monitor-{mid}.json"))
                runner = MonitorRunner(config, api_key=self.api_key)
            except (ScorerError, MonitorError) as exc:
                log.warning("monitors service: monitor %r of %r cannot run: %s", m.name, m.project, exc)
                self._bad[mid] = version
                continue
            self._resume(mid, runner, monitor)
            runner.start()
            self._runners[mid] = (version, runner)
            log.info("monitors service: running %r on project %r", m.name, m.project)
        for mid, (_, runner) in self._runners.items():
            self._report(mid, runner)
        if self.trace_project:
            import tracer

            # Now, not at shutdown: by then the collector no longer accepts requests.
            tracer.flush(2.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sync()
            except Exception:
                log.exception("monitors service: sync failed")
            self._stop.wait(self.poll_s)

    def start(self) -> None:
        if self.trace_project:
            import tracer

            tracer.init(project=self.trace_project, endpoint=self.base_url, api_key=self.api_key)
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="spyglass-monitors-service", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop syncing, then every runner (each finishes its queue for a few seconds). No
        last report: the collector stops accepting requests before its workers stop, so the
        counters of the last poll (at most ``poll_s`` old) are what stays stored."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        for _, runner in self._runners.values():
            runner.stop(timeout_s=3.0)
            runner._client.close()
        self._runners.clear()
        self._client.close()


def start_service(base_url: str, state_dir: Path, api_key: str | None = None) -> MonitorService:
    """The ``spyglass.workers`` factory (``api_key``: the collector's internal credential)."""
    return MonitorService(base_url, state_dir, api_key=api_key)
