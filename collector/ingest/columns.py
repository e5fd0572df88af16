"""The columnar span batch: one Python list per ``spans`` column, filled span by span by
``normalize.py`` (no per-span dict, no JSON row), turned into an Arrow table for the
insert (chDB and ClickHouse read Arrow natively, no text parsing).

Dedup and the GenAI-events merge work on a few rows of a batch at a time through
:class:`RowView`, which reads and writes the columns in place.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from common.timetext import ch_text_from_ns

_TIME = pa.timestamp("ns", tz="UTC")
_STR = pa.string()
_U64 = pa.uint64()

# The ``spans`` columns ingest writes, in insert order, with their Arrow types (the insert
# names them explicitly, so columns other migrations add take their defaults or are
# MATERIALIZED). start_time/end_time hold nanoseconds since the epoch.
COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("project", _STR), ("trace_id", _STR), ("span_id", _STR), ("parent_span_id", _STR),
    ("name", _STR), ("kind", _STR), ("start_time", _TIME), ("end_time", _TIME),
    ("duration_ms", pa.float64()), ("status", _STR), ("error", _STR), ("model", _STR),
    ("provider", _STR), ("input", _STR), ("output", _STR), ("input_tokens", _U64),
    ("output_tokens", _U64), ("total_tokens", _U64), ("cached_tokens", _U64),
    ("cost_usd", pa.float64()), ("user_id", _STR), ("session_id", _STR),
    ("tags", pa.list_(_STR)), ("metadata", _STR), ("attributes", _STR), ("events", _STR),
    ("resource", _STR), ("scope_name", _STR), ("ttl_days", pa.uint16()),
    ("duplicate_of", _STR),
)
NAMES = tuple(name for name, _ in COLUMNS)
SCHEMA = pa.schema([pa.field(name, typ) for name, typ in COLUMNS])
# Not stored: what dedup needs besides the columns.
PRIVATE = ("_response_id",)
# Row keys dedup/events use for a stored column (the same list under a second name).
ALIASES = {"_start_ns": "start_time", "_end_ns": "end_time"}


class SpanBatch:
    """The rows of one export request, column by column (``cols[name][i]``)."""

    __slots__ = ("cols",)

    def __init__(self) -> None:
        self.cols: dict[str, list[Any]] = {name: [] for name in (*NAMES, *PRIVATE)}
        for alias, name in ALIASES.items():
            self.cols[alias] = self.cols[name]

    def __len__(self) -> int:
        return len(self.cols["span_id"])

    def rows(self, indexes: Iterator[int] | list[int] | range | None = None) -> list[RowView]:
        """Views of the rows at ``indexes`` (all rows by default)."""
        return [RowView(self.cols, i) for i in (range(len(self)) if indexes is None else indexes)]

    def indexes_of_kinds(self, kinds: tuple[str, ...]) -> list[int]:
        """Positions of the rows whose kind is in ``kinds``."""
        return [i for i, k in enumerate(self.cols["kind"]) if k in kinds]

    def parents(self) -> dict[str, str]:
        """Span id -> parent span id of every row."""
        return dict(zip(self.cols["span_id"], self.cols["parent_span_id"], strict=True))

    def to_arrow(self) -> pa.Table:
        """The stored columns as an Arrow table of :data:`SCHEMA`."""
        cols = self.cols
        return pa.Table.from_arrays([pa.array(cols[name], type=typ) for name, typ in COLUMNS],
                                    schema=SCHEMA)


class RowView:
    """One row of a :class:`SpanBatch`, read and written like the dict rows dedup and the
    events merge were written for (``row["input_tokens"] = 0``)."""

    __slots__ = ("_cols", "_i")

    def __init__(self, cols: dict[str, list[Any]], i: int) -> None:
        self._cols = cols
        self._i = i

    def __getitem__(self, key: str) -> Any:
        return self._cols[key][self._i]

    def __setitem__(self, key: str, value: Any) -> None:
        self._cols[key][self._i] = value

    def stored(self) -> dict[str, Any]:
        """The row as a dict for a JSONEachRow insert (times as DateTime64 text)."""
        row = {name: self._cols[name][self._i] for name in NAMES}
        row["start_time"] = ch_text_from_ns(row["start_time"])
        row["end_time"] = ch_text_from_ns(row["end_time"])
        return row
