"""Bodies of ``/api/datasets``."""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import Meta, Struct


class DatasetPush(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """``POST /api/datasets``: publish rows (JSON objects) as a version of ``name``.

    Content that already has a version of ``name`` returns that version (200, no new
    number) whatever ``key`` is. ``version`` (``vN``) asks for exactly that number: 409
    when it exists with other content, since versions are never rewritten."""

    name: Annotated[str, Meta(description="letters, digits, '.', '_', '-'; no ':'")]
    rows: Annotated[list[Any], Meta(description="JSON objects, at most 1 000 000")]
    key: Annotated[str, Meta(min_length=1)] | None = None
    description: str | None = None
    project: Annotated[str, Meta(min_length=1)] | None = None
    version: Annotated[str, Meta(pattern=r"^v?[0-9]{1,9}$")] | None = None
