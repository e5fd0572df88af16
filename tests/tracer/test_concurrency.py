"""Nesting across asyncio tasks and threads follows the OpenTelemetry context."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading

import tracer
from common import attributes as A
from tests.tracer.helpers import Traced, json_attr, parent_id
from tracer import op


@op
async def fetch(i: int) -> int:
    await asyncio.sleep(0.001 * (3 - i))  # finish out of order
    return await lookup(i)


@op
async def lookup(i: int) -> int:
    await asyncio.sleep(0)
    return i * 10


@op
def work(i: int) -> int:
    return i + 1


def _children_of(traced: Traced, name: str, parent_name: str) -> None:
    parent = traced.one(parent_name)
    children = traced.by_name(name)
    assert children, f"no {name} spans"
    for span in children:
        assert parent_id(span) == parent.context.span_id
        assert span.context.trace_id == parent.context.trace_id


async def test_gather_children_and_grandchildren(traced: Traced) -> None:
    @op
    async def fan_out() -> list[int]:
        return await asyncio.gather(*(fetch(i) for i in range(3)))

    assert await fan_out() == [0, 10, 20]
    _children_of(traced, "fetch", "fan_out")
    fetches = {json_attr(s, A.INPUTS)["i"]: s for s in traced.by_name("fetch")}
    for lookup_span in traced.by_name("lookup"):
        i = json_attr(lookup_span, A.INPUTS)["i"]
        assert parent_id(lookup_span) == fetches[i].context.span_id


async def test_create_task_started_inside_op_is_its_child(traced: Traced) -> None:
    @op
    async def spawner() -> int:
        task = asyncio.create_task(fetch(1))
        return await task

    assert await spawner() == 10
    _children_of(traced, "fetch", "spawner")


async def test_to_thread_copies_context(traced: Traced) -> None:
    @op
    async def offload() -> int:
        return await asyncio.to_thread(work, 1)

    assert await offload() == 2
    _children_of(traced, "work", "offload")


def test_tracer_thread_pool_submit_and_map_nest(traced: Traced) -> None:
    @op
    def batch() -> list[int]:
        with tracer.ThreadPoolExecutor(max_workers=3) as pool:
            first = pool.submit(work, 0).result()
            rest = list(pool.map(work, [1, 2, 3]))
        return [first, *rest]

    assert batch() == [1, 2, 3, 4]
    _children_of(traced, "work", "batch")
    assert len(traced.by_name("work")) == 4


def test_standard_thread_pool_does_not_carry_context(traced: Traced) -> None:
    """Why tracer.ThreadPoolExecutor exists: the standard one starts new traces."""

    @op
    def batch() -> int:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(work, 0).result()

    batch()
    assert parent_id(traced.one("work")) is None


def test_bind_context_for_plain_threads(traced: Traced) -> None:
    results: list[int] = []

    @op
    def starter() -> None:
        target = tracer.bind_context(lambda: results.append(work(5)))
        threads = [threading.Thread(target=target) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    starter()
    assert results == [6, 6]
    _children_of(traced, "work", "starter")


def test_many_threads_each_build_their_own_tree(traced: Traced) -> None:
    @op
    def request(i: int) -> int:
        return work(i) + work(i)

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        assert sorted(pool.map(request, range(8))) == [2 * (i + 1) for i in range(8)]
    roots = {s.context.span_id: s for s in traced.by_name("request")}
    assert len(roots) == 8
    for span in traced.by_name("work"):
        root = roots[parent_id(span)]
        assert json_attr(root, A.INPUTS) == json_attr(span, A.INPUTS)


def test_attributes_reach_thread_pool_workers(traced: Traced) -> None:
    with tracer.attributes(user_id="pool-user"), tracer.ThreadPoolExecutor(2) as pool:
        list(pool.map(work, [1, 2]))
    assert [s.attributes[A.USER_ID] for s in traced.by_name("work")] == ["pool-user"] * 2


def test_w3c_propagation_joins_a_remote_callers_trace(traced: Traced) -> None:
    import contextvars

    from opentelemetry import context as otel_context
    from opentelemetry import propagate

    def remote_service(headers: dict[str, str]) -> int:
        token = otel_context.attach(propagate.extract(headers))
        try:
            return work(41)
        finally:
            otel_context.detach(token)

    @op
    def caller() -> int:
        headers: dict[str, str] = {}
        propagate.inject(headers)
        assert "traceparent" in headers
        # A fresh, empty context stands in for the other process.
        return contextvars.Context().run(remote_service, headers)

    assert caller() == 42
    root, child = traced.one("caller"), traced.one("work")
    assert child.context.trace_id == root.context.trace_id
    assert parent_id(child) == root.context.span_id


async def test_run_in_executor_with_the_tracer_pool(traced: Traced) -> None:
    @op
    async def offload() -> int:
        loop = asyncio.get_running_loop()
        with tracer.ThreadPoolExecutor(1) as pool:
            return await loop.run_in_executor(pool, work, 4)

    assert await offload() == 5
    _children_of(traced, "work", "offload")
