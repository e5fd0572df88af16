"""The batching writer: concurrent requests share one insert, and each request waits for
the insert that carries its spans, so a 200 means the rows are stored."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from collector.ingest.stats import STATS
from collector.storage import Storage

log = logging.getLogger("spyglass.ingest")

# ClickHouse error codes that mean "these rows cannot be stored" rather than "storage is
# failing": parse/convert/range errors. Ingest validates every value against its column
# (collector/ingest/normalize.py), so these should never happen; if one does, the rows at
# fault are found by bisection and rejected alone, and storage is not marked as failing.
DATA_ERROR_CODES = frozenset({
    6, 25, 26, 27, 32, 33, 38, 41, 53, 69, 70, 72, 73, 76, 117, 130, 131, 132, 135, 153,
    168, 190, 241, 242, 243, 321, 344, 349, 365, 407, 420, 441, 458, 619, 640,
})
_CODE = re.compile(r"Code: (\d+)\b")
# Single-row inserts spent at most on finding bad rows of one request, so a pathological
# request cannot keep the writer busy: past it the rest of the request is refused (400).
MAX_BISECT_INSERTS = 64


def is_data_error(exc: BaseException) -> bool:
    """True when an insert failed because of the rows it carried (not a transient fault)."""
    match = _CODE.search(str(exc))
    return bool(match) and int(match.group(1)) in DATA_ERROR_CODES


def _short(exc: BaseException) -> str:
    """The first line of a storage error, without ClickHouse's stack dump."""
    text = " ".join(str(exc).split())
    cut = text.find(": While executing")
    text = text[:cut] if cut > 0 else text
    return text[:200]


@dataclass
class WriteResult:
    """What happened to a request's rows: ``rejected`` rows storage refused as malformed
    (found by bisection; the rest are stored) and why the first one was."""

    rejected: int = 0
    reason: str = ""


class Backpressure(Exception):
    """The writer will not take more spans now; answer 429 (queue full) or 503 (storage
    failing) with ``Retry-After``."""

    def __init__(self, status_code: int, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.retry_after = retry_after


@dataclass
class _Pending:
    data: pa.Table
    spans: int
    future: asyncio.Future[WriteResult]


class Announcement:
    """A request on its way to the writer (see :meth:`BatchWriter.announce`)."""

    __slots__ = ("_writer",)

    def __init__(self, writer: BatchWriter) -> None:
        self._writer: BatchWriter | None = writer
        writer._announced += 1

    def withdraw(self) -> None:
        """The request wrote (or gave up): the writer stops waiting for it. Idempotent."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer._announced -= 1
            if writer._wakeup is not None:
                writer._wakeup.set()

    def __enter__(self) -> Announcement:
        return self

    def __exit__(self, *exc: object) -> None:
        self.withdraw()


class BatchWriter:
    """Collects the Arrow tables of requests (columns, see collector/ingest/columns.py)
    and inserts them into ``table`` in batches of at most ``max_batch_spans``, one insert
    at a time on one thread (``Storage.insert_arrow``: an explicit column list, binary
    columns, no text parsing).

    While one insert runs, new requests queue; the next insert takes all of them, so the
    batch size grows with load. Requests announce themselves when they arrive
    (:meth:`announce`, before reading and normalizing their body): under concurrent load
    an insert about to start waits, up to ``linger_s``, for announced requests and for the
    clients the previous insert answered, so concurrent requests share one insert (an
    insert has a large fixed cost: ~15-25 ms of CPU in chDB whatever its size). A lone
    client never waits: no timer adds latency when requests come one at a time. Spans queued plus
    spans being inserted never exceed ``max_pending_spans``: past that, :meth:`write`
    raises :class:`Backpressure` instead of buffering.
    """

    def __init__(self, storage: Storage, table: str = "spans", max_batch_spans: int = 50_000,
                 max_pending_spans: int = 200_000, retry_after_s: int = 1,
                 linger_s: float = 0.05) -> None:
        self.storage = storage
        self.table = table
        self.max_batch_spans = max_batch_spans
        self.max_pending_spans = max_pending_spans
        self.retry_after_s = retry_after_s
        self.linger_s = linger_s
        self._announced = 0
        self._returning = 0  # requests the last insert answered (their clients come back)
        self._queue: list[_Pending] = []
        self._queued_spans = 0
        self._inflight_spans = 0
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spyglass-writer")
        self._closing = False
        self._failing_since: float | None = None
        self.spans_written = 0
        self.inserts = 0

    def start(self) -> None:
        """Start the insert loop on the running event loop."""
        if self._task is None:
            self._wakeup = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="spyglass-writer")

    @property
    def pending_spans(self) -> int:
        """Spans accepted but not yet acknowledged (queued or being inserted)."""
        return self._queued_spans + self._inflight_spans

    def announce(self) -> Announcement:
        """Say a request is on its way to :meth:`write` (use as a context manager around
        reading, decoding and normalizing it; :meth:`write` or the exit withdraws it)."""
        return Announcement(self)

    async def write(self, data: pa.Table, spans: int, announced: Announcement | None = None
                    ) -> WriteResult:
        """Store the ``spans`` rows of ``data``; returns once they are inserted,
        with the rows storage refused as malformed (normally none). Raises
        :class:`Backpressure` when full or when storage keeps failing."""
        if announced is not None:
            announced.withdraw()
        if self._task is None:
            self.start()
        if self._closing:
            raise Backpressure(503, "collector is shutting down", self.retry_after_s)
        if self._failing_since is not None and self._queue:
            raise Backpressure(503, "storage is failing; retry later", self.retry_after_s)
        if self.pending_spans + spans > self.max_pending_spans and self.pending_spans > 0:
            raise Backpressure(
                429,
                f"ingest queue is full ({self.pending_spans} spans waiting, limit "
                f"{self.max_pending_spans}); retry later",
                self.retry_after_s,
            )
        future: asyncio.Future[WriteResult] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(data, spans, future))
        self._queued_spans += spans
        assert self._wakeup is not None
        self._wakeup.set()
        # Shield: a client that disconnects must not cancel an insert others share.
        return await asyncio.shield(future)

    async def _linger(self) -> None:
        """Wait (at most ``linger_s``) while requests that will soon join the coming
        insert are still being prepared and the queue has room: announced ones (being
        read and normalized) and, under load, the clients the previous insert answered
        (an exporter sends its next batch as soon as its last one is acknowledged). A
        wait that times out forgets those clients, so a quiet collector never waits."""
        expected = len(self._queue) + self._returning
        if (not self._announced and len(self._queue) >= expected) or self._closing:
            return
        deadline = time.monotonic() + self.linger_s
        assert self._wakeup is not None
        while ((self._announced or len(self._queue) < expected)
               and self._queued_spans < self.max_batch_spans):
            left = deadline - time.monotonic()
            if left <= 0:
                self._returning = 0
                return
            try:
                await asyncio.wait_for(self._wakeup.wait(), left)
            except TimeoutError:
                self._returning = 0
                return
            self._wakeup.clear()

    def _take_batch(self) -> list[_Pending]:
        batch: list[_Pending] = []
        spans = 0
        while self._queue and (not batch or spans + self._queue[0].spans <= self.max_batch_spans):
            item = self._queue.pop(0)
            batch.append(item)
            spans += item.spans
        self._queued_spans -= spans
        self._inflight_spans = spans
        return batch

    async def _run(self) -> None:
        assert self._wakeup is not None
        loop = asyncio.get_running_loop()
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                await self._linger()
                batch = self._take_batch()
                try:
                    await self._insert(loop, batch)
                except Exception as exc:
                    if self._failing_since is None:
                        self._failing_since = time.monotonic()
                    log.error("insert of %d spans failed: %s", self._inflight_spans, exc)
                    err = Backpressure(503, f"storage insert failed: {_short(exc)}",
                                       self.retry_after_s)
                    for item in batch:
                        if not item.future.done():
                            item.future.set_exception(err)
                else:
                    self._failing_since = None
                finally:
                    self._inflight_spans = 0
                    # Concurrent clients (several answered, or one arrived meanwhile): the
                    # next insert waits for the answered ones to come back.
                    self._returning = len(batch) if len(batch) > 1 or self._queue else 0
            if self._closing:
                return

    async def _insert(self, loop: asyncio.AbstractEventLoop, batch: list[_Pending]) -> None:
        """Insert ``batch`` as one insert. If storage refuses it for its data, insert the
        requests one by one, and bisect a refused request's rows, so only the rows at fault
        are rejected; every other row of the request and of the batch is stored. A
        transient failure (storage down) fails the batch with 503 without retrying."""
        data = (batch[0].data if len(batch) == 1
                else pa.concat_tables([item.data for item in batch]))
        try:
            await loop.run_in_executor(self._executor, self._insert_now, data)
        except Exception as exc:
            if not is_data_error(exc):
                raise
            log.warning("insert of %d spans refused for its data (%s); finding the rows at fault",
                        sum(item.spans for item in batch), _short(exc))
        else:
            self._acknowledge(batch)
            return
        for item in batch:
            try:
                result = await self._insert_rows(loop, item.data, [MAX_BISECT_INSERTS])
            except Exception as exc:
                if not is_data_error(exc):
                    raise
                # Too many bad rows to isolate: refuse the rest of this request alone.
                result = WriteResult(item.spans, f"rows refused by storage: {_short(exc)}")
            self._acknowledge([item], result)

    def _insert_now(self, data: pa.Table) -> None:
        """One insert (on the writer thread), its CPU counted for the stage figures."""
        t0 = time.thread_time()
        try:
            self.storage.insert_arrow(self.table, data)
        finally:
            STATS.insert_s += time.thread_time() - t0
            STATS.inserts += 1

    async def _insert_rows(self, loop: asyncio.AbstractEventLoop, rows: Any,
                           budget: list[int]) -> WriteResult:
        """Insert ``rows`` (an Arrow table), halving on data errors; rows refused alone
        are counted."""
        try:
            await loop.run_in_executor(self._executor, self._insert_now, rows)
            return WriteResult()
        except Exception as exc:
            if not is_data_error(exc):
                raise
            if len(rows) == 1:
                return WriteResult(1, f"span refused by storage: {_short(exc)}")
            budget[0] -= 2
            if budget[0] < 0:
                raise
        mid = len(rows) // 2
        left = await self._insert_rows(loop, rows.slice(0, mid), budget)
        right = await self._insert_rows(loop, rows.slice(mid), budget)
        return WriteResult(left.rejected + right.rejected, left.reason or right.reason)

    def _acknowledge(self, batch: list[_Pending], result: WriteResult | None = None) -> None:
        self.spans_written += sum(item.spans for item in batch) - (result.rejected if result else 0)
        self.inserts += 1
        for item in batch:
            if not item.future.done():
                item.future.set_result(result or WriteResult())

    async def close(self) -> None:
        """Refuse new writes, insert everything already accepted, then stop."""
        self._closing = True
        if self._task is not None and self._wakeup is not None:
            self._wakeup.set()
            await self._task
            self._task = None
        self._executor.shutdown(wait=True)
