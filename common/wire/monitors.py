"""Bodies of ``/api/monitors``: online monitors stored in the collector and run by its
monitors worker (``scorers.monitors.service``, loaded through the ``spyglass.workers``
entry-point group)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

FILTER_KEYS = ("name", "kind", "model", "status", "user_id", "session_id", "tag")


class MonitorIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """A monitor: a filter on a project's spans, a sample rate and the scorers to run, as in a
    monitors file (``scorers``: names like ``pii``, ``{"type": ..., options}`` or
    ``module:attr``). ``enabled: false`` pauses it. It scores spans that start after it was
    created."""

    project: Annotated[str, Meta(min_length=1, max_length=128)]
    name: Annotated[str, Meta(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:-]+$")]
    scorers: Annotated[list[str | dict[str, Any]], Meta(min_length=1, max_length=20)]
    filter: dict[str, str] = msgspec.field(default_factory=dict)
    sample_rate: Annotated[float, Meta(ge=0.0, le=1.0)] = 1.0
    fields: dict[str, str] | None = None
    enabled: bool = True


class MonitorOut(MonitorIn, kw_only=True, omit_defaults=False, forbid_unknown_fields=False):
    """A stored monitor with its id and creation time (the start of what it scores)."""

    id: str
    created_at: str = ""


class MonitorList(msgspec.Struct, kw_only=True):
    """Every monitor, oldest first."""

    monitors: list[MonitorOut]
