"""Feedback on traces and spans, posted to the collector's ``POST /api/feedback`` from a
background thread so the caller never waits on, or fails because of, the network."""

from __future__ import annotations

import math
import queue
import threading
import urllib.error
import urllib.request
from typing import Any

import msgspec

from common.wire.feedback import SOURCES, FeedbackIn
from tracer._log import warn_once

MAX_PENDING = 10_000
TIMEOUT_S = 5.0

_queue: queue.Queue[tuple[str, dict[str, str], bytes]] = queue.Queue(MAX_PENDING)
_worker: threading.Thread | None = None
_worker_lock = threading.Lock()
sent = 0
failed = 0


def _post(url: str, headers: dict[str, str], body: bytes) -> None:
    global sent, failed
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            response.read()
        sent += 1
    except urllib.error.HTTPError as exc:
        failed += 1
        detail = exc.read()[:500].decode(errors="replace")
        warn_once(f"feedback_http_{exc.code}", "the collector rejected feedback with HTTP %s: %s",
                  exc.code, detail, exc_info=False)
    except Exception as exc:
        failed += 1
        warn_once("feedback_send", "could not post feedback to %s: %s", url, exc, exc_info=False)


def _run() -> None:
    while True:
        url, headers, body = _queue.get()
        try:
            _post(url, headers, body)
        finally:
            _queue.task_done()


def _ensure_worker() -> None:
    global _worker
    with _worker_lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_run, name="spyglass-feedback", daemon=True)
            _worker.start()


def submit(url: str, headers: dict[str, str], item: FeedbackIn) -> bool:
    """Queue one feedback item for the background sender; False when it was dropped."""
    global failed
    try:
        body = msgspec.json.encode(item)
        _ensure_worker()
        _queue.put_nowait((url, headers, body))
        return True
    except queue.Full:
        failed += 1
        warn_once("feedback_full", "more than %d feedback items are waiting to be sent; "
                  "dropping new ones", MAX_PENDING, exc_info=False)
    except Exception:
        failed += 1
        warn_once("feedback_submit", "could not queue feedback")
    return False


def drain(timeout_s: float) -> bool:
    """Wait at most ``timeout_s`` for queued feedback to be sent; True if the queue emptied."""
    if _queue.unfinished_tasks == 0:
        return True
    done = threading.Event()

    def wait() -> None:
        _queue.join()
        done.set()

    threading.Thread(target=wait, name="spyglass-feedback-drain", daemon=True).start()
    return done.wait(max(timeout_s, 0.0))


def payload(trace_id: str, span_id: str | None, name: str, value: Any, source: str,
            comment: str | None, project: str | None) -> FeedbackIn:
    """The request body for one feedback item; raises ValueError naming a bad field."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("feedback name must be a non-empty string")
    if isinstance(value, bool | str):
        pass
    elif isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"feedback value must be a finite number, got {value!r}")
        value = float(value)
    else:
        raise ValueError(f"feedback value must be a number, true/false or a string label, "
                         f"got {type(value).__name__}")
    if source not in SOURCES:
        raise ValueError(f"feedback source must be one of {', '.join(SOURCES)}, got {source!r}")
    return FeedbackIn(trace_id=trace_id, name=name.strip(), value=value, source=source,
                      span_id=span_id or None, project=project or None,
                      comment=None if comment is None else str(comment))
