"""Filling a task's parameters from a row and the run's params, and turning any value
into plain JSON for storage."""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any


class Retryable(Exception):
    """Raise this (or ``raise Retryable(...) from exc``) in a task to have the runner
    retry the row with exponential backoff, up to the eval's ``retries``."""


class TaskBindingError(ValueError):
    """The task's parameters cannot be filled from a row; names the missing one."""


MAX_TEXT = 100_000


def jsonable(value: Any, depth: int = 0) -> Any:
    """``value`` as plain JSON: dataclasses, pydantic models, numpy values, sets and bytes
    converted; NaN/Infinity become None; anything else its repr; long text capped."""
    if depth > 50:
        return repr(value)[:1000]
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…[truncated]"
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v, depth + 1) for v in value]
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value), depth + 1)
    for attr in ("model_dump", "tolist", "item"):
        fn = getattr(value, attr, None)
        if callable(fn):
            try:
                return jsonable(fn(), depth + 1)
            except Exception:
                break
    return repr(value)[:MAX_TEXT]


class TaskBinder:
    """Fills a task's parameters from a row and the run's params (see :class:`evals.Eval`)."""

    def __init__(self, task: Callable[..., Any], params: Mapping[str, Any]) -> None:
        self.task = task
        self.params = dict(params)
        try:
            self.signature: inspect.Signature | None = inspect.signature(task)
        except (TypeError, ValueError):
            self.signature = None

    def bind(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Keyword arguments for one row; :class:`TaskBindingError` names what is missing."""
        if self.signature is None:
            return {"row": dict(row)}
        kwargs: dict[str, Any] = {}
        unbound: list[inspect.Parameter] = []
        var_kw = False
        for p in self.signature.parameters.values():
            if p.kind is p.VAR_KEYWORD:
                var_kw = True
                continue
            if p.kind is p.VAR_POSITIONAL:
                continue
            if p.name in self.params:
                kwargs[p.name] = self.params[p.name]
            elif p.name in row:
                kwargs[p.name] = row[p.name]
            elif p.name == "row":
                kwargs[p.name] = dict(row)
            elif p.default is p.empty:
                unbound.append(p)
        if len(unbound) == 1 and "input" in row:
            kwargs[unbound[0].name] = row["input"]
        elif unbound:
            names = ", ".join(repr(p.name) for p in unbound)
            raise TaskBindingError(
                f"task {getattr(self.task, '__name__', self.task)!r} needs {names}; the row has "
                f"columns {sorted(row)} and the params are {sorted(self.params)}")
        if var_kw:
            for k, v in {**row, **self.params}.items():
                kwargs.setdefault(k, v)
        return kwargs
