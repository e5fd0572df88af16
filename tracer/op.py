"""``@op``: turn a function into a traced operation (one span per call)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload

from tracer.attributes import OP_KINDS
from tracer.core import Call, OpSpec, finish_error, finish_ok, start
from tracer.runtime import STATE
from tracer.streams import traced_async_generator, traced_generator

F = TypeVar("F", bound=Callable[..., Any])


def _wrap(spec: OpSpec) -> Callable[..., Any]:
    fn = spec.fn
    state = STATE  # a closure cell: the disabled path costs one attribute read

    if inspect.isasyncgenfunction(fn):
        def agen_wrapper(*args: Any, **kwargs: Any) -> Any:
            runtime = state.runtime
            if runtime is None:
                return fn(*args, **kwargs)
            call = start(spec, runtime, args, kwargs)
            if call is None:
                return fn(*args, **kwargs)
            try:
                agen = fn(*args, **kwargs)
            except BaseException as exc:
                finish_error(spec, call, exc)
                raise
            return traced_async_generator(agen, spec, runtime, call)

        return agen_wrapper

    if inspect.isgeneratorfunction(fn):
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            runtime = state.runtime
            if runtime is None:
                return fn(*args, **kwargs)
            call = start(spec, runtime, args, kwargs)
            if call is None:
                return fn(*args, **kwargs)
            try:
                gen = fn(*args, **kwargs)
            except BaseException as exc:
                finish_error(spec, call, exc)
                raise
            return traced_generator(gen, spec, runtime, call)

        return gen_wrapper

    if inspect.iscoroutinefunction(fn):
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            runtime = state.runtime
            if runtime is None:
                return await fn(*args, **kwargs)
            call = start(spec, runtime, args, kwargs)
            if call is None:
                return await fn(*args, **kwargs)
            tokens = call.enter()
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                Call.leave(tokens)
                finish_error(spec, call, exc)
                raise
            Call.leave(tokens)
            finish_ok(spec, runtime, call, result)
            return result

        return async_wrapper

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        runtime = state.runtime
        if runtime is None:
            return fn(*args, **kwargs)
        call = start(spec, runtime, args, kwargs)
        if call is None:
            return fn(*args, **kwargs)
        tokens = call.enter()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            Call.leave(tokens)
            finish_error(spec, call, exc)
            raise
        Call.leave(tokens)
        finish_ok(spec, runtime, call, result)
        return result

    return wrapper


@overload
def op(fn: F, /) -> F: ...


@overload
def op(
    fn: None = None, /, *, name: str | None = None, kind: str = "chain",
    postprocess_inputs: Callable[[dict[str, Any]], Any] | None = None,
    postprocess_output: Callable[[Any], Any] | None = None,
    capture_inputs: bool = True, capture_output: bool = True,
    attributes: Mapping[str, Any] | None = None,
) -> Callable[[F], F]: ...


def op(
    fn: Any = None, /, *, name: str | None = None, kind: str = "chain",
    postprocess_inputs: Callable[[dict[str, Any]], Any] | None = None,
    postprocess_output: Callable[[Any], Any] | None = None,
    capture_inputs: bool = True, capture_output: bool = True,
    attributes: Mapping[str, Any] | None = None,
) -> Any:
    """Trace every call of a function as an OpenTelemetry span.

    Use bare (``@op``) or with options (``@op(kind="llm")``). Works on functions, async
    functions, generators, async generators, methods, static and class methods. Calls
    made inside become child spans. Before ``tracer.init`` the decorated function runs
    untouched at nearly the cost of a plain call.

    name: span name (default: the function's qualified name, e.g. ``Agent.run``).
    kind: one of ``tracer.attributes.OP_KINDS`` (``llm`` adds model, usage and cost).
    postprocess_inputs: maps the bound arguments (dict) to what is recorded.
    postprocess_output: maps the return value (or a stream's joined output) to what is
        recorded; for ``kind="llm"`` usage is read from what it returns.
    capture_inputs / capture_output: False records neither the inputs nor the output.
    attributes: extra span attributes set on every call.

    Raises ``ValueError`` at decoration time for an unknown ``kind`` and ``TypeError``
    when applied to something that is not callable.
    """
    if kind not in OP_KINDS:
        raise ValueError(f"unknown op kind {kind!r}; expected one of: {', '.join(OP_KINDS)}")
    for label, hook in (("postprocess_inputs", postprocess_inputs),
                        ("postprocess_output", postprocess_output)):
        if hook is not None and not callable(hook):
            raise TypeError(f"{label} must be callable, got {type(hook).__name__}")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ValueError(f"op name must be a non-empty string, got {name!r}")
    options = {"name": name, "kind": kind, "postprocess_inputs": postprocess_inputs,
               "postprocess_output": postprocess_output, "capture_inputs": capture_inputs,
               "capture_output": capture_output, "attributes": attributes}
    if fn is None:
        return lambda f: op(f, **options)
    if isinstance(fn, staticmethod):
        return staticmethod(op(fn.__func__, **options))
    if isinstance(fn, classmethod):
        return classmethod(op(fn.__func__, **options))
    if not callable(fn):
        raise TypeError(f"@op needs a function, got {type(fn).__name__}")
    spec = OpSpec(fn, name, kind, postprocess_inputs, postprocess_output, capture_inputs,
                  capture_output, attributes)
    wrapper = _wrap(spec)
    functools.update_wrapper(wrapper, fn)
    wrapper.__spyglass_op__ = spec  # type: ignore[attr-defined]
    return wrapper
