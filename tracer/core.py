"""Starting and finishing one op span: binding inputs, outputs, errors, LLM attributes.

Everything here runs inside the user's call, so every step is guarded: a failure is
logged once (``_log.warn_once``) and the call goes on untraced or partly traced.
"""

from __future__ import annotations

import inspect
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace as trace_api
from opentelemetry.trace import Status, StatusCode

from common import attributes as A
from tracer._log import warn_once
from tracer.context import CURRENT_FRAME, Frame
from tracer.runtime import Runtime

_EMPTY = inspect.Parameter.empty
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)

_EXPLICIT_ATTRS = {
    "model": A.GEN_AI_REQUEST_MODEL,
    "provider": A.GEN_AI_PROVIDER_NAME,
    "input_tokens": A.GEN_AI_USAGE_INPUT_TOKENS,
    "output_tokens": A.GEN_AI_USAGE_OUTPUT_TOKENS,
    "cached_tokens": A.USAGE_CACHED_TOKENS,
    "reasoning_tokens": A.USAGE_REASONING_TOKENS,
    "cache_creation_tokens": A.USAGE_CACHE_CREATION_TOKENS,
    "total_tokens": A.USAGE_TOTAL_TOKENS,
    "cost_usd": A.COST_USD,
}


def _static_value(value: Any) -> Any:
    """An ``@op(attributes=...)`` value as a valid OTel attribute (JSON text if need be)."""
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
        return list(value)
    from tracer.serialize import Serializer

    return Serializer().dumps(value)


def display_name(fn: Callable[..., Any]) -> str:
    """``Class.method`` or ``function``: the qualified name without ``<locals>`` noise."""
    qualname = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
    return qualname.rsplit("<locals>.", 1)[-1]


class OpSpec:
    """What ``@op`` learned at decoration time, so each call does as little as possible."""

    __slots__ = ("attributes", "call_signature", "capture_inputs", "capture_output",
                 "defaults", "drop_first",
                 "fn", "kind", "name", "names", "postprocess_inputs", "postprocess_output",
                 "signature", "simple", "static_attrs", "valid_keywords")

    def __init__(self, fn: Callable[..., Any], name: str | None, kind: str,
                 postprocess_inputs: Callable[[dict[str, Any]], Any] | None,
                 postprocess_output: Callable[[Any], Any] | None,
                 capture_inputs: bool, capture_output: bool,
                 attributes: Mapping[str, Any] | None) -> None:
        self.fn = fn
        self.kind = kind
        self.name = name or display_name(fn)
        self.postprocess_inputs = postprocess_inputs
        self.postprocess_output = postprocess_output
        self.capture_inputs = capture_inputs
        self.capture_output = capture_output
        self.attributes = {str(k): _static_value(v) for k, v in (attributes or {}).items()}
        self.static_attrs = {A.OP_NAME: self.name, A.OP_KIND: kind, **self.attributes}
        try:
            self.signature: inspect.Signature | None = inspect.signature(fn)
        except (TypeError, ValueError):
            self.signature = None
        # The wrapper must accept what ``fn`` itself accepts: when ``fn`` is another
        # decorator's wrapper, ``__wrapped__`` may describe different parameters.
        try:
            self.call_signature: inspect.Signature | None = inspect.signature(
                fn, follow_wrapped=False)
        except (TypeError, ValueError):
            self.call_signature = None
        params = list(self.signature.parameters.values()) if self.signature else []
        self.drop_first = bool(params) and params[0].name in ("self", "cls") and (
            params[0].kind in _POSITIONAL)
        # The fast binder handles plain positional/keyword parameters; *args, **kwargs
        # and keyword-only parameters go through Signature.bind.
        self.simple = self.signature is not None and all(p.kind in _POSITIONAL for p in params)
        self.names = tuple(p.name for p in params)
        self.valid_keywords = frozenset(p.name for p in params
                                        if p.kind is not inspect.Parameter.POSITIONAL_ONLY)
        self.defaults = {p.name: p.default for p in params if p.default is not _EMPTY}

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Arguments by parameter name in signature order, defaults applied, self dropped."""
        names = self.names
        if self.simple and len(args) <= len(names) and (
                not kwargs or self.valid_keywords.issuperset(kwargs)):
            bound: dict[str, Any] = {}
            n_args = len(args)
            for i, pname in enumerate(names):
                if i < n_args:
                    bound[pname] = args[i]
                elif pname in kwargs:
                    bound[pname] = kwargs[pname]
                elif pname in self.defaults:
                    bound[pname] = self.defaults[pname]
        elif self.signature is not None:
            try:
                ba = self.signature.bind_partial(*args, **kwargs)
                ba.apply_defaults()
                bound = dict(ba.arguments)
            except TypeError:
                # The call itself will fail the same way; record what was passed.
                return {"args": list(args), "kwargs": kwargs}
        else:
            return {"args": list(args), "kwargs": kwargs} if kwargs else {"args": list(args)}
        if self.drop_first and names and names[0] in bound:
            del bound[names[0]]
        return bound


class Call:
    """One traced call in flight: its span, frame and the OTel context to run it in."""

    __slots__ = ("ctx", "frame", "inputs", "inputs_json", "span", "start_ns")

    def __init__(self, span: Any, frame: Frame, ctx: Any, inputs: Any,
                 inputs_json: str | None, start_ns: int) -> None:
        self.span = span
        self.frame = frame
        self.ctx = ctx
        self.inputs = inputs
        # Serialized at the start (arguments may be mutated during the call) but set on
        # the span at the end with everything else: one attribute update per call.
        self.inputs_json = inputs_json
        self.start_ns = start_ns

    def enter(self) -> tuple[object, object]:
        """Make this call's span and frame current; returns the tokens for ``leave``."""
        return otel_context.attach(self.ctx), CURRENT_FRAME.set(self.frame)

    @staticmethod
    def leave(tokens: tuple[Any, Any]) -> None:
        """Undo ``enter``."""
        try:
            CURRENT_FRAME.reset(tokens[1])
        except ValueError:
            # Entered in a different context (a generator resumed elsewhere): nothing
            # of ours is left current there, so there is nothing to undo.
            pass
        otel_context.detach(tokens[0])


def start(spec: OpSpec, runtime: Runtime, args: tuple[Any, ...], kwargs: dict[str, Any]
          ) -> Call | None:
    """Start the op's span as a child of the current context; None if tracing failed."""
    span = None
    try:
        start_ns = time.monotonic_ns()
        # Name and kind are set at the end with the rest: one attribute update per span.
        span = runtime.tracer.start_span(spec.name)
        inputs: Any = None
        text: str | None = None
        if span.is_recording():
            inputs = spec.bind(args, kwargs)
            if spec.postprocess_inputs is not None:
                try:
                    inputs = spec.postprocess_inputs(inputs)
                except Exception:
                    warn_once(f"postprocess_inputs:{spec.name}",
                              "postprocess_inputs of op %r raised; inputs are not recorded",
                              spec.name)
                    inputs = {}
            if spec.capture_inputs:
                serializer = runtime.serializer
                text = (serializer.dumps_inputs(inputs) if isinstance(inputs, Mapping)
                        else serializer.dumps(inputs))
        ctx = trace_api.set_span_in_context(span)
        return Call(span, Frame(span, spec.kind), ctx, inputs, text, start_ns)
    except Exception:
        warn_once("start", "could not start a span for op %r; the call runs untraced",
                  spec.name)
        if span is not None:
            try:
                span.end()  # never leave a started span open
            except Exception:
                pass
        return None


def _llm_module() -> Any:
    global _LLM
    if _LLM is _UNSET:
        try:
            from tracer import llm
        except Exception:
            warn_once("llm_import", "tracer.llm is unavailable; LLM spans carry no usage "
                      "or cost")
            llm = None
        _LLM = llm
    return _LLM


_UNSET = object()
_LLM: Any = _UNSET


def _explicit_attributes(explicit: dict[str, Any]) -> dict[str, Any]:
    return {_EXPLICIT_ATTRS[k]: v for k, v in explicit.items()
            if k in _EXPLICIT_ATTRS and v is not None}


def _output_attributes(spec: OpSpec, runtime: Runtime, call: Call, output: Any,
                       chunks: list[Any] | None, attrs: dict[str, Any]) -> None:
    explicit = call.frame.explicit
    if spec.postprocess_output is not None:
        try:
            output = spec.postprocess_output(output)
        except Exception:
            warn_once(f"postprocess_output:{spec.name}",
                      "postprocess_output of op %r raised; the output is not recorded",
                      spec.name)
            return
    if spec.capture_output:
        attrs[A.OUTPUT] = runtime.serializer.dumps(output)
    if spec.kind == "llm":
        llm = _llm_module()
        if llm is not None:
            inputs = call.inputs if isinstance(call.inputs, dict) else {}
            try:
                if chunks is not None and spec.postprocess_output is None:
                    llm_attrs = llm.attributes_for_stream(inputs, chunks, dict(explicit))
                else:
                    llm_attrs = llm.attributes_for(inputs, output, dict(explicit))
                if llm_attrs:
                    attrs.update(llm_attrs)
            except Exception:
                warn_once("llm_attributes", "computing LLM attributes failed")
            return
    if explicit:
        attrs.update(_explicit_attributes(explicit))


def _end_attributes(spec: OpSpec, call: Call, extra: dict[str, Any] | None) -> dict[str, Any]:
    """What a failed span carries: name, kind, static attributes, ``extra``, inputs."""
    attrs: dict[str, Any] = {**spec.static_attrs, **extra} if extra else dict(spec.static_attrs)
    if call.inputs_json is not None:
        attrs[A.INPUTS] = call.inputs_json
    return attrs


def finish_ok(spec: OpSpec, runtime: Runtime, call: Call, output: Any,
              chunks: list[Any] | None = None, extra: dict[str, Any] | None = None) -> None:
    """Record inputs, output, ``extra`` and LLM attributes in one update; end the span."""
    span = call.span
    try:
        if span.is_recording():
            # Inline rather than _end_attributes: this runs for every traced call.
            attrs: dict[str, Any] = {**spec.static_attrs, **extra} if extra else dict(
                spec.static_attrs)
            if call.inputs_json is not None:
                attrs[A.INPUTS] = call.inputs_json
            _output_attributes(spec, runtime, call, output, chunks, attrs)
            span.set_attributes(attrs)
    except Exception:
        warn_once("finish", "could not record the output of op %r", spec.name)
    try:
        span.end()
    except Exception:
        warn_once("end", "could not end the span of op %r", spec.name)


def finish_error(spec: OpSpec, call: Call, exc: BaseException,
                 extra: dict[str, Any] | None = None) -> None:
    """Mark the span failed with an exception event and end it; the caller re-raises."""
    span = call.span
    try:
        if span.is_recording():
            attrs = _end_attributes(spec, call, extra)
            attrs.update(_explicit_attributes(call.frame.explicit))
            span.set_attributes(attrs)
            message = exception_text(exc)
            if message is None:
                # Its __str__ raises: record a placeholder quietly instead of the SDK's
                # record_exception (which calls str() and would fail loudly).
                message = f"<{type(exc).__name__}: str() failed>"
                span.add_event("exception", {
                    "exception.type": type(exc).__qualname__, "exception.message": message,
                    "exception.stacktrace": "".join(traceback.format_exception(exc)),
                    "exception.escaped": "True"})
            else:
                span.record_exception(exc, escaped=True)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {message}"))
    except Exception:
        warn_once("finish_error", "could not record the error of op %r", spec.name)
    try:
        span.end()
    except Exception:
        warn_once("end", "could not end the span of op %r", spec.name)


def exception_text(exc: BaseException) -> str | None:
    """``str(exc)``, or None when the exception's ``__str__`` itself raises."""
    try:
        return str(exc)
    except Exception:
        return None
