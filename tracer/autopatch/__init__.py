"""Auto-instrumentation: ``tracer.init()`` patches the provider SDKs that are installed so
a plain SDK call becomes an ``llm``/``embedding`` span (model, messages, usage, cost,
latency, time to first token), nested under the current ``@op`` if any.

One module per provider lists what it patches (``TARGETS``); ``_core.wrap`` does the rest.
Opt out with ``tracer.init(autopatch=False)`` (or ``SPYGLASS_AUTOPATCH=false``), choose
providers with ``autopatch=["openai"]`` (or ``SPYGLASS_AUTOPATCH=openai``), undo with
``tracer.unpatch()``. See docs/llm.md, "Auto-instrumentation".
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Iterable
from typing import Any

from tracer import runtime
from tracer._log import logger, warn_once
from tracer.settings import Settings

PROVIDERS = ("openai", "anthropic")
ENV = "SPYGLASS_AUTOPATCH"

_lock = threading.Lock()
# (class, method name) -> the original function, for every method patched now.
_patched: dict[tuple[type, str], Any] = {}


def _wanted(autopatch: bool | Iterable[str] | None) -> list[str]:
    """Providers to patch: the argument, else ``SPYGLASS_AUTOPATCH``, else all."""
    if autopatch is None:
        raw = os.environ.get(ENV, "").strip().lower()
        if raw in ("", "1", "true", "yes", "on", "all"):
            return list(PROVIDERS)
        if raw in ("0", "false", "no", "off", "none"):
            return []
        autopatch = [p.strip() for p in raw.split(",") if p.strip()]
    if autopatch is True:
        return list(PROVIDERS)
    if autopatch is False:
        return []
    if isinstance(autopatch, str):
        autopatch = [autopatch]
    names = [str(p).lower() for p in autopatch]
    unknown = [n for n in names if n not in PROVIDERS]
    if unknown:
        raise ValueError(f"autopatch: unknown provider(s) {', '.join(unknown)}; "
                         f"expected some of: {', '.join(PROVIDERS)}")
    return names


def patch(autopatch: bool | Iterable[str] | None = None) -> list[str]:
    """Patch the installed SDKs of the chosen providers; returns those patched now or
    before. Idempotent; a provider whose SDK is not installed is skipped silently.
    Raises ``ValueError`` for an unknown provider name."""
    from tracer.autopatch._core import wrap

    done: list[str] = []
    for provider in _wanted(autopatch):
        module = importlib.import_module(f"tracer.autopatch.{provider}")
        patched_any = False
        for mod_name, cls_name, method, span_name, kind, capture in module.TARGETS:
            try:
                target = importlib.import_module(mod_name)
            except ImportError:
                continue  # SDK (or this part of it) not installed
            cls = getattr(target, cls_name, None)
            original = getattr(cls, method, None) if cls is not None else None
            if original is None:
                continue
            with _lock:
                if (cls, method) in _patched:
                    patched_any = True
                    continue
                try:
                    setattr(cls, method, wrap(original, span_name, kind, capture))
                except Exception:
                    warn_once(f"autopatch:{mod_name}.{cls_name}",
                              "could not patch %s.%s.%s", mod_name, cls_name, method)
                    continue
                _patched[(cls, method)] = original
                patched_any = True
        if patched_any:
            done.append(provider)
    if done:
        logger.debug("spyglass: auto-instrumented %s", ", ".join(done))
    return done


def unpatch() -> None:
    """Restore every patched SDK method. Calls made after this are not traced (until
    ``tracer.init`` patches again)."""
    with _lock:
        for (cls, method), original in list(_patched.items()):
            try:
                setattr(cls, method, original)
            except Exception:
                warn_once(f"unpatch:{cls.__name__}", "could not unpatch %s.%s",
                          cls.__name__, method)
        _patched.clear()


def patched() -> list[str]:
    """``module.Class.method`` of every method patched now."""
    return sorted(f"{cls.__module__}.{cls.__qualname__}.{m}" for cls, m in _patched)


def init(project: str | None = None, endpoint: str | None = None, api_key: str | None = None,
         sample_rate: float | None = None, *,
         autopatch: bool | Iterable[str] | None = None, **options: Any) -> Settings:
    """``tracer.init``: :func:`tracer.runtime.init` (same arguments), then auto-instrument.

    ``autopatch`` (default: ``SPYGLASS_AUTOPATCH``, else on) patches the installed provider
    SDKs (``openai``, ``anthropic``) so their calls are traced without an ``@op``:
    ``False`` for none, or a list of provider names; ``tracer.unpatch()`` undoes it. A
    ``ValueError`` names an unknown provider before anything changes."""
    wanted = _wanted(autopatch)
    settings = runtime.init(project, endpoint, api_key, sample_rate, **options)
    if settings.enabled:
        try:
            if set(wanted) != set(PROVIDERS):
                unpatch()  # re-init with fewer providers drops the others
            patch(wanted)
        except Exception:
            warn_once("autopatch", "auto-instrumenting the provider SDKs failed; use @op")
    return settings


init.__doc__ = (runtime.init.__doc__ or "") + "\n\n" + (init.__doc__ or "")
