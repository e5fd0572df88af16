"""The alert evaluator: one background thread in the collector, started and stopped with the
app. Every ``alert_interval_ms`` it computes each enabled rule's series (bounded by
``store.MAX_RULES``), records ``fired``/``resolved`` transitions in ``alert_events`` and
sends their webhooks. It only reads through queries, so ingest never waits on it; a slow
webhook delays the next evaluation, not a request."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

from collector.alerts import notify, store
from collector.alerts.series import series_value
from collector.storage import Storage
from common.timetext import rfc3339
from common.wire.alerts import AlertRule

log = logging.getLogger("spyglass.alerts")


def breached(rule: AlertRule, value: float | None) -> bool | None:
    """Whether ``value`` crosses the rule's threshold; None when there is nothing to judge."""
    if value is None:
        return None
    return value > rule.threshold if rule.condition == "above" else value < rule.threshold


class AlertWorker:
    """Evaluates every rule periodically; :meth:`evaluate` once is what the thread repeats."""

    def __init__(self, storage: Storage, interval_s: float, backoff_s: float = 1.0) -> None:
        self.storage = storage
        self.interval_s = interval_s
        self.backoff_s = backoff_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def current(self, rule: AlertRule, now: datetime) -> float | None:
        """The compared value: the series over the window, or its relative change against
        the window before (None when the previous window has no base to compare to)."""
        window = timedelta(seconds=rule.window_s)
        value = series_value(self.storage, rule, now - window, now)
        if rule.mode == "value" or value is None:
            return value
        before = series_value(self.storage, rule, now - 2 * window, now - window)
        if not before:
            return None
        return (value - before) / abs(before)

    def evaluate(self, now: datetime | None = None) -> int:
        """One pass over every enabled rule; the number of events recorded."""
        now = now or datetime.now(UTC)
        rules = [r for r in store.list_rules(self.storage) if r.enabled]
        last = store.last_events(self.storage, [r.id for r in rules])
        events = 0
        for rule in rules:
            try:
                value = self.current(rule, now)
            except Exception:  # one bad rule must not stop the others
                log.exception("alerts: evaluating %r (%s) failed", rule.name, rule.id)
                continue
            state = last.get(rule.id)
            firing = bool(state and state["kind"] == "fired")
            verdict = breached(rule, value)
            if verdict and not firing:
                if state and now.timestamp() - state["fired_at"] < rule.cooldown_s:
                    continue  # cooling down since it last fired
                self._record(rule, "fired", value, now)
                events += 1
            elif verdict is False and firing:
                self._record(rule, "resolved", value, now)
                events += 1
        return events

    def _record(self, rule: AlertRule, kind: str, value: float | None, now: datetime) -> None:
        if rule.webhook_url:
            outcome, attempts, detail = notify.send(
                rule.webhook_url, notify.payload(rule, kind, value, rfc3339(now)), self.backoff_s)
        else:
            outcome, attempts, detail = "none", 0, ""
        store.add_event(self.storage, rule, kind, value, outcome, attempts, detail, at=now)
        log.warning("alerts: %r (%s) %s: %s=%s, notification %s %s", rule.name, rule.project, kind,
                    rule.metric, value, outcome, detail)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            started = time.monotonic()
            try:
                self.evaluate()
            except Exception:
                log.exception("alerts: evaluation pass failed")
            took = time.monotonic() - started
            if took > self.interval_s:
                log.warning("alerts: a pass took %.1fs, longer than the %.1fs interval", took, self.interval_s)

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="spyglass-alerts", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop after the pass in progress (its webhook retries included, up to ``timeout_s``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            self._thread = None
