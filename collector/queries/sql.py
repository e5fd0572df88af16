"""SQL building: parameterized WHERE clauses over the ``spans`` table and row formatting.

Every value reaches ClickHouse as a ``{name:Type}`` parameter, never spliced into SQL.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from common.timetext import ch_text, rfc3339_from_micros

__all__ = ["SPANS", "TIME_TYPE", "Filters", "as_float", "as_int", "parse_json_text",
           "rfc3339_from_micros", "to_ch_time"]

SPANS = "spans FINAL"
"""The deduplicated read of the spans table (a ReplacingMergeTree: a retried batch leaves
duplicate rows until a merge; ``FINAL`` collapses them at read time)."""


TIME_TYPE = "DateTime64(6, 'UTC')"
"""Parameter type of times sent to ClickHouse (text from :func:`to_ch_time`)."""


class Filters:
    """Accumulates ``AND``-ed conditions with their parameters."""

    def __init__(self, prefix: str = "p") -> None:
        self.clauses: list[str] = []
        self.params: dict[str, Any] = {}
        self._prefix = prefix
        self._n = 0

    def param(self, value: Any, type_: str) -> str:
        """A fresh ``{pN:Type}`` placeholder bound to ``value``."""
        self._n += 1
        name = f"{self._prefix}{self._n}"
        self.params[name] = value
        return f"{{{name}:{type_}}}"

    def add(self, clause: str) -> None:
        """Add a condition already written with placeholders from :meth:`param`."""
        self.clauses.append(clause)

    def eq(self, column: str, value: str | None) -> None:
        """``column = value`` when value is given."""
        if value is not None and value != "":
            self.add(f"{column} = {self.param(value, 'String')}")

    def time_range(self, column: str, since: datetime | None, until: datetime | None) -> None:
        """``since <= column < until`` for the ends that are given."""
        if since is not None:
            self.add(f"{column} >= {self.param(to_ch_time(since), TIME_TYPE)}")
        if until is not None:
            self.add(f"{column} < {self.param(to_ch_time(until), TIME_TYPE)}")

    def sql(self, keyword: str = "WHERE") -> str:
        """``WHERE a AND b`` (or HAVING ...), or an empty string without conditions."""
        return f"{keyword} " + " AND ".join(f"({c})" for c in self.clauses) if self.clauses else ""


def to_ch_time(value: datetime) -> str:
    """A UTC datetime as ClickHouse's ``YYYY-MM-DD hh:mm:ss.ffffff`` parameter text."""
    return ch_text(value)


def parse_json_text(text: Any) -> Any:
    """A JSON column's text -> its value; text that is not JSON is returned as is."""
    if text is None or text == "":
        return None
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def as_int(value: Any) -> int:
    """ClickHouse 64-bit integers may arrive as JSON strings; normalize to int."""
    return 0 if value is None else int(value)


def as_float(value: Any) -> float | None:
    """A float, or None for NULL/NaN (empty aggregates)."""
    if value is None:
        return None
    number = float(value)
    return None if number != number else number
