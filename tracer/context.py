"""Context that travels with the OpenTelemetry context: ``tracer.attributes(...)`` values,
the op being run (for ``log_usage``/``log_model``), and helpers that carry both into
threads."""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from common import attributes as A
from tracer._log import warn_once
from tracer.serialize import Serializer
from tracer.state import STATE

P = ParamSpec("P")
R = TypeVar("R")


class Scope:
    """The merged ``tracer.attributes(...)`` values in force, and their span attributes."""

    __slots__ = ("metadata", "session_id", "span_attributes", "tags", "user_id")

    def __init__(self, user_id: str | None, session_id: str | None, tags: tuple[str, ...],
                 metadata: dict[str, Any]) -> None:
        self.user_id = user_id
        self.session_id = session_id
        self.tags = tags
        self.metadata = metadata
        attrs: dict[str, Any] = {}
        if user_id is not None:
            attrs[A.USER_ID] = user_id
        if session_id is not None:
            attrs[A.SESSION_ID] = session_id
        if tags:
            attrs[A.TAGS] = list(tags)
        if metadata:
            attrs[A.METADATA] = _serializer().dumps(metadata)
        self.span_attributes = attrs


def _serializer() -> Any:
    """The live init's serializer (its cap and redaction), else the defaults."""
    runtime = STATE.runtime
    return runtime.serializer if runtime is not None else Serializer()


_SCOPE: contextvars.ContextVar[Scope | None] = contextvars.ContextVar(
    "spyglass_attributes", default=None)


def context_attributes() -> dict[str, Any] | None:
    """Span attributes from the ``tracer.attributes`` blocks around the caller, or None."""
    scope = _SCOPE.get()
    return scope.span_attributes if scope is not None else None


@contextmanager
def attributes(
    user_id: str | None = None,
    session_id: str | None = None,
    tags: Iterable[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Iterator[None]:
    """Apply user, session, tags and metadata to every span started inside the block.

    Blocks nest: inner ``user_id``/``session_id`` win, tags are added to the outer ones,
    metadata dictionaries are merged (inner keys win). The values travel with the
    context, so tasks and ``tracer.ThreadPoolExecutor`` workers started inside see them.
    """
    outer = _SCOPE.get()
    try:
        new_tags = tuple(str(t) for t in (tags or ()))
        if isinstance(tags, str):
            new_tags = (tags,)
        merged_tags = tuple(dict.fromkeys((outer.tags if outer else ()) + new_tags))
        merged_meta = dict(outer.metadata) if outer else {}
        if metadata:
            merged_meta.update({str(k): v for k, v in metadata.items()})
        scope = Scope(
            str(user_id) if user_id is not None else (outer.user_id if outer else None),
            str(session_id) if session_id is not None else (outer.session_id if outer else None),
            merged_tags, merged_meta)
        token = _SCOPE.set(scope)
    except Exception:
        warn_once("attributes", "tracer.attributes(...) could not be applied")
        token = None
    try:
        yield
    finally:
        if token is not None:
            try:
                _SCOPE.reset(token)
            except ValueError:
                # Reset from another context (e.g. a generator finished elsewhere).
                _SCOPE.set(outer)


# ---------------------------------------------------------------- the running op


class Frame:
    """One running op: its span and the explicit values set with log_usage/log_model."""

    __slots__ = ("explicit", "kind", "span")

    def __init__(self, span: Any, kind: str) -> None:
        self.span = span
        self.kind = kind
        self.explicit: dict[str, Any] = {}


CURRENT_FRAME: contextvars.ContextVar[Frame | None] = contextvars.ContextVar(
    "spyglass_op", default=None)


def _frame(what: str) -> Frame | None:
    frame = CURRENT_FRAME.get()
    if frame is None:
        warn_once(f"no_op:{what}", "tracer.%s() was called outside an @op (or before "
                  "tracer.init); the values are ignored", what, exc_info=False)
    return frame


def log_usage(
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    cached_tokens: int | None = None,
    reasoning_tokens: int | None = None,
    **extra: int,
) -> None:
    """Record token usage on the op being run; it wins over usage read from the response.

    Extra keyword counts the LLM attributes understand (``cache_creation_tokens``,
    ``total_tokens``) are passed on too. Outside an op this does nothing (logged once).
    """
    frame = _frame("log_usage")
    if frame is None:
        return
    values = {"input_tokens": input_tokens, "output_tokens": output_tokens,
              "cached_tokens": cached_tokens, "reasoning_tokens": reasoning_tokens, **extra}
    frame.explicit.update({k: v for k, v in values.items() if v is not None})


def log_model(model: str, provider: str | None = None) -> None:
    """Record the model (and provider) of the op being run, e.g. ``log_model("gpt-4o",
    "openai")``; it wins over what is read from the response."""
    frame = _frame("log_model")
    if frame is None:
        return
    frame.explicit["model"] = model
    if provider is not None:
        frame.explicit["provider"] = provider


# ---------------------------------------------------------------- threads


def bind_context(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` wrapped to run in (a copy of) the caller's current context.

    Use it for ``threading.Thread(target=tracer.bind_context(work))`` and
    ``loop.run_in_executor(None, tracer.bind_context(work))`` so ops inside ``work``
    nest under the op that started the thread.
    """
    captured = contextvars.copy_context()

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        # A Context can be entered by one thread at a time; each call gets its own copy.
        return captured.copy().run(fn, *args, **kwargs)

    return run


class ThreadPoolExecutor(concurrent.futures.ThreadPoolExecutor):
    """``concurrent.futures.ThreadPoolExecutor`` whose ``submit`` and ``map`` run each
    task in a copy of the submitter's context, so ops in the workers are children of the
    op that submitted them (the standard executor starts them as new roots)."""

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any
               ) -> concurrent.futures.Future[R]:
        """Schedule ``fn(*args, **kwargs)`` in a copy of the current context."""
        ctx = contextvars.copy_context()
        return super().submit(ctx.run, fn, *args, **kwargs)
