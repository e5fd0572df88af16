"""Bounded waits on daemon threads: flush and shutdown never hold the caller past a budget.

The OTel SDK's flush and shutdown wait for an export that, with the collector down or
black-holed, can take the exporter's whole retry budget; a daemon thread lets the
caller (and the interpreter at exit) move on when the budget is spent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from tracer._log import warn_once

__all__ = ["run_bounded", "start_background", "wait_bounded"]


def run_bounded(fn: Callable[[], Any], timeout_s: float, what: str) -> bool:
    """Run ``fn`` on a daemon thread and wait at most ``timeout_s``; True if it finished."""
    return wait_bounded(start_background(fn, what), timeout_s, what)


def start_background(fn: Callable[[], Any], what: str) -> threading.Event:
    """Run ``fn`` on a daemon thread; the returned event is set when it has finished."""
    done = threading.Event()

    def target() -> None:
        try:
            fn()
        except Exception:
            warn_once(f"bounded:{what}", "%s failed", what)
        finally:
            done.set()

    threading.Thread(target=target, name=f"spyglass-{what}", daemon=True).start()
    return done


def wait_bounded(done: threading.Event, timeout_s: float, what: str) -> bool:
    """Wait at most ``timeout_s`` for ``done``; log once when the budget ran out."""
    finished = done.wait(max(timeout_s, 0.0))
    if not finished:
        warn_once(f"timeout:{what}", "%s did not finish within %.1fs; continuing without it",
                  what, timeout_s, exc_info=False)
    return finished
