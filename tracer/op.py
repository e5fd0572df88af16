"""``@op``: turn a function into a traced operation (one span per call)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload

from common.attributes import OP_KINDS
from tracer._log import warn_once
from tracer.core import Call, OpSpec, finish_error, finish_ok, start
from tracer.runtime import STATE, Runtime
from tracer.streams import returned_stream, traced_async_generator, traced_generator

F = TypeVar("F", bound=Callable[..., Any])


def _wrap_stream(result: Any, spec: OpSpec, runtime: Runtime, call: Call) -> Any:
    try:
        return returned_stream(result, spec, runtime, call)
    except Exception:
        warn_once("returned_stream", "could not trace the stream returned by op %r",
                  spec.name)
        return None


def _llm_returned(spec: OpSpec, runtime: Runtime, call: Call, result: Any) -> Any:
    """An ``llm`` op returned ``result``: a returned, unconsumed stream (stream=True) keeps
    the span open until it is consumed (its usage arrives with the chunks)."""
    stream = _wrap_stream(result, spec, runtime, call)
    if stream is not None:
        return stream
    finish_ok(spec, runtime, call, result)
    return result


def _raised(spec: OpSpec, call: Call, tokens: tuple[Any, Any], exc: BaseException) -> None:
    """The call raised ``exc``: record it on the span; the caller re-raises."""
    Call.leave(tokens)
    finish_error(spec, call, exc)


# The sync and async paths differ only in ``await``; what follows the call is shared
# above. The common case (not an llm op) ends the span inline: one call less per op.
def _call_sync(spec: OpSpec, runtime: Runtime, args: tuple[Any, ...],
               kwargs: dict[str, Any]) -> Any:
    call = start(spec, runtime, args, kwargs)
    if call is None:
        return spec.fn(*args, **kwargs)
    tokens = call.enter()
    try:
        result = spec.fn(*args, **kwargs)
    except BaseException as exc:
        _raised(spec, call, tokens, exc)
        raise
    Call.leave(tokens)
    if spec.kind == "llm":
        return _llm_returned(spec, runtime, call, result)
    finish_ok(spec, runtime, call, result)
    return result


async def _call_async(spec: OpSpec, runtime: Runtime, args: tuple[Any, ...],
                      kwargs: dict[str, Any]) -> Any:
    call = start(spec, runtime, args, kwargs)
    if call is None:
        return await spec.fn(*args, **kwargs)
    tokens = call.enter()
    try:
        result = await spec.fn(*args, **kwargs)
    except BaseException as exc:
        _raised(spec, call, tokens, exc)
        raise
    Call.leave(tokens)
    if spec.kind == "llm":
        return _llm_returned(spec, runtime, call, result)
    finish_ok(spec, runtime, call, result)
    return result


def _call_gen(spec: OpSpec, runtime: Runtime, args: tuple[Any, ...],
              kwargs: dict[str, Any]) -> Any:
    fn = spec.fn
    call = start(spec, runtime, args, kwargs)
    if call is None:
        return fn(*args, **kwargs)
    try:
        gen = fn(*args, **kwargs)
    except BaseException as exc:
        finish_error(spec, call, exc)
        raise
    if inspect.isasyncgen(gen):
        return traced_async_generator(gen, spec, runtime, call)
    return traced_generator(gen, spec, runtime, call)


def _generic_wrapper(spec: OpSpec, is_async: bool, traced: Callable[..., Any]
                     ) -> Callable[..., Any]:
    """A ``*args, **kwargs`` wrapper for callables without a usable signature."""
    fn = spec.fn
    state = STATE
    if is_async:
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            runtime = state.runtime
            if runtime is None:
                return await fn(*args, **kwargs)
            return await traced(spec, runtime, args, kwargs)

        return async_wrapper

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        runtime = state.runtime
        if runtime is None:
            return fn(*args, **kwargs)
        return traced(spec, runtime, args, kwargs)

    return wrapper


def _exact_wrapper(spec: OpSpec, is_async: bool, traced: Callable[..., Any]
                   ) -> Callable[..., Any] | None:
    """A wrapper with the function's own parameter list, generated once per op.

    ``*args, **kwargs`` packing alone costs more than a plain call; with the exact
    parameters the untraced path is one extra frame, which keeps ``@op`` nearly free
    before ``tracer.init``. Defaults are the original objects, so the wrapped function
    sees exactly what it would have seen. None when the signature cannot be mirrored.
    """
    sig = spec.call_signature
    if sig is None:
        return None
    namespace: dict[str, Any] = {"_sg_fn": spec.fn, "_sg_state": STATE, "_sg_spec": spec,
                                 "_sg_traced": traced}
    params: list[str] = []
    positional: list[str] = []
    keywords: list[str] = []
    star_args = star_kwargs = None
    saw_positional_only = saw_star = False
    for i, p in enumerate(sig.parameters.values()):
        if not p.name.isidentifier() or p.name.startswith("_sg_"):
            return None
        default = ""
        if p.default is not inspect.Parameter.empty:
            namespace[f"_sg_d{i}"] = p.default
            default = f"=_sg_d{i}"
        if p.kind is inspect.Parameter.POSITIONAL_ONLY:
            saw_positional_only = True
            params.append(p.name + default)
            positional.append(p.name)
            continue
        if saw_positional_only:
            params.append("/")
            saw_positional_only = False
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
            params.append(p.name + default)
            positional.append(p.name)
        elif p.kind is inspect.Parameter.VAR_POSITIONAL:
            star_args = p.name
            saw_star = True
            params.append("*" + p.name)
        elif p.kind is inspect.Parameter.KEYWORD_ONLY:
            if not saw_star:
                params.append("*")
                saw_star = True
            params.append(p.name + default)
            keywords.append(p.name)
        elif p.kind is inspect.Parameter.VAR_KEYWORD:
            star_kwargs = p.name
            params.append("**" + p.name)
    if saw_positional_only:
        params.append("/")
    call_args = positional + ([f"*{star_args}"] if star_args else []) + [
        f"{k}={k}" for k in keywords] + ([f"**{star_kwargs}"] if star_kwargs else [])
    args_tuple = "(" + "".join(f"{a}, " for a in positional) + ")"
    if star_args:
        args_tuple = f"({''.join(f'{a}, ' for a in positional)}*{star_args})"
    kwargs_dict = "{" + ", ".join(f"{k!r}: {k}" for k in keywords) + (
        f"{', ' if keywords else ''}**{star_kwargs}" if star_kwargs else "") + "}"
    prefix, wait = ("async def", "await ") if is_async else ("def", "")
    source = (
        f"{prefix} _sg_wrapper({', '.join(params)}):\n"
        f"    _sg_runtime = _sg_state.runtime\n"
        f"    if _sg_runtime is None:\n"
        f"        return {wait}_sg_fn({', '.join(call_args)})\n"
        f"    return {wait}_sg_traced(_sg_spec, _sg_runtime, {args_tuple}, {kwargs_dict})\n"
    )
    try:
        exec(compile(source, f"<spyglass op {spec.name}>", "exec"), namespace)
    except SyntaxError:
        return None
    return namespace["_sg_wrapper"]


def _wrap(spec: OpSpec) -> Callable[..., Any]:
    fn = spec.fn
    # A callable object is judged by its __call__ (e.g. a class with ``async def __call__``).
    call = fn if inspect.isfunction(fn) or inspect.ismethod(fn) else type(fn).__call__
    if any(inspect.isasyncgenfunction(f) or inspect.isgeneratorfunction(f) for f in (fn, call)):
        is_async, traced = False, _call_gen
    elif inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(call):
        is_async, traced = True, _call_async
    else:
        is_async, traced = False, _call_sync
    return _exact_wrapper(spec, is_async, traced) or _generic_wrapper(spec, is_async, traced)


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
    kind: one of ``common.attributes.OP_KINDS`` (``llm`` adds model, usage and cost).
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
