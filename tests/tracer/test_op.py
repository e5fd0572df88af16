"""``@op`` on every kind of callable: span names, kinds, parents, inputs, outputs, errors."""

from __future__ import annotations

import asyncio
import inspect
import json

import pytest
from opentelemetry.trace import StatusCode

import tracer
from common import attributes as A
from tests.tracer.helpers import Traced, attrs, json_attr, parent_id
from tracer import op


def test_bare_and_configured_decorator_nest_by_context(traced: Traced) -> None:
    @op
    def leaf(x: int) -> int:
        return x * 2

    @op(name="pipeline", kind="agent")
    def root(x: int) -> int:
        return leaf(x) + leaf(x + 1)

    assert root(3) == 14
    root_span = traced.one("pipeline")
    leaves = traced.by_name("leaf")
    assert len(leaves) == 2
    assert all(parent_id(s) == root_span.context.span_id for s in leaves)
    assert all(s.context.trace_id == root_span.context.trace_id for s in leaves)
    assert parent_id(root_span) is None
    assert attrs(root_span)[A.OP_KIND] == "agent"
    assert attrs(root_span)[A.OP_NAME] == "pipeline"
    assert attrs(leaves[0])[A.OP_KIND] == "chain"
    assert json_attr(leaves[0], A.INPUTS) == {"x": 3}
    assert json_attr(leaves[0], A.OUTPUT) == 6
    assert json_attr(root_span, A.OUTPUT) == 14
    assert root_span.resource.attributes[A.PROJECT] == "tracer-tests"


def test_every_kind_is_accepted_and_unknown_kind_fails_at_decoration() -> None:
    for kind in A.OP_KINDS:
        op(kind=kind)(lambda: None)
    with pytest.raises(ValueError, match=r"unknown op kind 'llmm'.*expected one of: llm"):
        @op(kind="llmm")
        def f() -> None: ...
    with pytest.raises(TypeError, match="@op needs a function"):
        op(42)


def test_inputs_bound_by_signature_with_defaults_varargs_and_keyword_only(traced: Traced) -> None:
    @op
    def f(a, /, b, c=3, *rest, d, e=5, **extra):
        return a

    f(1, 2, 30, 40, d=4, z=9)
    assert json_attr(traced.one("f"), A.INPUTS) == {
        "a": 1, "b": 2, "c": 30, "rest": [40], "d": 4, "e": 5, "extra": {"z": 9}}

    @op
    def g(question: str, temperature: float = 0.2) -> str:
        return question

    g(question="hi")
    assert json_attr(traced.one("g"), A.INPUTS) == {"question": "hi", "temperature": 0.2}


def test_wrapper_keeps_signature_name_docs_and_defaults_objects() -> None:
    sentinel = object()

    def original(a: int, b: object = sentinel, *, c: str = "x") -> object:
        """Docs."""
        return b

    wrapped = op(original)
    assert wrapped.__name__ == "original"
    assert wrapped.__doc__ == "Docs."
    assert inspect.signature(wrapped) == inspect.signature(original)
    assert wrapped(1) is sentinel  # the very default object reaches the function
    with pytest.raises(TypeError):
        wrapped()  # a wrong call fails exactly like the undecorated function


def test_methods_static_and_class_methods_drop_self_and_cls(traced: Traced) -> None:
    class Agent:
        def __init__(self, name: str) -> None:
            self.name = name

        @op
        def run(self, task: str) -> str:
            return f"{self.name}:{task}"

        @op
        @staticmethod
        def helper(x: int) -> int:
            return x + 1

        @op
        @classmethod
        def build(cls, name: str) -> Agent:
            return cls(name)

        @staticmethod
        @op
        def inner_static(x: int) -> int:
            return x

    agent = Agent.build("bond")
    assert agent.run("spy") == "bond:spy"
    assert Agent.helper(1) == 2
    assert agent.helper(2) == 3
    assert Agent.inner_static(7) == 7
    assert json_attr(traced.one("Agent.run"), A.INPUTS) == {"task": "spy"}
    assert json_attr(traced.one("Agent.build"), A.INPUTS) == {"name": "bond"}
    assert [json_attr(s, A.INPUTS) for s in traced.by_name("Agent.helper")] == [
        {"x": 1}, {"x": 2}]
    assert json_attr(traced.one("Agent.inner_static"), A.INPUTS) == {"x": 7}
    # The output of build is an object without a JSON form: its repr is recorded.
    assert "Agent object" in json_attr(traced.one("Agent.build"), A.OUTPUT)


def test_exception_marks_error_records_event_and_reraises_same_object(traced: Traced) -> None:
    class Boom(RuntimeError):
        pass

    error = Boom("bad input 7")

    @op
    def child() -> None:
        raise error

    @op
    def parent() -> None:
        child()

    with pytest.raises(Boom) as info:
        parent()
    assert info.value is error
    # The traceback still points into the user's function.
    assert info.traceback[-1].name == "child"
    for name in ("child", "parent"):
        span = traced.one(name)
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description == "Boom: bad input 7"
        events = [e for e in span.events if e.name == "exception"]
        assert len(events) == 1
        assert events[0].attributes["exception.type"].endswith("Boom")
        assert events[0].attributes["exception.message"] == "bad input 7"
        assert A.OUTPUT not in attrs(span)
        assert json_attr(span, A.INPUTS) == {}


async def test_async_function_records_output_and_errors(traced: Traced) -> None:
    @op
    async def fetch(url: str) -> dict:
        await asyncio.sleep(0)
        return {"url": url, "status": 200}

    @op
    async def fail() -> None:
        await asyncio.sleep(0)
        raise KeyError("missing")

    assert inspect.iscoroutinefunction(fetch)
    assert await fetch("http://x") == {"url": "http://x", "status": 200}
    with pytest.raises(KeyError):
        await fail()
    assert json_attr(traced.one("fetch"), A.OUTPUT) == {"url": "http://x", "status": 200}
    assert traced.one("fail").status.status_code is StatusCode.ERROR


def test_postprocess_hooks_capture_flags_and_static_attributes(traced: Traced) -> None:
    @op(postprocess_inputs=lambda inputs: {"n_docs": len(inputs["docs"])},
        postprocess_output=lambda out: out.upper(),
        attributes={"team": "search", "limits": {"k": 3}, "stages": ["bm25", "dense"]})
    def rank(docs: list[str]) -> str:
        return docs[0]

    @op(capture_inputs=False, capture_output=False)
    def private(ssn: str) -> str:
        return ssn

    assert rank(["a", "b"]) == "a"  # the hook changes what is recorded, not the result
    assert private("123-45-6789") == "123-45-6789"
    span = traced.one("rank")
    assert json_attr(span, A.INPUTS) == {"n_docs": 2}
    assert json_attr(span, A.OUTPUT) == "A"
    assert attrs(span)["team"] == "search"
    assert json.loads(attrs(span)["limits"]) == {"k": 3}
    assert list(attrs(span)["stages"]) == ["bm25", "dense"]
    assert A.INPUTS not in attrs(traced.one("private"))
    assert A.OUTPUT not in attrs(traced.one("private"))
    assert "123-45-6789" not in json.dumps(attrs(traced.one("private")))


def test_invalid_decorator_options_are_rejected() -> None:
    with pytest.raises(TypeError, match="postprocess_inputs must be callable"):
        op(postprocess_inputs="nope")
    with pytest.raises(ValueError, match="op name must be a non-empty string"):
        op(name="  ")


def test_not_initialised_is_a_pass_through_and_shutdown_restores_it() -> None:
    calls = []

    @op
    def f(x: int) -> int:
        calls.append(x)
        return x + 1

    tracer.shutdown()
    assert tracer.settings() is None
    assert f(1) == 2
    assert tracer.current_span().trace_id is None
    assert tracer.flush(1) is False
    assert calls == [1]


def test_current_span_handle_sets_attributes_and_events(traced: Traced) -> None:
    @op
    def step() -> str:
        span = tracer.current_span()
        span.set_attribute("retrieved", 3)
        span.set_attribute("doc_ids", ["a", "b"])
        span.set_attribute("scores", {"a": 0.5})
        span.add_event("cache_miss", {"key": "k1"})
        return span.trace_id

    trace_id = step()
    span = traced.one("step")
    assert trace_id == format(span.context.trace_id, "032x")
    assert attrs(span)["retrieved"] == 3
    assert list(attrs(span)["doc_ids"]) == ["a", "b"]
    assert json.loads(attrs(span)["scores"]) == {"a": 0.5}
    assert [e.name for e in span.events] == ["cache_miss"]


def test_wrapping_another_decorator_keeps_its_calling_convention(traced: Traced) -> None:
    import functools

    def inject_db(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return fn(*args, db="sqlite", **kwargs)
        return wrapper

    @op
    @inject_db
    def query(sql: str, db: str) -> str:
        return f"{db}:{sql}"

    # __wrapped__ says (sql, db) but callers pass only sql: the op must accept that.
    assert query("select 1") == "sqlite:select 1"
    assert json_attr(traced.one("query"), A.INPUTS) == {"sql": "select 1"}


def test_base_exceptions_and_cancellation_are_recorded_and_propagate(traced: Traced) -> None:
    class Stop(BaseException):
        pass

    @op
    def interrupted() -> None:
        raise Stop

    with pytest.raises(Stop):
        interrupted()
    assert traced.one("interrupted").status.status_code is StatusCode.ERROR

    @op
    async def slow() -> None:
        await asyncio.sleep(10)

    async def main() -> None:
        task = asyncio.create_task(slow())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    span = traced.one("slow")
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description.startswith("CancelledError")


def test_pass_through_keeps_generators_and_coroutines_native() -> None:
    tracer.shutdown()

    @op
    def gen():
        yield 1

    @op
    async def agen():
        yield 2

    @op
    async def coro() -> int:
        return 3

    assert inspect.isgenerator(gen())
    assert inspect.isasyncgen(agen())
    assert asyncio.run(coro()) == 3
