"""Webhook notifications of alert events: generic JSON or a Slack-compatible message,
retried with backoff; the outcome goes into the alert's history."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from common.wire.alerts import AlertRule

ATTEMPTS = 3
TIMEOUT_S = 5.0


def payload(rule: AlertRule, kind: str, value: float | None, at: str) -> dict[str, Any]:
    """The body posted for one event, in the rule's ``webhook_format``."""
    shown = "no data" if value is None else f"{value:.4g}"
    what = "change of " if rule.mode == "change" else ""
    text = (f"[{rule.project}] alert '{rule.name}' {kind}: {what}{rule.metric} over "
            f"{rule.window_s}s is {shown} ({rule.condition} {rule.threshold:g} "
            f"{'fires' if kind == 'fired' else 'no longer holds'})")
    if rule.webhook_format == "slack":
        return {"text": text}
    return {"alert": {"id": rule.id, "name": rule.name, "project": rule.project, "metric": rule.metric,
                      "mode": rule.mode, "condition": rule.condition, "threshold": rule.threshold,
                      "window_s": rule.window_s},
            "event": kind, "value": value, "at": at, "text": text}


def send(url: str, body: dict[str, Any], backoff_s: float) -> tuple[str, int, str]:
    """POST ``body`` to ``url``: (``sent`` | ``failed``, attempts, detail). A 2xx is sent;
    network errors, 429 and 5xx are retried ``ATTEMPTS`` times with doubling waits."""
    data = json.dumps(body).encode()
    detail = ""
    for attempt in range(1, ATTEMPTS + 1):
        request = urllib.request.Request(url, data=data, method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "User-Agent": "spyglass-alerts"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                return "sent", attempt, f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            detail = f"HTTP {exc.code}"
            if exc.code < 500 and exc.code != 429:
                return "failed", attempt, detail
        except (urllib.error.URLError, OSError, ValueError) as exc:
            detail = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
        if attempt < ATTEMPTS:
            time.sleep(backoff_s * 2 ** (attempt - 1))
    return "failed", ATTEMPTS, detail
